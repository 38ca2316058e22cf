//! Upload sessions kept across runs: for each registry, repository and blob, the session URL
//! and the offset the registry last confirmed, one small file each in
//! `$XDG_CACHE_HOME/packreg/uploads/` (else `~/.cache/packreg/uploads/`), so a push cut off
//! part-way continues in the next run where the registry stopped. Losing a file only costs a
//! fresh upload; delete the folder to forget every session.
//!
//! Sessions are kept per registry origin (scheme, host, port), and only those whose URL is on
//! that origin: a session a registry sent elsewhere is used in its run but never resumed, so
//! a record a hostile server left cannot send a later upload to another host.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

// Sessions are keyed by registry origin, repository and a name of the content: its digest, or
// for a blob sent before its digest is known, its file path, size and modification time.
/// A session as last confirmed by the registry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct SavedSession {
    /// Absolute URL of the session.
    pub location: String,
    /// Bytes the registry holds.
    pub offset: u64,
}

/// The saved sessions of one registry in one cache folder.
#[derive(Debug, Clone)]
pub(super) struct Sessions {
    /// `<cache>/uploads` (None: sessions are not kept).
    dir: Option<PathBuf>,
    /// The registry's origin, `scheme://host[:port]`: the one a kept session may point to.
    origin: String,
}

/// The folder holding saved sessions in the cache folder `cache`.
pub fn uploads_dir(cache: &Path) -> PathBuf {
    cache.join("uploads")
}

impl Sessions {
    /// The sessions of the registry at `origin` (`scheme://host[:port]`, as
    /// [`super::http::origin_of`] writes it).
    pub(super) fn new(cache: Option<&Path>, origin: String) -> Sessions {
        Sessions {
            dir: cache.map(uploads_dir),
            origin,
        }
    }

    fn path(&self, full: &str, key: &str) -> Option<PathBuf> {
        let key = Digest::of(format!("{}/{full} {key}", self.origin).as_bytes());
        Some(self.dir.as_ref()?.join(format!("{}.json", key.hex())))
    }

    /// The registry's `host[:port]`, as people name it.
    fn host(&self) -> &str {
        self.origin
            .split_once("://")
            .map_or(self.origin.as_str(), |(_, host)| host)
    }

    /// Whether `location` is on the registry's own origin.
    fn is_own(&self, location: &str) -> bool {
        super::http::origin_of(location) == self.origin
    }

    pub(super) fn load(&self, full: &str, key: &str) -> Option<SavedSession> {
        let path = self.path(full, key)?;
        let bytes = std::fs::read(&path).ok()?;
        // A few hundred bytes; anything else is not ours.
        if bytes.len() > 64 * 1024 {
            return None;
        }
        let session: SavedSession = serde_json::from_slice(&bytes).ok()?;
        if !self.is_own(&session.location) {
            tracing::debug!("forgetting an upload session kept for another host");
            let _ = std::fs::remove_file(path);
            return None;
        }
        Some(session)
    }

    pub(super) fn save(&self, full: &str, key: &str, session: &SavedSession) {
        if !self.is_own(&session.location) {
            // Used in this run, never resumed: forget an earlier one under the same key.
            self.forget(full, key);
            return;
        }
        let Some(path) = self.path(full, key) else {
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
                &format!("{}/{full}", self.host()),
                session.offset,
            ),
            Err(e) => {
                tracing::debug!("cannot keep the upload session in {}: {e}", path.display())
            }
        }
    }

    pub(super) fn forget(&self, full: &str, key: &str) {
        if let Some(path) = self.path(full, key) {
            crate::resume::forget_upload(&path.to_string_lossy());
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sessions_on_the_registry_origin_are_kept_and_each_origin_has_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let own = Sessions::new(Some(dir.path()), "http://127.0.0.1:5000".into());
        let at = |location: &str| SavedSession {
            location: location.into(),
            offset: 7,
        };
        own.save("r", "k", &at("http://127.0.0.1:6000/v2/r/blobs/uploads/x"));
        assert_eq!(own.load("r", "k"), None);
        let kept = at("http://127.0.0.1:5000/v2/r/blobs/uploads/x");
        own.save("r", "k", &kept);
        assert_eq!(own.load("r", "k"), Some(kept));
        let tls = Sessions::new(Some(dir.path()), "https://127.0.0.1:5000".into());
        assert_eq!(tls.load("r", "k"), None);
    }
}
