//! Opening a store from the registry string the commands take, with settings resolved before
//! (by the settings module, `config`, for the command line): nothing here reads the settings
//! file or the environment.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::layout::LayoutStore;
use super::remote::RemoteStore;
use super::{Store, StoreError};
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

impl From<crate::name::NameError> for StoreError {
    fn from(e: crate::name::NameError) -> Self {
        StoreError::Config(e.to_string())
    }
}

/// Opens the store named by `registry`: `oci:PATH` is a local store, anything else a remote
/// registry `host[:port][/base/path]`; `None` means the embedded default local store.
pub async fn open_store(
    registry: Option<&str>,
    opts: &StoreOptions,
) -> Result<Box<dyn Store>, StoreError> {
    let Some(registry) = registry else {
        let path = opts.default_store.clone().ok_or_else(|| {
            StoreError::Config(
                "no registry given and neither XDG_DATA_HOME nor HOME is set; pass -r oci:PATH or -r HOST"
                    .into(),
            )
        })?;
        return Ok(Box::new(
            LayoutStore::new(path).with_cache_dir(opts.cache_dir.clone()),
        ));
    };
    if let Some(path) = registry.strip_prefix("oci:") {
        if path.is_empty() {
            return Err(StoreError::Config(
                "oci: needs a folder, as in -r oci:./packs".into(),
            ));
        }
        return Ok(Box::new(
            LayoutStore::new(path).with_cache_dir(opts.cache_dir.clone()),
        ));
    }
    Ok(Box::new(RemoteStore::connect(registry, opts).await?))
}

/// Opens the two sides of a copy. Two remote registries reached with the same TLS settings
/// share one connection pool (the transport shares clients per process).
pub async fn open_store_pair(
    src: &str,
    src_opts: &StoreOptions,
    dst: &str,
    dst_opts: &StoreOptions,
) -> Result<(Box<dyn Store>, Box<dyn Store>), StoreError> {
    if src.starts_with("oci:") || dst.starts_with("oci:") {
        let a = open_store(Some(src), src_opts).await?;
        let b = open_store(Some(dst), dst_opts).await?;
        return Ok((a, b));
    }
    let a = RemoteStore::connect(src, src_opts).await?;
    let b = RemoteStore::connect(dst, dst_opts).await?;
    Ok((Box::new(a), Box::new(b)))
}
