//! The verification gate of pull, mirror, export and import: a pack version passes only when
//! one of its signatures verifies against the user's trust. The gate checks a digest, which
//! the caller then copies or pulls, so a tag moved in between cannot slip through.

use std::sync::Arc;

use super::signatures::verify_manifest;
use super::OpError;
use crate::digest::Digest;
use crate::sign::Trust;
use crate::store::Store;

/// Lets through only what a signature verifies against `trust`.
#[derive(Debug, Clone)]
pub struct VerifyGate {
    trust: Arc<Trust>,
}

/// Why a version did not pass the gate.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reference}@{digest}: no signature verifies against the trust given ({reasons})")]
pub struct Unverified {
    /// The version (`name:tag`).
    pub reference: String,
    /// Its digest.
    pub digest: Digest,
    /// Each signature's refusal, or that there is none.
    pub reasons: String,
}

impl VerifyGate {
    /// A gate trusting `trust`.
    pub fn new(trust: Trust) -> Self {
        VerifyGate {
            trust: Arc::new(trust),
        }
    }

    /// Checks manifest `digest` of `repo` (named `reference` in messages).
    pub async fn admit(
        &self,
        store: &dyn Store,
        repo: &str,
        reference: &str,
        digest: &Digest,
    ) -> Result<(), OpError> {
        let raw = store.get_manifest(repo, digest.as_str()).await?;
        let outcome = verify_manifest(store, repo, &raw, &self.trust).await?;
        if outcome.verified {
            return Ok(());
        }
        let mut reasons: Vec<String> = outcome
            .signatures
            .iter()
            .filter_map(|s| s.reason.as_ref().map(|r| format!("{}: {r}", s.format)))
            .collect();
        if reasons.is_empty() {
            reasons.push("it carries no signature".into());
        }
        Err(OpError::Unverified(Box::new(Unverified {
            reference: reference.to_string(),
            digest: digest.clone(),
            reasons: reasons.join("; "),
        })))
    }
}
