//! The signatures of a manifest in a store: found (cosign's `.sig` tag, and referrers through
//! the Referrers API or the `sha256-<hex>` fallback index), checked (`check.rs`) and written
//! (`attach.rs`). Every document is read with a bound, and at most [`MAX_SIGNATURES`] are
//! looked at; the rest are counted and reported.

mod attach;
mod check;
mod remove;
#[cfg(test)]
mod tests;

pub use attach::{sign, SignFormat, SignOutcome, SignRequest, SigningError};
pub use check::{verify, verify_manifest, VerifyOutcome};
pub use remove::remove_signatures;

use tokio::io::AsyncReadExt;

use super::OpError;
use crate::digest::Digest;
use crate::oci::{Descriptor, Index, Manifest};
use crate::sign::{
    bundle, cosign, notation, FoundSignature, Refusal, SignatureContent, SignatureFormat,
};
use crate::store::Store;
use crate::tag_grammar::referrers_tag;

/// The most signatures (all formats together) looked at for one manifest.
pub const MAX_SIGNATURES: usize = 64;
/// The most referrers looked at for one manifest (signatures or not).
pub const MAX_REFERRERS: usize = 256;
/// The largest signature payload, bundle or envelope read.
pub const MAX_SIGNATURE_BYTES: u64 = 1024 * 1024;

/// The signatures found for a manifest.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Those read (up to [`MAX_SIGNATURES`]).
    pub signatures: Vec<FoundSignature>,
    /// How many more there were (signatures past the bound, referrers past theirs).
    pub omitted: usize,
}

impl Discovered {
    fn push(&mut self, found: FoundSignature) {
        if self.signatures.len() < MAX_SIGNATURES {
            self.signatures.push(found);
        } else {
            self.omitted += 1;
        }
    }

    fn full(&self) -> bool {
        self.signatures.len() >= MAX_SIGNATURES
    }
}

/// Every signature of manifest `subject` in `repo`.
pub async fn discover(
    store: &dyn Store,
    repo: &str,
    subject: &Digest,
) -> Result<Discovered, OpError> {
    let mut found = Discovered::default();
    discover_cosign(store, repo, subject, &mut found).await?;
    discover_referrers(store, repo, subject, &mut found).await?;
    Ok(found)
}

/// The formats of the signatures manifest `subject` in `repo` carries, one entry a signature
/// (what `inspect` and `ls --signatures` show); None when they could not be listed.
pub async fn formats_of(
    store: &dyn Store,
    repo: &str,
    subject: &Digest,
) -> Option<Vec<crate::sign::SignatureFormat>> {
    let found = discover(store, repo, subject).await.ok()?;
    Some(found.signatures.iter().map(|s| s.format).collect())
}

/// Whether a signature of manifest `subject` in `repo` verifies against `trust` (what
/// `inspect` and `ls --signatures` report when given trust); None when it could not be
/// checked (the manifest or its signatures could not be read).
pub async fn verifies(
    store: &dyn Store,
    repo: &str,
    subject: &Digest,
    trust: &crate::sign::Trust,
) -> Option<bool> {
    let raw = store.get_manifest(repo, subject.as_str()).await.ok()?;
    let outcome = verify_manifest(store, repo, &raw, trust).await.ok()?;
    Some(outcome.verified)
}

/// A manifest, or None when it does not exist.
async fn manifest_if_any(
    store: &dyn Store,
    repo: &str,
    reference: &str,
) -> Result<Option<crate::store::RawManifest>, OpError> {
    match store.get_manifest(repo, reference).await {
        Ok(raw) => Ok(Some(raw)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn discover_cosign(
    store: &dyn Store,
    repo: &str,
    subject: &Digest,
    found: &mut Discovered,
) -> Result<(), OpError> {
    let Some(raw) = manifest_if_any(store, repo, &cosign::signature_tag(subject)).await? else {
        return Ok(());
    };
    let manifest: Manifest = match serde_json::from_slice(&raw.bytes) {
        Ok(m) => m,
        Err(e) => {
            found.push(FoundSignature {
                format: SignatureFormat::Cosign,
                manifest: raw.digest,
                layer: None,
                content: Err(Refusal::Unreadable {
                    message: format!("the .sig manifest does not parse: {e}"),
                }),
            });
            return Ok(());
        }
    };
    for (layer, signature) in cosign::signature_layers(&manifest) {
        if found.full() {
            found.omitted += 1;
            continue;
        }
        let content = read_signature_blob(store, repo, layer)
            .await
            .map(|payload| SignatureContent::Cosign {
                payload,
                signature: signature.map(str::to_string),
            });
        found.push(FoundSignature {
            format: SignatureFormat::Cosign,
            manifest: raw.digest.clone(),
            layer: Some(layer.digest.clone()),
            content,
        });
    }
    Ok(())
}

/// The referrers of `subject`: the Referrers API, else the fallback index.
pub(crate) async fn referrers_of(
    store: &dyn Store,
    repo: &str,
    subject: &Digest,
) -> Result<Vec<Descriptor>, OpError> {
    if let Some(list) = store.referrers(repo, subject).await? {
        return Ok(list);
    }
    let Some(raw) = manifest_if_any(store, repo, &referrers_tag(subject)).await? else {
        return Ok(Vec::new());
    };
    let index: Index =
        serde_json::from_slice(&raw.bytes).map_err(|e| crate::store::StoreError::Corrupt {
            location: store.reference(repo, &referrers_tag(subject)),
            message: format!("the referrers index does not parse: {e}"),
        })?;
    Ok(index.manifests)
}

/// The signature format of an artifact type, if it is one.
fn format_of(artifact_type: &str) -> Option<SignatureFormat> {
    if bundle::is_bundle_type(artifact_type) {
        Some(SignatureFormat::Bundle)
    } else if artifact_type == notation::ARTIFACT_TYPE {
        Some(SignatureFormat::Notation)
    } else {
        None
    }
}

async fn discover_referrers(
    store: &dyn Store,
    repo: &str,
    subject: &Digest,
    found: &mut Discovered,
) -> Result<(), OpError> {
    let referrers = referrers_of(store, repo, subject).await?;
    // Indexes may list a signature without its artifactType: those are read to see.
    let candidates: Vec<&Descriptor> = referrers
        .iter()
        .filter(|d| {
            d.artifact_type
                .as_deref()
                .is_none_or(|t| format_of(t).is_some() || t == crate::oci::MEDIA_TYPE_EMPTY)
        })
        .collect();
    found.omitted += candidates.len().saturating_sub(MAX_REFERRERS);
    for desc in candidates.into_iter().take(MAX_REFERRERS) {
        if found.full() {
            found.omitted += 1;
            continue;
        }
        let Some(raw) = manifest_if_any(store, repo, desc.digest.as_str()).await? else {
            continue;
        };
        let Ok(manifest) = serde_json::from_slice::<Manifest>(&raw.bytes) else {
            continue;
        };
        let kind = manifest
            .artifact_type
            .as_deref()
            .unwrap_or(&manifest.config.media_type);
        let Some(format) = format_of(kind) else {
            continue;
        };
        let layer_type = |t: &str| match format {
            SignatureFormat::Bundle => bundle::is_bundle_type(t),
            _ => t == notation::JWS_MEDIA_TYPE,
        };
        let layer = manifest.layers.iter().find(|l| layer_type(&l.media_type));
        let content = if manifest.subject.as_ref().map(|s| &s.digest) != Some(subject) {
            Err(Refusal::OtherDigest {
                signed: manifest
                    .subject
                    .as_ref()
                    .map_or("no subject".to_string(), |s| s.digest.to_string()),
            })
        } else if let Some(layer) = layer {
            read_signature_blob(store, repo, layer)
                .await
                .map(|bytes| match format {
                    SignatureFormat::Bundle => SignatureContent::Bundle(bytes),
                    _ => SignatureContent::Notation(bytes),
                })
        } else {
            Err(Refusal::Unreadable {
                message: "the referrer has no signature layer".into(),
            })
        };
        found.push(FoundSignature {
            format,
            manifest: raw.digest,
            layer: layer.map(|l| l.digest.clone()),
            content,
        });
    }
    Ok(())
}

/// A signature blob, read whole up to [`MAX_SIGNATURE_BYTES`] and checked against its
/// descriptor; a failure is the signature's refusal, not the operation's.
async fn read_signature_blob(
    store: &dyn Store,
    repo: &str,
    desc: &Descriptor,
) -> Result<Vec<u8>, Refusal> {
    let unavailable = |message: String| Refusal::Unavailable { message };
    if desc.size > MAX_SIGNATURE_BYTES {
        return Err(unavailable(format!(
            "{} is {} bytes, more than {}, the most packreg reads",
            desc.digest,
            desc.size,
            crate::limits::human(MAX_SIGNATURE_BYTES)
        )));
    }
    let reader = store
        .get_blob(repo, &desc.digest)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let mut bytes = Vec::new();
    reader
        .take(desc.size + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| unavailable(format!("{}: {e}", desc.digest)))?;
    if bytes.len() as u64 != desc.size || Digest::of(&bytes) != desc.digest {
        return Err(unavailable(format!(
            "{} does not match its digest or size",
            desc.digest
        )));
    }
    Ok(bytes)
}
