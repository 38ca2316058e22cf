//! The OCI JSON documents packreg reads and writes: descriptors, image manifests and indexes.
//! Unknown fields are kept, so a document read and written again keeps its content; copies
//! still always move the original bytes.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::digest::Digest;

/// OCI image manifest.
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker schema 2 manifest.
pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const MEDIA_TYPE_DOCKER_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// Uncompressed tar layer.
pub const MEDIA_TYPE_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// Gzip tar layer.
pub const MEDIA_TYPE_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The config `oras push` uses when given none.
pub const MEDIA_TYPE_UNKNOWN_CONFIG: &str = "application/vnd.unknown.config.v1+json";
/// The OCI empty descriptor's media type: a config (or layer) that holds nothing.
pub const MEDIA_TYPE_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The empty descriptor's content: the two bytes `{}`.
pub const EMPTY_JSON: &[u8] = b"{}";

/// File name (or directory name) of a layer, ORAS's convention.
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
/// Version of the packaged software.
pub const ANNOTATION_VERSION: &str = "org.opencontainers.image.version";
/// Creation time.
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// Tag of a manifest inside an OCI image layout's index.json.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// ORAS: this layer is a directory to unpack.
pub const ANNOTATION_UNPACK: &str = "io.deis.oras.content.unpack";
/// ORAS: digest of a directory layer's uncompressed tar.
pub const ANNOTATION_CONTENT_DIGEST: &str = "io.deis.oras.content.digest";

/// Unknown keys of an object, in document order.
pub type Extra = IndexMap<String, Value>;

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the referenced content.
    pub media_type: String,
    /// Digest of the referenced content.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
    /// Artifact type of a referenced manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations, sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Unknown fields (urls, platform, data, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Descriptor {
    /// A descriptor with no annotations.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Self {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            artifact_type: None,
            annotations: BTreeMap::new(),
            extra: Extra::new(),
        }
    }

    /// The `org.opencontainers.image.title` annotation.
    pub fn title(&self) -> Option<&str> {
        self.annotations.get(ANNOTATION_TITLE).map(String::as_str)
    }
}

/// An OCI image manifest (also read for Docker schema 2 manifests, which share its shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Artifact type (OCI 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (signatures, SBOMs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations, sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Manifest {
    /// Serialises the manifest: compact JSON, fields in a fixed order, annotations sorted, so
    /// the same content always gives the same bytes and digest.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The artifact type, falling back to the config media type as OCI 1.1 tools do.
    pub fn effective_artifact_type(&self) -> &str {
        self.artifact_type
            .as_deref()
            .unwrap_or(&self.config.media_type)
    }
}

/// An OCI image index (also an image layout's index.json).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// The index's media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Artifact type (OCI 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The manifests it lists.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Whether `media_type` is a manifest or index type (as opposed to a blob).
pub fn is_manifest_media_type(media_type: &str) -> bool {
    matches!(
        media_type,
        MEDIA_TYPE_MANIFEST
            | MEDIA_TYPE_INDEX
            | MEDIA_TYPE_DOCKER_MANIFEST
            | MEDIA_TYPE_DOCKER_LIST
    )
}

/// The media type of raw manifest bytes: their `mediaType` field, else guessed from shape.
pub fn sniff_media_type(bytes: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    if let Some(mt) = value.get("mediaType").and_then(Value::as_str) {
        return Some(mt.to_string());
    }
    if value.get("manifests").is_some() {
        Some(MEDIA_TYPE_INDEX.into())
    } else if value.get("config").is_some() {
        Some(MEDIA_TYPE_MANIFEST.into())
    } else {
        None
    }
}

/// What a manifest or index points at: config and layers (blobs), child manifests and the
/// subject. Used to copy or keep a whole graph.
#[derive(Debug, Clone, Default)]
pub struct References {
    /// Blobs (config and layers).
    pub blobs: Vec<Descriptor>,
    /// Child manifests of an index.
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to, which need not be stored first.
    pub subject: Option<Descriptor>,
}

/// Parses raw manifest or index bytes of `media_type` into what they reference.
pub fn references(media_type: &str, bytes: &[u8]) -> Result<References, serde_json::Error> {
    let mut refs = References::default();
    if matches!(media_type, MEDIA_TYPE_INDEX | MEDIA_TYPE_DOCKER_LIST) {
        let index: Index = serde_json::from_slice(bytes)?;
        refs.manifests.extend(index.manifests);
        refs.subject = index.subject;
    } else {
        let manifest: Manifest = serde_json::from_slice(bytes)?;
        refs.blobs.push(manifest.config);
        refs.blobs.extend(manifest.layers);
        refs.subject = manifest.subject;
    }
    Ok(refs)
}
