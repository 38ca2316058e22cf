//! `packreg doctor [REGISTRY] [--write]`: the registry of `-r` or the settings, as every
//! command takes it.

use std::process::ExitCode;

use packreg::ops::doctor::doctor;
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
    super::run_interruptible(
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
    )
}
