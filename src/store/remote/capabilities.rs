//! What packreg has learned about a registry's behaviour (never its content), kept per host in
//! `$XDG_CACHE_HOME/packreg/capabilities/<host>.json` with the time it was learned, so later
//! runs skip what the registry does not do: no Referrers API request on a registry without one,
//! no chunked attempt on one that refuses chunks. A record older than a day, or
//! `--refresh-capabilities`, is learned again.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::address::Scheme;

/// How long a record is trusted.
pub const MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// Whether the registry does something: known either way, or not seen yet. Kept on disk as
/// `true`, `false`, or no field at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Option<bool>", into = "Option<bool>")]
pub enum Support {
    /// packreg has not seen the registry do it either way.
    #[default]
    Unknown,
    /// The registry does it.
    Yes,
    /// The registry does not.
    No,
}

impl Support {
    /// `Yes` or `No`, as `does` says.
    pub fn known(does: bool) -> Support {
        if does {
            Support::Yes
        } else {
            Support::No
        }
    }

    /// Whether nothing is known.
    pub fn is_unknown(&self) -> bool {
        *self == Support::Unknown
    }
}

impl From<Option<bool>> for Support {
    fn from(value: Option<bool>) -> Self {
        value.map_or(Support::Unknown, Support::known)
    }
}

impl From<Support> for Option<bool> {
    fn from(value: Support) -> Self {
        match value {
            Support::Unknown => None,
            Support::Yes => Some(true),
            Support::No => Some(false),
        }
    }
}

/// How the registry authenticates, as its challenge said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthKind {
    /// No authentication asked.
    None,
    /// HTTP Basic.
    Basic,
    /// Bearer tokens.
    Bearer,
}

/// The facts: `Unknown` (or None) where packreg has not seen the registry do it either way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    /// When the record last changed (seconds since the Unix epoch).
    pub learned_at: u64,
    /// The registry answers the Referrers API.
    #[serde(skip_serializing_if = "Support::is_unknown")]
    pub referrers_api: Support,
    /// The registry takes chunked uploads.
    #[serde(skip_serializing_if = "Support::is_unknown")]
    pub chunked_uploads: Support,
    /// The registry lists its repositories (`_catalog`).
    #[serde(skip_serializing_if = "Support::is_unknown")]
    pub catalog: Support,
    /// The registry deletes manifests.
    #[serde(skip_serializing_if = "Support::is_unknown")]
    pub deletes: Support,
    /// HTTP or HTTPS, as reached (`http` or `https` on disk).
    #[serde(skip_serializing_if = "Option::is_none", with = "scheme_text")]
    pub scheme: Option<Scheme>,
    /// How the registry authenticates (`none`, `basic` or `bearer` on disk).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthKind>,
    /// The smallest chunk it takes (`OCI-Chunk-Min-Length`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_min_length: Option<u64>,
    /// Blob GETs honour `Range`.
    #[serde(skip_serializing_if = "Support::is_unknown")]
    pub range: Support,
    /// The largest `_catalog` page size `n` seen accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog_page_max: Option<u64>,
}

/// The scheme as the text the record has always held.
mod scheme_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Scheme;

    pub fn serialize<S: Serializer>(scheme: &Option<Scheme>, s: S) -> Result<S::Ok, S::Error> {
        match scheme {
            Some(scheme) => s.serialize_str(scheme.as_str()),
            None => s.serialize_none(),
        }
    }

    /// Text other than `http` or `https` reads as not known.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Scheme>, D::Error> {
        Ok(match Option::<String>::deserialize(d)?.as_deref() {
            Some("http") => Some(Scheme::Http),
            Some("https") => Some(Scheme::Https),
            _ => None,
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_their_json_form() {
        let old = r#"{"learned_at":5,"referrers_api":false,"chunked_uploads":true,"scheme":"http","auth":"bearer","range":true,"catalog_page_max":1000}"#;
        let facts: Capabilities = serde_json::from_str(old).unwrap();
        assert_eq!(facts.referrers_api, Support::No);
        assert_eq!(facts.chunked_uploads, Support::Yes);
        assert_eq!(facts.catalog, Support::Unknown);
        assert_eq!(facts.scheme, Some(Scheme::Http));
        assert_eq!(facts.auth, Some(AuthKind::Bearer));
        let again: serde_json::Value = serde_json::to_value(&facts).unwrap();
        let old: serde_json::Value = serde_json::from_str(old).unwrap();
        assert_eq!(again, old);
        assert_eq!(
            serde_json::to_string(&Capabilities::default()).unwrap(),
            r#"{"learned_at":0}"#
        );
    }
}
