//! What packreg has learned about a registry's behaviour (never its content), kept per host in
//! `$XDG_CACHE_HOME/packreg/capabilities/<host>.json` with the time it was learned, so later
//! runs skip what the registry does not do: no Referrers API request on a registry without one,
//! no chunked attempt on one that refuses chunks. A record older than a day, or
//! `--refresh-capabilities`, is learned again.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How long a record is trusted.
pub const MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// The facts: None where packreg has not seen the registry do it either way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    /// When the record last changed (seconds since the Unix epoch).
    pub learned_at: u64,
    /// The registry answers the Referrers API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrers_api: Option<bool>,
    /// The registry takes chunked uploads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunked_uploads: Option<bool>,
    /// The registry lists its repositories (`_catalog`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog: Option<bool>,
    /// The registry deletes manifests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletes: Option<bool>,
    /// `http` or `https`, as reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// `none`, `basic` or `bearer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// The smallest chunk it takes (`OCI-Chunk-Min-Length`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_min_length: Option<u64>,
    /// Blob GETs honour `Range`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<bool>,
    /// The largest `_catalog` page size `n` seen accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog_page_max: Option<u64>,
}

/// A host's record, loaded at connection and saved whenever a fact changes.
#[derive(Debug)]
pub struct CapabilityRecord {
    path: Option<PathBuf>,
    facts: Mutex<Capabilities>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The file of `host` in the cache folder `cache`: its name with every character but letters,
/// digits, `.` and `-` as `_`.
fn path_for(cache: &Path, host: &str) -> PathBuf {
    let name: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    cache.join("capabilities").join(format!("{name}.json"))
}

impl CapabilityRecord {
    /// The record of `host` in the cache folder `cache` (None: nothing is kept), empty when
    /// there is none, it is older than [`MAX_AGE`], or `refresh` asks to learn again.
    pub fn load(cache: Option<&Path>, host: &str, refresh: bool) -> CapabilityRecord {
        let path = cache.map(|c| path_for(c, host));
        let facts = path
            .as_ref()
            .filter(|_| !refresh)
            .and_then(|p| std::fs::read(p).ok())
            .filter(|b| b.len() <= 64 * 1024)
            .and_then(|b| serde_json::from_slice::<Capabilities>(&b).ok())
            .filter(|c| now().saturating_sub(c.learned_at) < MAX_AGE.as_secs())
            .unwrap_or_default();
        CapabilityRecord {
            path,
            facts: Mutex::new(facts),
        }
    }

    /// The facts as they stand.
    pub fn get(&self) -> Capabilities {
        self.facts
            .lock()
            .map(|f| f.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Records what `change` sets, saving the file when a fact changed.
    pub fn learn(&self, change: impl FnOnce(&mut Capabilities)) {
        let Ok(mut facts) = self.facts.lock() else {
            return;
        };
        let before = facts.clone();
        change(&mut facts);
        if *facts == before {
            return;
        }
        facts.learned_at = now();
        let Some(path) = &self.path else {
            return;
        };
        let written = serde_json::to_vec_pretty(&*facts)
            .map_err(std::io::Error::other)
            .and_then(|bytes| crate::fsutil::write_atomic(path, &bytes, false));
        if let Err(e) = written {
            tracing::debug!(
                "cannot keep what was learned of the registry in {}: {e}",
                path.display()
            );
        }
    }
}
