//! Labels: extra tags (`group__label` or `label`) on a pack version, added and removed without
//! touching the version.

use serde::Serialize;

use super::parent_tags::{all_parent_tags, update_parent_tags, ParentTag};
use super::OpError;
use crate::digest::Digest;
use crate::store::Store;
use crate::tag_grammar::{
    is_parent_tag, is_referrers_tag, is_valid_tag, is_version_tag, version_to_tag,
};

/// The result of adding a label.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelOutcome {
    /// Full reference of the new tag.
    pub reference: String,
    /// The label tag (`group__label` or `label`).
    pub tag: String,
    /// Digest it points at.
    pub digest: Digest,
    /// Parent tags after the change.
    pub parent_tags: Vec<ParentTag>,
    /// What the user should know although the label was set (the pack index not updated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::ops::Warning>,
}

/// A label is a valid tag that no other kind of tag could be mistaken for.
fn check_label(tag: &str) -> Result<(), OpError> {
    let reserved = is_version_tag(tag) || is_parent_tag(tag) || is_referrers_tag(tag);
    if !is_valid_tag(tag) || reserved {
        return Err(OpError::BadLabel(tag.to_string()));
    }
    Ok(())
}

/// Points label `tag` at version `version` of pack `name`, then recomputes the parent tags.
pub async fn add_label(
    store: &dyn Store,
    name: &str,
    version: &str,
    tag: &str,
) -> Result<LabelOutcome, OpError> {
    check_label(tag)?;
    let repo = crate::reference::pack_repository(name);
    let version_tag = version_to_tag(version);
    if !is_version_tag(&version_tag) {
        return Err(OpError::NotAVersion(version_tag));
    }
    let _lock = store.lock(&repo).await?;
    let raw = store.get_manifest(&repo, &version_tag).await?;
    let digest = store
        .put_manifest(&repo, Some(tag), &raw.bytes, &raw.media_type)
        .await?;
    let parents = all_parent_tags(store, &repo).await?;
    let parent_tags = update_parent_tags(store, &repo, &parents).await?;
    let manifest = super::transfer::parse_manifest(store, &repo, &raw).ok();
    let entry = super::index::entry_from_manifest(name, tag, digest.clone(), manifest.as_ref());
    let warnings = super::index::record(store, &[super::index::Change::Put(entry)])
        .await
        .into_iter()
        .collect();
    Ok(LabelOutcome {
        reference: store.reference(&repo, tag),
        tag: tag.to_string(),
        digest,
        parent_tags,
        warnings,
    })
}

/// The result of removing a label.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelRemoval {
    /// Full reference of the removed tag.
    pub removed: String,
    /// What the user should know although the removal succeeded (garbage left in place).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::ops::Warning>,
}

/// Removes label `tag` of pack `name` only: the version and its other tags stay. Versions
/// are removed with `rm`, and parent tags follow the versions.
pub async fn remove_label(
    store: &dyn Store,
    name: &str,
    tag: &str,
) -> Result<LabelRemoval, OpError> {
    check_label(tag)?;
    let repo = crate::reference::pack_repository(name);
    let _lock = store.lock(&repo).await?;
    // A registry that deletes by digest only would otherwise "remove" a label never there.
    if store.resolve(&repo, tag).await?.is_none() {
        return Err(crate::store::StoreError::NotFound {
            what: format!("tag {tag} of {repo}"),
            location: store.location(),
        }
        .into());
    }
    store.delete_tag(&repo, tag).await?;
    let mut warnings: Vec<crate::ops::Warning> = super::collect_garbage(store, &repo)
        .await
        .into_iter()
        .collect();
    let gone = super::index::Change::Remove {
        name: name.to_string(),
        tag: tag.to_string(),
    };
    warnings.extend(super::index::record(store, &[gone]).await);
    Ok(LabelRemoval {
        removed: store.reference(&repo, tag),
        warnings,
    })
}
