//! What references point at: the manifest a pack reference selects, and the digest every tag
//! of a repository points at.

use futures_util::stream::{self, StreamExt};

use super::not_found::{explain_missing, explained};
use super::OpError;
use crate::digest::Digest;
use crate::reference::{PackRef, Selector};
use crate::store::{RawManifest, Store};
use crate::tag_grammar::highest_version;

/// Finds the manifest a pack reference selects: the highest version when it names none. A
/// pack or tag that is not there is [`OpError::PackNotFound`], with the nearest candidates.
pub async fn resolve_ref(
    store: &dyn Store,
    pack_ref: &PackRef,
) -> Result<(String, RawManifest), OpError> {
    let repo = pack_ref.repository();
    let reference = match &pack_ref.selector {
        Selector::Tag(tag) => tag.clone(),
        Selector::Digest(digest) => digest.to_string(),
        Selector::Latest => {
            let tags = store.tags(&repo).await?;
            if tags.is_empty() {
                if let Some(missing) = explain_missing(store, pack_ref).await {
                    return Err(OpError::PackNotFound(Box::new(missing)));
                }
            }
            highest_version(tags.iter().map(String::as_str))
                .map(str::to_string)
                .ok_or_else(|| OpError::NoVersions {
                    name: pack_ref.name.clone(),
                    location: store.location(),
                })?
        }
    };
    let raw = store
        .get_manifest(&repo, &reference)
        .await
        .map_err(OpError::from);
    let raw = explained(store, pack_ref, raw).await?;
    Ok((reference, raw))
}

/// Every tag of `repo` with the digest it points at.
pub async fn tag_digests(store: &dyn Store, repo: &str) -> Result<Vec<(String, Digest)>, OpError> {
    digests_of(store, repo, store.tags(repo).await?).await
}

/// Each of `tags` of `repo` with the digest it points at (a tag not there is left out).
pub async fn digests_of(
    store: &dyn Store,
    repo: &str,
    tags: Vec<String>,
) -> Result<Vec<(String, Digest)>, OpError> {
    let resolved: Vec<Result<Option<(String, Digest)>, OpError>> = stream::iter(tags)
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
