//! Parent tags (`1.x`, `1.2.x`): each kept on the highest version of its line as versions are
//! pushed, copied, labelled and removed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::resolve::tag_digests;
use super::OpError;
use crate::digest::Digest;
use crate::store::{RawManifest, Store};
use crate::tag_grammar::{compare_version_tags, is_version_tag, parent_tags};

/// A parent tag after an update: the version it now follows, or None when its line is empty
/// and the tag was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
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
    move_parent_tags(store, repo, parents, None, tags, &BTreeMap::new()).await
}

/// [`update_parent_tags`] for a caller that already knows every tag of `repo` and its digest
/// (a mirror that just listed and wrote them), saving a listing and a lookup per tag.
pub async fn update_parent_tags_known(
    store: &dyn Store,
    repo: &str,
    parents: &[String],
    tags: Vec<(String, Digest)>,
) -> Result<Vec<ParentTag>, OpError> {
    move_parent_tags(store, repo, parents, None, tags, &BTreeMap::new()).await
}

/// [`update_parent_tags_known`], given manifests the caller holds by digest (a mirror that
/// just wrote them): a parent tag moved onto one of them is written without reading it back.
pub async fn update_parent_tags_held(
    store: &dyn Store,
    repo: &str,
    parents: &[String],
    tags: Vec<(String, Digest)>,
    held: &BTreeMap<Digest, RawManifest>,
) -> Result<Vec<ParentTag>, OpError> {
    move_parent_tags(store, repo, parents, None, tags, held).await
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
    let state =
        move_parent_tags(store, repo, parents, Some(leaving), tags, &BTreeMap::new()).await?;
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
    held: &BTreeMap<Digest, RawManifest>,
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
                    let read;
                    let raw = match held.get(target) {
                        Some(raw) => raw,
                        None => {
                            read = store.get_manifest(repo, target.as_str()).await?;
                            &read
                        }
                    };
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
