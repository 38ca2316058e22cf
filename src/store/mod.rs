//! Where artifacts live. A [`Store`] moves manifests (raw bytes, never re-serialised) and
//! blobs (streams), lists repositories and tags and deletes; it knows nothing of packs.
//!
//! [`layout::LayoutStore`] is a tree of OCI image layouts on disk (`oci:PATH`).

pub mod layout;
pub mod open;
mod options;
pub mod remote;

use std::pin::Pin;

use async_trait::async_trait;
use tokio::io::AsyncRead;

use crate::digest::Digest;

pub use open::{open_registry, open_store, open_store_pair};
pub use options::{Connection, StoreOptions};

/// A stream of blob bytes.
pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// A manifest as stored: its exact bytes, media type and digest.
#[derive(Debug, Clone)]
pub struct RawManifest {
    /// The bytes, exactly as pushed.
    pub bytes: Vec<u8>,
    /// Media type.
    pub media_type: String,
    /// Digest of the bytes.
    pub digest: Digest,
}

/// Errors of a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The repository, tag, manifest or blob does not exist.
    #[error("{what} not found in {location}")]
    NotFound {
        /// What was looked for (`tag 1.0.0 of spectro-packs/archive/x`).
        what: String,
        /// The store.
        location: String,
    },
    /// Content did not match its digest or size.
    #[error("{location}: {message}")]
    Integrity {
        /// Where.
        location: String,
        /// What did not match.
        message: String,
    },
    /// A file of a local store could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The store holds a document packreg cannot read.
    #[error("{location}: {message}")]
    Corrupt {
        /// The file or URL.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// The registry string or options are unusable.
    #[error("{0}")]
    Config(String),
    /// The store cannot do this.
    #[error("{0}")]
    Unsupported(String),
    /// The registry wants credentials, or refused the ones given.
    #[error("{location}: {reason}")]
    Unauthorized {
        /// Registry or reference.
        location: String,
        /// The registry's host (`host[:port]`), whose credentials are in question.
        host: String,
        /// What was refused.
        reason: AuthFailure,
    },
    /// The registry does not let clients list its repositories (`_catalog`).
    #[error("{location} does not let packreg list its repositories (_catalog)")]
    CatalogRefused {
        /// The registry.
        location: String,
    },
    /// The credentials are valid but lack permission.
    #[error("{location}: access denied (DENIED): the account lacks permission for this; ask the registry's owner for push/pull rights")]
    Denied {
        /// Registry or reference.
        location: String,
    },
    /// The registry answered something packreg cannot use (a protocol violation, a body over
    /// its limit).
    #[error("{location}: {message}")]
    Remote {
        /// Registry or reference.
        location: String,
        /// What happened and what to do.
        message: String,
    },
    /// The registry answered an error status.
    #[error(transparent)]
    Registry(Box<remote::RegistryError>),
    /// A registry reached one of packreg's bounds (endless pages, an upload that never
    /// advances, retries past their budget, a transfer too slow).
    #[error("{location}: {limit}")]
    Limit {
        /// Registry or reference.
        location: String,
        /// The bound reached.
        limit: crate::limits::RemoteLimit,
    },
    /// The registry could not be reached, or the connection broke or stalled.
    #[error("{location}: {message}")]
    Network {
        /// Registry.
        location: String,
        /// Why.
        cause: remote::NetworkCause,
        /// The connection was plain HTTP.
        plain_http: bool,
        /// What happened.
        message: String,
    },
}

/// What a registry refused about the client's credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// The registry answered 401: credentials needed, or the ones sent refused.
    #[error("authentication required or credentials rejected (UNAUTHORIZED)")]
    Rejected,
    /// The registry checked a user name and password and refused them.
    #[error("the registry rejected the user name or password")]
    BadPassword,
    /// The token service refused the credentials.
    #[error("the registry's token service refused the credentials (HTTP {status})")]
    TokenRefused {
        /// Its HTTP status.
        status: u16,
    },
    /// The credential is an identity token, but the registry asks for basic authentication.
    #[error("the docker config holds an identity token for this registry, but it does not use token authentication")]
    IdentityTokenWithoutTokenAuth,
    /// The token exchange failed: an unusable realm (not a URL, or plain HTTP behind HTTPS), or
    /// an answer that is not a token.
    #[error("{0}")]
    TokenService(String),
}

impl From<remote::RegistryError> for StoreError {
    fn from(e: remote::RegistryError) -> Self {
        StoreError::Registry(Box::new(e))
    }
}

impl From<crate::name::NameError> for StoreError {
    fn from(e: crate::name::NameError) -> Self {
        StoreError::Config(e.to_string())
    }
}

impl StoreError {
    /// Whether this is a not-found error.
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }

    /// Whether the same operation may succeed when tried again: network failures and the
    /// registry statuses 408, 429, 500, 502, 503 and 504.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Network { .. } => true,
            StoreError::Registry(e) => e.is_retryable(),
            _ => false,
        }
    }

    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// An open upload session: content is sent first, then either committed under its digest or
/// cancelled. Nothing is visible in the store before the commit.
#[async_trait]
pub trait BlobUpload: Send + Sync {
    /// Sends `size` bytes from `origin` (re-opened at an offset where a transfer broke off).
    async fn send(&self, size: u64, origin: &dyn BlobOrigin) -> Result<(), StoreError>;
    /// Stores what was sent as blob `digest`; the store refuses it when the content does not
    /// match.
    async fn commit(&self, digest: &Digest) -> Result<(), StoreError>;
    /// Ends the session; the store discards what was sent. Failures only leave the session
    /// for the store to expire.
    async fn cancel(&self);
}

/// Where a blob's bytes come from, able to start again at any offset (a file, or a registry
/// asked with a Range request), so an upload cut off part-way continues where the registry
/// stopped.
#[async_trait]
pub trait BlobOrigin: Send + Sync {
    /// The blob's bytes from `offset` to its end.
    async fn open_at(&self, offset: u64) -> Result<BlobReader, StoreError>;
}

/// A guard that keeps a repository locked for a write session until dropped.
pub type RepoLock = Box<dyn Send + Sync>;

/// Storage for OCI artifacts, addressed by repository path (`spectro-packs/archive/nginx`).
#[async_trait]
pub trait Store: Send + Sync {
    /// A human-readable name of the store for messages (`oci:/path` or `host/base`).
    fn location(&self) -> String;

    /// Full reference text of `repo` with `tag_or_digest` (`:tag` or `@sha256:…`), for messages.
    fn reference(&self, repo: &str, tag_or_digest: &str) -> String {
        let sep = if tag_or_digest.starts_with("sha256:") {
            "@"
        } else {
            ":"
        };
        format!("{}/{repo}{sep}{tag_or_digest}", self.location())
    }

    /// Repositories under `prefix` (a path such as `spectro-packs/archive/`), sorted.
    async fn repositories(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Tags of `repo`, sorted; empty when the repository does not exist.
    async fn tags(&self, repo: &str) -> Result<Vec<String>, StoreError>;

    /// The manifest `reference` (a tag or a digest) of `repo`.
    async fn get_manifest(&self, repo: &str, reference: &str) -> Result<RawManifest, StoreError>;

    /// Digest of the manifest `reference`, or None when there is none. Cheaper than
    /// [`Store::get_manifest`] where the store allows.
    async fn resolve(&self, repo: &str, reference: &str) -> Result<Option<Digest>, StoreError> {
        match self.get_manifest(repo, reference).await {
            Ok(m) => Ok(Some(m.digest)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores manifest `bytes` and, when `tag` is given, points the tag at it. Every blob and
    /// child manifest it references must already be stored.
    async fn put_manifest(
        &self,
        repo: &str,
        tag: Option<&str>,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, StoreError>;

    /// Whether blob `digest` is stored in `repo`.
    async fn has_blob(&self, repo: &str, digest: &Digest) -> Result<bool, StoreError>;

    /// Streams blob `digest`. The caller verifies digest and size as it reads.
    async fn get_blob(&self, repo: &str, digest: &Digest) -> Result<BlobReader, StoreError>;

    /// Stores a blob of `size` bytes read from `reader`, verifying its digest and size before it
    /// becomes visible.
    async fn put_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        reader: BlobReader,
    ) -> Result<(), StoreError>;

    /// Stores blob `digest` of `size` bytes read from `origin`. Stores that can resume a cut
    /// upload re-open the origin where they stopped; others read it once.
    async fn put_blob_from(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        origin: &dyn BlobOrigin,
    ) -> Result<(), StoreError> {
        self.put_blob(repo, digest, size, origin.open_at(0).await?)
            .await
    }

    /// Streams blob `digest` from byte `offset` on. The bytes are not verified against the
    /// digest (they are only part of the blob): the store receiving them checks the whole.
    async fn get_blob_at(
        &self,
        repo: &str,
        digest: &Digest,
        offset: u64,
    ) -> Result<BlobReader, StoreError> {
        use tokio::io::AsyncReadExt;
        let mut reader = self.get_blob(repo, digest).await?;
        let location = self.reference(repo, digest.as_str());
        let skipped = tokio::io::copy(&mut (&mut reader).take(offset), &mut tokio::io::sink())
            .await
            .map_err(|e| StoreError::Integrity {
                location: location.clone(),
                message: format!("cannot skip to byte {offset}: {e}"),
            })?;
        if skipped != offset {
            return Err(StoreError::Integrity {
                location,
                message: format!("the blob ends at byte {skipped}, before {offset}"),
            });
        }
        Ok(reader)
    }

    /// Whether a large download from this store is worth keeping across runs (a registry, not
    /// a local folder).
    fn keeps_partial_downloads(&self) -> bool {
        false
    }

    /// packreg's cache folder, where transfers from and to this store keep what helps the
    /// next run (partial downloads, blob locations); None: nothing is kept.
    fn cache_dir(&self) -> Option<std::path::PathBuf> {
        None
    }

    /// Opens an upload session for a blob whose digest is not known yet (see [`BlobUpload`]),
    /// or None when the store has no such sessions (the caller hashes first and uses
    /// [`Store::put_blob`]). Lets a push send a large file while it is still being hashed,
    /// and decide once it knows whether the registry already had it.
    /// `key` names the content across runs (a file's path, size and modification time), so a
    /// session an interrupted run left is continued.
    async fn start_blob_upload<'a>(
        &'a self,
        _repo: &'a str,
        _key: &str,
    ) -> Result<Option<std::sync::Arc<dyn BlobUpload + 'a>>, StoreError> {
        Ok(None)
    }

    /// Deletes the manifest `digest`, and with it every tag pointing at it (registries delete
    /// by digest).
    async fn delete_manifest(&self, repo: &str, digest: &Digest) -> Result<(), StoreError>;

    /// Removes one tag, leaving the manifest and its other tags. Stores that cannot delete a
    /// tag by name answer [`StoreError::Unsupported`].
    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), StoreError>;

    /// Identifies the registry (host) or local tree behind this store: two stores with the
    /// same id can mount blobs from one another.
    fn registry_id(&self) -> String;

    /// The repository's full name within the registry (base path included).
    fn full_name(&self, repo: &str) -> String;

    /// Makes blob `digest` of the repository `from_full` (a full name, see
    /// [`Store::full_name`], in the same registry) available in `repo` without copying it.
    /// Returns false when that could not be done (the caller uploads instead).
    async fn mount_blob(
        &self,
        _repo: &str,
        _from_full: &str,
        _digest: &Digest,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// The referrers of manifest `digest` through the registry's Referrers API, or None when
    /// the store has no such API (then clients keep the `sha256-<hex>` fallback tag).
    async fn referrers(
        &self,
        _repo: &str,
        _digest: &Digest,
    ) -> Result<Option<Vec<crate::oci::Descriptor>>, StoreError> {
        Ok(None)
    }

    /// Locks `repo` for a write session (push, rm) so that concurrent writers and garbage
    /// collection do not interleave. Registries serialise writes themselves: no-op there.
    async fn lock(&self, repo: &str) -> Result<RepoLock, StoreError>;

    /// Removes blobs nothing references any more (local stores; registries run their own
    /// garbage collection). Call while holding [`Store::lock`].
    async fn collect_garbage(&self, repo: &str) -> Result<(), StoreError>;
}
