//! Opening a store from the registry string the commands take, with settings resolved before
//! (by the settings module, `config`, for the command line): nothing here reads the settings
//! file or the environment.

use super::layout::LayoutStore;
use super::remote::RemoteStore;
use super::{Store, StoreError, StoreOptions};

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

/// Opens the registry `host[:port][/base/path]` (never a local folder, whatever the name
/// looks like): the place an image reference names.
pub async fn open_registry(spec: &str, opts: &StoreOptions) -> Result<Box<dyn Store>, StoreError> {
    Ok(Box::new(RemoteStore::connect(spec, opts).await?))
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
