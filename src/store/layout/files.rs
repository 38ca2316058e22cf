//! The files of one layout: `index.json` read with a bound and written atomically under its
//! lock, the `oci-layout` marker, verified reads, and the store's lock files.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::digest::Digest;
use crate::fsutil::FileLock;
use crate::limits::{read_bounded, MAX_INDEX_BYTES};
use crate::oci::{Descriptor, Index, ANNOTATION_REF_NAME, MEDIA_TYPE_INDEX};
use crate::store::StoreError;

pub(super) const LAYOUT_FILE: &str = "oci-layout";
pub(super) const LAYOUT_CONTENT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
pub(super) const INDEX_FILE: &str = "index.json";
pub(super) const INDEX_LOCK: &str = ".packreg-index.lock";
pub(super) const WRITE_LOCK: &str = ".packreg-write.lock";

/// Reads a file of a store (or of an unpacked bundle) of at most `limit` bytes.
pub(super) fn read_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, StoreError> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    read_bounded(file, limit, what).map_err(|e| match e.get_ref() {
        Some(inner) if inner.is::<crate::limits::TooLarge>() => StoreError::Corrupt {
            location: path.display().to_string(),
            message: e.to_string(),
        },
        _ => StoreError::io(path, e),
    })
}

pub(super) fn read_index(dir: &Path) -> Result<Index, StoreError> {
    let path = dir.join(INDEX_FILE);
    match read_limited(&path, MAX_INDEX_BYTES, INDEX_FILE) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            location: path.display().to_string(),
            message: format!("not a valid OCI index: {e}"),
        }),
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(Index {
                schema_version: 2,
                media_type: Some(MEDIA_TYPE_INDEX.into()),
                ..Index::default()
            })
        }
        Err(e) => Err(e),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, synced, renamed.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    crate::fsutil::write_atomic(path, bytes, false).map_err(|e| StoreError::io(path, e))
}

pub(super) fn ensure_layout(dir: &Path) -> Result<(), StoreError> {
    let blobs = dir.join("blobs").join("sha256");
    fs::create_dir_all(&blobs).map_err(|e| StoreError::io(&blobs, e))?;
    let layout = dir.join(LAYOUT_FILE);
    if !layout.exists() {
        write_atomic(&layout, LAYOUT_CONTENT)?;
    }
    Ok(())
}

pub(super) async fn lock_file(path: PathBuf) -> Result<FileLock, StoreError> {
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        }
        crate::fsutil::lock_file(&path).map_err(|e| StoreError::io(&path, e))
    })
    .await
    .map_err(|e| StoreError::Unsupported(format!("lock task failed: {e}")))?
}

/// Runs `change` on the repository's index under the index lock and writes the result.
pub(super) async fn update_index<T>(
    dir: &Path,
    change: impl FnOnce(&mut Index) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let _lock = lock_file(dir.join(INDEX_LOCK)).await?;
    let mut index = read_index(dir)?;
    let out = change(&mut index)?;
    let bytes = serde_json::to_vec(&index).unwrap_or_default();
    write_atomic(&dir.join(INDEX_FILE), &bytes)?;
    Ok(out)
}

pub(super) fn ref_name(desc: &Descriptor) -> Option<&str> {
    desc.annotations
        .get(ANNOTATION_REF_NAME)
        .map(String::as_str)
}

pub(super) fn read_verified(
    path: &Path,
    digest: &Digest,
    limit: u64,
) -> Result<Vec<u8>, StoreError> {
    let bytes = read_limited(path, limit, "manifest")?;
    let got = Digest::of(&bytes);
    if &got != digest {
        return Err(StoreError::Integrity {
            location: path.display().to_string(),
            message: format!("content does not match its digest {digest} (it hashes to {got})"),
        });
    }
    Ok(bytes)
}
