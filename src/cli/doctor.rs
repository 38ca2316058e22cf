//! `packreg doctor <REGISTRY> [--write]`.

use std::process::ExitCode;

use packreg::ops::doctor::doctor;
use packreg::store::remote::RemoteStore;

use super::output::escape_controls;
use super::{Cli, Failure, Output};

/// Arguments of `doctor`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The registry: host[:port][/base/path].
    pub registry: String,
    /// Also probe what needs writing (uploads, mounts, manifests, deletes), in two scratch
    /// repositories named packreg-doctor-… under the base path, removed where allowed.
    #[arg(long)]
    pub write: bool,
}

pub fn run(args: &Args, cli: &Cli, out: &Output) -> Result<ExitCode, Failure> {
    let opts = cli.store_options(out)?;
    super::run_interruptible(
        super::runtime()?,
        Box::pin(async move {
            let store = RemoteStore::connect(&args.registry, &opts)
                .await
                .map_err(Failure::from)?;
            let mut report = doctor(&store, args.write).await.map_err(Failure::from)?;
            for finding in &mut report.findings {
                if let Some(remedy) = finding.remedy.take() {
                    finding.action = super::advice::remedy_words(remedy);
                }
            }
            if out.json {
                out.print_json(&report);
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<[String; 3]> = report
                .findings
                .iter()
                .map(|f| {
                    [
                        escape_controls(&f.check, false).into_owned(),
                        format!(
                            "{}{}",
                            if f.ok { "" } else { "! " },
                            escape_controls(&f.result, false)
                        ),
                        escape_controls(&f.action, false).into_owned(),
                    ]
                })
                .collect();
            let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
            let (w0, w1) = (width(0), width(1));
            out.data(format!(
                "{} ({} requests)",
                report.registry, report.requests
            ));
            for [check, result, action] in rows {
                out.data(format!("  {check:<w0$}  {result:<w1$}  {action}"));
            }
            Ok(ExitCode::SUCCESS)
        }),
    )
}
