//! `packreg rm <NAME>:<VERSION>`.

use std::process::ExitCode;

use packreg::ops::not_found::explained;
use packreg::ops::remove;
use packreg::reference::PackRef;
use packreg::store::Store;

use super::{Failure, Output};

/// Arguments of `rm`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The version to delete, as NAME:VERSION, or a full reference naming its store,
    /// REGISTRY/spectro-packs/archive/NAME:VERSION (REGISTRY is host[:port][/base] or
    /// oci:PATH).
    pub reference: String,
}

pub async fn run(pack: &PackRef, store: &dyn Store, out: &Output) -> Result<ExitCode, Failure> {
    let version = super::pack_ref::tag_of(pack, "the version to delete as NAME:VERSION")?;
    let done = remove(store, &pack.name, &version).await;
    let mut done = explained(store, pack, done).await?;
    super::advice::word_warnings(&mut done.warnings);
    if out.json {
        out.print_json(&done);
        return Ok(ExitCode::SUCCESS);
    }
    out.status(format!("Deleted {}@{}", done.reference, done.digest));
    if !done.removed_labels.is_empty() {
        out.status(format!(
            "  labels removed with it: {}",
            done.removed_labels.join(", ")
        ));
    }
    if !done.kept_tags.is_empty() {
        out.status(format!(
            "  other version tags on the same manifest stay: {}",
            done.kept_tags.join(", ")
        ));
    }
    for parent in &done.parent_tags {
        match &parent.version {
            Some(v) => out.status(format!("  {} -> {v}", parent.tag)),
            None => out.status(format!(
                "  {} removed (no version left in its line)",
                parent.tag
            )),
        }
    }
    out.warnings(&done.warnings);
    Ok(ExitCode::SUCCESS)
}
