//! `packreg tag add` and `packreg tag rm`.

use std::process::ExitCode;

use packreg::ops::labels::{add_label, remove_label};
use packreg::store::Store;
use packreg::tag_grammar::label_tag;

use super::{Failure, Output};

/// Subcommands of `tag`.
#[derive(Debug, clap::Subcommand)]
pub enum TagCommand {
    /// Point a label (`GROUP__LABEL`, or `LABEL`) at a version.
    Add {
        /// The version, as NAME:VERSION.
        reference: String,
        /// The label.
        label: String,
        /// The label's group.
        #[arg(short, long)]
        group: Option<String>,
    },
    /// Remove one label; the version and its other tags stay.
    Rm {
        /// The label, as NAME:TAG.
        reference: String,
    },
}

fn split(reference: &str, what: &str) -> Result<(String, String), Failure> {
    match reference.split_once(':') {
        Some((n, t)) if !n.is_empty() && !t.is_empty() => Ok((n.to_string(), t.to_string())),
        _ => Err(Failure {
            message: format!("{reference:?}: give {what}"),
            code: 2,
            kind: super::failure::Kind::InvalidInput,
        }),
    }
}

pub async fn run(cmd: &TagCommand, store: &dyn Store, out: &Output) -> Result<ExitCode, Failure> {
    match cmd {
        TagCommand::Add {
            reference,
            label,
            group,
        } => {
            let (name, version) = split(reference, "the version as NAME:VERSION")?;
            let tag = label_tag(label, group.as_deref());
            let mut done = add_label(store, &name, &version, &tag).await?;
            super::advice::word_warnings(&mut done.warnings);
            if out.json {
                out.print_json(&done);
            } else {
                out.status(format!("Tagged {} -> {}", done.reference, done.digest));
                out.warnings(&done.warnings);
            }
        }
        TagCommand::Rm { reference } => {
            let (name, tag) = split(reference, "the label as NAME:TAG")?;
            let mut done = remove_label(store, &name, &tag).await?;
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
