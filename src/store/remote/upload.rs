//! Blob upload sessions: opened with a POST, fed by a streamed PUT (monolithic) or a PATCH,
//! closed by a PUT with the digest (commit) or a DELETE (cancel).

use std::sync::Mutex;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use http::Method;
use tokio_util::io::{ReaderStream, StreamReader};

use super::auth::repository_scope;
use super::transport::{Body, Request};
use super::RemoteStore;
use crate::digest::Digest;
use crate::store::{BlobReader, BlobUpload, Store, StoreError};

/// An open upload session.
pub(super) struct Session {
    full: String,
    /// Absolute URL of the session, as the registry's last answer gave it.
    location: String,
}

impl Session {
    fn with_digest(&self, digest: &Digest) -> String {
        let sep = if self.location.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{sep}digest={digest}", self.location)
    }
}

impl RemoteStore {
    fn push_scope(full: &str) -> String {
        repository_scope(full, "pull,push")
    }

    /// Opens an upload session in `repo`.
    pub(super) async fn start_upload(&self, repo: &str, what: &str) -> Result<Session, StoreError> {
        let full = self.full_repo(repo)?;
        let request = Request::new(Method::POST, self.url(&full, "blobs/uploads/"))
            .scope(Self::push_scope(&full));
        let resp = self.transport.send(request).await?;
        if resp.status.as_u16() != 202 {
            return Err(resp.error(what, "an upload").await);
        }
        let location = self.session_location(&resp, what)?;
        Ok(Session { full, location })
    }

    fn session_location(&self, resp: &super::Response, what: &str) -> Result<String, StoreError> {
        let location = resp.header("location").ok_or_else(|| StoreError::Remote {
            location: what.to_string(),
            message: "the registry answered an upload without a Location".into(),
        })?;
        self.transport.absolute(location)
    }

    /// Uploads `size` bytes of blob `digest` in one streamed PUT.
    pub(super) async fn upload_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        reader: BlobReader,
    ) -> Result<(), StoreError> {
        let what = self.reference(repo, digest.as_str());
        let session = self.start_upload(repo, &what).await?;
        let request = Request::new(Method::PUT, session.with_digest(digest))
            .header("content-type", "application/octet-stream")
            .body(Body::Stream { reader, len: size })
            .scope(Self::push_scope(&session.full));
        let resp = self.transport.send(request).await?;
        if resp.status.is_success() {
            Ok(())
        } else {
            Err(resp.error(&what, "the upload").await)
        }
    }

    /// Opens a session for a blob whose digest is not known yet.
    pub(super) async fn open_session(&self, repo: &str) -> Result<Unhashed<'_>, StoreError> {
        let what = format!("{}/{repo}", self.location());
        let session = self.start_upload(repo, &what).await?;
        Ok(Unhashed {
            store: self,
            what,
            full: session.full,
            location: Mutex::new(session.location),
        })
    }

    /// Ends an upload session; a failure only leaves it for the registry to expire.
    pub(super) async fn cancel_upload(&self, full: &str, location: &str) {
        let request =
            Request::new(Method::DELETE, location.to_string()).scope(Self::push_scope(full));
        match self.transport.send(request).await {
            Ok(resp) if resp.status.is_success() || resp.status.as_u16() == 404 => {}
            Ok(resp) => tracing::debug!(
                "cancelling an upload answered HTTP {}",
                resp.status.as_u16()
            ),
            Err(e) => tracing::debug!("cancelling an upload failed: {e}"),
        }
    }
}

/// A session fed by one PATCH hashed as it streams, closed by a PUT with the digest or a
/// DELETE.
pub(super) struct Unhashed<'a> {
    store: &'a RemoteStore,
    what: String,
    full: String,
    location: Mutex<String>,
}

impl Unhashed<'_> {
    fn location(&self) -> String {
        self.location
            .lock()
            .map(|l| l.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

#[async_trait]
impl BlobUpload for Unhashed<'_> {
    async fn send(&self, size: u64, reader: BlobReader) -> Result<Digest, StoreError> {
        let hasher = std::sync::Arc::new(Mutex::new(crate::digest::Hasher::new()));
        let sink = hasher.clone();
        let hashed = ReaderStream::with_capacity(reader, 256 * 1024).inspect_ok(move |chunk| {
            if let Ok(mut h) = sink.lock() {
                h.update(chunk);
            }
        });
        let request = Request::new(Method::PATCH, self.location())
            .header("content-type", "application/octet-stream")
            .body(Body::Stream {
                reader: Box::pin(StreamReader::new(hashed)),
                len: size,
            })
            .scope(RemoteStore::push_scope(&self.full));
        let resp = self.store.transport.send(request).await?;
        if !resp.status.is_success() {
            return Err(resp.error(&self.what, "an upload").await);
        }
        let next = self.store.session_location(&resp, &self.what)?;
        if let Ok(mut location) = self.location.lock() {
            *location = next;
        }
        let (digest, sent) = match hasher.lock() {
            Ok(h) => (h.clone().finish(), h.len()),
            Err(_) => return Err(StoreError::Unsupported("upload hasher poisoned".into())),
        };
        if sent != size {
            return Err(StoreError::Integrity {
                location: self.what.clone(),
                message: format!("sent {sent} bytes, expected {size}"),
            });
        }
        Ok(digest)
    }

    async fn commit(&self, digest: &Digest) -> Result<(), StoreError> {
        let session = Session {
            full: self.full.clone(),
            location: self.location(),
        };
        let request = Request::new(Method::PUT, session.with_digest(digest))
            .scope(RemoteStore::push_scope(&self.full));
        let resp = self.store.transport.send(request).await?;
        if resp.status.is_success() {
            Ok(())
        } else {
            Err(resp.error(&self.what, "the upload").await)
        }
    }

    async fn cancel(&self) {
        self.store.cancel_upload(&self.full, &self.location()).await;
    }
}
