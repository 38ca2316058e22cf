//! `packreg push <PACK_DIR>`.

use std::path::PathBuf;
use std::process::ExitCode;

use packreg::artifact::Format;
use packreg::ops::{push, PushOptions, PushStatus};
use packreg::store::Store;

use super::{Failure, Output};

/// Arguments of `push`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The pack folder to push.
    pub pack_dir: PathBuf,
    /// Artifact format: native or palette.
    #[arg(long, env = "PACKREG_FORMAT", default_value = "native", value_parser = format_parser())]
    pub format: Format,
    /// Replace a version that exists with different content.
    #[arg(long)]
    pub force: bool,
    /// Why the version was replaced; kept as a manifest annotation.
    #[arg(long, requires = "force")]
    pub message: Option<String>,
    /// Blobs uploaded at once (default: $PACKREG_CONCURRENCY, else config.toml, else 4).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=packreg::config::MAX_CONCURRENCY as i64))]
    pub concurrency: Option<u16>,
}

/// `native` or `palette`, named as possible values so that completions offer them.
fn format_parser() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new([
        PossibleValue::new("native").help("packreg's: a layer per file and chart"),
        PossibleValue::new("palette").help("one tarball, as Palette's documented `oras push`"),
    ])
    .try_map(|s| s.parse::<Format>())
}

pub async fn run(args: &Args, store: &dyn Store, out: &Output) -> Result<ExitCode, Failure> {
    let opts = PushOptions {
        format: args.format,
        force: args.force,
        message: args.message.clone(),
        concurrency: super::config::concurrency(args.concurrency, out)?,
        progress: super::progress::for_output(out, "push"),
    };
    let mut done = push(store, &args.pack_dir, &opts).await?;
    super::advice::word_warnings(&mut done.warnings);
    if out.json {
        out.print_json(&done);
        return Ok(ExitCode::SUCCESS);
    }
    let verb = match done.status {
        PushStatus::Pushed => "Pushed",
        PushStatus::Replaced => "Replaced",
        PushStatus::Unchanged => "Unchanged (identical content already pushed)",
    };
    out.status(format!(
        "{verb} {} ({} blob(s) uploaded, {} already there)",
        done.reference, done.blobs_uploaded, done.blobs_skipped
    ));
    for parent in &done.parent_tags {
        if let Some(version) = &parent.version {
            out.status(format!("  {} -> {version}", parent.tag));
        }
    }
    out.warnings(&done.warnings);
    if out.quiet {
        out.data(&done.digest);
    } else {
        out.data(format!("{}@{}", done.reference, done.digest));
    }
    Ok(ExitCode::SUCCESS)
}
