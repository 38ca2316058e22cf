//! Copying a container image between two stores and repositories, digest-preserving: a
//! multi-platform index with all its manifests and blobs, a single manifest as it is, and what
//! refers to it (the `sha256-<hex>` referrers tag and cosign's `.sig`, `.att` and `.sbom` tags,
//! which are tags and not referrers). An image already at the destination with the same digest
//! is skipped without touching its blobs.

use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::progress::Progress;
use super::transfer::StoreOrigin;
use super::OpError;
use crate::digest::Digest;
use crate::oci;
use crate::store::{Store, StoreError};

/// One side of an image copy.
pub struct ImageSide<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The repository in it.
    pub repo: &'a str,
}

/// What copying one image did.
#[derive(Debug, Clone, Default)]
pub struct ImageCopy {
    /// The digest of the image (its top manifest).
    pub digest: Option<Digest>,
    /// Whether anything was written.
    pub copied: bool,
    /// Blobs streamed and their bytes.
    pub blobs: usize,
    /// Bytes streamed.
    pub bytes: u64,
}

/// Copies the image `reference` (a tag or digest) of `src` to `dst`, tagging it `tag` there
/// (None: by digest only).
pub async fn copy_image(
    src: &ImageSide<'_>,
    dst: &ImageSide<'_>,
    reference: &str,
    tag: Option<&str>,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<ImageCopy, OpError> {
    let raw = src.store.get_manifest(src.repo, reference).await?;
    let mut result = ImageCopy {
        digest: Some(raw.digest.clone()),
        ..ImageCopy::default()
    };
    let at_destination = match tag {
        Some(tag) => dst.store.resolve(dst.repo, tag).await?,
        None => dst.store.resolve(dst.repo, raw.digest.as_str()).await?,
    };
    if at_destination.as_ref() != Some(&raw.digest) {
        copy_graph(
            src,
            dst,
            &raw.digest,
            Some(raw.clone()),
            concurrency,
            progress,
            &mut result,
        )
        .await?;
        dst.store
            .put_manifest(dst.repo, tag, &raw.bytes, &raw.media_type)
            .await?;
        result.copied = true;
    }
    copy_attached(src, dst, &raw.digest, concurrency, progress, &mut result).await?;
    Ok(result)
}

/// Copies manifest `digest` (fetched now unless given) and everything below it, children by
/// digest; the caller writes the manifest itself, which this returns.
async fn copy_graph(
    src: &ImageSide<'_>,
    dst: &ImageSide<'_>,
    digest: &Digest,
    fetched: Option<crate::store::RawManifest>,
    concurrency: usize,
    progress: &dyn Progress,
    result: &mut ImageCopy,
) -> Result<crate::store::RawManifest, OpError> {
    let raw = match fetched {
        Some(raw) => raw,
        None => src.store.get_manifest(src.repo, digest.as_str()).await?,
    };
    let refs = oci::references(&raw.media_type, &raw.bytes).map_err(|e| StoreError::Corrupt {
        location: src.store.reference(src.repo, digest.as_str()),
        message: format!("image manifest does not parse: {e}"),
    })?;
    for child in &refs.manifests {
        Box::pin(copy_by_digest(
            src,
            dst,
            &child.digest,
            concurrency,
            progress,
            result,
        ))
        .await?;
    }
    let sent: Vec<Option<u64>> = stream::iter(&refs.blobs)
        .map(|desc| async move {
            if dst.store.has_blob(dst.repo, &desc.digest).await? {
                return Ok::<_, OpError>(None);
            }
            let bar = progress.start(desc.digest.hex().get(..12).unwrap_or_default(), desc.size);
            let origin = StoreOrigin {
                store: src.store,
                repo: src.repo,
                desc,
                bar: bar.clone(),
            };
            let put = dst
                .store
                .put_blob_from(dst.repo, &desc.digest, desc.size, &origin)
                .await;
            bar.finish();
            put?;
            Ok(Some(desc.size))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    for size in sent.into_iter().flatten() {
        result.blobs += 1;
        result.bytes = result.bytes.saturating_add(size);
    }
    Ok(raw)
}

/// Copies manifest `digest` and everything below it, storing it by digest, unless the
/// destination has it; returns whether it was copied.
async fn copy_by_digest(
    src: &ImageSide<'_>,
    dst: &ImageSide<'_>,
    digest: &Digest,
    concurrency: usize,
    progress: &dyn Progress,
    result: &mut ImageCopy,
) -> Result<bool, OpError> {
    if dst.store.resolve(dst.repo, digest.as_str()).await? == Some(digest.clone()) {
        return Ok(false);
    }
    let raw = copy_graph(src, dst, digest, None, concurrency, progress, result).await?;
    dst.store
        .put_manifest(dst.repo, None, &raw.bytes, &raw.media_type)
        .await?;
    Ok(true)
}

/// Copies what refers to `subject` at the source: through the Referrers API where the source
/// has one, and by tag (the referrers fallback tag, cosign's signature, attestation and SBOM
/// tags).
async fn copy_attached(
    src: &ImageSide<'_>,
    dst: &ImageSide<'_>,
    subject: &Digest,
    concurrency: usize,
    progress: &dyn Progress,
    result: &mut ImageCopy,
) -> Result<(), OpError> {
    if let Some(referrers) = src.store.referrers(src.repo, subject).await? {
        for referrer in referrers {
            if copy_by_digest(src, dst, &referrer.digest, concurrency, progress, result).await? {
                result.copied = true;
            }
        }
    }
    let base = format!("sha256-{}", subject.hex());
    let wanted = [
        base.clone(),
        format!("{base}.sig"),
        format!("{base}.att"),
        format!("{base}.sbom"),
    ];
    let tags = match src.store.tags(src.repo).await {
        Ok(tags) => tags,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for tag in wanted.iter().filter(|t| tags.contains(t)) {
        let raw = src.store.get_manifest(src.repo, tag).await?;
        if dst.store.resolve(dst.repo, tag).await? == Some(raw.digest.clone()) {
            continue;
        }
        copy_graph(
            src,
            dst,
            &raw.digest,
            Some(raw.clone()),
            concurrency,
            progress,
            result,
        )
        .await?;
        dst.store
            .put_manifest(dst.repo, Some(tag), &raw.bytes, &raw.media_type)
            .await?;
        result.copied = true;
    }
    Ok(())
}
