//! `packreg ls [NAME]`.

use std::process::ExitCode;

use packreg::ops::list::{add_signatures, list_packs};
use packreg::ops::not_found::explain_missing;
use packreg::ops::OpError;
use packreg::reference::{PackRef, Selector};
use packreg::store::Store;

use super::output::escape_controls;
use super::{Failure, Output};

/// Arguments of `ls`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// List the versions of this pack only: NAME in the store of -r, or
    /// REGISTRY/spectro-packs/archive/NAME (REGISTRY is host[:port][/base] or oci:PATH).
    pub name: Option<String>,
    /// Only packs whose name contains this text.
    #[arg(long = "name", value_name = "SUBSTR")]
    pub filter: Option<String>,
    /// Also show the formats of the signatures each version carries (cosign, bundle,
    /// notation): one or two more requests a version. `packreg verify` checks them.
    #[arg(long)]
    pub signatures: bool,
    #[command(flatten)]
    pub trust: super::trust::TrustFlags,
}

pub async fn run(
    args: &Args,
    pack: Option<&PackRef>,
    store: &dyn Store,
    out: &Output,
) -> Result<ExitCode, Failure> {
    if let Some(pack) = pack.filter(|p| p.selector != Selector::Latest) {
        return Err(Failure::usage(format!(
            "{pack}: ls lists every version of a pack; give NAME, or `packreg inspect {pack}`"
        )));
    }
    let trust = args.trust.trust()?;
    if trust.is_some() && !args.signatures {
        return Err(Failure::usage(
            "--verify-key and --trust-policy go with --signatures: `packreg ls --signatures --verify-key PUB`",
        ));
    }
    let name = pack.map(|p| p.name.as_str());
    let listing = list_packs(store, name, args.filter.as_deref()).await?;
    if let (Some(pack), true) = (pack, listing.rows.is_empty()) {
        // A pack that is not there is an error, with the names that are.
        if let Some(missing) = explain_missing(store, pack).await {
            return Err(OpError::PackNotFound(Box::new(missing)).into());
        }
    }
    if listing.from_index {
        // On stderr, also with --json, so scripts see it without it spoiling the data.
        if !out.quiet {
            eprintln!("{}", index_note(store));
        }
    }
    let mut rows = listing.rows;
    if args.signatures {
        add_signatures(store, &mut rows, trust.as_ref()).await;
    }
    if out.json {
        out.print_json(&rows);
        return Ok(ExitCode::SUCCESS);
    }
    if out.quiet {
        // References only, one a line, for scripts (as `docker images -q`).
        for row in &rows {
            out.data(escape_controls(&row.reference, false));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        out.status(format!("no packs in {}", store.location()));
        return Ok(ExitCode::SUCCESS);
    }
    let list = |tags: &[String]| match tags.is_empty() {
        true => "-".to_string(),
        false => tags.join(","),
    };
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![
                r.name.clone(),
                r.version.clone(),
                r.layer.clone().unwrap_or_else(|| "-".into()),
                r.display_name.clone().unwrap_or_else(|| "-".into()),
                r.format.clone(),
                list(&r.parent_tags),
                list(&r.labels),
            ];
            if args.signatures {
                cells.push(signature_cell(
                    r.signatures.as_deref(),
                    r.signatures_verified,
                ));
            }
            cells.push(r.digest.to_string());
            // Registry text, one cell each: a newline must not make a row of its own.
            cells
                .iter()
                .map(|cell| escape_controls(cell, false).into_owned())
                .collect()
        })
        .collect();
    let mut header: Vec<String> = [
        "NAME",
        "VERSION",
        "LAYER",
        "DISPLAY NAME",
        "FORMAT",
        "PARENT TAGS",
        "LABELS",
    ]
    .map(String::from)
    .to_vec();
    if args.signatures {
        header.push("SIGNATURES".into());
    }
    header.push("DIGEST".into());
    let mut widths: Vec<usize> = header.iter().map(String::len).collect();
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(table.iter()) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| format!("{cell:<w$}"))
            .collect();
        out.data(line.join("  ").trim_end());
    }
    Ok(ExitCode::SUCCESS)
}

/// The SIGNATURES cell: the formats, `-` for none, `?` when they could not be listed; with
/// trust given, ` (verified)` or ` (unverified)` after them.
fn signature_cell(
    formats: Option<&[packreg::sign::SignatureFormat]>,
    verified: Option<bool>,
) -> String {
    let formats = match formats {
        None => "?".into(),
        Some([]) => "-".into(),
        Some(formats) => formats
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
    };
    match verified {
        Some(true) => format!("{formats} (verified)"),
        Some(false) => format!("{formats} (unverified)"),
        None => formats,
    }
}

/// The note printed when pack names come from the pack index.
pub fn index_note(store: &dyn Store) -> String {
    format!(
        "note: {} refuses to list its repositories (_catalog); the pack names come from the pack index {}",
        store.location(),
        store.reference(
            packreg::ops::index::INDEX_REPO,
            packreg::ops::index::LATEST
        )
    )
}
