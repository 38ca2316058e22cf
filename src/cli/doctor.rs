//! `packreg doctor <REGISTRY> [--write]`.

use std::process::ExitCode;

use packreg::ops::doctor::{clean_left_scratch, doctor};
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
    let after_stop = opts.clone();
    let result = super::run_interruptible(
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
    );
    match result {
        Err(failure) if args.write && (failure.code == 130 || failure.code == 143) => {
            Err(clean_after_stop(failure, &args.registry, &after_stop))
        }
        other => other,
    }
}

/// A stopped `doctor --write` may have left tagged probe manifests: they are removed now (in
/// a bounded time), and the message says what is true.
fn clean_after_stop(
    mut failure: Failure,
    registry: &str,
    opts: &packreg::store::StoreOptions,
) -> Failure {
    let what = failure
        .message
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    let clean = async {
        let store = RemoteStore::connect(registry, opts).await.ok()?;
        Some(clean_left_scratch(&store).await)
    };
    let cleaned = super::runtime().ok().and_then(|rt| {
        // The timer needs the runtime: it is made inside.
        rt.block_on(async { tokio::time::timeout(std::time::Duration::from_secs(15), clean).await })
            .ok()
            .flatten()
    });
    failure.message = match cleaned {
        Some(c) if c.repositories.is_empty() => {
            format!("{what}; no scratch repository of doctor's was left to clean")
        }
        Some(c) if c.kept.is_empty() => format!(
            "{what}; the probe manifests doctor had written ({}) were removed",
            c.removed
        ),
        Some(c) => format!(
            "{what}; {} still hold probe manifests: the next `packreg doctor --write` removes them where the registry allows",
            c.kept.join(", ")
        ),
        None => format!(
            "{what}; probe manifests may be left in doctor's packreg-doctor-… scratch repositories: the next `packreg doctor --write` removes them"
        ),
    };
    failure
}
