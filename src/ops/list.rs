//! Listing pack versions from manifests alone.

use serde::Serialize;

use super::transfer::parse_manifest;
use super::versions::{compare_version_tags, is_version_tag, tag_to_version};
use super::OpError;
use crate::artifact::classify;
use crate::artifact::media::{ANNOTATION_DISPLAY_NAME, ANNOTATION_LAYER};
use crate::digest::Digest;
use crate::oci::ANNOTATION_VERSION;
use crate::reference::{pack_repository, PACKS_PREFIX};
use crate::store::Store;

/// One pack version in a listing.
#[derive(Debug, Clone, Serialize)]
pub struct PackVersion {
    /// Pack name.
    pub name: String,
    /// Version (from the manifest's annotation, else from the tag).
    pub version: String,
    /// The tag.
    pub tag: String,
    /// Layer, when the manifest says.
    pub layer: Option<String>,
    /// Display name, when the manifest says.
    #[serde(rename = "displayName")]
    pub display_name: Option<String>,
    /// native, palette, oras, or unknown.
    pub format: String,
    /// Manifest digest.
    pub digest: Digest,
}

/// Lists the versions of pack `name`, or of every pack whose name contains `filter`. Reads
/// tags and manifests only. Sorted by name, then version.
pub async fn list(
    store: &dyn Store,
    name: Option<&str>,
    filter: Option<&str>,
) -> Result<Vec<PackVersion>, OpError> {
    let repos = match name {
        Some(name) => vec![pack_repository(name)],
        None => store.repositories(PACKS_PREFIX).await?,
    };
    let mut out = Vec::new();
    for repo in repos {
        let Some(pack) = repo.strip_prefix(PACKS_PREFIX) else {
            continue;
        };
        if filter.is_some_and(|f| !pack.contains(f)) {
            continue;
        }
        let mut tags: Vec<String> = store
            .tags(&repo)
            .await?
            .into_iter()
            .filter(|t| is_version_tag(t))
            .collect();
        tags.sort_by(|a, b| compare_version_tags(a, b));
        for tag in tags {
            let raw = match store.get_manifest(&repo, &tag).await {
                Ok(raw) => raw,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e.into()),
            };
            let manifest = parse_manifest(store, &repo, &raw).ok();
            let note = |key: &str| {
                manifest
                    .as_ref()
                    .and_then(|m| m.annotations.get(key))
                    .filter(|v| !v.is_empty())
                    .cloned()
            };
            let format = manifest
                .as_ref()
                .and_then(|m| classify(m).ok())
                .map(|f| f.to_string())
                .unwrap_or_else(|| "unknown".into());
            out.push(PackVersion {
                name: pack.to_string(),
                version: note(ANNOTATION_VERSION).unwrap_or_else(|| tag_to_version(&tag)),
                layer: note(ANNOTATION_LAYER),
                display_name: note(ANNOTATION_DISPLAY_NAME),
                tag,
                format,
                digest: raw.digest,
            });
        }
    }
    Ok(out)
}
