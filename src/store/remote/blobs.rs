//! Blobs: HEAD, streamed GET, and cross-repository mounts (201 mounted; 202 is an ordinary
//! upload session, cancelled here so the caller uploads through its own).

use http::Method;

use super::transport::Request;
use super::RemoteStore;
use crate::digest::Digest;
use crate::reference::is_repository_path;
use crate::store::{BlobReader, Store, StoreError};

impl RemoteStore {
    pub(super) fn blob_request(
        &self,
        method: Method,
        repo: &str,
        digest: &Digest,
    ) -> Result<Request<'static>, StoreError> {
        let full = self.full_repo(repo)?;
        Ok(Request::new(method, self.url(&full, &format!("blobs/{digest}"))).repository(&full))
    }

    pub(super) async fn head_blob(&self, repo: &str, digest: &Digest) -> Result<bool, StoreError> {
        let resp = self
            .transport
            .send(self.blob_request(Method::HEAD, repo, digest)?)
            .await?;
        match resp.status.as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(resp
                .error(&self.reference(repo, digest.as_str()), "a blob lookup")
                .await),
        }
    }

    /// Streams the blob from byte `offset` on; the caller verifies what it reads. Redirects to
    /// blob storage are followed without credentials; a broken or stalled download resumes
    /// with a Range request.
    pub(super) async fn fetch_blob(
        &self,
        repo: &str,
        digest: &Digest,
        offset: u64,
    ) -> Result<BlobReader, StoreError> {
        let full = self.full_repo(repo)?;
        let url = self.url(&full, &format!("blobs/{digest}"));
        let mut request = self.blob_request(Method::GET, repo, digest)?;
        if offset > 0 {
            request = request.header("range", &format!("bytes={offset}-"));
        }
        let what = self.reference(repo, digest.as_str());
        let resp = self.transport.send(request).await?;
        if !resp.status.is_success() {
            return Err(resp.error(&what, "a blob download").await);
        }
        let stream = super::resume::resuming(self.transport.clone(), url, full, resp, offset)
            .map_err(|e| StoreError::Remote {
                location: what,
                message: e.to_string(),
            })?;
        Ok(Box::pin(tokio_util::io::StreamReader::new(stream)))
    }

    /// A POST mounting blob `digest` into repository `full` from repository `from_full`.
    pub(super) fn mount_request(
        &self,
        full: &str,
        from_full: &str,
        digest: &Digest,
    ) -> Result<Request<'static>, StoreError> {
        let mut url = url::Url::parse(&self.url(full, "blobs/uploads/")).map_err(|e| {
            StoreError::Config(format!("cannot form an upload address for {full}: {e}"))
        })?;
        url.query_pairs_mut()
            .append_pair("mount", digest.as_str())
            .append_pair("from", from_full);
        Ok(Request::new(Method::POST, url.to_string())
            .repository(full)
            .mount_from(from_full))
    }

    pub(super) async fn mount(
        &self,
        repo: &str,
        from_full: &str,
        digest: &Digest,
    ) -> Result<bool, StoreError> {
        if !is_repository_path(from_full) {
            return Ok(false);
        }
        let full = self.full_repo(repo)?;
        let request = self.mount_request(&full, from_full, digest)?;
        let resp = self.transport.send(request).await?;
        match resp.status.as_u16() {
            201 => Ok(true),
            202 => {
                // Not mounted: the registry opened an ordinary upload session. End it; the
                // caller uploads through its own.
                if let Some(location) = resp.header("location") {
                    let location = self.transport.absolute(location)?;
                    self.cancel_upload(&full, &location).await;
                }
                Ok(false)
            }
            s => {
                // 401/403 (Harbor, a source the account cannot read), 404, 405: upload instead.
                tracing::debug!(
                    "mount of {digest} from {from_full} answered HTTP {s}; uploading instead"
                );
                Ok(false)
            }
        }
    }
}
