//! `packreg pull <NAME>[:<TAG>|@<DIGEST>]` (or a full reference, see [`super::pack_ref`]).

use std::path::PathBuf;
use std::process::ExitCode;

use packreg::ops::{pull, PullOptions};
use packreg::reference::PackRef;
use packreg::store::Store;

use super::{Failure, Output};

/// Arguments of `pull`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The pack: NAME (highest version), NAME:TAG (a version, `1.2.x`, a label) or NAME@DIGEST, in
    /// the store of -r; or a full reference naming its store,
    /// REGISTRY/spectro-packs/archive/NAME[:TAG|@DIGEST] (REGISTRY is host[:port][/base] or
    /// oci:PATH).
    pub reference: String,
    /// Destination folder (default ./<name>-<version>).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Replace the destination folder if it holds files.
    #[arg(long)]
    pub force: bool,
    /// Blobs downloaded at once (default: $PACKREG_CONCURRENCY, else config.toml, else 4).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=packreg::config::MAX_CONCURRENCY as i64))]
    pub concurrency: Option<u16>,
    #[command(flatten)]
    pub verify: super::trust::TrustFlags,
}

pub async fn run(
    args: &Args,
    pack_ref: &PackRef,
    store: &dyn Store,
    out: &Output,
) -> Result<ExitCode, Failure> {
    let pack_ref = &super::trust::gated(store, pack_ref.clone(), &args.verify, out).await?;
    let opts = PullOptions {
        output: args.output.clone(),
        force: args.force,
        concurrency: super::config::concurrency(args.concurrency, out)?,
        progress: super::progress::for_output(out, "pull"),
    };
    let done = pull(store, pack_ref, &opts).await?;
    if out.json {
        out.print_json(&done);
        return Ok(ExitCode::SUCCESS);
    }
    // Pulled by digest, the reference already ends with it.
    let pinned = if done.reference.ends_with(&format!("@{}", done.digest)) {
        done.reference.clone()
    } else {
        format!("{}@{}", done.reference, done.digest)
    };
    out.status(format!("Pulled {pinned} ({} format)", done.format));
    out.data(done.dir.display());
    Ok(ExitCode::SUCCESS)
}
