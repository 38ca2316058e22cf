//! Copying a manifest graph from one store and repository to another, digest-preserving: a
//! manifest with its blobs, an index with its child manifests first, and (see [`referrers`])
//! what refers to a manifest. Manifests move as their exact bytes; a blob the destination has
//! is skipped, one in the same registry is mounted, any other streams across with a digest
//! check. Mirror (and through it export and import) and its `--with-images` copies all copy
//! through here, as oras-go's `CopyGraph` serves its commands.

mod placed;
mod referrers;

pub use placed::BlobPlaces;

use std::sync::Arc;

use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::progress::{NoProgress, Progress};
use super::transfer::StoreOrigin;
use super::OpError;
use crate::digest::Digest;
use crate::oci::{self, Descriptor};
use crate::store::{RawManifest, Store, StoreError};

/// One side of a copy: a store and a repository in it.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The repository in it.
    pub repo: &'a str,
}

/// How to copy.
#[derive(Clone)]
pub struct CopyOptions {
    /// Blobs of one manifest copied at once.
    pub concurrency: usize,
    /// Where to report each blob's transfer.
    pub progress: Arc<dyn Progress>,
    /// Where blobs may be mounted from instead of streamed: the source repository's full name
    /// when both sides are one registry (see [`mount_source`]).
    pub mount_from: Option<String>,
    /// Move a tag the destination points elsewhere ([`GraphCopier::copy_reference`]'s tag, a
    /// cosign tag); without it such a tag is left alone and listed in
    /// [`CopyStats::conflicts`]. ([`GraphCopier::copy_manifest`] always sets its tag: its
    /// caller decided.)
    pub force: bool,
    /// The blobs the destination is known to hold, shared by the copies of one run: a blob
    /// placed in one repository is mounted into the others and not asked about again.
    pub places: Option<Arc<BlobPlaces>>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            concurrency: super::push::DEFAULT_CONCURRENCY,
            progress: Arc::new(NoProgress),
            mount_from: None,
            force: true,
            places: None,
        }
    }
}

/// The source repository's full name when `src` and `dst` are one registry, so that its blobs
/// can be mounted rather than streamed.
pub fn mount_source(src: &Side<'_>, dst: &dyn Store) -> Option<String> {
    (src.store.registry_id() == dst.registry_id()).then(|| src.store.full_name(src.repo))
}

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Manifests written that the destination did not have.
    pub manifests_copied: usize,
    /// Blobs streamed across.
    pub blobs_copied: usize,
    /// Blobs the destination already had.
    pub blobs_skipped: usize,
    /// Blobs mounted from another repository of the same registry.
    pub blobs_mounted: usize,
    /// Bytes streamed.
    pub bytes_copied: u64,
    /// Referrers (signatures, attestations, SBOMs) copied, by the Referrers API, the
    /// `sha256-<hex>` fallback index or cosign's tags.
    pub referrers_copied: usize,
    /// Tags left alone because the destination points them elsewhere and `force` is off:
    /// (tag, destination digest, source digest).
    pub conflicts: Vec<(String, Digest, Digest)>,
}

/// What [`GraphCopier::copy_reference`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedManifest {
    /// The digest of the top manifest.
    pub digest: Digest,
    /// Whether it was written (false: the destination already had it under that name).
    pub written: bool,
}

enum BlobOutcome {
    Copied(u64),
    Skipped,
    Mounted,
}

/// Copies manifest graphs from one side to the other.
pub struct GraphCopier<'a> {
    src: Side<'a>,
    dst: Side<'a>,
    opts: &'a CopyOptions,
}

impl<'a> GraphCopier<'a> {
    /// A copier from `src` to `dst`.
    pub fn new(src: Side<'a>, dst: Side<'a>, opts: &'a CopyOptions) -> Self {
        GraphCopier { src, dst, opts }
    }

    /// Copies the manifest `reference` (a tag or digest) of the source and its graph, naming
    /// it `tag` at the destination (None: by digest only), unless the destination already has
    /// it under that name, or (without `force`) points that tag at another manifest: that is a
    /// conflict, recorded in `stats` with nothing written. Its referrers are
    /// [`GraphCopier::copy_referrers`]'s part.
    pub async fn copy_reference(
        &self,
        reference: &str,
        tag: Option<&str>,
        stats: &mut CopyStats,
    ) -> Result<CopiedManifest, OpError> {
        let raw = self
            .src
            .store
            .get_manifest(self.src.repo, reference)
            .await?;
        let digest = raw.digest.clone();
        let exists = match tag {
            Some(tag) => {
                match self.dst.store.resolve(self.dst.repo, tag).await? {
                    Some(held) if held == digest => {
                        return Ok(CopiedManifest {
                            digest,
                            written: false,
                        });
                    }
                    Some(held) if !self.opts.force => {
                        stats
                            .conflicts
                            .push((tag.to_string(), held, digest.clone()));
                        return Ok(CopiedManifest {
                            digest,
                            written: false,
                        });
                    }
                    _ => {}
                }
                self.dst_has(&digest).await?
            }
            None => self.dst_has(&digest).await?,
        };
        if exists && tag.is_none() {
            return Ok(CopiedManifest {
                digest,
                written: false,
            });
        }
        self.put_graph(&raw, tag, exists, stats).await?;
        Ok(CopiedManifest {
            digest,
            written: true,
        })
    }

    /// Copies manifest `digest` and everything it references, unless the destination has it;
    /// tags it `tag` there when given (even when the manifest was there already).
    pub async fn copy_manifest(
        &self,
        digest: &Digest,
        tag: Option<&str>,
        stats: &mut CopyStats,
    ) -> Result<(), OpError> {
        let raw = self
            .src
            .store
            .get_manifest(self.src.repo, digest.as_str())
            .await?;
        self.copy_read(&raw, tag, false, stats).await
    }

    /// [`GraphCopier::copy_manifest`] of a manifest already read from the source. With
    /// `fresh` (the destination repository had no tags) it is taken not to be there, which
    /// saves asking: were it there untagged, its blobs are found there as they are copied.
    pub async fn copy_read(
        &self,
        raw: &RawManifest,
        tag: Option<&str>,
        fresh: bool,
        stats: &mut CopyStats,
    ) -> Result<(), OpError> {
        let exists = !fresh && self.dst_has(&raw.digest).await?;
        if !exists || tag.is_some() {
            self.put_graph(raw, tag, exists, stats).await?;
        }
        Ok(())
    }

    /// Copies manifest `digest` and its graph unless the destination has it; returns whether
    /// it was copied.
    async fn copy_missing(&self, digest: &Digest, stats: &mut CopyStats) -> Result<bool, OpError> {
        if self.dst_has(digest).await? {
            return Ok(false);
        }
        let raw = self
            .src
            .store
            .get_manifest(self.src.repo, digest.as_str())
            .await?;
        self.put_graph(&raw, None, false, stats).await?;
        Ok(true)
    }

    async fn dst_has(&self, digest: &Digest) -> Result<bool, OpError> {
        Ok(self
            .dst
            .store
            .resolve(self.dst.repo, digest.as_str())
            .await?
            .is_some())
    }

    /// Writes `raw` (tagged `tag` when given), after what it references unless `exists` says
    /// the destination has the manifest already.
    async fn put_graph(
        &self,
        raw: &RawManifest,
        tag: Option<&str>,
        exists: bool,
        stats: &mut CopyStats,
    ) -> Result<(), OpError> {
        if !exists {
            self.copy_below(raw, stats).await?;
            stats.manifests_copied += 1;
        }
        self.dst
            .store
            .put_manifest(self.dst.repo, tag, &raw.bytes, &raw.media_type)
            .await?;
        Ok(())
    }

    /// Copies what `raw` references: an index's child manifests first (by digest), then its
    /// blobs. A subject is not followed: it is copied on its own.
    async fn copy_below(&self, raw: &RawManifest, stats: &mut CopyStats) -> Result<(), OpError> {
        let refs =
            oci::references(&raw.media_type, &raw.bytes).map_err(|e| StoreError::Corrupt {
                location: self.src.store.reference(self.src.repo, raw.digest.as_str()),
                message: format!("manifest does not parse: {e}"),
            })?;
        for child in &refs.manifests {
            Box::pin(self.copy_missing(&child.digest, stats)).await?;
        }
        let outcomes: Vec<BlobOutcome> = stream::iter(&refs.blobs)
            .map(|desc| self.copy_blob(desc))
            .buffer_unordered(self.opts.concurrency.max(1))
            .try_collect()
            .await?;
        for outcome in outcomes {
            match outcome {
                BlobOutcome::Copied(bytes) => {
                    stats.blobs_copied += 1;
                    stats.bytes_copied = stats.bytes_copied.saturating_add(bytes);
                }
                BlobOutcome::Skipped => stats.blobs_skipped += 1,
                BlobOutcome::Mounted => stats.blobs_mounted += 1,
            }
        }
        Ok(())
    }

    /// [`GraphCopier::copy_place`], first looking where this run placed the blob: skipped
    /// where the repository holds it, mounted from another repository of the destination
    /// that does. Copies of one blob wait for each other, so it is uploaded once.
    async fn copy_blob(&self, desc: &Descriptor) -> Result<BlobOutcome, OpError> {
        let Some(places) = &self.opts.places else {
            return self.copy_place(desc).await;
        };
        let dst = &self.dst;
        let holders = places.of(&desc.digest);
        let mut holders = holders.lock().await;
        if holders.iter().any(|(repo, _)| repo == dst.repo) {
            return Ok(BlobOutcome::Skipped);
        }
        let mut outcome = None;
        if let Some((_, from)) = holders.first() {
            // A refused mount is no failure: the blob is placed as without a holder.
            if let Ok(true) = dst.store.mount_blob(dst.repo, from, &desc.digest).await {
                tracing::debug!("mounted {} from {from}", desc.digest);
                outcome = Some(BlobOutcome::Mounted);
            }
        }
        let outcome = match outcome {
            Some(outcome) => outcome,
            None => self.copy_place(desc).await?,
        };
        holders.push((dst.repo.to_string(), dst.store.full_name(dst.repo)));
        Ok(outcome)
    }

    /// Skips a blob the destination has, else mounts it from the source's repository where
    /// both are one registry, else streams it.
    async fn copy_place(&self, desc: &Descriptor) -> Result<BlobOutcome, OpError> {
        let (src, dst) = (&self.src, &self.dst);
        if dst.store.has_blob(dst.repo, &desc.digest).await? {
            return Ok(BlobOutcome::Skipped);
        }
        if let Some(from) = &self.opts.mount_from {
            // A refused mount is no failure: the blob is streamed instead.
            let mounted = dst.store.mount_blob(dst.repo, from, &desc.digest).await;
            if mounted.unwrap_or(false) {
                return Ok(BlobOutcome::Mounted);
            }
        }
        let label = desc
            .title()
            .map(str::to_string)
            .unwrap_or_else(|| desc.digest.hex().get(..12).unwrap_or_default().to_string());
        let bar = self.opts.progress.start(&label, desc.size);
        let origin = StoreOrigin {
            store: src.store,
            repo: src.repo,
            desc,
            bar: bar.clone(),
        };
        let result = dst
            .store
            .put_blob_from(dst.repo, &desc.digest, desc.size, &origin)
            .await;
        bar.finish();
        result?;
        Ok(BlobOutcome::Copied(desc.size))
    }
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;
