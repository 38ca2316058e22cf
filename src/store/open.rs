//! Opening a store from the registry string the commands take.

use std::path::PathBuf;

use super::layout::LayoutStore;
use super::remote::RemoteStore;
use super::{Store, StoreError};

/// Environment variable naming the registry used when `-r` is not given.
pub const DEFAULT_STORE_ENV: &str = "PACKREG_REGISTRY";

/// Connection settings for remote registries (ignored by local stores).
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Use plain HTTP.
    pub plain_http: bool,
    /// Skip TLS certificate verification.
    pub insecure: bool,
    /// An extra root certificate (PEM).
    pub ca_file: Option<PathBuf>,
    /// A docker config.json to read credentials from.
    pub registry_config: Option<PathBuf>,
    /// How long a registry may send or take nothing before a request fails; None means
    /// `$PACKREG_TIMEOUT` seconds, else `timeout` of the settings file, else 60 s.
    pub timeout: Option<std::time::Duration>,
    /// Blobs at least this large are uploaded in chunks of this size, resumable; None means
    /// `$PACKREG_CHUNK_SIZE`, else the settings file, else 16 MiB; 0 means never.
    pub chunk_size: Option<u64>,
    /// Ignore what was learned of registries' behaviour in earlier runs, and learn it again.
    pub refresh_capabilities: bool,
    /// The settings file in force (see [`crate::config`]); None: the default one is read.
    pub config: Option<std::sync::Arc<crate::config::ConfigFile>>,
}

impl StoreOptions {
    /// The settings file in force: the one given, else the default one, read now.
    pub fn settings(&self) -> Result<std::sync::Arc<crate::config::ConfigFile>, StoreError> {
        if let Some(config) = &self.config {
            return Ok(config.clone());
        }
        let config = crate::config::ConfigFile::load_default()
            .map_err(|e| StoreError::Config(e.to_string()))?;
        for notice in &config.notices {
            tracing::warn!("{notice}");
        }
        Ok(std::sync::Arc::new(config))
    }
}

/// The embedded default store: `$XDG_DATA_HOME/packreg/store`, else
/// `~/.local/share/packreg/store`.
pub fn default_store_path() -> Result<PathBuf, StoreError> {
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        let data = PathBuf::from(data);
        if data.is_absolute() {
            return Ok(data.join("packreg").join("store"));
        }
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home)
            .join(".local")
            .join("share")
            .join("packreg")
            .join("store")),
        None => Err(StoreError::Config(
            "no registry given and neither XDG_DATA_HOME nor HOME is set; pass -r oci:PATH or -r HOST"
                .into(),
        )),
    }
}

/// Opens the store named by `registry`: `oci:PATH` is a local store, anything else a remote
/// registry `host[:port][/base/path]`; `None` means `$PACKREG_REGISTRY`, else `registry` of
/// the settings file, else the embedded default local store.
pub async fn open_store(
    registry: Option<&str>,
    opts: &StoreOptions,
) -> Result<Box<dyn Store>, StoreError> {
    let registry = match registry {
        Some(r) => Some(r.to_string()),
        None => {
            crate::config::Resolver::new(&*opts.settings()?)
                .registry(None)
                .value
        }
    };
    let Some(registry) = registry else {
        return Ok(Box::new(LayoutStore::new(default_store_path()?)));
    };
    if let Some(path) = registry.strip_prefix("oci:") {
        if path.is_empty() {
            return Err(StoreError::Config(
                "oci: needs a folder, as in -r oci:./packs".into(),
            ));
        }
        return Ok(Box::new(LayoutStore::new(path)));
    }
    Ok(Box::new(RemoteStore::connect(&registry, opts).await?))
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
