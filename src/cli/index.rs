//! `packreg index rebuild [NAME...]` and `packreg index verify [NAME...]`.

use std::process::ExitCode;

use packreg::ops::index::{rebuild, verify, DriftKind};
use packreg::reference::is_repository_component;
use packreg::store::Store;

use super::{Failure, Output};

/// Subcommands of `index`.
#[derive(Debug, clap::Subcommand)]
pub enum IndexCommand {
    /// Make the index list exactly the tags the registry has, for the packs named (default:
    /// every pack the index or the registry's catalog knows).
    Rebuild {
        /// Packs to rebuild the entries of.
        names: Vec<String>,
    },
    /// Report where the index and the tags disagree (exit 1 when they do).
    Verify {
        /// Packs to check (default: every pack the index or the registry's catalog knows).
        names: Vec<String>,
    },
}

fn check_names(names: &[String]) -> Result<(), Failure> {
    match names.iter().find(|n| !is_repository_component(n)) {
        Some(bad) => Err(Failure {
            message: format!("{bad:?} is not a valid pack name"),
            code: 2,
            kind: super::failure::Kind::InvalidInput,
        }),
        None => Ok(()),
    }
}

pub async fn run(cmd: &IndexCommand, store: &dyn Store, out: &Output) -> Result<ExitCode, Failure> {
    match cmd {
        IndexCommand::Rebuild { names } => {
            check_names(names)?;
            let done = rebuild(store, names).await?;
            if out.json {
                out.print_json(&done);
            } else {
                out.status(format!(
                    "Rebuilt {} for {} pack(s): {} tag(s) listed, {} entr(ies) dropped",
                    done.index,
                    done.packs.len(),
                    done.entries,
                    done.removed
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        IndexCommand::Verify { names } => {
            check_names(names)?;
            let report = verify(store, names).await?;
            let code = if report.drift.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            };
            if out.json {
                out.print_json(&report);
                return Ok(code);
            }
            if !report.exists {
                out.status(format!("{} does not exist yet", report.index));
            }
            for d in &report.drift {
                let what = match d.kind {
                    DriftKind::Missing => "in the registry, missing from the index".to_string(),
                    DriftKind::Stale => "in the index, gone from the registry".to_string(),
                    DriftKind::Moved => format!(
                        "moved: the index says {}, the registry has {}",
                        d.index.as_ref().map(|x| x.as_str()).unwrap_or("-"),
                        d.registry.as_ref().map(|x| x.as_str()).unwrap_or("-")
                    ),
                };
                out.data(format!("{}:{}: {what}", d.name, d.tag));
            }
            if report.drift.is_empty() {
                out.status(format!(
                    "{} agrees with the tags of {} pack(s)",
                    report.index,
                    report.packs.len()
                ));
            } else {
                out.status(format!(
                    "{} disagrees with the tags in {} place(s); `packreg index rebuild` repairs it",
                    report.index,
                    report.drift.len()
                ));
            }
            Ok(code)
        }
    }
}
