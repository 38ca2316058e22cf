//! The pack index: a small OCI artifact at `spectro-packs/packreg-index:latest` listing every
//! pack tag with its digest, layer and display name, so packs can be listed where a registry
//! refuses `_catalog`. push, rm, tag and mirror keep it up to date ([`record`]); `ls` and
//! `mirror` read it when the catalog is refused; [`verify`] and [`rebuild`] compare it with
//! the tags and repair it.

#[cfg(test)]
mod bounds_tests;
mod check;
mod doc;
mod update;

pub use check::{rebuild, verify, Drift, DriftKind, Rebuilt, Verification};
pub use doc::{Change, IndexEntry, IndexFile, ARTIFACT_TYPE, LAYER_MEDIA_TYPE};
pub use update::{read_state, update, update_with_formats, IndexState, INDEX_REPO, LATEST};

use std::collections::BTreeMap;

use super::{OpError, Remedy, Warning};
use crate::artifact::media::{ANNOTATION_DISPLAY_NAME, ANNOTATION_LAYER};
use crate::digest::Digest;
use crate::oci::{Manifest, ANNOTATION_VERSION};
use crate::reference::pack_repository;
use crate::store::Store;
use crate::tag_grammar::{is_parent_tag, is_referrers_tag, tag_to_version};

/// Whether the index lists `tag`: versions and labels, not parent tags (which follow the
/// versions) nor `sha256-` referrer tags.
pub fn is_indexed_tag(tag: &str) -> bool {
    !is_parent_tag(tag) && !is_referrers_tag(tag)
}

/// The entry of `name:tag` pointing at `digest`, from the manifest's annotations.
pub fn entry_from_manifest(
    name: &str,
    tag: &str,
    digest: Digest,
    manifest: Option<&Manifest>,
) -> IndexEntry {
    let note = |key: &str| {
        manifest
            .and_then(|m| m.annotations.get(key))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    IndexEntry {
        name: name.to_string(),
        version: note(ANNOTATION_VERSION).unwrap_or_else(|| tag_to_version(tag)),
        tag: tag.to_string(),
        digest,
        layer: note(ANNOTATION_LAYER),
        display_name: note(ANNOTATION_DISPLAY_NAME),
        updated: 0,
    }
}

/// The format `ls` shows for a manifest: `unknown` for one that does not parse or is no pack.
pub fn format_name(manifest: Option<&Manifest>) -> String {
    manifest
        .and_then(|m| crate::artifact::classify(m).ok())
        .map(|f| f.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The entry of `name:tag` as the store has it now; None when the tag does not exist.
pub async fn entry_in_store(
    store: &dyn Store,
    name: &str,
    tag: &str,
) -> Result<Option<IndexEntry>, OpError> {
    Ok(entry_and_format_in_store(store, name, tag)
        .await?
        .map(|(entry, _)| entry))
}

/// [`entry_in_store`], with the format of the manifest ([`format_name`]).
pub async fn entry_and_format_in_store(
    store: &dyn Store,
    name: &str,
    tag: &str,
) -> Result<Option<(IndexEntry, String)>, OpError> {
    let repo = pack_repository(name);
    let raw = match store.get_manifest(&repo, tag).await {
        Ok(raw) => raw,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let manifest = super::transfer::parse_manifest(store, &repo, &raw).ok();
    let format = format_name(manifest.as_ref());
    Ok(Some((
        entry_from_manifest(name, tag, raw.digest, manifest.as_ref()),
        format,
    )))
}

/// Applies `changes` to the index after an operation that already succeeded. A failure does
/// not undo the operation: it comes back as a warning for the user.
pub async fn record(store: &dyn Store, changes: &[Change]) -> Option<Warning> {
    record_with_formats(store, changes, &BTreeMap::new()).await
}

/// [`record`], given the formats of the manifests (by digest) the caller already read; the
/// update reads the manifest of any other digest it adds.
pub async fn record_with_formats(
    store: &dyn Store,
    changes: &[Change],
    formats: &BTreeMap<Digest, String>,
) -> Option<Warning> {
    match update_with_formats(store, changes, formats).await {
        Ok(()) => None,
        Err(e) => Some(Warning::with_remedy(
            format!(
                "the pack index {} was not updated ({e})",
                store.reference(INDEX_REPO, LATEST)
            ),
            Remedy::RebuildIndex,
        )),
    }
}
