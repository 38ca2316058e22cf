//! Removing one pack version.

use serde::Serialize;

use super::index::Change;
use super::parent_tags::{move_parent_tags_off, update_parent_tags, ParentTag};
use super::resolve::tag_digests;
use super::OpError;
use crate::digest::Digest;
use crate::reference::pack_repository;
use crate::store::{Store, StoreError};
use crate::tag_grammar::{is_parent_tag, is_version_tag, parent_tags, version_to_tag};

/// The result of a removal.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveOutcome {
    /// Full reference removed.
    pub reference: String,
    /// Digest of the deleted manifest.
    pub digest: Digest,
    /// Labels that pointed at it and went with it.
    pub removed_labels: Vec<String>,
    /// Other version tags on the same manifest, which stay.
    pub kept_tags: Vec<String>,
    /// Parent tags after the removal.
    pub parent_tags: Vec<ParentTag>,
    /// What the user should know although the removal succeeded (garbage left in place).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::ops::Warning>,
}

/// Deletes version `version` of pack `name` and the labels on it, and re-points its parent
/// tags to the next highest version.
///
/// The steps are ordered so that an interruption after any of them loses no tag that should
/// stay: parent tags move to their next version first; then, when another tag that stays
/// points at the same manifest, only the version's own tags are deleted, one by one; else the
/// manifest is deleted by digest (which registries need to free it); last, parent tags of
/// lines left empty are removed.
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
    let emptied = move_parent_tags_off(store, &repo, &parents, &tag).await?;
    // Tags that stay on this manifest: other versions, and parents moved onto one of them.
    let staying = tag_digests(store, &repo)
        .await?
        .into_iter()
        .any(|(t, d)| d == digest && t != tag && !labels.contains(&t) && !emptied.contains(&t));
    let deleted = async {
        if staying {
            for t in labels.iter().chain(std::iter::once(&tag)) {
                store.delete_tag(&repo, t).await?;
            }
            Ok(())
        } else {
            store.delete_manifest(&repo, &digest).await
        }
    }
    .await;
    if let Err(e) = deleted {
        // The version stays (say the registry refuses deletes): its parents go back to it.
        if let Err(back) = update_parent_tags(store, &repo, &parents).await {
            tracing::warn!("parent tags of {reference} could not be moved back: {back}");
        }
        return Err(e.into());
    }
    let parent_state = update_parent_tags(store, &repo, &parents).await?;
    // The signatures of a manifest that is gone go with it.
    let unsigned = match staying {
        true => None,
        false => super::signatures::remove_signatures(store, &repo, &digest)
            .await
            .err(),
    };
    let mut warnings: Vec<crate::ops::Warning> = super::collect_garbage(store, &repo)
        .await
        .into_iter()
        .collect();
    warnings.extend(unsigned.map(|e| e.to_string().into()));
    let gone: Vec<Change> = labels
        .iter()
        .chain(std::iter::once(&tag))
        .map(|t| Change::Remove {
            name: name.to_string(),
            tag: t.clone(),
        })
        .collect();
    warnings.extend(super::index::record(store, &gone).await);
    Ok(RemoveOutcome {
        reference,
        digest,
        removed_labels: labels,
        kept_tags: kept,
        parent_tags: parent_state,
        warnings,
    })
}
