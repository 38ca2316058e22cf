//! Moving blobs between a store and the artifact layer: uploads streamed from files, downloads
//! verified against their digest and size while they stream.

use std::io::Read;

use tokio_util::io::SyncIoBridge;

use super::progress::{Counted, Progress};
use super::OpError;
use crate::artifact::{ArtifactError, Blob, BlobSource};
use crate::digest::VerifyingReader;
use crate::oci::{Descriptor, Manifest, MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_MANIFEST};
use crate::store::{BlobReader, RawManifest, Store, StoreError};

/// How many times an upload is tried when the connection fails mid-stream.
const UPLOAD_ATTEMPTS: u32 = 3;

/// Uploads `blob` unless the store has it; returns whether bytes were sent. A transfer that
/// fails on the network is started again from the source, a bounded number of times.
pub async fn upload(
    store: &dyn Store,
    repo: &str,
    blob: &Blob,
    progress: &dyn Progress,
) -> Result<bool, OpError> {
    upload_or_mount(store, repo, blob, None, progress).await
}

/// [`upload`], but first tries to mount the blob from `mount_from`, another repository of the
/// same store known to hold it.
pub async fn upload_or_mount(
    store: &dyn Store,
    repo: &str,
    blob: &Blob,
    mount_from: Option<&str>,
    progress: &dyn Progress,
) -> Result<bool, OpError> {
    let desc = &blob.descriptor;
    if store.has_blob(repo, &desc.digest).await? {
        return Ok(false);
    }
    if let Some(from) = mount_from {
        match store.mount_blob(repo, from, &desc.digest).await {
            Ok(true) => {
                tracing::info!("mounted {} from {from}", desc.digest);
                return Ok(false);
            }
            Ok(false) => {}
            Err(e) => tracing::debug!("mount of {} from {from} failed: {e}", desc.digest),
        }
    }
    let label = desc
        .title()
        .map(str::to_string)
        .unwrap_or_else(|| desc.digest.hex()[..12].to_string());
    let mut attempt = 0;
    loop {
        attempt += 1;
        let bar = progress.start(&label, desc.size);
        let reader: BlobReader = match &blob.source {
            BlobSource::Bytes(bytes) => Box::pin(Counted::new(
                std::io::Cursor::new(bytes.clone()),
                bar.clone(),
            )),
            BlobSource::File(path) => Box::pin(Counted::new(
                tokio::fs::File::open(path)
                    .await
                    .map_err(|e| ArtifactError::io(path, e))?,
                bar.clone(),
            )),
        };
        let result = store.put_blob(repo, &desc.digest, desc.size, reader).await;
        bar.finish();
        match result {
            Ok(()) => return Ok(true),
            Err(StoreError::Remote { message, .. }) if attempt < UPLOAD_ATTEMPTS => {
                tracing::warn!("upload of {label} failed ({message}); trying again");
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Streams blob `desc` of `repo` into `consume` on a blocking thread. With `whole`, the rest
/// of the blob is read after `consume` returns and its digest and size are checked; without,
/// `consume` may stop early (reading the head of a layer) and only what it read is trusted.
pub async fn read_blob<T, F>(
    store: &dyn Store,
    repo: &str,
    desc: &Descriptor,
    whole: bool,
    consume: F,
) -> Result<T, OpError>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Read) -> Result<T, ArtifactError> + Send + 'static,
{
    read_blob_with_progress(
        store,
        repo,
        desc,
        whole,
        &super::progress::NoProgress,
        consume,
    )
    .await
}

/// [`read_blob`], reporting bytes to `progress`.
pub async fn read_blob_with_progress<T, F>(
    store: &dyn Store,
    repo: &str,
    desc: &Descriptor,
    whole: bool,
    progress: &dyn Progress,
    consume: F,
) -> Result<T, OpError>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Read) -> Result<T, ArtifactError> + Send + 'static,
{
    let label = desc
        .title()
        .map(str::to_string)
        .unwrap_or_else(|| desc.digest.hex()[..12].to_string());
    let bar = progress.start(&label, desc.size);
    let blob = store.get_blob(repo, &desc.digest).await?;
    let bridge = SyncIoBridge::new(Counted::new(blob, bar.clone()));
    let _finish = FinishOnDrop(bar);
    let digest = desc.digest.clone();
    let size = desc.size;
    let location = store.reference(repo, digest.as_str());
    tokio::task::spawn_blocking(move || -> Result<T, OpError> {
        let mut reader = VerifyingReader::new(bridge, digest, size);
        let out = consume(&mut reader)?;
        if whole {
            reader.drain().map_err(|e| StoreError::Integrity {
                location,
                message: e.to_string(),
            })?;
        }
        Ok(out)
    })
    .await?
}

/// An async reader that hashes what passes and fails at end of stream unless the bytes match
/// the expected digest and size (reading past the size fails at once).
pub struct VerifyingAsyncReader<R> {
    inner: R,
    hasher: crate::digest::Hasher,
    expected: crate::digest::Digest,
    size: u64,
}

impl<R> VerifyingAsyncReader<R> {
    /// Wraps `inner`, which must yield `size` bytes with digest `expected`.
    pub fn new(inner: R, expected: crate::digest::Digest, size: u64) -> Self {
        VerifyingAsyncReader {
            inner,
            hasher: crate::digest::Hasher::new(),
            expected,
            size,
        }
    }
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for VerifyingAsyncReader<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_read(cx, buf) {
            std::task::Poll::Ready(Ok(())) => {
                let fresh = &buf.filled()[before..];
                if fresh.is_empty() {
                    let got = this.hasher.clone().finish();
                    if this.hasher.len() != this.size || got != this.expected {
                        return std::task::Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!(
                                "blob content does not match its digest: expected {} ({} bytes), got {got} ({} bytes)",
                                this.expected, this.size, this.hasher.len()
                            ),
                        )));
                    }
                } else {
                    this.hasher.update(fresh);
                    if this.hasher.len() > this.size {
                        return std::task::Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!(
                                "blob {} is larger than its declared {} bytes",
                                this.expected, this.size
                            ),
                        )));
                    }
                }
                std::task::Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

struct FinishOnDrop(std::sync::Arc<dyn super::progress::Bar>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// Reads a small blob (config, pack.json) whole, verified.
pub async fn read_small_blob(
    store: &dyn Store,
    repo: &str,
    desc: &Descriptor,
) -> Result<Vec<u8>, OpError> {
    const LIMIT: u64 = crate::limits::MAX_PACK_JSON_BYTES;
    if desc.size > LIMIT {
        return Err(StoreError::Corrupt {
            location: store.reference(repo, desc.digest.as_str()),
            message: format!(
                "metadata blob of {} bytes is larger than {}, the most packreg reads",
                desc.size,
                crate::limits::human(LIMIT)
            ),
        }
        .into());
    }
    read_blob(store, repo, desc, true, |r| {
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes)
            .map_err(|e| ArtifactError::Layer {
                layer: "metadata".into(),
                message: e.to_string(),
            })?;
        Ok(bytes)
    })
    .await
}

/// Parses raw bytes as an image manifest; indexes and other documents are not packs.
pub fn parse_manifest(
    store: &dyn Store,
    repo: &str,
    raw: &RawManifest,
) -> Result<Manifest, OpError> {
    if raw.media_type != MEDIA_TYPE_MANIFEST && raw.media_type != MEDIA_TYPE_DOCKER_MANIFEST {
        return Err(ArtifactError::NotAPack(format!(
            "{} is a {}, not an image manifest: not a pack",
            store.reference(repo, raw.digest.as_str()),
            raw.media_type
        ))
        .into());
    }
    serde_json::from_slice(&raw.bytes).map_err(|e| {
        StoreError::Corrupt {
            location: store.reference(repo, raw.digest.as_str()),
            message: format!("manifest does not parse: {e}"),
        }
        .into()
    })
}
