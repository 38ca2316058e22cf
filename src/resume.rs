//! What a transfer in progress keeps for the next run: the bytes of a large download in the
//! cache (`.partial` files) and registry upload sessions with their confirmed offset. The
//! transfers record and forget them here as they go, so that when the command is stopped
//! (Ctrl-C, SIGTERM) the front end can say what the next run reuses ([`kept`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Something the next run continues from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// Bytes of a blob download, kept in the cache.
    Download {
        /// The blob.
        digest: String,
        /// Bytes on disk.
        have: u64,
        /// The blob's size.
        size: u64,
        /// The file holding them.
        path: PathBuf,
    },
    /// An upload session the registry confirmed bytes of.
    Upload {
        /// Registry and repository (`host:port/spectro-packs/archive/x`).
        repository: String,
        /// Bytes the registry holds.
        offset: u64,
    },
}

#[derive(Default)]
struct Records {
    downloads: BTreeMap<PathBuf, (String, u64)>,
    uploads: BTreeMap<String, (String, u64)>,
}

static RECORDS: Mutex<Records> = Mutex::new(Records {
    downloads: BTreeMap::new(),
    uploads: BTreeMap::new(),
});

fn records() -> std::sync::MutexGuard<'static, Records> {
    RECORDS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A download of blob `digest` (`size` bytes) keeps its bytes in `path`.
pub fn keep_download(path: &Path, digest: &str, size: u64) {
    records()
        .downloads
        .insert(path.to_path_buf(), (digest.to_string(), size));
}

/// The file `path` is gone (the blob is complete, or its bytes proved wrong).
pub fn forget_download(path: &Path) {
    records().downloads.remove(path);
}

/// Upload session `id` to `repository` holds `offset` bytes, saved for the next run.
pub fn keep_upload(id: &str, repository: &str, offset: u64) {
    records()
        .uploads
        .insert(id.to_string(), (repository.to_string(), offset));
}

/// Session `id` ended (committed, refused or forgotten).
pub fn forget_upload(id: &str) {
    records().uploads.remove(id);
}

/// What the next run would continue from now: downloads with bytes on disk, sessions with
/// confirmed bytes.
pub fn kept() -> Vec<Kept> {
    let records = records();
    let mut out = Vec::new();
    for (path, (digest, size)) in &records.downloads {
        let have = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if have > 0 && have < *size {
            out.push(Kept::Download {
                digest: digest.clone(),
                have,
                size: *size,
                path: path.clone(),
            });
        }
    }
    for (repository, offset) in records.uploads.values() {
        if *offset > 0 {
            out.push(Kept::Upload {
                repository: repository.clone(),
                offset: *offset,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_lists_partial_bytes_and_confirmed_sessions_until_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.partial");
        std::fs::write(&path, [0u8; 10]).unwrap();
        keep_download(&path, "sha256:aa", 100);
        keep_upload("test-session", "r/x", 5);
        let now = kept();
        assert!(now.contains(&Kept::Download {
            digest: "sha256:aa".into(),
            have: 10,
            size: 100,
            path: path.clone(),
        }));
        assert!(now.contains(&Kept::Upload {
            repository: "r/x".into(),
            offset: 5
        }));
        forget_download(&path);
        forget_upload("test-session");
        let now = kept();
        assert!(!now
            .iter()
            .any(|k| matches!(k, Kept::Download { path: p, .. } if *p == path)));
        assert!(!now
            .iter()
            .any(|k| matches!(k, Kept::Upload { repository, .. } if repository == "r/x")));
    }
}
