//! `packreg doctor [REGISTRY] [--write]`: the registry of `-r` or the settings, as every
//! command takes it.

use std::process::ExitCode;

use packreg::ops::doctor::{clean_left_scratch, doctor};
use packreg::store::remote::RemoteStore;

use super::output::escape_controls;
use super::{Cli, Failure, Output};

/// Arguments of `doctor`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The registry: host[:port][/base/path] (default: -r, $PACKREG_REGISTRY, else
    /// `registry` in config.toml, as for every command).
    // Its own id: clap would merge it with the global `-r` of the same name.
    #[arg(id = "doctor_registry", value_name = "REGISTRY")]
    pub registry: Option<String>,
    /// Also probe what needs writing (uploads, mounts, manifests, deletes), in two scratch
    /// repositories named packreg-doctor-… under the base path, removed where allowed.
    #[arg(long)]
    pub write: bool,
}

/// The registry to check: the argument, else `-r` or the settings; two different ones, or a
/// local store, are usage errors.
fn registry(args: &Args, cli: &Cli, out: &Output) -> Result<String, Failure> {
    let registry = match (&args.registry, &cli.registry) {
        (Some(arg), Some(flag)) if arg != flag => {
            return Err(Failure::usage(format!(
                "doctor was given two registries, {arg} and -r {flag}; name one"
            )))
        }
        (Some(arg), _) => Some(arg.clone()),
        (None, flag) => super::config::registry(flag.as_deref(), out)?,
    };
    match registry {
        Some(r) if !r.starts_with("oci:") => Ok(r),
        Some(r) => Err(Failure::usage(format!(
            "{r} is a local store; doctor checks a registry (host[:port][/base/path])"
        ))),
        None => Err(Failure::usage(
            "doctor checks a registry: name it (packreg doctor HOST[:PORT]), or with -r, PACKREG_REGISTRY or `registry` in config.toml",
        )),
    }
}

pub fn run(args: &Args, cli: &Cli, out: &Output) -> Result<ExitCode, Failure> {
    let registry = registry(args, cli, out)?;
    let opts = cli.store_options(out)?;
    let after_stop = (registry.clone(), opts.clone());
    let result = super::run_interruptible(
        super::runtime()?,
        Box::pin(async move {
            let store = RemoteStore::connect(&registry, &opts)
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
            Err(clean_after_stop(failure, &after_stop.0, &after_stop.1))
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
