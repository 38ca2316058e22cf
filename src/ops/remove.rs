//! Removing one pack version.

use serde::Serialize;

use super::tags::{tag_digests, update_parent_tags, ParentTag};
use super::versions::{is_parent_tag, is_version_tag, parent_tags};
use super::OpError;
use crate::digest::Digest;
use crate::reference::{pack_repository, version_to_tag};
use crate::store::{Store, StoreError};

/// The result of a removal.
#[derive(Debug, Clone, Serialize)]
pub struct RemoveOutcome {
    /// Full reference removed.
    pub reference: String,
    /// Digest of the deleted manifest.
    pub digest: Digest,
    /// Labels that pointed at it and went with it.
    pub removed_labels: Vec<String>,
    /// Other version tags on the same manifest, put back.
    pub kept_tags: Vec<String>,
    /// Parent tags after the removal.
    pub parent_tags: Vec<ParentTag>,
    /// What the user should know although the removal succeeded (garbage left in place).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Deletes version `version` of pack `name` and the labels on it, and re-points its parent
/// tags to the next highest version. Stores delete manifests by digest, which drops every tag
/// on it: other version tags on the same manifest are put back.
pub async fn remove(
    store: &dyn Store,
    name: &str,
    version: &str,
) -> Result<RemoveOutcome, OpError> {
    let repo = pack_repository(name);
    let tag = version_to_tag(version);
    if !is_version_tag(&tag) {
        return Err(OpError::NotAVersion(tag));
    }
    let reference = store.reference(&repo, &tag);
    let _lock = store.lock(&repo).await?;
    let digest = store
        .resolve(&repo, &tag)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("version {version} of pack {name}"),
            location: store.location(),
        })?;
    let raw = store.get_manifest(&repo, digest.as_str()).await?;
    let on_it: Vec<String> = tag_digests(store, &repo)
        .await?
        .into_iter()
        .filter(|(t, d)| *d == digest && *t != tag)
        .map(|(t, _)| t)
        .collect();
    let kept: Vec<String> = on_it
        .iter()
        .filter(|t| is_version_tag(t))
        .cloned()
        .collect();
    let labels: Vec<String> = on_it
        .iter()
        .filter(|t| !is_version_tag(t) && !is_parent_tag(t))
        .cloned()
        .collect();
    let mut parents = parent_tags(&tag);
    for t in on_it.iter().filter(|t| is_parent_tag(t)) {
        if !parents.contains(t) {
            parents.push(t.clone());
        }
    }
    store.delete_manifest(&repo, &digest).await?;
    for t in &kept {
        store
            .put_manifest(&repo, Some(t), &raw.bytes, &raw.media_type)
            .await?;
    }
    let parent_state = update_parent_tags(store, &repo, &parents).await?;
    let warnings = super::collect_garbage(store, &repo)
        .await
        .into_iter()
        .collect();
    Ok(RemoveOutcome {
        reference,
        digest,
        removed_labels: labels,
        kept_tags: kept,
        parent_tags: parent_state,
        warnings,
    })
}
