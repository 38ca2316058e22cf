//! Verifying a pack version: its signatures found and each checked against the user's trust.

use serde::Serialize;

use super::discover;
use crate::digest::Digest;
use crate::ops::resolve::resolve_ref;
use crate::ops::OpError;
use crate::reference::PackRef;
use crate::sign::{verify_signature, SignatureReport, Subject, Trust, VerificationLevel};
use crate::store::{RawManifest, Store};

/// What verifying one manifest found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyOutcome {
    /// The reference verified (`host/repo:tag`).
    pub reference: String,
    /// The manifest's digest, what the signatures must sign.
    pub digest: Digest,
    /// Every signature looked at.
    pub signatures: Vec<SignatureReport>,
    /// Signatures and referrers past the bounds, not looked at.
    pub omitted: usize,
    /// Whether at least one signature verifies (or the trust policy skips verification).
    pub verified: bool,
    /// The trust policy's level for this repository is `skip`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped_by_policy: bool,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Verifies the version `pack_ref` names (a tag is resolved once; its digest is checked).
pub async fn verify(
    store: &dyn Store,
    pack_ref: &PackRef,
    trust: &Trust,
) -> Result<VerifyOutcome, OpError> {
    let repo = pack_ref.repository();
    let (reference, raw) = resolve_ref(store, pack_ref).await?;
    let mut outcome = verify_manifest(store, &repo, &raw, trust).await?;
    outcome.reference = store.reference(&repo, &reference);
    Ok(outcome)
}

/// Verifies manifest `raw` of `repo`.
pub async fn verify_manifest(
    store: &dyn Store,
    repo: &str,
    raw: &RawManifest,
    trust: &Trust,
) -> Result<VerifyOutcome, OpError> {
    let scope = format!("{}/{repo}", store.location());
    let found = discover(store, repo, &raw.digest).await?;
    let subject = Subject {
        digest: &raw.digest,
        media_type: &raw.media_type,
        bytes: &raw.bytes,
        scope: &scope,
        now: now(),
    };
    let signatures: Vec<SignatureReport> = found
        .signatures
        .iter()
        .map(|f| verify_signature(f, &subject, trust))
        .collect();
    let skipped_by_policy = match trust {
        Trust::Policy { policy, .. } => policy
            .select(&scope)
            .is_some_and(|s| s.level == VerificationLevel::Skip),
        Trust::Keys(_) => false,
    };
    Ok(VerifyOutcome {
        reference: store.reference(repo, raw.digest.as_str()),
        digest: raw.digest.clone(),
        verified: skipped_by_policy || signatures.iter().any(|s| s.verified),
        signatures,
        omitted: found.omitted,
        skipped_by_policy,
    })
}
