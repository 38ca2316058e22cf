//! Blob upload sessions: opened with a POST, fed by a streamed PUT (monolithic) or by PATCHes
//! with `Content-Range` (chunked, resumable), closed by a PUT with the digest (commit) or a
//! DELETE (cancel).
//!
//! Bodies come from the blob's origin, opened again at their offset, so the transport retries a
//! cut request by itself. A chunked upload keeps the session URL and the offset the registry
//! confirmed (in memory and in `sessions`), so a chunk the transport gave up on is sent again
//! from there, in this run or the next; a whole upload whose session the registry forgot is
//! started once more in a new one. A registry
//! that refuses chunks (400, 405, 416 on the first PATCH, or a 201 that completes it, as ECR
//! does) gets whole PUTs for the rest of the run.

use async_trait::async_trait;
use http::Method;

use super::capabilities::Support;
use super::error::Action;
use super::sessions::SavedSession;
use super::transport::{Body, Request, Response};
use super::RemoteStore;
use crate::digest::Digest;
use crate::limits::{RemoteLimit, UPLOAD_SEND_FACTOR};
use crate::store::{BlobOrigin, BlobReader, BlobUpload, Store, StoreError};

/// Chunks sent again in a row without the registry confirming progress before giving up.
const MAX_CHUNK_FAILURES: u32 = 4;

/// An open upload session.
pub(super) struct Session {
    full: String,
    /// Absolute URL of the session, as the registry's last answer gave it.
    location: String,
    /// Bytes the registry holds.
    offset: u64,
    /// `OCI-Chunk-Min-Length`: the smallest chunk the registry takes, if it says.
    min_chunk: u64,
}

/// How sending chunks ended.
enum Sent {
    All,
    /// The registry does not take chunks.
    Refused,
}

/// A registry that creates no repository on push (ECR; Harbor without the project): say which
/// to create, and how on the common ones.
fn repository_must_exist(host: &str, full: &str) -> StoreError {
    let project = full.split('/').next().unwrap_or(full);
    StoreError::NotFound {
        what: format!(
            "repository {full} (this registry does not create repositories on push: create it first, e.g. `aws ecr create-repository --repository-name {full}` on ECR, or the project {project} on Harbor, then push again)"
        ),
        location: host.to_string(),
    }
}

/// A committing PUT on session `location` of repository `full`, carrying `body`.
pub(super) fn commit_request<'a>(
    full: &str,
    location: &str,
    digest: &Digest,
    body: Body<'a>,
) -> Request<'a> {
    let request = Request::new(Method::PUT, with_digest(location, digest)).upload_session(full);
    match body {
        Body::Empty => request,
        body => request
            .header("content-type", "application/octet-stream")
            .body(body),
    }
}

/// A PATCH of `len` bytes (at least one) at `offset` on session `location` of repository
/// `full`.
pub(super) fn chunk_request<'a>(
    full: &str,
    location: &str,
    offset: u64,
    len: u64,
    body: Body<'a>,
) -> Request<'a> {
    let end = last_byte(offset, len);
    Request::new(Method::PATCH, location)
        .header("content-type", "application/octet-stream")
        .header("content-range", &format!("{offset}-{end}"))
        .body(body)
        .upload_session(full)
}

/// A DELETE ending session `location` of repository `full`.
pub(super) fn cancel_request(full: &str, location: &str) -> Request<'static> {
    Request::new(Method::DELETE, location).upload_session(full)
}

fn with_digest(location: &str, digest: &Digest) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}

/// The last byte of `len` bytes (at least one) from `offset`; saturating, as a blob's offsets
/// never come near the top of u64.
fn last_byte(offset: u64, len: u64) -> u64 {
    offset.saturating_add(len.saturating_sub(1))
}

/// The offset after the bytes a `Range: [bytes=]0-END` answer says the registry holds. An
/// empty session reads `0-0`, which is taken as nothing held; an END at the top of u64 is no
/// offset at all.
fn confirmed_offset(range: Option<&str>) -> Option<u64> {
    let range = range?.trim();
    let range = range.strip_prefix("bytes=").unwrap_or(range);
    let (start, end) = range.split_once('-')?;
    let (start, end): (u64, u64) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    if start != 0 {
        return None;
    }
    if end == 0 {
        Some(0)
    } else {
        end.checked_add(1)
    }
}

/// Where a 202 to a PATCH of the bytes `offset..sent_to` leaves the session: the offset its
/// `Range` confirms (after the chunk when it has none). None when the registry claims bytes it
/// was never sent, or a `Range` that is no offset.
fn offset_after_chunk(range: Option<&str>, offset: u64, sent_to: u64) -> Option<u64> {
    let confirmed = match range {
        None => sent_to,
        // `0-0` after the first byte alone: that byte is held.
        Some(range) => match confirmed_offset(Some(range))? {
            0 if offset == 0 && sent_to == 1 => 1,
            n => n,
        },
    };
    (confirmed <= sent_to).then_some(confirmed)
}

impl RemoteStore {
    /// The POST that opens an upload session in repository `full`.
    pub(super) fn start_request(&self, full: &str) -> Request<'static> {
        Request::new(Method::POST, self.url(full, "blobs/uploads/")).repository(full)
    }

    /// Opens an upload session in `repo`.
    async fn start_upload(&self, repo: &str, what: &str) -> Result<Session, StoreError> {
        let full = self.full_repo(repo)?;
        let resp = self.transport.send(self.start_request(&full)).await?;
        if resp.status.as_u16() != 202 {
            let error = resp.registry_error(what, Action::UploadStart).await;
            if error.status == 404 && error.code.as_deref() == Some("NAME_UNKNOWN") {
                return Err(repository_must_exist(self.host(), &full));
            }
            return Err(error.into_store_error());
        }
        let location = self.session_location(&resp, what)?;
        let min_chunk = resp
            .header("oci-chunk-min-length")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if min_chunk > 0 {
            self.capabilities
                .learn(|c| c.chunk_min_length = Some(min_chunk));
        }
        Ok(Session {
            full,
            location,
            offset: 0,
            min_chunk,
        })
    }

    fn session_location(&self, resp: &Response, what: &str) -> Result<String, StoreError> {
        let location = resp.header("location").ok_or_else(|| StoreError::Remote {
            location: what.to_string(),
            message: "the registry answered an upload without a Location".into(),
        })?;
        self.transport.absolute(location)
    }

    /// The session saved under `key` by an earlier run, if the registry still has it; else a
    /// new one.
    async fn resume_or_start(
        &self,
        repo: &str,
        what: &str,
        key: &str,
    ) -> Result<Session, StoreError> {
        let full = self.full_repo(repo)?;
        if let Some(saved) = self.sessions.load(&full, key) {
            match self.upload_status(&full, &saved.location).await {
                Some((location, offset)) => {
                    tracing::info!("continuing the upload of {what} at byte {offset}");
                    return Ok(Session {
                        full,
                        location,
                        offset,
                        min_chunk: 0,
                    });
                }
                None => self.sessions.forget(&full, key),
            }
        }
        self.start_upload(repo, what).await
    }

    /// Uploads `size` bytes of blob `digest` in one streamed PUT, sent once.
    pub(super) async fn upload_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        reader: BlobReader,
    ) -> Result<(), StoreError> {
        let what = self.reference(repo, digest.as_str());
        let session = self.start_upload(repo, &what).await?;
        let body = Body::Stream { reader, len: size };
        let request = commit_request(&session.full, &session.location, digest, body);
        let resp = self.transport.send(request).await?;
        if resp.status.is_success() {
            Ok(())
        } else {
            Err(resp.error(&what, Action::Upload).await)
        }
    }

    /// Uploads blob `digest` from `origin` in one streamed PUT, which the transport sends again
    /// from the start when it breaks; a session the registry forgot meanwhile (404) is
    /// replaced once by a new one.
    async fn upload_whole(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        origin: &dyn BlobOrigin,
    ) -> Result<(), StoreError> {
        let what = self.reference(repo, digest.as_str());
        let mut fresh = true;
        loop {
            let session = self.start_upload(repo, &what).await?;
            let body = Body::Origin {
                origin,
                offset: 0,
                len: size,
            };
            let request = commit_request(&session.full, &session.location, digest, body);
            let resp = self.transport.send(request).await?;
            if resp.status.is_success() {
                return Ok(());
            }
            if resp.status.as_u16() == 404 && std::mem::take(&mut fresh) {
                tracing::info!("the registry forgot the upload session of {what}; starting anew");
                continue;
            }
            return Err(resp.error(&what, Action::Upload).await);
        }
    }

    /// The chunk size for a blob of `size` bytes, or None when it goes up whole.
    fn chunk_for(&self, size: u64) -> Option<u64> {
        let chunk = self.chunk_size;
        let refused = self.capabilities.get().chunked_uploads == Support::No;
        (chunk > 0 && size >= chunk && !refused).then_some(chunk)
    }

    fn refuse_chunks(&self) {
        tracing::info!(
            "{} refuses chunked uploads; sending blobs whole",
            self.host()
        );
        self.capabilities.learn(|c| c.chunked_uploads = Support::No);
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
        if let Some(chunk) = self.chunk_for(size) {
            let what = self.reference(repo, digest.as_str());
            let key = digest.to_string();
            let mut session = self.resume_or_start(repo, &what, &key).await?;
            match self
                .send_chunks(repo, &mut session, &what, &key, size, origin, chunk)
                .await?
            {
                Sent::All => {
                    self.finish(&session, digest, &what, &key).await?;
                    self.capabilities
                        .learn(|c| c.chunked_uploads = Support::Yes);
                    return Ok(());
                }
                Sent::Refused => self.refuse_chunks(),
            }
        }
        self.upload_whole(repo, digest, size, origin).await
    }

    /// Sends the blob from `session.offset` to `size` in PATCHes of `chunk` bytes, asking the
    /// registry where the session stands after a failure and going on from there (or from a new
    /// session when the registry forgot it). The session is saved under `key` after every
    /// confirmed chunk.
    #[allow(clippy::too_many_arguments)]
    async fn send_chunks(
        &self,
        repo: &str,
        session: &mut Session,
        what: &str,
        key: &str,
        size: u64,
        origin: &dyn BlobOrigin,
        chunk: u64,
    ) -> Result<Sent, StoreError> {
        let chunk = chunk.max(session.min_chunk).max(1);
        let mut failures = 0;
        // Every chunk sent counts, again or not: a registry that never confirms progress
        // stops here rather than taking the same bytes for ever.
        let budget = size.max(1).saturating_mul(UPLOAD_SEND_FACTOR);
        let mut sent: u64 = 0;
        while session.offset < size {
            let offset = session.offset;
            let len = chunk.min(size - offset);
            let end = last_byte(offset, len);
            let sent_to = offset.saturating_add(len);
            sent = sent.saturating_add(len);
            if sent > budget {
                return Err(StoreError::Limit {
                    location: what.to_string(),
                    limit: RemoteLimit::UploadBytes { sent, size },
                });
            }
            let body = Body::Origin {
                origin,
                offset,
                len,
            };
            let request = chunk_request(&session.full, &session.location, offset, len, body);
            let failure = match self.transport.send(request).await {
                Ok(resp) if resp.status.as_u16() == 202 => {
                    let Some(at) = offset_after_chunk(resp.header("range"), offset, sent_to) else {
                        return Err(StoreError::Remote {
                            location: what.to_string(),
                            message: format!(
                                "the registry confirmed an upload range it was never sent ({:?} after bytes {offset}-{end})",
                                resp.header("range").map(|r| super::error::clean(r, 80))
                            ),
                        });
                    };
                    session.location = self.session_location(&resp, what)?;
                    let advanced = at > offset;
                    session.offset = at;
                    let saved = SavedSession {
                        location: session.location.clone(),
                        offset: session.offset,
                    };
                    self.sessions.save(&session.full, key, &saved);
                    if advanced {
                        failures = 0;
                        continue;
                    }
                    // Accepted, yet nothing more is held: as much a failure as an error status.
                    StoreError::Remote {
                        location: what.to_string(),
                        message: format!(
                            "the registry took bytes {offset}-{end} without confirming them"
                        ),
                    }
                }
                Ok(resp)
                    if offset == 0 && matches!(resp.status.as_u16(), 201 | 400 | 405 | 416) =>
                {
                    self.cancel_upload(&session.full, &session.location).await;
                    self.sessions.forget(&session.full, key);
                    return Ok(Sent::Refused);
                }
                // A forgotten session (404), an offset the registry disagrees with (416), or a
                // failure worth another try: ask where the session stands.
                Ok(resp)
                    if matches!(resp.status.as_u16(), 404 | 416)
                        || super::error::is_retryable_status(resp.status.as_u16()) =>
                {
                    resp.error(what, Action::ChunkUpload).await
                }
                Ok(resp) => return Err(resp.error(what, Action::ChunkUpload).await),
                Err(e) if e.is_retryable() => e,
                Err(e) => return Err(e),
            };
            failures += 1;
            if failures > MAX_CHUNK_FAILURES {
                // The session stays saved: the next run continues it.
                return Err(failure);
            }
            tracing::info!(
                "bytes {offset}-{end} of {what} did not arrive ({failure}); asking the registry where the upload stands"
            );
            tokio::time::sleep(super::http::backoff(failures - 1)).await;
            match self.upload_status(&session.full, &session.location).await {
                Some((location, at)) => {
                    session.location = location;
                    session.offset = at;
                }
                None => {
                    // The registry forgot the session (distribution cancels one whose chunk
                    // arrived in part): start the blob afresh.
                    self.sessions.forget(&session.full, key);
                    *session = self.start_upload(repo, what).await?;
                }
            }
        }
        Ok(Sent::All)
    }

    /// Closes a session with the digest; the registry checks the content against it.
    async fn finish(
        &self,
        session: &Session,
        digest: &Digest,
        what: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        let request = commit_request(&session.full, &session.location, digest, Body::Empty);
        let resp = self.transport.send(request).await?;
        self.sessions.forget(&session.full, key);
        if resp.status.is_success() {
            Ok(())
        } else {
            Err(resp.error(what, Action::Upload).await)
        }
    }

    /// Where an upload session stands (`GET` on it: 204 with `Range`), or None when the
    /// registry no longer has it.
    async fn upload_status(&self, full: &str, location: &str) -> Option<(String, u64)> {
        let request = Request::new(Method::GET, location.to_string()).upload_session(full);
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

    /// Opens a session for a blob whose digest is not known yet; `key` names its content
    /// across runs, so an interrupted session is continued.
    pub(super) async fn open_session<'a>(
        &'a self,
        repo: &'a str,
        key: &str,
    ) -> Result<Early<'a>, StoreError> {
        let what = format!("{}/{repo}", self.location());
        let key = format!("early {key}");
        let session = self.resume_or_start(repo, &what, &key).await?;
        Ok(Early {
            store: self,
            repo,
            what,
            key,
            session: tokio::sync::Mutex::new(session),
        })
    }

    /// Ends an upload session; a failure only leaves it for the registry to expire.
    pub(super) async fn cancel_upload(&self, full: &str, location: &str) {
        match self.transport.send(cancel_request(full, location)).await {
            Ok(resp) if resp.status.is_success() || resp.status.as_u16() == 404 => {}
            Ok(resp) => tracing::debug!(
                "cancelling an upload answered HTTP {}",
                resp.status.as_u16()
            ),
            Err(e) => tracing::debug!("cancelling an upload failed: {e}"),
        }
    }
}

/// A session for a blob sent before its digest is known (push's early upload): chunked and
/// resumable like any other, committed under the digest once it is.
pub(super) struct Early<'a> {
    store: &'a RemoteStore,
    repo: &'a str,
    what: String,
    key: String,
    session: tokio::sync::Mutex<Session>,
}

#[async_trait]
impl BlobUpload for Early<'_> {
    async fn send(&self, size: u64, origin: &dyn BlobOrigin) -> Result<(), StoreError> {
        let store = self.store;
        // Unchunked, the blob goes as one PATCH.
        let chunk = store.chunk_for(size).unwrap_or(size);
        let mut session = self.session.lock().await;
        match store
            .send_chunks(
                self.repo,
                &mut session,
                &self.what,
                &self.key,
                size,
                origin,
                chunk,
            )
            .await?
        {
            Sent::All => Ok(()),
            Sent::Refused => {
                if chunk < size {
                    store.refuse_chunks();
                }
                Err(StoreError::Unsupported(format!(
                    "{}: the registry refused a streamed upload",
                    self.what
                )))
            }
        }
    }

    async fn commit(&self, digest: &Digest) -> Result<(), StoreError> {
        let session = self.session.lock().await;
        self.store
            .finish(&session, digest, &self.what, &self.key)
            .await
    }

    async fn cancel(&self) {
        let session = self.session.lock().await;
        self.store.sessions.forget(&session.full, &self.key);
        self.store
            .cancel_upload(&session.full, &session.location)
            .await;
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
        assert_eq!(confirmed_offset(Some("0-18446744073709551615")), None);
    }

    #[test]
    fn a_202_confirms_no_more_than_was_sent() {
        assert_eq!(offset_after_chunk(None, 0, 10), Some(10));
        assert_eq!(offset_after_chunk(Some("0-9"), 0, 10), Some(10));
        assert_eq!(offset_after_chunk(Some("0-0"), 5, 10), Some(0));
        assert_eq!(offset_after_chunk(Some("0-0"), 0, 1), Some(1));
        assert_eq!(offset_after_chunk(Some("0-10"), 0, 10), None);
        assert_eq!(
            offset_after_chunk(Some("0-18446744073709551615"), 0, 10),
            None
        );
        assert_eq!(offset_after_chunk(Some("junk"), 0, 10), None);
    }
}
