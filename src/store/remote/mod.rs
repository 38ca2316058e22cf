//! A remote registry speaking the OCI distribution API, over one transport of our own.
//!
//! Module map (one concern a file):
//! - [`address`]: the TCP address of a host (its name is [`crate::name`]'s);
//! - `tls`, `client`: TLS settings and the pooled HTTP client (proxies, lazy TLS);
//! - `ping`: the plain-HTTP probe for loopback hosts;
//! - `body`: request bodies (re-openable blob origins) and answers, read with a limit or
//!   streamed with an idle timeout (a leaf);
//! - `http`: the HTTP layer: redirects, idle timeouts, the one retry loop; no auth;
//! - `auth`: the challenge handler (Basic, Bearer per scope, identity tokens), over `http`;
//! - [`transport`]: the single `send`, composing them; token scopes from repository and method;
//! - [`error`]: the registry's error body parsed once, with the advice sentences;
//! - `manifests`, `blobs`, `upload`, `listing`, `referrers`: the distribution API calls;
//! - `resume`: blob downloads resumed with Range requests;
//! - `sessions`, `capabilities`: upload sessions and registry behaviour kept across runs;
//! - [`probe`]: typed probes of what the registry supports (`doctor`), on the same requests;
//! - this file: [`RemoteStore`], connection, and the [`Store`] implementation, composition only.

pub mod address;
mod auth;
mod blobs;
mod body;
pub mod capabilities;
mod client;
pub mod error;
mod http;
mod listing;
mod manifests;
mod ping;
pub mod probe;
mod referrers;
mod resume;
pub mod sessions;
mod tls;
pub mod transport;
mod upload;

use async_trait::async_trait;

use super::{BlobReader, RawManifest, RepoLock, Store, StoreError, StoreOptions};
use crate::auth::load_credential;
use crate::digest::Digest;
use crate::name::{credential_key, is_loopback, split_registry, Scheme};
use crate::oci::Descriptor;
use crate::reference::is_repository_path;

pub use auth::Challenge;
pub use capabilities::{AuthKind, Capabilities, CapabilityRecord, Support};
pub use error::{Action, NetworkCause, RegistryError};
pub use tls::TlsSettings;
pub use transport::{Body, Request, Response, Transport};

/// A registry at `host[:port][/base/path]`.
pub struct RemoteStore {
    transport: std::sync::Arc<Transport>,
    base: String,
    /// Blobs at least this large go up in chunks of this size (0: never).
    chunk_size: u64,
    /// Entries asked per listing page.
    page_size: usize,
    /// Upload sessions kept across runs.
    sessions: sessions::Sessions,
    /// packreg's cache folder, for what transfers keep across runs (None: nothing).
    cache_dir: Option<std::path::PathBuf>,
    /// What is known of the registry's behaviour, across runs.
    capabilities: CapabilityRecord,
}

impl std::fmt::Debug for RemoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStore")
            .field("host", &self.transport.host())
            .field("base", &self.base)
            .field("scheme", &self.transport.scheme())
            .finish_non_exhaustive()
    }
}

impl RemoteStore {
    /// Connects to the registry `spec` (`host[:port][/base/path]`) with the connection `opts`
    /// holds for its host. A loopback host without a decided scheme gets plain HTTP only when
    /// the server answers in plain HTTP. Nothing is sent to the registry yet (but for that
    /// probe): the first request learns how it authenticates.
    pub async fn connect(spec: &str, opts: &StoreOptions) -> Result<RemoteStore, StoreError> {
        let (host, base) = split_registry(spec)?;
        let settings = opts.for_host(&host);
        let tls = TlsSettings::for_host(
            &host,
            settings.insecure,
            settings.ca_file.as_deref(),
            &opts.cert_dirs,
        )?;
        let scheme = match settings.scheme {
            Some(scheme) => scheme,
            None if is_loopback(&host) => ping::probe_scheme(&host).await,
            None => Scheme::Https,
        };
        let (credential, warning) =
            load_credential(credential_key(&host), settings.credential_file.as_deref());
        if let Some(warning) = warning {
            tracing::warn!("{warning}");
        }
        let client = client::shared_client(&tls);
        let capabilities = CapabilityRecord::load(
            opts.cache_dir.as_deref(),
            &host,
            settings.refresh_capabilities,
        );
        let transport = Transport::new(
            client,
            scheme,
            host,
            credential,
            settings.idle_timeout,
            settings.min_rate,
            settings.retry_budget,
        );
        let origin = http::origin_of(&transport.v2_url());
        Ok(RemoteStore {
            transport: std::sync::Arc::new(transport),
            base,
            chunk_size: settings.chunk_size,
            page_size: settings.page_size,
            sessions: sessions::Sessions::new(opts.cache_dir.as_deref(), origin),
            cache_dir: opts.cache_dir.clone(),
            capabilities,
        })
        .inspect(|store| {
            let scheme = store.scheme();
            store.capabilities.learn(|c| c.scheme = Some(scheme));
        })
    }

    /// The registry host (with port).
    pub fn host(&self) -> &str {
        self.transport.host()
    }

    /// HTTP or HTTPS, as decided at connection.
    pub fn scheme(&self) -> Scheme {
        self.transport.scheme()
    }

    /// What packreg knows of the registry's behaviour.
    pub fn capabilities(&self) -> Capabilities {
        self.capabilities.get()
    }

    fn full_repo(&self, repo: &str) -> Result<String, StoreError> {
        if !is_repository_path(repo) {
            return Err(StoreError::Config(format!(
                "{repo:?} is not a valid repository path"
            )));
        }
        Ok(if self.base.is_empty() {
            repo.to_string()
        } else {
            format!("{}/{repo}", self.base)
        })
    }

    /// `scheme://host/v2/<full name>/<rest>`.
    pub fn url(&self, full_repo: &str, rest: &str) -> String {
        format!("{}{full_repo}/{rest}", self.transport.v2_url())
    }

    /// `GET /v2/`, with the client's credentials.
    fn registry_request(&self) -> Request<'static> {
        Request::new(::http::Method::GET, self.transport.v2_url())
    }

    /// Checks that the registry accepts the client's credentials (used by `login`).
    pub async fn check_access(&self) -> Result<(), StoreError> {
        let resp = self.transport.send(self.registry_request()).await?;
        match resp.status.as_u16() {
            200..=299 => Ok(()),
            401 => Err(StoreError::Unauthorized {
                location: self.host().to_string(),
                host: self.host().to_string(),
                reason: crate::store::AuthFailure::BadPassword,
            }),
            s => {
                let host = self.host().to_string();
                let error = resp.registry_error(&host, error::Action::ApiCheck).await;
                if error.is_plain_http_to_tls() {
                    return Err(error.into_store_error());
                }
                Err(StoreError::Remote {
                    location: host,
                    message: format!(
                        "the registry answered HTTP {s} to /v2/; is this an OCI registry?"
                    ),
                })
            }
        }
    }
}

#[async_trait]
impl Store for RemoteStore {
    fn location(&self) -> String {
        if self.base.is_empty() {
            self.host().to_string()
        } else {
            format!("{}/{}", self.host(), self.base)
        }
    }

    fn registry_id(&self) -> String {
        self.host().to_string()
    }

    fn keeps_partial_downloads(&self) -> bool {
        true
    }

    fn cache_dir(&self) -> Option<std::path::PathBuf> {
        self.cache_dir.clone()
    }

    fn full_name(&self, repo: &str) -> String {
        self.full_repo(repo).unwrap_or_else(|_| repo.to_string())
    }

    async fn repositories(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.list_repositories(prefix).await
    }

    async fn tags(&self, repo: &str) -> Result<Vec<String>, StoreError> {
        self.list_tags(repo).await
    }

    async fn get_manifest(&self, repo: &str, reference: &str) -> Result<RawManifest, StoreError> {
        self.fetch_manifest(repo, reference).await
    }

    async fn resolve(&self, repo: &str, reference: &str) -> Result<Option<Digest>, StoreError> {
        self.head_manifest(repo, reference).await
    }

    async fn put_manifest(
        &self,
        repo: &str,
        tag: Option<&str>,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, StoreError> {
        self.push_manifest(repo, tag, bytes, media_type).await
    }

    async fn has_blob(&self, repo: &str, digest: &Digest) -> Result<bool, StoreError> {
        self.head_blob(repo, digest).await
    }

    async fn get_blob(&self, repo: &str, digest: &Digest) -> Result<BlobReader, StoreError> {
        self.fetch_blob(repo, digest, 0).await
    }

    async fn get_blob_at(
        &self,
        repo: &str,
        digest: &Digest,
        offset: u64,
    ) -> Result<BlobReader, StoreError> {
        self.fetch_blob(repo, digest, offset).await
    }

    async fn put_blob_from(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        origin: &dyn super::BlobOrigin,
    ) -> Result<(), StoreError> {
        self.upload_from(repo, digest, size, origin).await
    }

    async fn put_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        reader: BlobReader,
    ) -> Result<(), StoreError> {
        self.upload_blob(repo, digest, size, reader).await
    }

    async fn start_blob_upload<'a>(
        &'a self,
        repo: &'a str,
        key: &str,
    ) -> Result<Option<std::sync::Arc<dyn super::BlobUpload + 'a>>, StoreError> {
        Ok(Some(std::sync::Arc::new(
            self.open_session(repo, key).await?,
        )))
    }

    async fn mount_blob(
        &self,
        repo: &str,
        from_full: &str,
        digest: &Digest,
    ) -> Result<bool, StoreError> {
        self.mount(repo, from_full, digest).await
    }

    async fn referrers(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<Vec<Descriptor>>, StoreError> {
        self.list_referrers(repo, digest).await
    }

    async fn delete_manifest(&self, repo: &str, digest: &Digest) -> Result<(), StoreError> {
        self.remove_manifest(repo, digest).await
    }

    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), StoreError> {
        self.remove_tag(repo, tag).await
    }

    async fn lock(&self, _repo: &str) -> Result<RepoLock, StoreError> {
        // Registries serialise writes themselves.
        Ok(Box::new(()))
    }

    async fn collect_garbage(&self, _repo: &str) -> Result<(), StoreError> {
        // Registries collect unreferenced blobs with their own garbage collector.
        Ok(())
    }
}
