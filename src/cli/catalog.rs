//! `packreg catalog [-r REG | --bundle FILE] -o DIR [NAME...]`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use packreg::ops::catalog::{
    catalog_checking, CatalogError, CatalogOptions, CatalogSummary, PullStyle,
};
use packreg::store::{open_store, Store, StoreOptions};

use super::failure::Kind;
use super::{Cli, Failure, Output};

/// Arguments of `catalog`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show only these packs (every pack of the store when none is given).
    pub names: Vec<String>,
    /// The folder to write the site into (index.html, packs/); a second run into it rewrites
    /// only the pages of packs that changed.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Show the packs of a bundle written by `packreg export`, instead of a registry.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Also say, for each pack's images, whether they are at their mapped place in this
    /// registry (or `oci:PATH`), as `mirror --with-images` puts them there. Looked at again on
    /// every run.
    #[arg(long, value_name = "REG")]
    pub check: Option<String>,
}

impl From<CatalogError> for Failure {
    fn from(err: CatalogError) -> Self {
        match err {
            CatalogError::Op(e) => e.into(),
            CatalogError::BadName(_) => Failure::usage(err.to_string()),
            CatalogError::Write { .. } => Failure::with_kind(err.to_string(), Kind::Internal),
        }
    }
}

pub fn run(args: &Args, cli: &Cli, out: &Output) -> Result<ExitCode, Failure> {
    match &args.bundle {
        Some(_) if cli.registry.is_some() => Err(Failure::usage(
            "--bundle and -r name two stores; the catalogue shows one: give one of them",
        )),
        Some(bundle) => {
            let runtime = super::runtime()?;
            let store_opts = cli.store_options(out)?;
            super::run_interruptible(
                runtime,
                Box::pin(from_bundle(args, bundle, &store_opts, out)),
            )
        }
        None => super::with_store_and_options(cli, out, |rt, store, store_opts| {
            let opts = options(args, PullStyle::Full, store.location());
            super::run_interruptible(rt, Box::pin(write(args, store, store_opts, opts, out)))
        }),
    }
}

fn options(args: &Args, pull: PullStyle, store_label: String) -> CatalogOptions {
    CatalogOptions {
        names: args.names.clone(),
        pull,
        pull_command: "packreg pull".into(),
        store_label,
    }
}

async fn from_bundle(
    args: &Args,
    bundle: &Path,
    store_opts: &StoreOptions,
    out: &Output,
) -> Result<ExitCode, Failure> {
    let opened = packreg::ops::bundle::open(bundle).await?;
    let label = format!("bundle {}", bundle.display());
    let opts = options(args, PullStyle::Name, label);
    write(args, &opened.layout, store_opts, opts, out).await
}

async fn write(
    args: &Args,
    store: &dyn Store,
    store_opts: &StoreOptions,
    opts: CatalogOptions,
    out: &Output,
) -> Result<ExitCode, Failure> {
    let check = match &args.check {
        Some(registry) => Some(
            open_store(Some(registry), store_opts)
                .await
                .map_err(Failure::from)?,
        ),
        None => None,
    };
    let summary = catalog_checking(store, check.as_deref(), &args.output, &opts).await?;
    if out.json {
        out.print_json(&summary);
        return Ok(ExitCode::SUCCESS);
    }
    for note in &summary.notes {
        out.status(format!("note: {note}"));
    }
    if !out.quiet {
        out.data(summary_line(&summary));
    }
    Ok(ExitCode::SUCCESS)
}

fn summary_line(summary: &CatalogSummary) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{}: {}, {} ({} written, {} unchanged{})",
        summary.index.display(),
        plural(summary.packs, "pack", "packs"),
        plural(summary.versions, "version", "versions"),
        plural(summary.pages_written, "page", "pages"),
        summary.pages_kept,
        match summary.pages_removed {
            0 => String::new(),
            n => format!(", {n} removed"),
        }
    )
}
