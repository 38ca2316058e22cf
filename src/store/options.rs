//! What opening a store takes, every value decided by the caller (the command line resolves
//! them from flags, the environment and the settings file): plain values, no reading here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::name::Scheme;

/// How to reach one registry, every value decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// HTTP or HTTPS; None: HTTPS, but a loopback host that answers plain HTTP gets that.
    pub scheme: Option<Scheme>,
    /// Skip TLS certificate verification.
    pub insecure: bool,
    /// An extra root certificate (PEM).
    pub ca_file: Option<PathBuf>,
    /// How long a registry may send or take nothing before a request fails.
    pub idle_timeout: Duration,
    /// Least bytes a second a request or answer must average once the idle timeout has
    /// passed (0: no minimum).
    pub min_rate: u64,
    /// The time the retries of a store (one registry in one command) may wait in all.
    pub retry_budget: Duration,
    /// Blobs at least this many bytes are uploaded in chunks of this size, resumable (0:
    /// never).
    pub chunk_size: u64,
    /// Entries asked per listing page.
    pub page_size: usize,
    /// The docker config.json holding the credentials (None: anonymous).
    pub credential_file: Option<PathBuf>,
    /// Ignore what was learned of the registry's behaviour in earlier runs, and learn it again.
    pub refresh_capabilities: bool,
}

/// What opening stores takes: the connection of every registry, and the folders used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// The connection of a registry without its own settings.
    pub connection: Connection,
    /// The connections of registries with their own settings, by lowercase `host[:port]`.
    pub registries: BTreeMap<String, Connection>,
    /// packreg's cache folder: capabilities, upload sessions, partial downloads and blob
    /// locations are kept there (None: nothing is kept across runs).
    pub cache_dir: Option<PathBuf>,
    /// Folders of per-host trust as docker has them (`<dir>/<host>/*.crt`, `*.cert`+`*.key`).
    pub cert_dirs: Vec<PathBuf>,
    /// The embedded local store, used when no registry is named (None: there is none).
    pub default_store: Option<PathBuf>,
}

impl StoreOptions {
    /// The connection of `host` (any case).
    pub fn for_host(&self, host: &str) -> &Connection {
        self.registries
            .get(&host.to_ascii_lowercase())
            .unwrap_or(&self.connection)
    }

    /// Every connection reads its credentials from `file`.
    pub fn with_credential_file(mut self, file: PathBuf) -> StoreOptions {
        for connection in std::iter::once(&mut self.connection).chain(self.registries.values_mut())
        {
            connection.credential_file = Some(file.clone());
        }
        self
    }
}
