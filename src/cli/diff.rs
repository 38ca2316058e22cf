//! `packreg diff <A> <B>`: what changed between two pack versions, in one store or two.

use std::process::ExitCode;

use packreg::ops::diff::{diff, render, DiffOptions};
use packreg::store::{open_store, open_store_pair, Store};

use super::mirror::{side_options, SideFlags};
use super::{Cli, Failure, Output};

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The first pack: NAME[:TAG|@DIGEST] in --from-registry (default: -r), or a full
    /// reference as packreg prints them, REGISTRY/spectro-packs/archive/NAME[:TAG]
    /// (REGISTRY is oci:PATH or host[:port][/base]).
    pub from: String,
    /// The second pack, written the same way, in --to-registry (default: -r).
    pub to: String,
    /// Show a unified diff of each changed text file.
    #[arg(long)]
    pub patch: bool,
    /// Print only how many entries of each section differ.
    #[arg(long, conflicts_with = "patch")]
    pub stat: bool,
    /// Registry or local store (oci:PATH) of the first pack.
    #[arg(long, value_name = "REGISTRY")]
    pub from_registry: Option<String>,
    /// Registry or local store (oci:PATH) of the second pack.
    #[arg(long, value_name = "REGISTRY")]
    pub to_registry: Option<String>,
    #[command(flatten)]
    pub sides: SideFlags,
}

/// Any failure of a diff leaves with 2, as diff(1) does: 1 means "different".
fn trouble(failure: Failure) -> Failure {
    match failure.code {
        1 => Failure {
            message: failure.message,
            code: 2,
            kind: failure.kind,
        },
        _ => failure,
    }
}

pub fn run(args: &Args, cli: &Cli, out: &Output) -> Result<ExitCode, Failure> {
    let from = super::pack_ref::parse(&args.from)?;
    let to = super::pack_ref::parse(&args.to)?;
    let (from_reg, from_ref, to_reg, to_ref) = (from.store, from.pack, to.store, to.pack);
    // A reference that names its store wins over the flags.
    let registry = super::config::registry(cli.registry.as_deref(), out)?;
    let from_reg = from_reg
        .or_else(|| args.from_registry.clone())
        .or_else(|| registry.clone());
    let to_reg = to_reg
        .or_else(|| args.to_registry.clone())
        .or_else(|| registry.clone());
    let (from_opts, to_opts) = side_options(cli, &args.sides, out)?;
    let opts = DiffOptions {
        patch: args.patch,
        ..DiffOptions::default()
    };
    let runtime = super::runtime().map_err(trouble)?;
    let result = super::run_interruptible(
        runtime,
        Box::pin(async move {
            let open_failed = |e: packreg::store::StoreError| Failure::from(e);
            let sides = &args.sides;
            let same_flags = sides.from_plain_http == sides.to_plain_http
                && sides.from_insecure == sides.to_insecure
                && sides.from_ca_file == sides.to_ca_file;
            let sides_differ = from_reg != to_reg || !same_flags;
            let (a, b): (Box<dyn Store>, Option<Box<dyn Store>>) = match (&from_reg, &to_reg) {
                _ if !sides_differ => (
                    open_store(from_reg.as_deref(), &from_opts)
                        .await
                        .map_err(open_failed)?,
                    None,
                ),
                (Some(x), Some(y)) => {
                    let (a, b) = open_store_pair(x, &from_opts, y, &to_opts)
                        .await
                        .map_err(open_failed)?;
                    (a, Some(b))
                }
                _ => (
                    open_store(from_reg.as_deref(), &from_opts)
                        .await
                        .map_err(open_failed)?,
                    Some(
                        open_store(to_reg.as_deref(), &to_opts)
                            .await
                            .map_err(open_failed)?,
                    ),
                ),
            };
            let b = b.as_deref().unwrap_or(a.as_ref());
            let report = diff(a.as_ref(), &from_ref, b, &to_ref, &opts)
                .await
                .map_err(Failure::from)?;
            match (out.json, args.stat) {
                (true, true) => out.print_json(&render::stat(&report)),
                (true, false) => out.print_json(&report),
                (false, true) => print!("{}", render::stat_text(&report)),
                (false, false) => print!("{}", render::text(&report)),
            }
            Ok(if report.identical {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }),
    );
    result.map_err(trouble)
}
