//! Moving blobs between a store and the artifact layer: uploads streamed from files, downloads
//! verified against their digest and size while they stream.

use std::io::Read;

use tokio_util::io::SyncIoBridge;

use super::gather::{gather, Gathered};
use super::partial::{Partial, PARTIAL_MIN};
use super::progress::{Counted, Progress};
use super::OpError;
use crate::artifact::{ArtifactError, Blob, BlobSource};
use crate::digest::VerifyingReader;
use crate::oci::{Descriptor, Manifest, MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_MANIFEST};
use crate::store::{BlobOrigin, BlobReader, RawManifest, Store, StoreError};

/// Uploads `blob` unless the store has it; returns whether bytes were sent. The store re-opens
/// the source where a transfer broke off (its transport retries; chunked uploads resume).
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
    let label = blob_label(desc);
    let bar = progress.start(&label, desc.size);
    let origin = LocalOrigin {
        source: &blob.source,
        bar: bar.clone(),
    };
    let result = store
        .put_blob_from(repo, &desc.digest, desc.size, &origin)
        .await;
    bar.finish();
    result?;
    Ok(true)
}

/// How a blob is named in progress and messages: its title, else the head of its digest.
pub(crate) fn blob_label(desc: &Descriptor) -> String {
    desc.title()
        .map(str::to_string)
        .unwrap_or_else(|| desc.digest.hex()[..12].to_string())
}

/// A blob's bytes on this machine (a file, or bytes in memory), readable from any offset.
struct LocalOrigin<'a> {
    source: &'a BlobSource,
    bar: std::sync::Arc<dyn super::progress::Bar>,
}

#[async_trait::async_trait]
impl BlobOrigin for LocalOrigin<'_> {
    async fn open_at(&self, offset: u64) -> Result<BlobReader, StoreError> {
        Ok(match self.source {
            BlobSource::Bytes(bytes) => {
                let start = (offset as usize).min(bytes.len());
                Box::pin(Counted::new(
                    std::io::Cursor::new(bytes[start..].to_vec()),
                    self.bar.clone(),
                ))
            }
            BlobSource::File(path) => open_file_at(path, offset, &self.bar).await?,
        })
    }
}

/// A file, readable from any offset.
pub(crate) struct FileOrigin {
    /// The file.
    pub path: std::path::PathBuf,
    /// Where to count the bytes read.
    pub bar: std::sync::Arc<dyn super::progress::Bar>,
}

#[async_trait::async_trait]
impl BlobOrigin for FileOrigin {
    async fn open_at(&self, offset: u64) -> Result<BlobReader, StoreError> {
        open_file_at(&self.path, offset, &self.bar).await
    }
}

async fn open_file_at(
    path: &std::path::Path,
    offset: u64,
    bar: &std::sync::Arc<dyn super::progress::Bar>,
) -> Result<BlobReader, StoreError> {
    use tokio::io::AsyncSeekExt;
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| StoreError::io(path, e))?;
    file.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(|e| StoreError::io(path, e))?;
    Ok(Box::pin(Counted::new(file, bar.clone())))
}

/// A blob of another store, read from any offset: from the start through a verifying reader,
/// from an offset (a resumed upload) unverified, since the receiving store checks the whole.
pub struct StoreOrigin<'a> {
    /// The store holding the blob.
    pub store: &'a dyn Store,
    /// Its repository there.
    pub repo: &'a str,
    /// The blob.
    pub desc: &'a Descriptor,
    /// Where to count the bytes read.
    pub bar: std::sync::Arc<dyn super::progress::Bar>,
}

#[async_trait::async_trait]
impl BlobOrigin for StoreOrigin<'_> {
    async fn open_at(&self, offset: u64) -> Result<BlobReader, StoreError> {
        let digest = &self.desc.digest;
        let reader: BlobReader = if offset == 0 {
            let reader = self.store.get_blob(self.repo, digest).await?;
            Box::pin(VerifyingAsyncReader::new(
                reader,
                digest.clone(),
                self.desc.size,
            ))
        } else {
            self.store.get_blob_at(self.repo, digest, offset).await?
        };
        Ok(Box::pin(Counted::new(reader, self.bar.clone())))
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
    let label = blob_label(desc);
    let bar = progress.start(&label, desc.size);
    // A large blob read whole keeps its bytes in the cache as they arrive, so an interrupted
    // run is continued by the next.
    let cache = (whole && desc.size >= PARTIAL_MIN && store.keeps_partial_downloads())
        .then(|| store.cache_dir())
        .flatten();
    let mut partial = cache
        .as_ref()
        .and_then(|cache| Partial::open(cache, &desc.digest, desc.size));
    // Bytes an earlier run kept may be anyone's (a hostile registry sent them): they are
    // completed and checked before anything reads them, and dropped for a download from byte
    // 0 when they prove wrong.
    if let Some(kept) = partial.take_if(|p| p.have > 0) {
        partial = match check_kept(store, repo, desc, kept, bar.clone()).await? {
            Some(whole) => Some(whole),
            None => {
                tracing::info!("the bytes kept of {label} were wrong; downloading it again");
                cache
                    .as_ref()
                    .and_then(|cache| Partial::open(cache, &desc.digest, desc.size))
            }
        };
    }
    let have = partial.as_ref().map_or(0, |p| p.have);
    let blob: BlobReader = match have {
        0 => store.get_blob(repo, &desc.digest).await?,
        n if n == desc.size => Box::pin(tokio::io::empty()),
        n => {
            tracing::info!("continuing the download of {label} at byte {n}");
            store.get_blob_at(repo, &desc.digest, n).await?
        }
    };
    let counted: BlobReader = Box::pin(Counted::new(blob, bar.clone()));
    // A blob read whole comes in large buffers; one read in part (the head of a layer) a
    // read at a time, so no more of it is fetched than is used.
    let body = if whole {
        Body::Gathered(gather(counted, desc.size.saturating_sub(have)))
    } else {
        Body::Bridged(SyncIoBridge::new(counted))
    };
    let _finish = FinishOnDrop(bar);
    let digest = desc.digest.clone();
    let size = desc.size;
    let location = store.reference(repo, digest.as_str());
    tokio::task::spawn_blocking(move || -> Result<T, OpError> {
        let verified = |reader: &mut dyn Read| -> Result<T, OpError> {
            let mut reader = VerifyingReader::new(reader, digest, size);
            let out = consume(&mut reader)?;
            if whole {
                reader.drain().map_err(|e| StoreError::Integrity {
                    location,
                    message: e.to_string(),
                })?;
            }
            Ok(out)
        };
        let (partial, rest) = match (partial, body) {
            (Some(partial), Body::Gathered(rest)) => (partial, rest),
            (_, mut body) => return verified(&mut body),
        };
        let mut chained = partial
            .reader(rest)
            .map_err(|e| ArtifactError::io(partial.folder(), e))?;
        let result = verified(&mut chained);
        match &result {
            Ok(_) => partial.remove(),
            Err(_) => partial.keep_if_incomplete(size),
        }
        result
    })
    .await?
}

/// Completes the bytes `kept` of blob `desc` from the store and checks the whole: Some (the
/// blob is whole on disk) when it matches, None when it does not (the bytes are removed). A
/// download that breaks off keeps what arrived, as any other.
async fn check_kept(
    store: &dyn Store,
    repo: &str,
    desc: &Descriptor,
    kept: Partial,
    bar: std::sync::Arc<dyn super::progress::Bar>,
) -> Result<Option<Partial>, OpError> {
    let size = desc.size;
    let rest: BlobReader = if kept.have >= size {
        Box::pin(tokio::io::empty())
    } else {
        tracing::info!(
            "continuing the download of {} at byte {}",
            desc.digest,
            kept.have
        );
        store.get_blob_at(repo, &desc.digest, kept.have).await?
    };
    let rest = gather(
        Box::pin(Counted::new(rest, bar)),
        size - kept.have.min(size),
    );
    let digest = desc.digest.clone();
    let location = store.reference(repo, digest.as_str());
    tokio::task::spawn_blocking(move || -> Result<Option<Partial>, OpError> {
        let mut chained = kept
            .reader(rest)
            .map_err(|e| ArtifactError::io(kept.folder(), e))?;
        let checked = VerifyingReader::new(&mut chained, digest, size).drain();
        drop(chained);
        match checked {
            Ok(()) => Ok(Some(kept.whole(size))),
            // Every byte arrived and the whole is wrong: the kept ones are to blame.
            Err(_) if kept.is_complete(size) => {
                kept.remove();
                Ok(None)
            }
            Err(e) => {
                kept.keep_if_incomplete(size);
                Err(StoreError::Integrity {
                    location,
                    message: e.to_string(),
                }
                .into())
            }
        }
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

/// A blob body on the blocking side: gathered into large buffers, or bridged a read at a time.
enum Body {
    Gathered(Gathered),
    Bridged(SyncIoBridge<BlobReader>),
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Body::Gathered(r) => r.read(buf),
            Body::Bridged(r) => r.read(buf),
        }
    }
}

pub(crate) struct FinishOnDrop(pub(crate) std::sync::Arc<dyn super::progress::Bar>);

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
