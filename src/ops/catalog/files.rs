//! Reading one top-level file of a pack version (pack.json, README.md, values.yaml, the
//! logo) from its artifact, as little as possible and bounded: a titled layer of a native or
//! ORAS artifact (read whole and verified), or the head of a Palette tarball up to the file.

use super::super::transfer::{read_blob, read_small_blob};
use super::super::OpError;
use crate::artifact::unpack::read_file_from_tarball;
use crate::artifact::Format;
use crate::oci::Manifest;
use crate::store::Store;

/// Why a file of a pack was not read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The layer is larger than the catalogue reads.
    #[error("{file} is {size} bytes, more than the {limit} bytes the catalogue reads")]
    TooLarge {
        /// The file.
        file: String,
        /// Its declared size.
        size: u64,
        /// The bound.
        limit: u64,
    },
    /// Reading failed.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: Box<OpError>,
    },
}

/// The top-level file `name` of the version `manifest` describes; None when it has none.
/// Layers larger than `limit` are not read.
pub async fn read_pack_file(
    store: &dyn Store,
    repo: &str,
    manifest: &Manifest,
    format: Format,
    name: &str,
    limit: u64,
) -> Result<Option<Vec<u8>>, FileError> {
    let read_error = |source: OpError| FileError::Read {
        file: name.to_string(),
        source: Box::new(source),
    };
    match format {
        Format::Native | Format::Oras => {
            let layer = if name == "pack.json" && format == Format::Native {
                Some(&manifest.config)
            } else {
                manifest.layers.iter().find(|l| l.title() == Some(name))
            };
            let Some(layer) = layer else {
                return Ok(None);
            };
            if layer.size > limit {
                return Err(FileError::TooLarge {
                    file: name.to_string(),
                    size: layer.size,
                    limit,
                });
            }
            read_small_blob(store, repo, layer)
                .await
                .map(Some)
                .map_err(read_error)
        }
        Format::Palette => {
            let Some(layer) = manifest.layers.first() else {
                return Ok(None);
            };
            let title = layer.title().unwrap_or("layer").to_string();
            let (size, wanted) = (layer.size, name.to_string());
            // read_file_from_tarball reads only up to the file, within the unpacking limits,
            // and at most 4 MiB of it.
            let bytes = read_blob(store, repo, layer, false, move |r| {
                read_file_from_tarball(&title, size, r, &wanted)
            })
            .await
            .map_err(read_error)?;
            match bytes {
                Some(b) if b.len() as u64 > limit => Err(FileError::TooLarge {
                    file: name.to_string(),
                    size: b.len() as u64,
                    limit,
                }),
                other => Ok(other),
            }
        }
    }
}
