//! `packreg rm <NAME>:<VERSION>`.

use std::process::ExitCode;

use packreg::ops::remove;
use packreg::store::Store;

use super::{Failure, Output};

/// Arguments of `rm`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The version to delete, as NAME:VERSION.
    pub reference: String,
}

pub async fn run(args: &Args, store: &dyn Store, out: &Output) -> Result<ExitCode, Failure> {
    let Some((name, version)) = args.reference.split_once(':') else {
        return Err(Failure {
            message: format!(
                "{:?}: give the version to delete as NAME:VERSION",
                args.reference
            ),
            code: 2,
            kind: super::failure::Kind::InvalidInput,
        });
    };
    packreg::reference::PackRef::parse(&args.reference)?;
    let mut done = remove(store, name, version).await?;
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
