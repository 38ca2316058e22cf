//! Typed probes of what a registry supports, for `packreg doctor`: each sends the requests the
//! store itself sends (the same builders as manifests, blobs, uploads and listings), hands back
//! the registry's answer as facts rather than judging it as the store would, and keeps what it
//! shows in the capability record. The writing probes create what they are given, where they
//! are told: the caller picks scratch repositories.

use bytes::Bytes;
use http::Method;

use super::capabilities::{AuthKind, Capabilities};
use super::transport::{Body, Request, Response};
use crate::digest::Digest;
use crate::limits::{MANIFEST_LIMIT, SMALL_BODY_LIMIT};
use crate::store::StoreError;

// What a prober names besides its probes: the registry it probes, the challenge it reads and
// the capability values it records; callers outside the store see the remote store through
// this module only.
pub use super::auth::Challenge;
pub use super::capabilities::Support;
pub use super::RemoteStore;

/// The answer to `GET /v2/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersion {
    /// Its HTTP status.
    pub status: u16,
    /// `Docker-Distribution-API-Version`, if sent.
    pub version: Option<String>,
}

/// The first page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Its HTTP status.
    pub status: u16,
    /// The names or tags on it (none unless the status is a success).
    pub entries: Vec<String>,
    /// Whether a `Link` header pointed at more.
    pub more: bool,
}

/// What a Referrers API request got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Referrers {
    /// Its HTTP status.
    pub status: u16,
    /// Whether it answered an index: the API is there.
    pub api: bool,
}

/// What a chunked upload in two parts got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkedUpload {
    /// The status of the last request (201 when the blob was stored).
    pub status: u16,
    /// `OCI-Chunk-Min-Length` of the session, if the registry said.
    pub min_chunk: Option<String>,
}

/// Probes of one registry, counting the requests sent.
pub struct Probe<'a> {
    store: &'a RemoteStore,
    requests: usize,
}

impl<'a> Probe<'a> {
    /// Probes of `store`.
    pub fn new(store: &'a RemoteStore) -> Self {
        Probe { store, requests: 0 }
    }

    /// Requests sent so far (retries of one request not counted).
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// Records something learned of the registry that only the caller can judge.
    pub fn learn(&self, change: impl FnOnce(&mut Capabilities)) {
        self.store.capabilities.learn(change)
    }

    async fn send(&mut self, request: Request<'_>) -> Result<Response, StoreError> {
        self.requests += 1;
        self.store.transport.send(request).await
    }

    /// `GET /v2/`, with the client's credentials.
    pub async fn api_version(&mut self) -> Result<ApiVersion, StoreError> {
        let resp = self.send(self.store.registry_request()).await?;
        Ok(ApiVersion {
            status: resp.status.as_u16(),
            version: resp
                .header("docker-distribution-api-version")
                .map(str::to_string),
        })
    }

    /// How the registry authenticates (asked once per store).
    pub async fn authentication(&mut self) -> Result<Challenge, StoreError> {
        let challenge = self.store.transport.challenge().await?;
        let kind = match &challenge {
            Challenge::Open => AuthKind::None,
            Challenge::Basic => AuthKind::Basic,
            Challenge::Bearer { .. } => AuthKind::Bearer,
        };
        self.learn(|c| c.auth = Some(kind));
        Ok(challenge)
    }

    /// The first `_catalog` page of `n` names; whether the catalog is allowed is recorded.
    pub async fn catalog(&mut self, n: usize) -> Result<Page, StoreError> {
        let resp = self.send(self.store.catalog_request(n)).await?;
        self.learn(|c| c.catalog = Support::known(resp.status.is_success()));
        let location = crate::store::Store::location(self.store);
        page(resp, "repositories", &location, "catalog page").await
    }

    /// Whether a `_catalog` page of `n` names is accepted; the largest page known to be taken
    /// (`n`, else `fallback`) is recorded.
    pub async fn catalog_page_accepted(
        &mut self,
        n: usize,
        fallback: usize,
    ) -> Result<bool, StoreError> {
        let resp = self.send(self.store.catalog_request(n)).await?;
        let accepted = resp.status.is_success();
        let page_max = if accepted { n } else { fallback } as u64;
        self.learn(|c| c.catalog_page_max = Some(page_max));
        Ok(accepted)
    }

    /// The first page of `n` tags of `repo`.
    pub async fn tags(&mut self, repo: &str, n: usize) -> Result<Page, StoreError> {
        let full = self.store.full_repo(repo)?;
        let resp = self.send(self.store.tags_request(&full, n)).await?;
        page(resp, "tags", repo, "tag list").await
    }

    /// The manifest `reference` of `repo` as the registry sends it, None unless the answer is
    /// a success.
    pub async fn manifest(
        &mut self,
        repo: &str,
        reference: &str,
    ) -> Result<Option<Bytes>, StoreError> {
        let request = self.store.manifest_request(Method::GET, repo, reference)?;
        let resp = self.send(request).await?;
        if !resp.status.is_success() {
            return Ok(None);
        }
        Ok(Some(resp.bytes(MANIFEST_LIMIT, repo, "manifest").await?))
    }

    /// The Referrers API for `digest` in `repo`; whether it is there is recorded.
    pub async fn referrers(
        &mut self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Referrers, StoreError> {
        let full = self.store.full_repo(repo)?;
        let request = self.store.referrers_request(&full, digest);
        let resp = self.send(request).await?;
        let status = resp.status.as_u16();
        let api = status == 200 && super::referrers::is_index(&resp);
        self.learn(|c| c.referrers_api = Support::known(api));
        Ok(Referrers { status, api })
    }

    /// The status of a GET of the first byte of blob `digest`; whether `Range` is honoured
    /// (206) is recorded.
    pub async fn first_byte(&mut self, repo: &str, digest: &Digest) -> Result<u16, StoreError> {
        let request = self
            .store
            .blob_request(Method::GET, repo, digest)?
            .header("range", "bytes=0-0");
        let status = self.send(request).await?.status.as_u16();
        self.learn(|c| c.range = Support::known(status == 206));
        Ok(status)
    }

    /// Opens an upload session in `full`: its URL and the answer, or None when the registry
    /// opened none.
    async fn open_session(&mut self, full: &str) -> Result<Option<(String, Response)>, StoreError> {
        let resp = self.send(self.store.start_request(full)).await?;
        if resp.status.as_u16() != 202 {
            return Ok(None);
        }
        let Some(location) = resp.header("location").map(str::to_string) else {
            return Ok(None);
        };
        Ok(Some((self.store.transport.absolute(&location)?, resp)))
    }

    /// Uploads `content` to `repo` in one PUT: the status it got (0 when no session opened).
    pub async fn upload_whole(&mut self, repo: &str, content: &[u8]) -> Result<u16, StoreError> {
        let full = self.store.full_repo(repo)?;
        let Some((location, _)) = self.open_session(&full).await? else {
            return Ok(0);
        };
        let body = Body::Bytes(Bytes::copy_from_slice(content));
        let request = super::upload::commit_request(&full, &location, &Digest::of(content), body);
        Ok(self.send(request).await?.status.as_u16())
    }

    /// Uploads `content` to `repo` in two PATCHes and a committing PUT; whether chunks are
    /// taken is recorded. None when no session opened.
    pub async fn upload_chunked(
        &mut self,
        repo: &str,
        content: &[u8],
    ) -> Result<Option<ChunkedUpload>, StoreError> {
        let full = self.store.full_repo(repo)?;
        let Some((mut location, start)) = self.open_session(&full).await? else {
            return Ok(None);
        };
        let min_chunk = start.header("oci-chunk-min-length").map(str::to_string);
        let half = content.len() / 2;
        let mut status = 0;
        for (from, part) in [(0, &content[..half]), (half, &content[half..])] {
            let body = Body::Bytes(Bytes::copy_from_slice(part));
            let request = super::upload::chunk_request(
                &full,
                &location,
                from as u64,
                part.len() as u64,
                body,
            );
            let resp = self.send(request).await?;
            status = resp.status.as_u16();
            if status != 202 {
                break;
            }
            if let Some(next) = resp.header("location") {
                location = self.store.transport.absolute(next)?;
            }
        }
        if status == 202 {
            let digest = Digest::of(content);
            let request = super::upload::commit_request(&full, &location, &digest, Body::Empty);
            status = self.send(request).await?.status.as_u16();
        }
        self.learn(|c| c.chunked_uploads = Support::known(status == 201));
        Ok(Some(ChunkedUpload { status, min_chunk }))
    }

    /// Mounts blob `digest` into `repo` from repository `from_full` (a full name): the status
    /// it got. A 202 opens an upload session, which is cancelled.
    pub async fn mount(
        &mut self,
        repo: &str,
        from_full: &str,
        digest: &Digest,
    ) -> Result<u16, StoreError> {
        let full = self.store.full_repo(repo)?;
        let request = self.store.mount_request(&full, from_full, digest)?;
        let resp = self.send(request).await?;
        let status = resp.status.as_u16();
        if status == 202 {
            if let Some(location) = resp.header("location") {
                let location = self.store.transport.absolute(location)?;
                self.send(super::upload::cancel_request(&full, &location))
                    .await?;
            }
        }
        Ok(status)
    }

    /// Pushes manifest `bytes` of `media_type` to `repo` as `reference`: the status it got.
    pub async fn put_manifest(
        &mut self,
        repo: &str,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<u16, StoreError> {
        let full = self.store.full_repo(repo)?;
        let request = self
            .store
            .manifest_put_request(&full, reference, media_type, bytes);
        Ok(self.send(request).await?.status.as_u16())
    }

    /// Deletes the manifest or tag `reference` of `repo`: the status it got.
    pub async fn delete_manifest(
        &mut self,
        repo: &str,
        reference: &str,
    ) -> Result<u16, StoreError> {
        let full = self.store.full_repo(repo)?;
        let request = self.store.manifest_delete_request(&full, reference);
        Ok(self.send(request).await?.status.as_u16())
    }
}

/// The strings of `field` on a listing page, none unless the answer is a success (or when it
/// is not the JSON of a listing).
async fn page(resp: Response, field: &str, location: &str, what: &str) -> Result<Page, StoreError> {
    let status = resp.status.as_u16();
    let more = resp.header("link").is_some();
    if !resp.status.is_success() {
        return Ok(Page {
            status,
            entries: Vec::new(),
            more,
        });
    }
    let body = resp.bytes(SMALL_BODY_LIMIT, location, what).await?;
    let page: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let entries = page[field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    Ok(Page {
        status,
        entries,
        more,
    })
}
