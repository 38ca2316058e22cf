//! Where blobs were last seen, per store, so a push can mount a blob from another repository
//! of the same registry instead of uploading it (as docker's blob info cache does). Kept in
//! `$XDG_CACHE_HOME/packreg/blob-locations.json` (else `~/.cache/packreg/…`); losing it
//! only costs uploads.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::digest::Digest;

/// Entries kept per store before the oldest knowledge is dropped.
const MAX_PER_STORE: usize = 20_000;

/// Known blob locations: registry id, then digest, then full repository name.
#[derive(Debug, Default)]
pub struct BlobCache {
    path: Option<PathBuf>,
    stores: BTreeMap<String, BTreeMap<String, String>>,
    dirty: bool,
}

fn default_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Some(
            PathBuf::from(dir)
                .join("packreg")
                .join("blob-locations.json"),
        );
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".cache/packreg/blob-locations.json"))
}

impl BlobCache {
    /// Reads the cache file (missing or unreadable: empty).
    pub fn load() -> BlobCache {
        let path = default_path();
        let stores = path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        BlobCache {
            path,
            stores,
            dirty: false,
        }
    }

    /// A repository of `store` other than `repo` known to hold `digest`.
    pub fn elsewhere(&self, store: &str, repo: &str, digest: &Digest) -> Option<String> {
        self.stores
            .get(store)
            .and_then(|m| m.get(digest.as_str()))
            .filter(|r| r.as_str() != repo)
            .cloned()
    }

    /// Records that `repo` of `store` holds `digest`.
    pub fn record(&mut self, store: &str, repo: &str, digest: &Digest) {
        let map = self.stores.entry(store.to_string()).or_default();
        if map.len() >= MAX_PER_STORE {
            map.clear();
        }
        if map.insert(digest.to_string(), repo.to_string()).as_deref() != Some(repo) {
            self.dirty = true;
        }
    }

    /// Writes the cache if it changed. Failures are only logged: it is a cache.
    pub fn save(&self) {
        let (Some(path), true) = (&self.path, self.dirty) else {
            return;
        };
        let bytes = serde_json::to_vec(&self.stores).unwrap_or_default();
        if let Err(e) = crate::fsutil::write_atomic(path, &bytes, false) {
            tracing::debug!("could not write the blob cache {}: {e}", path.display());
        }
    }
}
