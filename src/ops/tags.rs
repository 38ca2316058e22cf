//! Tag bookkeeping shared by push and rm: which tags point where, and keeping parent tags on
//! the highest version of their line.

use serde::Serialize;

use super::versions::{compare_version_tags, is_version_tag, parent_tags};
use super::OpError;
use crate::digest::Digest;
use crate::store::Store;

/// Every tag of `repo` with the digest it points at.
pub async fn tag_digests(store: &dyn Store, repo: &str) -> Result<Vec<(String, Digest)>, OpError> {
    let mut out = Vec::new();
    for tag in store.tags(repo).await? {
        if let Some(digest) = store.resolve(repo, &tag).await? {
            out.push((tag, digest));
        }
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
    let mut out = Vec::new();
    for parent in parents {
        let best = tags
            .iter()
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
                if current.is_some() {
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
