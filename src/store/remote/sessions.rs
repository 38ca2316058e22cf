//! Upload sessions kept across runs: for each registry, repository and blob, the session URL
//! and the offset the registry last confirmed, one small file each in
//! `$XDG_CACHE_HOME/packreg/uploads/` (else `~/.cache/packreg/uploads/`), so a push cut off
//! part-way continues in the next run where the registry stopped. Losing a file only costs a
//! fresh upload; delete the folder to forget every session.

use std::path::PathBuf;

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

/// The folder holding saved sessions.
pub fn uploads_dir() -> Option<PathBuf> {
    Some(crate::fsutil::cache_dir()?.join("uploads"))
}

fn path(host: &str, full: &str, key: &str) -> Option<PathBuf> {
    let key = Digest::of(format!("{host}/{full} {key}").as_bytes());
    Some(uploads_dir()?.join(format!("{}.json", key.hex())))
}

pub(super) fn load(host: &str, full: &str, key: &str) -> Option<SavedSession> {
    let bytes = std::fs::read(path(host, full, key)?).ok()?;
    // A few hundred bytes; anything else is not ours.
    if bytes.len() > 64 * 1024 {
        return None;
    }
    serde_json::from_slice(&bytes).ok()
}

pub(super) fn save(host: &str, full: &str, key: &str, session: &SavedSession) {
    let Some(path) = path(host, full, key) else {
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
    if let Err(e) = written {
        tracing::debug!("cannot keep the upload session in {}: {e}", path.display());
    }
}

pub(super) fn forget(host: &str, full: &str, key: &str) {
    if let Some(path) = path(host, full, key) {
        let _ = std::fs::remove_file(path);
    }
}
