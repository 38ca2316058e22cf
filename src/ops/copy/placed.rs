//! Where blobs are at the destination during one run of copies: a blob one pack brought (or
//! found there) is mounted into the next repository that needs it rather than uploaded again,
//! and a blob a repository is known to hold is not asked about again. Packs share a few files
//! (the same chart, icon or config in every version), so a first mirror of thousands of packs
//! otherwise uploads the same bytes thousands of times.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::digest::Digest;

/// The destination repositories known to hold each blob, for one run.
#[derive(Default)]
pub struct BlobPlaces {
    by_digest: Mutex<HashMap<Digest, Arc<tokio::sync::Mutex<Holders>>>>,
}

/// The destination repositories holding one blob: (repository, its full name for a mount).
pub(super) type Holders = Vec<(String, String)>;

impl BlobPlaces {
    /// The holders of `digest`, to be locked while it is placed: copies of one blob into
    /// several repositories wait for the first, then mount from where it went.
    pub(super) fn of(&self, digest: &Digest) -> Arc<tokio::sync::Mutex<Holders>> {
        // A poisoned map (a panic elsewhere) still holds valid entries.
        let mut map = self
            .by_digest
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(digest.clone()).or_default().clone()
    }
}
