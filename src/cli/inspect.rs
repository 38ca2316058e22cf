//! `packreg inspect <NAME>[:<TAG>|@<DIGEST>]`.

use std::process::ExitCode;

use packreg::ops::inspect;
use packreg::reference::PackRef;
use packreg::store::Store;

use super::output::escape_controls;
use super::{Failure, Output};

/// Arguments of `inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The pack: NAME (highest version), NAME:TAG (a version, `1.2.x`, a label) or NAME@DIGEST, in
    /// the store of -r; or a full reference naming its store,
    /// REGISTRY/spectro-packs/archive/NAME[:TAG|@DIGEST] (REGISTRY is host[:port][/base] or
    /// oci:PATH).
    pub reference: String,
    #[command(flatten)]
    pub trust: super::trust::TrustFlags,
}

pub async fn run(
    args: &Args,
    pack_ref: &PackRef,
    store: &dyn Store,
    out: &Output,
) -> Result<ExitCode, Failure> {
    let trust = args.trust.trust()?;
    let mut info = inspect(store, pack_ref).await?;
    if let Some(trust) = &trust {
        info.verify_signatures(store, pack_ref, trust).await;
    }
    if out.json {
        out.print_json(&info);
        return Ok(ExitCode::SUCCESS);
    }
    out.data(format!("Reference:  {}", info.reference));
    out.data(format!("Digest:     {}", info.digest));
    out.data(format!("Format:     {}", info.format));
    // Registry text is escaped field by field: a newline in it must not forge a line.
    let field = |text: &str| escape_controls(text, false).into_owned();
    out.data(format!("Type:       {}", field(&info.artifact_type)));
    out.data(format!("Size:       {} bytes", info.size));
    let list = |tags: &[String]| match tags.is_empty() {
        true => "none".to_string(),
        false => field(&tags.join(", ")),
    };
    out.data(format!("Parents:    {}", list(&info.parent_tags)));
    out.data(format!("Labels:     {}", list(&info.labels)));
    for (key, value) in &info.annotations {
        out.data(format!("Annotation: {}={}", field(key), field(value)));
    }
    out.data("Layers:");
    for layer in &info.layers {
        out.data(format!(
            "  {:<32} {:>10}  {}  {}",
            field(layer.title.as_deref().unwrap_or("-")),
            layer.size,
            field(&layer.media_type),
            layer.digest
        ));
    }
    if let Some(signatures) = &info.signatures {
        let formats: Vec<String> = signatures.iter().map(|f| f.to_string()).collect();
        let checked = match info.signatures_verified {
            Some(true) => "one verifies with the trust given",
            Some(false) => "none verifies with the trust given; `packreg verify` says why",
            None if trust.is_some() => "they could not be checked",
            None => "`packreg verify` checks them",
        };
        match formats.is_empty() {
            true => out.data("Signatures: none"),
            false => out.data(format!(
                "Signatures: {} ({}; {checked})",
                formats.len(),
                formats.join(", ")
            )),
        }
    }
    if info.pack_verified {
        out.data("pack.json:");
    } else {
        out.data(
            "pack.json (from the head of the layer, not checked against the layer's digest; pull verifies it):",
        );
    }
    let text = serde_json::to_string_pretty(&info.pack).unwrap_or_default();
    for line in text.lines() {
        out.data(format!("  {line}"));
    }
    Ok(ExitCode::SUCCESS)
}
