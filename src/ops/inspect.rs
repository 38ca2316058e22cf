//! Inspecting one pack artifact: manifest, layers and pack.json, fetching as little as
//! possible.

use std::collections::BTreeMap;

use serde::Serialize;

use super::list::OtherTags;
use super::resolve::resolve_ref;
use super::transfer::{parse_manifest, read_blob, read_small_blob};
use super::OpError;
use crate::artifact::unpack::read_pack_json_from_tarball;
use crate::artifact::{classify, ArtifactError, Format};
use crate::digest::Digest;
use crate::reference::PackRef;
use crate::store::{Store, StoreError};

/// One layer of an inspected artifact.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerInfo {
    /// Title (file or folder name), when it has one.
    pub title: Option<String>,
    /// Media type.
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Digest.
    pub digest: Digest,
}

/// What `inspect` reports.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    /// Full reference.
    pub reference: String,
    /// Manifest digest.
    pub digest: Digest,
    /// Manifest media type.
    pub media_type: String,
    /// Artifact type (or config media type).
    pub artifact_type: String,
    /// Pack format.
    pub format: Format,
    /// Config plus layers, in bytes.
    pub size: u64,
    /// Manifest annotations.
    pub annotations: BTreeMap<String, String>,
    /// Labels (`group__label`, `label`) pointing at this manifest.
    pub labels: Vec<String>,
    /// Parent tags (`1.x`, `1.2.x`) pointing at this manifest.
    pub parent_tags: Vec<String>,
    /// The layers.
    pub layers: Vec<LayerInfo>,
    /// pack.json content.
    pub pack: serde_json::Value,
    /// Whether the blob pack.json came from was checked against its digest. False for a
    /// Palette tarball: only its head is read, up to pack.json, so what is shown may differ
    /// from what a pull (which verifies the whole layer) would write.
    pub pack_verified: bool,
    /// The formats of the signatures the version carries (`packreg verify` checks them);
    /// None when they could not be listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatures: Option<Vec<crate::sign::SignatureFormat>>,
    /// With trust given ([`verify_signatures`]): whether a signature verifies against it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatures_verified: Option<bool>,
}

impl Inspection {
    /// Checks the signatures against `trust`, for [`Inspection::signatures_verified`]: the
    /// manifest inspected, by its digest, whatever its tag points at now.
    pub async fn verify_signatures(
        &mut self,
        store: &dyn Store,
        pack_ref: &PackRef,
        trust: &crate::sign::Trust,
    ) {
        let repo = pack_ref.repository();
        self.signatures_verified =
            super::signatures::verifies(store, &repo, &self.digest, trust).await;
    }
}

/// Inspects `pack_ref`. Native packs need the manifest and config only; in a Palette
/// tarball only the head of the layer is read, up to pack.json.
pub async fn inspect(store: &dyn Store, pack_ref: &PackRef) -> Result<Inspection, OpError> {
    let repo = pack_ref.repository();
    let (reference, raw) = resolve_ref(store, pack_ref).await?;
    let manifest = parse_manifest(store, &repo, &raw)?;
    let format = classify(&manifest)?;
    let pack_verified = format != Format::Palette;
    let pack_json = match format {
        Format::Native => read_small_blob(store, &repo, &manifest.config).await?,
        Format::Oras => {
            let layer = manifest
                .layers
                .iter()
                .find(|l| l.title() == Some("pack.json"))
                .ok_or_else(|| {
                    ArtifactError::NotAPack("the artifact has no pack.json layer".into())
                })?;
            read_small_blob(store, &repo, layer).await?
        }
        Format::Palette => {
            let layer = &manifest.layers[0];
            let title = layer.title().unwrap_or("layer").to_string();
            let size = layer.size;
            read_blob(store, &repo, layer, false, move |r| {
                read_pack_json_from_tarball(&title, size, r)
            })
            .await?
        }
    };
    let pack = serde_json::from_slice(&pack_json).map_err(|e| {
        ArtifactError::NotAPack(format!("pack.json of {reference} does not parse: {e}"))
    })?;
    // Sizes are what the manifest declares: added with a check, never wrapping.
    let size = manifest
        .layers
        .iter()
        .try_fold(manifest.config.size, |sum, l| sum.checked_add(l.size))
        .ok_or_else(|| StoreError::Corrupt {
            location: store.reference(&repo, raw.digest.as_str()),
            message: "the manifest's declared sizes add up to more than 2^64 bytes".into(),
        })?;
    let others = OtherTags::resolve(store, &repo, &store.tags(&repo).await?).await?;
    let (labels, parent_tags) = (
        others.labels_of(&raw.digest),
        others.parents_of(&raw.digest, None),
    );
    let signatures = super::signatures::formats_of(store, &repo, &raw.digest).await;
    Ok(Inspection {
        reference: store.reference(&repo, &reference),
        digest: raw.digest,
        media_type: raw.media_type,
        artifact_type: manifest.effective_artifact_type().to_string(),
        format,
        size,
        annotations: manifest.annotations.clone(),
        labels,
        parent_tags,
        layers: manifest
            .layers
            .iter()
            .map(|l| LayerInfo {
                title: l.title().map(str::to_string),
                media_type: l.media_type.clone(),
                size: l.size,
                digest: l.digest.clone(),
            })
            .collect(),
        pack,
        pack_verified,
        signatures,
        signatures_verified: None,
    })
}
