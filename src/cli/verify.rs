//! `packreg verify NAME[:TAG|@DIGEST] (--key PUB... | --trust-policy FILE --trust-store DIR)`.

use std::path::PathBuf;
use std::process::ExitCode;

use packreg::ops::signatures::verify;
use packreg::reference::PackRef;
use packreg::store::Store;

use super::failure::Kind;
use super::{Failure, Output};

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The version to verify: NAME (highest version), NAME:TAG or NAME@DIGEST in the store of
    /// -r, or a full reference REGISTRY/spectro-packs/archive/NAME[:TAG|@DIGEST].
    pub reference: String,
    /// A trusted public key (PEM; ECDSA P-256/P-384, RSA, Ed25519), for cosign signatures and
    /// bundles. Repeatable.
    #[arg(long = "key", value_name = "PUB")]
    pub keys: Vec<PathBuf>,
    /// A Notary Project trust policy (trustpolicy.json, version 1.0), for notation signatures.
    #[arg(
        long,
        value_name = "FILE",
        requires = "trust_store",
        conflicts_with = "keys"
    )]
    pub trust_policy: Option<PathBuf>,
    /// The trust store folder the policy's `ca:NAME` entries name (`x509/ca/NAME/*.pem`).
    #[arg(long, value_name = "DIR", requires = "trust_policy")]
    pub trust_store: Option<PathBuf>,
}

pub async fn run(
    args: &Args,
    pack_ref: &PackRef,
    store: &dyn Store,
    out: &Output,
) -> Result<ExitCode, Failure> {
    let trust = super::trust::load(
        &args.keys,
        args.trust_policy.as_deref(),
        args.trust_store.as_deref(),
    )?
    .ok_or_else(|| {
        Failure::usage(
            "give the trust to verify against: --key PUB, or --trust-policy FILE --trust-store DIR",
        )
    })?;
    let outcome = verify(store, pack_ref, &trust).await?;
    if out.json {
        out.print_json(&outcome);
    } else {
        out.data(format!("{}@{}", outcome.reference, outcome.digest));
        if outcome.signatures.is_empty() {
            out.data("  no signatures");
        }
        for s in &outcome.signatures {
            let signer = s.signer.as_deref().unwrap_or("unknown signer");
            match &s.reason {
                None => out.data(format!(
                    "  {:<8} verified  {signer}  ({})",
                    s.format.to_string(),
                    s.manifest
                )),
                Some(reason) => out.data(format!(
                    "  {:<8} REFUSED   {signer}  ({}): {reason}",
                    s.format.to_string(),
                    s.manifest
                )),
            }
            if let Some(reference) = &s.signed_reference {
                out.data(format!("           signed as {reference}"));
            }
            for warning in &s.warnings {
                out.data(format!("           warning: {warning}"));
            }
        }
        if outcome.omitted > 0 {
            out.data(format!(
                "  {} more signatures or referrers not looked at (packreg reads at most {})",
                outcome.omitted,
                packreg::ops::signatures::MAX_SIGNATURES
            ));
        }
        if outcome.skipped_by_policy {
            out.data("  the trust policy's level for this repository is skip");
        }
    }
    if outcome.verified {
        return Ok(ExitCode::SUCCESS);
    }
    Err(Failure::with_kind(
        format!(
            "{}@{}: no signature verifies against the trust given ({} found)",
            outcome.reference,
            outcome.digest,
            outcome.signatures.len()
        ),
        Kind::Untrusted,
    ))
}
