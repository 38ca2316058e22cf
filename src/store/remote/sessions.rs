//! Upload sessions kept across runs: for each registry, repository and blob, the session URL
//! and the offset the registry last confirmed, one small file each in
//! `$XDG_CACHE_HOME/packreg/uploads/` (else `~/.cache/packreg/uploads/`), so a push cut off
//! part-way continues in the next run where the registry stopped. Losing a file only costs a
//! fresh upload; delete the folder to forget every session.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

// Sessions are keyed by registry, repository and a name of the content: its digest, or for a
// blob sent before its digest is known, its file path, size and modification time.
/// A session as last confirmed by the registry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct SavedSession {
    /// Absolute URL of the session.
    pub location: String,
    /// Bytes the registry holds.
    pub offset: u64,
}

/// The saved sessions of one cache folder.
#[derive(Debug, Clone)]
pub(super) struct Sessions {
    /// `<cache>/uploads` (None: sessions are not kept).
    dir: Option<PathBuf>,
}

/// The folder holding saved sessions in the cache folder `cache`.
pub fn uploads_dir(cache: &Path) -> PathBuf {
    cache.join("uploads")
}

impl Sessions {
    pub(super) fn new(cache: Option<&Path>) -> Sessions {
        Sessions {
            dir: cache.map(uploads_dir),
        }
    }

    fn path(&self, host: &str, full: &str, key: &str) -> Option<PathBuf> {
        let key = Digest::of(format!("{host}/{full} {key}").as_bytes());
        Some(self.dir.as_ref()?.join(format!("{}.json", key.hex())))
    }

    pub(super) fn load(&self, host: &str, full: &str, key: &str) -> Option<SavedSession> {
        let bytes = std::fs::read(self.path(host, full, key)?).ok()?;
        // A few hundred bytes; anything else is not ours.
        if bytes.len() > 64 * 1024 {
            return None;
        }
        serde_json::from_slice(&bytes).ok()
    }

    pub(super) fn save(&self, host: &str, full: &str, key: &str, session: &SavedSession) {
        let Some(path) = self.path(host, full, key) else {
            return;
        };
        let written = path
            .parent()
            .map(std::fs::create_dir_all)
            .unwrap_or(Ok(()))
            .and_then(|()| {
                let bytes = serde_json::to_vec(session).map_err(std::io::Error::other)?;
                crate::fsutil::write_atomic(&path, &bytes, true)
            });
        match written {
            Ok(()) => crate::resume::keep_upload(
                &path.to_string_lossy(),
                &format!("{host}/{full}"),
                session.offset,
            ),
            Err(e) => {
                tracing::debug!("cannot keep the upload session in {}: {e}", path.display())
            }
        }
    }

    pub(super) fn forget(&self, host: &str, full: &str, key: &str) {
        if let Some(path) = self.path(host, full, key) {
            crate::resume::forget_upload(&path.to_string_lossy());
            let _ = std::fs::remove_file(path);
        }
    }
}
