//! Blob upload sessions: opened with a POST, fed by a streamed PUT (monolithic), by PATCHes
//! (chunked, resumable) or by one PATCH hashed as it streams, closed by a PUT with the digest
//! (commit) or a DELETE (cancel).
//!
//! Chunked uploads keep the session URL and the offset the registry confirmed (in memory and
//! in `sessions`), so a cut chunk is sent again from there, in this run or the next. A
//! registry that refuses chunks (400, 405, 416 on the first PATCH, or a 201 that completes it,
//! as ECR does) gets the blob in one PUT, for the rest of the run.

use std::sync::atomic::Ordering;
use std::sync::Mutex;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use http::Method;
use tokio::io::AsyncReadExt;
use tokio_util::io::{ReaderStream, StreamReader};

use super::auth::repository_scope;
use super::sessions::{self, SavedSession};
use super::transport::{Body, Request};
use super::RemoteStore;
use crate::digest::Digest;
use crate::store::{BlobOrigin, BlobReader, BlobUpload, Store, StoreError};

/// An open upload session.
pub(super) struct Session {
    full: String,
    /// Absolute URL of the session, as the registry's last answer gave it.
    location: String,
    /// `OCI-Chunk-Min-Length`: the smallest chunk the registry takes, if it says.
    min_chunk: u64,
}

/// Chunks sent again in a row without the registry confirming progress before giving up.
const MAX_CHUNK_FAILURES: u32 = 4;

/// How a chunked upload ended.
enum Chunked {
    Stored,
    /// The registry does not take chunks: send the blob in one PUT.
    Refused,
}

impl Session {
    fn with_digest(&self, digest: &Digest) -> String {
        with_digest(&self.location, digest)
    }
}

fn with_digest(location: &str, digest: &Digest) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}

/// The offset after the bytes a `Range: [bytes=]0-END` answer says the registry holds. An
/// empty session reads `0-0`, which is taken as nothing held.
fn confirmed_offset(range: Option<&str>) -> Option<u64> {
    let range = range?.trim();
    let range = range.strip_prefix("bytes=").unwrap_or(range);
    let (start, end) = range.split_once('-')?;
    let (start, end): (u64, u64) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    if start != 0 {
        return None;
    }
    Some(if end == 0 { 0 } else { end + 1 })
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
        let min_chunk = resp
            .header("oci-chunk-min-length")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        Ok(Session {
            full,
            location,
            min_chunk,
        })
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

    /// Uploads blob `digest` from `origin`: in chunks, resumable, when it is at least the chunk
    /// size and the registry takes chunks; else in one streamed PUT.
    pub(super) async fn upload_from(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        origin: &dyn BlobOrigin,
    ) -> Result<(), StoreError> {
        let chunk = self.chunk_size;
        if chunk > 0 && size >= chunk && !self.chunks_refused.load(Ordering::Relaxed) {
            match self
                .upload_chunked(repo, digest, size, origin, chunk)
                .await?
            {
                Chunked::Stored => return Ok(()),
                Chunked::Refused => {
                    tracing::info!(
                        "{} refuses chunked uploads; sending blobs whole",
                        self.host()
                    );
                    self.chunks_refused.store(true, Ordering::Relaxed);
                }
            }
        }
        self.upload_blob(repo, digest, size, origin.open_at(0).await?)
            .await
    }

    async fn upload_chunked(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        origin: &dyn BlobOrigin,
        chunk: u64,
    ) -> Result<Chunked, StoreError> {
        let full = self.full_repo(repo)?;
        let what = self.reference(repo, digest.as_str());
        let host = self.host().to_string();
        let (mut location, mut offset, min_chunk) = match self.resume_saved(&full, digest).await {
            Some((location, offset)) => {
                tracing::info!("resuming the upload of {digest} at byte {offset}");
                (location, offset, 0)
            }
            None => {
                let session = self.start_upload(repo, &what).await?;
                (session.location, 0, session.min_chunk)
            }
        };
        let chunk = chunk.max(min_chunk);
        let mut failures = 0;
        while offset < size {
            let len = chunk.min(size - offset);
            let reader: BlobReader = Box::pin(origin.open_at(offset).await?.take(len));
            let end = offset + len - 1;
            let request = Request::new(Method::PATCH, location.clone())
                .header("content-type", "application/octet-stream")
                .header("content-range", &format!("{offset}-{end}"))
                .body(Body::Stream { reader, len })
                .scope(Self::push_scope(&full));
            let failure = match self.transport.send(request).await {
                Ok(resp) if resp.status.as_u16() == 202 => {
                    location = self.session_location(&resp, &what)?;
                    offset = confirmed_offset(resp.header("range")).unwrap_or(end + 1);
                    failures = 0;
                    let saved = SavedSession {
                        location: location.clone(),
                        offset,
                    };
                    sessions::save(&host, &full, digest, &saved);
                    continue;
                }
                Ok(resp)
                    if offset == 0 && matches!(resp.status.as_u16(), 201 | 400 | 405 | 416) =>
                {
                    self.cancel_upload(&full, &location).await;
                    sessions::forget(&host, &full, digest);
                    return Ok(Chunked::Refused);
                }
                Ok(resp) if matches!(resp.status.as_u16(), 404 | 416) => {
                    resp.error(&what, "a chunk upload").await
                }
                Ok(resp) => return Err(resp.error(&what, "a chunk upload").await),
                Err(e) if e.is_retryable() => e,
                Err(e) => return Err(e),
            };
            failures += 1;
            if failures > MAX_CHUNK_FAILURES {
                // The session stays saved: the next run continues it.
                return Err(failure);
            }
            tracing::info!("chunk {offset}-{end} of {digest} failed ({failure}); asking the registry where the upload stands");
            tokio::time::sleep(super::transport::backoff(failures - 1)).await;
            match self.upload_status(&full, &location).await {
                Some((next, at)) => {
                    location = next;
                    offset = at;
                }
                None => {
                    // The registry forgot the session (distribution cancels one whose chunk
                    // arrived in part): start the blob afresh.
                    sessions::forget(&host, &full, digest);
                    location = self.start_upload(repo, &what).await?.location;
                    offset = 0;
                }
            }
        }
        let request = Request::new(Method::PUT, with_digest(&location, digest))
            .scope(Self::push_scope(&full));
        let resp = self.transport.send(request).await?;
        sessions::forget(&host, &full, digest);
        if resp.status.is_success() {
            Ok(Chunked::Stored)
        } else {
            Err(resp.error(&what, "the upload").await)
        }
    }

    /// The saved session of an earlier run for this blob, if the registry still has it: its
    /// URL and the offset the registry holds.
    async fn resume_saved(&self, full: &str, digest: &Digest) -> Option<(String, u64)> {
        let saved = sessions::load(self.host(), full, digest)?;
        let status = self.upload_status(full, &saved.location).await;
        if status.is_none() {
            sessions::forget(self.host(), full, digest);
        }
        status
    }

    /// Where an upload session stands (`GET` on it: 204 with `Range`), or None when the
    /// registry no longer has it.
    async fn upload_status(&self, full: &str, location: &str) -> Option<(String, u64)> {
        let request = Request::new(Method::GET, location.to_string()).scope(Self::push_scope(full));
        let resp = self.transport.send(request).await.ok()?;
        if !resp.status.is_success() {
            return None;
        }
        let offset = confirmed_offset(resp.header("range"))?;
        let next = match resp.header("location") {
            Some(l) => self.transport.absolute(l).ok()?,
            None => location.to_string(),
        };
        Some((next, offset))
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
        let request = Request::new(Method::PUT, with_digest(&self.location(), digest))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmed_offsets() {
        assert_eq!(confirmed_offset(Some("0-1023")), Some(1024));
        assert_eq!(confirmed_offset(Some("bytes=0-1023")), Some(1024));
        assert_eq!(confirmed_offset(Some("0-0")), Some(0));
        assert_eq!(confirmed_offset(Some("5-10")), None);
        assert_eq!(confirmed_offset(Some("junk")), None);
        assert_eq!(confirmed_offset(None), None);
    }
}
