//! Tag bookkeeping shared by push and rm: which tags point where, and keeping parent tags on
//! the highest version of their line.

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::versions::{compare_version_tags, is_version_tag, parent_tags};
use super::OpError;
use crate::digest::Digest;
use crate::store::Store;

/// Every tag of `repo` with the digest it points at.
pub async fn tag_digests(store: &dyn Store, repo: &str) -> Result<Vec<(String, Digest)>, OpError> {
    let resolved: Vec<Result<Option<(String, Digest)>, OpError>> = stream::iter(
        store.tags(repo).await?,
    )
    .map(|tag| async move { Ok(store.resolve(repo, &tag).await?.map(|digest| (tag, digest))) })
    .buffered(8)
    .collect()
    .await;
    let mut out = Vec::new();
    for item in resolved {
        out.extend(item?);
    }
    Ok(out)
}

/// A parent tag after an update: the version it now follows, or None when its line is empty
/// and the tag was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParentTag {
    /// `1.x`, `1.2.x`.
    pub tag: String,
    /// The version tag it points at.
    pub version: Option<String>,
}

/// Points each of `parents` at the highest version of its line (or removes it when the line
/// has no version left). Returns the resulting state of each.
pub async fn update_parent_tags(
    store: &dyn Store,
    repo: &str,
    parents: &[String],
) -> Result<Vec<ParentTag>, OpError> {
    let tags = tag_digests(store, repo).await?;
    move_parent_tags(store, repo, parents, None, tags).await
}

/// [`update_parent_tags`] for a caller that already knows every tag of `repo` and its digest
/// (a mirror that just listed and wrote them), saving a listing and a lookup per tag.
pub async fn update_parent_tags_known(
    store: &dyn Store,
    repo: &str,
    parents: &[String],
    tags: Vec<(String, Digest)>,
) -> Result<Vec<ParentTag>, OpError> {
    move_parent_tags(store, repo, parents, None, tags).await
}

/// Points each of `parents` at the highest version of its line other than `leaving`, a
/// version about to be removed, so that the parents move before it goes. A parent whose
/// line has no other version is left for [`update_parent_tags`] to remove once the version
/// is gone. Returns the parents whose line is then empty.
pub async fn move_parent_tags_off(
    store: &dyn Store,
    repo: &str,
    parents: &[String],
    leaving: &str,
) -> Result<Vec<String>, OpError> {
    let tags = tag_digests(store, repo).await?;
    let state = move_parent_tags(store, repo, parents, Some(leaving), tags).await?;
    Ok(state
        .into_iter()
        .filter(|p| p.version.is_none())
        .map(|p| p.tag)
        .collect())
}

async fn move_parent_tags(
    store: &dyn Store,
    repo: &str,
    parents: &[String],
    leaving: Option<&str>,
    tags: Vec<(String, Digest)>,
) -> Result<Vec<ParentTag>, OpError> {
    let mut out = Vec::new();
    for parent in parents {
        let best = tags
            .iter()
            .filter(|(t, _)| Some(t.as_str()) != leaving)
            .filter(|(t, _)| is_version_tag(t) && parent_tags(t).contains(parent))
            .max_by(|a, b| compare_version_tags(&a.0, &b.0));
        let current = tags.iter().find(|(t, _)| t == parent).map(|(_, d)| d);
        match best {
            Some((version, target)) => {
                if current != Some(target) {
                    let raw = store.get_manifest(repo, target.as_str()).await?;
                    store
                        .put_manifest(repo, Some(parent), &raw.bytes, &raw.media_type)
                        .await?;
                }
                out.push(ParentTag {
                    tag: parent.clone(),
                    version: Some(version.to_string()),
                });
            }
            None => {
                if current.is_some() && leaving.is_none() {
                    store.delete_tag(repo, parent).await?;
                }
                out.push(ParentTag {
                    tag: parent.clone(),
                    version: None,
                });
            }
        }
    }
    Ok(out)
}

/// The result of adding a label.
#[derive(Debug, Clone, Serialize)]
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
    pub warnings: Vec<String>,
}

/// The label tag of `label` in `group`: `group__label`, or `label` alone.
pub fn label_tag(label: &str, group: Option<&str>) -> String {
    match group {
        Some(group) if !group.is_empty() => format!("{group}__{label}"),
        _ => label.to_string(),
    }
}

fn check_label(tag: &str) -> Result<(), OpError> {
    use super::versions::is_parent_tag;
    let reserved = is_version_tag(tag) || is_parent_tag(tag) || tag.starts_with("sha256-");
    if !crate::reference::is_valid_tag(tag) || reserved {
        return Err(OpError::BadLabel(tag.to_string()));
    }
    Ok(())
}

/// Every parent tag of the versions in `repo`.
pub async fn all_parent_tags(store: &dyn Store, repo: &str) -> Result<Vec<String>, OpError> {
    let mut parents = std::collections::BTreeSet::new();
    for tag in store.tags(repo).await? {
        if is_version_tag(&tag) {
            parents.extend(parent_tags(&tag));
        }
    }
    Ok(parents.into_iter().collect())
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
    let version_tag = crate::reference::version_to_tag(version);
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
pub struct LabelRemoval {
    /// Full reference of the removed tag.
    pub removed: String,
    /// What the user should know although the removal succeeded (garbage left in place).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
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
    store.delete_tag(&repo, tag).await?;
    let mut warnings: Vec<String> = super::collect_garbage(store, &repo)
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
