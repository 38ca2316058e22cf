//! Where blobs were last seen, per store, so a push can mount a blob from another repository
//! of the same registry instead of uploading it (as docker's blob info cache does). Kept in
//! `blob-locations.json` of the store's cache folder (`$XDG_CACHE_HOME/packreg`, else
//! `~/.cache/packreg`, for the command line); losing it only costs uploads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::digest::Digest;

/// Entries kept per store before the oldest knowledge is dropped.
const MAX_PER_STORE: usize = 20_000;

/// Registry id, then digest, then full repository name.
type Locations = BTreeMap<String, BTreeMap<String, String>>;

/// Known blob locations: registry id, then digest, then full repository name.
#[derive(Debug, Default)]
pub struct BlobCache {
    path: Option<PathBuf>,
    stores: Locations,
    /// What this process learnt (store, digest, repository), merged into the file on save.
    learnt: Vec<(String, String, String)>,
}

fn read_locations(path: Option<&Path>) -> Locations {
    path.and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Records `digest` in `repo` of `store`; true when that is news.
fn insert(stores: &mut Locations, store: &str, digest: &str, repo: &str) -> bool {
    let map = stores.entry(store.to_string()).or_default();
    if map.len() >= MAX_PER_STORE {
        map.clear();
    }
    map.insert(digest.to_string(), repo.to_string()).as_deref() != Some(repo)
}

/// The cache file in the cache folder `cache`.
pub fn path_in(cache: &Path) -> PathBuf {
    cache.join("blob-locations.json")
}

impl BlobCache {
    /// Reads the cache file of the cache folder `cache` (missing or unreadable: empty; None:
    /// there is no cache folder, and nothing is saved).
    pub fn load(cache: Option<&Path>) -> BlobCache {
        Self::at(cache.map(path_in))
    }

    /// Reads the cache file at `path` (None: there is none, and nothing is saved).
    pub fn at(path: Option<PathBuf>) -> BlobCache {
        let stores = read_locations(path.as_deref());
        BlobCache {
            path,
            stores,
            learnt: Vec::new(),
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
        if insert(&mut self.stores, store, digest.as_str(), repo) {
            self.learnt
                .push((store.to_string(), digest.to_string(), repo.to_string()));
        }
    }

    /// Adds what this process learnt to the file as it is now, under its lock, so concurrent
    /// pushes and pulls keep each other's entries. Failures are only logged: it is a cache.
    pub fn save(&self) {
        let Some(path) = &self.path else {
            return;
        };
        if self.learnt.is_empty() {
            return;
        }
        let result = crate::fsutil::lock_for_update(path).and_then(|_lock| {
            let mut stores = read_locations(Some(path));
            for (store, digest, repo) in &self.learnt {
                insert(&mut stores, store, digest, repo);
            }
            let bytes = serde_json::to_vec(&stores).unwrap_or_default();
            crate::fsutil::write_atomic(path, &bytes, false)
        });
        if let Err(e) = result {
            tracing::debug!("could not write the blob cache {}: {e}", path.display());
        }
    }
}
