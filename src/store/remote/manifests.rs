//! Manifests: fetched as raw bytes (at most 4 MiB, digest checked), by tag and by digest;
//! pushed by tag or by digest (no `Location` needed in the answer); deleted by digest; and a
//! single tag removed through a throwaway manifest where the registry deletes by digest only.

use http::Method;

use super::capabilities::Support;
use super::error::Action;
use super::transport::{Body, Request};
use super::RemoteStore;
use crate::digest::Digest;
use crate::limits::MANIFEST_LIMIT;
use crate::oci::{self, Descriptor, Manifest, EMPTY_JSON, MEDIA_TYPE_EMPTY, MEDIA_TYPE_MANIFEST};
use crate::reference::is_valid_tag;
use crate::store::{RawManifest, Store, StoreError};

/// OCI and docker manifests and indexes (the `MEDIA_TYPE_*` of [`crate::oci`]).
const ACCEPTED_MANIFESTS: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
const DIGEST_HEADER: &str = "docker-content-digest";

impl RemoteStore {
    pub(super) fn manifest_request(
        &self,
        method: Method,
        repo: &str,
        reference: &str,
    ) -> Result<Request<'static>, StoreError> {
        let full = self.full_repo(repo)?;
        Ok(
            Request::new(method, self.url(&full, &format!("manifests/{reference}")))
                .header("accept", ACCEPTED_MANIFESTS)
                .repository(&full),
        )
    }

    /// A PUT of manifest `bytes` of `media_type` as `reference` in repository `full`.
    pub(super) fn manifest_put_request(
        &self,
        full: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Request<'static> {
        Request::new(
            Method::PUT,
            self.url(full, &format!("manifests/{reference}")),
        )
        .header("content-type", media_type)
        .body(Body::Bytes(bytes::Bytes::copy_from_slice(bytes)))
        .repository(full)
    }

    /// A DELETE of manifest or tag `reference` in repository `full`.
    pub(super) fn manifest_delete_request(&self, full: &str, reference: &str) -> Request<'static> {
        Request::new(
            Method::DELETE,
            self.url(full, &format!("manifests/{reference}")),
        )
        .repository(full)
    }

    pub(super) async fn fetch_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<RawManifest, StoreError> {
        let what = self.reference(repo, reference);
        let resp = self
            .transport
            .send(self.manifest_request(Method::GET, repo, reference)?)
            .await?;
        if !resp.status.is_success() {
            return Err(resp.error(&what, Action::ManifestDownload).await);
        }
        let announced = resp
            .header(DIGEST_HEADER)
            .and_then(|d| d.parse::<Digest>().ok());
        let expected = reference.parse::<Digest>().ok().or(announced);
        let bytes = resp.bytes(MANIFEST_LIMIT, &what, "manifest").await?;
        checked_manifest(what, &bytes, expected)
    }

    pub(super) async fn head_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Option<Digest>, StoreError> {
        let what = self.reference(repo, reference);
        let resp = self
            .transport
            .send(self.manifest_request(Method::HEAD, repo, reference)?)
            .await?;
        match resp.status.as_u16() {
            200..=299 => {}
            404 => return Ok(None),
            _ => return Err(resp.error(&what, Action::ManifestLookup).await),
        }
        match resp
            .header(DIGEST_HEADER)
            .and_then(|d| d.parse::<Digest>().ok())
        {
            Some(digest) => Ok(Some(digest)),
            // Some registries leave the digest out of a HEAD answer.
            None => Ok(Some(self.fetch_manifest(repo, reference).await?.digest)),
        }
    }

    pub(super) async fn push_manifest(
        &self,
        repo: &str,
        tag: Option<&str>,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, StoreError> {
        let digest = Digest::of(bytes);
        let reference = match tag {
            Some(tag) if is_valid_tag(tag) => tag.to_string(),
            Some(tag) => return Err(StoreError::Config(format!("{tag:?} is not a valid tag"))),
            None => digest.to_string(),
        };
        if http::HeaderValue::from_str(media_type).is_err() {
            return Err(StoreError::Config(format!(
                "{media_type:?} is not a valid media type"
            )));
        }
        let full = self.full_repo(repo)?;
        let what = self.reference(repo, &reference);
        let request = self.manifest_put_request(&full, &reference, media_type, bytes);
        let resp = self.transport.send(request).await?;
        if resp.status.is_success() {
            Ok(digest)
        } else {
            Err(resp.error(&what, Action::ManifestUpload).await)
        }
    }

    pub(super) async fn remove_manifest(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<(), StoreError> {
        self.delete_reference(repo, digest.as_str()).await
    }

    async fn delete_reference(&self, repo: &str, reference: &str) -> Result<(), StoreError> {
        let full = self.full_repo(repo)?;
        let request = self.manifest_delete_request(&full, reference);
        let resp = self.transport.send(request).await?;
        if resp.status.is_success() {
            self.capabilities.learn(|c| c.deletes = Support::Yes);
            return Ok(());
        }
        let error = resp
            .error(&self.reference(repo, reference), Action::Delete)
            .await;
        if matches!(error, StoreError::Unsupported(_)) {
            self.capabilities.learn(|c| c.deletes = Support::No);
        }
        Err(error)
    }

    pub(super) async fn remove_tag(&self, repo: &str, tag: &str) -> Result<(), StoreError> {
        match self.delete_reference(repo, tag).await {
            Ok(()) => return Ok(()),
            // Deletes disabled, or no such tag: the throwaway manifest could not help.
            Err(e @ (StoreError::NotFound { .. } | StoreError::Unsupported(_))) => return Err(e),
            Err(e) => {
                tracing::debug!("DELETE of tag {tag} refused ({e}); using a throwaway manifest")
            }
        }
        // CNCF distribution deletes by digest only (DIGEST_INVALID), which would drop every
        // tag on the manifest. Point the tag at a unique throwaway manifest and delete that.
        let empty = EMPTY_JSON;
        let empty_digest = Digest::of(empty);
        if !self.head_blob(repo, &empty_digest).await? {
            self.upload_blob(
                repo,
                &empty_digest,
                2,
                Box::pin(std::io::Cursor::new(empty.to_vec())),
            )
            .await?;
        }
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let mut throwaway = Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_MANIFEST.into()),
            artifact_type: Some("application/vnd.packreg.tag-removal.v1".into()),
            config: Descriptor::new(MEDIA_TYPE_EMPTY, empty_digest.clone(), 2),
            layers: vec![Descriptor::new(MEDIA_TYPE_EMPTY, empty_digest, 2)],
            subject: None,
            annotations: Default::default(),
            extra: Default::default(),
        };
        throwaway.annotations.insert(
            "io.packreg.tag-removal".into(),
            format!("{tag} {nonce} {}", std::process::id()),
        );
        let digest = self
            .push_manifest(repo, Some(tag), &throwaway.to_bytes(), MEDIA_TYPE_MANIFEST)
            .await?;
        self.remove_manifest(repo, &digest).await
    }
}

/// Manifest bytes from the registry, checked against the digest they were asked by (or the
/// registry announced), with their media type.
fn checked_manifest(
    what: String,
    bytes: &[u8],
    expected: Option<Digest>,
) -> Result<RawManifest, StoreError> {
    let digest = Digest::of(bytes);
    if let Some(expected) = expected {
        if expected != digest {
            return Err(StoreError::Integrity {
                location: what,
                message: format!("manifest content hashes to {digest}, not {expected}"),
            });
        }
    }
    let media_type = oci::sniff_media_type(bytes).ok_or_else(|| StoreError::Corrupt {
        location: what,
        message: "the registry returned something that is not a manifest".into(),
    })?;
    Ok(RawManifest {
        bytes: bytes.to_vec(),
        media_type,
        digest,
    })
}
