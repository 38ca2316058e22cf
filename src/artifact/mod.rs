//! Packs as OCI artifacts: building manifests and layers from a pack folder in the native or
//! Palette format, recognising the format of a stored artifact, and writing a pulled artifact
//! back into a folder. Knows nothing of HTTP; reads and writes only pack folders and the
//! staging files of the layers it generates.

pub mod build;
pub mod format;
pub mod media;
pub mod unpack;

use std::path::PathBuf;

pub use build::{build_artifact, Artifact, Blob, BlobSource};
pub use format::{classify, content_identity, Format};

/// Errors of the artifact layer.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// Reading the pack or writing a staging file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The artifact is not a pack packreg can read.
    #[error("{0}")]
    NotAPack(String),
    /// A layer unpacks past an unpacking limit.
    #[error("layer {layer}: archive {limit}")]
    Limit {
        /// Title or digest of the layer.
        layer: String,
        /// The limit it exceeds.
        limit: crate::archive::LimitExceeded,
    },
    /// A layer's content is unsafe or corrupt.
    #[error("layer {layer}: {message}")]
    Layer {
        /// Title or digest of the layer.
        layer: String,
        /// What is wrong.
        message: String,
    },
}

impl ArtifactError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ArtifactError::Io {
            path: path.into(),
            source,
        }
    }
}
