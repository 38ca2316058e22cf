//! Recognising what kind of pack artifact a manifest describes.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::media::{ANNOTATION_TAR_DIGEST, ARTIFACT_TYPE, CONFIG};
use super::ArtifactError;
use crate::oci::{Descriptor, Manifest, ANNOTATION_CONTENT_DIGEST, ANNOTATION_UNPACK};

/// The layout of a pack artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// packreg's own: pack.json as config, a titled layer per file, chart and folder.
    Native,
    /// Palette's documented `oras push` of one `<name>-<version>.tar.gz`.
    Palette,
    /// Titled file and folder layers pushed by ORAS or another tool, with a pack.json.
    Oras,
}

impl Format {
    /// The name used on the command line and in listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Native => "native",
            Format::Palette => "palette",
            Format::Oras => "oras",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "native" => Ok(Format::Native),
            "palette" => Ok(Format::Palette),
            other => Err(format!(
                "{other:?} is not a pack format; use native or palette"
            )),
        }
    }
}

/// Whether a layer is (by its media type or file name) a gzip tar.
fn is_tarball(layer: &Descriptor) -> bool {
    let gz_type = matches!(
        layer.media_type.as_str(),
        "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/gzip"
            | "application/x-gzip"
            | "application/tar+gzip"
            | "application/x-tar"
    );
    let gz_name = layer
        .title()
        .is_some_and(|t| t.ends_with(".tar.gz") || t.ends_with(".tgz"));
    gz_type || gz_name
}

/// Recognises the format of a pack artifact from its manifest alone.
pub fn classify(manifest: &Manifest) -> Result<Format, ArtifactError> {
    let artifact_type = manifest.effective_artifact_type();
    if artifact_type == ARTIFACT_TYPE || manifest.config.media_type == CONFIG {
        return Ok(Format::Native);
    }
    if manifest.layers.len() == 1 && is_tarball(&manifest.layers[0]) {
        return Ok(Format::Palette);
    }
    let has_pack_json = manifest
        .layers
        .iter()
        .any(|l| l.title() == Some("pack.json"));
    let has_dirs = manifest
        .layers
        .iter()
        .any(|l| l.annotations.get(ANNOTATION_UNPACK).map(String::as_str) == Some("true"));
    if has_pack_json || has_dirs {
        return Ok(Format::Oras);
    }
    Err(ArtifactError::NotAPack(format!(
        "not a pack: artifact type {artifact_type:?} with {} layer(s) and no pack.json",
        manifest.layers.len()
    )))
}

/// What makes two artifacts "the same pack": the format, the config and, per layer, its
/// title and the digest of its uncompressed content. None when some layer's uncompressed
/// content is not known from the manifest (a tarball pushed by another tool).
pub fn content_identity(manifest: &Manifest) -> Option<(String, BTreeSet<(String, String)>)> {
    let format = classify(manifest).ok()?;
    let mut layers = BTreeSet::new();
    for layer in &manifest.layers {
        let title = layer
            .title()
            .map(str::to_string)
            .unwrap_or_else(|| layer.digest.to_string());
        let content = layer
            .annotations
            .get(ANNOTATION_CONTENT_DIGEST)
            .or_else(|| layer.annotations.get(ANNOTATION_TAR_DIGEST))
            .cloned();
        let content = match content {
            Some(c) => c,
            // Outside a Palette tarball, a layer without these annotations is a file stored as
            // is: its digest is its content's.
            None if format != Format::Palette => layer.digest.to_string(),
            None => return None,
        };
        layers.insert((title, content));
    }
    let config = format!("{format}:{}", manifest.config.digest);
    Some((config, layers))
}
