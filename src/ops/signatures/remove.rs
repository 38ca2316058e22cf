//! Removing a deleted version's signatures: cosign's `.sig` manifest, each signature or
//! other referrer of the digest, and the fallback index listing them.

use super::{manifest_if_any, referrers_of};
use crate::digest::Digest;
use crate::ops::OpError;
use crate::sign::cosign::signature_tag;
use crate::store::Store;
use crate::tag_grammar::referrers_tag;

/// Deletes what signs or refers to manifest `subject` of `repo`; returns how many manifests
/// went. Call after `subject` itself was deleted: nothing refers to a manifest that is gone.
pub async fn remove_signatures(
    store: &dyn Store,
    repo: &str,
    subject: &Digest,
) -> Result<usize, OpError> {
    let mut removed = 0;
    for desc in referrers_of(store, repo, subject).await? {
        if delete_if_present(store, repo, &desc.digest).await? {
            removed += 1;
        }
    }
    for tag in [signature_tag(subject), referrers_tag(subject)] {
        if let Some(raw) = manifest_if_any(store, repo, &tag).await? {
            if delete_if_present(store, repo, &raw.digest).await? {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

async fn delete_if_present(
    store: &dyn Store,
    repo: &str,
    digest: &Digest,
) -> Result<bool, OpError> {
    match store.delete_manifest(repo, digest).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e.into()),
    }
}
