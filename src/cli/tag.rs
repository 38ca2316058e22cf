//! `packreg tag add` and `packreg tag rm`.

use std::process::ExitCode;

use packreg::ops::labels::{add_label, remove_label};
use packreg::ops::not_found::explained;
use packreg::reference::PackRef;
use packreg::store::Store;
use packreg::tag_grammar::label_tag;

use super::pack_ref::tag_of;
use super::{Failure, Output};

/// Subcommands of `tag`.
#[derive(Debug, clap::Subcommand)]
pub enum TagCommand {
    /// Point a label (`GROUP__LABEL`, or `LABEL`) at a version.
    Add {
        /// The version, as NAME:VERSION or REGISTRY/spectro-packs/archive/NAME:VERSION.
        reference: String,
        /// The label.
        label: String,
        /// The label's group.
        #[arg(short, long)]
        group: Option<String>,
    },
    /// Remove one label; the version and its other tags stay.
    Rm {
        /// The label, as NAME:TAG or REGISTRY/spectro-packs/archive/NAME:TAG.
        reference: String,
    },
}

impl TagCommand {
    /// The pack reference the command names.
    pub fn reference(&self) -> &str {
        match self {
            TagCommand::Add { reference, .. } | TagCommand::Rm { reference } => reference,
        }
    }
}

pub async fn run(
    cmd: &TagCommand,
    pack: &PackRef,
    store: &dyn Store,
    out: &Output,
) -> Result<ExitCode, Failure> {
    match cmd {
        TagCommand::Add { label, group, .. } => {
            let version = tag_of(pack, "the version as NAME:VERSION")?;
            let tag = label_tag(label, group.as_deref());
            let done = add_label(store, &pack.name, &version, &tag).await;
            let mut done = explained(store, pack, done).await?;
            super::advice::word_warnings(&mut done.warnings);
            if out.json {
                out.print_json(&done);
            } else {
                out.status(format!("Tagged {} -> {}", done.reference, done.digest));
                out.warnings(&done.warnings);
            }
        }
        TagCommand::Rm { .. } => {
            let tag = tag_of(pack, "the label as NAME:TAG")?;
            let done = remove_label(store, &pack.name, &tag).await;
            let mut done = explained(store, pack, done).await?;
            super::advice::word_warnings(&mut done.warnings);
            if out.json {
                out.print_json(&done);
            } else {
                out.status(format!("Removed {}", done.removed));
                out.warnings(&done.warnings);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
