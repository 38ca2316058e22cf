//! Copying packs between any two stores, digest-preserving and incremental: manifests move as
//! their exact bytes, blobs stream from store to store with digest checks (or are mounted
//! within one registry), and what the destination has is skipped.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use super::progress::{Counted, NoProgress, Progress};
use super::tags::update_parent_tags;
use super::transfer::VerifyingAsyncReader;
use super::versions::{is_parent_tag, is_version_tag, parent_tags};
use super::OpError;
use crate::digest::Digest;
use crate::oci::{self, Descriptor, Index, MEDIA_TYPE_INDEX};
use crate::reference::{pack_repository, PACKS_PREFIX};
use crate::store::{Store, StoreError};

/// Choices for [`mirror`].
#[derive(Clone)]
pub struct MirrorOptions {
    /// Only packs whose name contains this.
    pub filter: Option<String>,
    /// Explicit packs (name, optional tag), for registries without `_catalog`.
    pub names: Vec<(String, Option<String>)>,
    /// Report what would be copied, copy nothing.
    pub dry_run: bool,
    /// Overwrite destination tags that point elsewhere.
    pub force: bool,
    /// Blobs copied at once.
    pub concurrency: usize,
    /// Where to report transfer progress.
    pub progress: Arc<dyn Progress>,
}

impl Default for MirrorOptions {
    fn default() -> Self {
        MirrorOptions {
            filter: None,
            names: Vec::new(),
            dry_run: false,
            force: false,
            concurrency: super::push::DEFAULT_CONCURRENCY,
            progress: Arc::new(NoProgress),
        }
    }
}

/// What a mirror did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct MirrorSummary {
    /// Packs (repositories) visited.
    pub packs: usize,
    /// Tags created or moved at the destination.
    pub tags_copied: usize,
    /// Tags already pointing at the same digest.
    pub tags_unchanged: usize,
    /// Tags left alone because the destination points them elsewhere (`name:tag`).
    pub conflicts: Vec<String>,
    /// Manifests written.
    pub manifests_copied: usize,
    /// Blobs streamed across.
    pub blobs_copied: usize,
    /// Blobs the destination already had.
    pub blobs_skipped: usize,
    /// Blobs mounted from another repository of the same registry.
    pub blobs_mounted: usize,
    /// Bytes streamed.
    pub bytes_copied: u64,
    /// Referrer manifests (signatures, SBOMs) copied.
    pub referrers_copied: usize,
    /// Whether nothing was written.
    pub dry_run: bool,
}

enum BlobOutcome {
    Copied(u64),
    Skipped,
    Mounted,
}

struct Copier<'a> {
    src: &'a dyn Store,
    dst: &'a dyn Store,
    opts: &'a MirrorOptions,
    same_registry: bool,
}

/// Copies packs from `src` to `dst`: every tag of every pack (or those `opts` selects), with
/// the referrers the source has, then brings the destination's parent tags up to date.
pub async fn mirror(
    src: &dyn Store,
    dst: &dyn Store,
    opts: &MirrorOptions,
) -> Result<MirrorSummary, OpError> {
    let mut summary = MirrorSummary {
        dry_run: opts.dry_run,
        ..MirrorSummary::default()
    };
    let copier = Copier {
        src,
        dst,
        opts,
        same_registry: src.registry_id() == dst.registry_id(),
    };
    for (name, only_tag) in selection(src, opts).await? {
        let repo = pack_repository(&name);
        let tags = match &only_tag {
            Some(tag) => vec![tag.clone()],
            None => src.tags(&repo).await?,
        };
        if tags.is_empty() {
            continue;
        }
        summary.packs += 1;
        let _lock = if opts.dry_run {
            None
        } else {
            Some(dst.lock(&repo).await?)
        };
        copier.copy_repo(&name, &repo, &tags, &mut summary).await?;
    }
    Ok(summary)
}

/// The packs to copy: explicit names, else the source's catalog filtered by name.
async fn selection(
    src: &dyn Store,
    opts: &MirrorOptions,
) -> Result<Vec<(String, Option<String>)>, OpError> {
    if !opts.names.is_empty() {
        return Ok(opts.names.clone());
    }
    let mut out = Vec::new();
    for repo in src.repositories(PACKS_PREFIX).await? {
        let Some(name) = repo.strip_prefix(PACKS_PREFIX) else {
            continue;
        };
        if opts.filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        out.push((name.to_string(), None));
    }
    Ok(out)
}

impl Copier<'_> {
    async fn copy_repo(
        &self,
        name: &str,
        repo: &str,
        tags: &[String],
        summary: &mut MirrorSummary,
    ) -> Result<(), OpError> {
        // Parent tags are derived at the destination; referrer fallback tags are merged after
        // the versions they refer to.
        let (fallback, plain): (Vec<&String>, Vec<&String>) = tags
            .iter()
            .filter(|t| !is_parent_tag(t))
            .partition(|t| t.starts_with("sha256-"));
        let mut present = Vec::new();
        for tag in plain {
            let Some(digest) = self.src.resolve(repo, tag).await? else {
                continue;
            };
            present.push(digest.clone());
            match self.dst.resolve(repo, tag).await? {
                Some(d) if d == digest => {
                    summary.tags_unchanged += 1;
                    continue;
                }
                Some(d) if !self.opts.force => {
                    summary.conflicts.push(format!(
                        "{name}:{tag} (destination has {d}, source {digest})"
                    ));
                    continue;
                }
                _ => {}
            }
            summary.tags_copied += 1;
            if self.opts.dry_run {
                continue;
            }
            self.copy_graph(repo, &digest, Some(tag), summary).await?;
        }
        if self.opts.dry_run {
            return Ok(());
        }
        self.copy_referrers(repo, &present, &fallback, summary)
            .await?;
        let mut parents = BTreeSet::new();
        for tag in self.dst.tags(repo).await? {
            if is_version_tag(&tag) {
                parents.extend(parent_tags(&tag));
            }
        }
        let parents: Vec<String> = parents.into_iter().collect();
        update_parent_tags(self.dst, repo, &parents).await?;
        Ok(())
    }

    /// Copies manifest `digest` and everything it references, unless the destination has it;
    /// tags it with `tag` when given.
    async fn copy_graph(
        &self,
        repo: &str,
        digest: &Digest,
        tag: Option<&str>,
        summary: &mut MirrorSummary,
    ) -> Result<(), OpError> {
        let raw = self.src.get_manifest(repo, digest.as_str()).await?;
        let exists = self.dst.resolve(repo, digest.as_str()).await?.is_some();
        if !exists {
            let refs =
                oci::references(&raw.media_type, &raw.bytes).map_err(|e| StoreError::Corrupt {
                    location: self.src.reference(repo, digest.as_str()),
                    message: format!("manifest does not parse: {e}"),
                })?;
            // Children of an index first; a subject is the referrer's pack, copied on its own.
            if matches!(
                raw.media_type.as_str(),
                MEDIA_TYPE_INDEX | oci::MEDIA_TYPE_DOCKER_LIST
            ) {
                let children: Vec<Descriptor> = serde_json::from_slice::<Index>(&raw.bytes)
                    .map(|i| i.manifests)
                    .unwrap_or_default();
                for child in children {
                    Box::pin(self.copy_graph(repo, &child.digest, None, summary)).await?;
                }
            }
            let outcomes: Vec<BlobOutcome> = stream::iter(&refs.blobs)
                .map(|desc| self.copy_blob(repo, desc))
                .buffer_unordered(self.opts.concurrency.max(1))
                .try_collect()
                .await?;
            for outcome in outcomes {
                match outcome {
                    BlobOutcome::Copied(bytes) => {
                        summary.blobs_copied += 1;
                        summary.bytes_copied = summary.bytes_copied.saturating_add(bytes);
                    }
                    BlobOutcome::Skipped => summary.blobs_skipped += 1,
                    BlobOutcome::Mounted => summary.blobs_mounted += 1,
                }
            }
            summary.manifests_copied += 1;
        }
        if !exists || tag.is_some() {
            self.dst
                .put_manifest(repo, tag, &raw.bytes, &raw.media_type)
                .await?;
        }
        Ok(())
    }

    async fn copy_blob(&self, repo: &str, desc: &Descriptor) -> Result<BlobOutcome, OpError> {
        if self.dst.has_blob(repo, &desc.digest).await? {
            return Ok(BlobOutcome::Skipped);
        }
        if self.same_registry
            && self
                .dst
                .mount_blob(repo, &self.src.full_name(repo), &desc.digest)
                .await
                .unwrap_or(false)
        {
            return Ok(BlobOutcome::Mounted);
        }
        let label = desc
            .title()
            .map(str::to_string)
            .unwrap_or_else(|| desc.digest.hex()[..12].to_string());
        let bar = self.opts.progress.start(&label, desc.size);
        let reader = self.src.get_blob(repo, &desc.digest).await?;
        let checked = VerifyingAsyncReader::new(reader, desc.digest.clone(), desc.size);
        let result = self
            .dst
            .put_blob(
                repo,
                &desc.digest,
                desc.size,
                Box::pin(Counted::new(checked, bar.clone())),
            )
            .await;
        bar.finish();
        result?;
        Ok(BlobOutcome::Copied(desc.size))
    }

    /// Copies the referrers of the copied manifests (Referrers API where the source has it,
    /// else its `sha256-<hex>` fallback tags) and brings the destination's index up to date.
    async fn copy_referrers(
        &self,
        repo: &str,
        subjects: &[Digest],
        fallback_tags: &[&String],
        summary: &mut MirrorSummary,
    ) -> Result<(), OpError> {
        let mut wanted: BTreeSet<Digest> = subjects.iter().cloned().collect();
        for tag in fallback_tags {
            if let Ok(digest) = format!("sha256:{}", &tag["sha256-".len()..]).parse::<Digest>() {
                wanted.insert(digest);
            }
        }
        for subject in wanted {
            let fallback_tag = format!("sha256-{}", subject.hex());
            let referrers = match self.src.referrers(repo, &subject).await? {
                Some(list) => list,
                None => match self.src.get_manifest(repo, &fallback_tag).await {
                    Ok(raw) => serde_json::from_slice::<Index>(&raw.bytes)
                        .map(|i| i.manifests)
                        .unwrap_or_default(),
                    Err(e) if e.is_not_found() => Vec::new(),
                    Err(e) => return Err(e.into()),
                },
            };
            if referrers.is_empty() {
                continue;
            }
            for referrer in &referrers {
                if self
                    .dst
                    .resolve(repo, referrer.digest.as_str())
                    .await?
                    .is_none()
                {
                    self.copy_graph(repo, &referrer.digest, None, summary)
                        .await?;
                    summary.referrers_copied += 1;
                }
            }
            if self.dst.referrers(repo, &subject).await?.is_some() {
                // The destination indexes referrers itself.
                continue;
            }
            self.update_fallback_index(repo, &fallback_tag, &referrers)
                .await?;
        }
        Ok(())
    }

    /// Makes the destination's `sha256-<hex>` index list `referrers`: the source's index bytes
    /// when the destination has none, else its own index with the missing entries added.
    async fn update_fallback_index(
        &self,
        repo: &str,
        tag: &str,
        referrers: &[Descriptor],
    ) -> Result<(), OpError> {
        let existing = match self.dst.get_manifest(repo, tag).await {
            Ok(raw) => Some(raw),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.into()),
        };
        let Some(existing) = existing else {
            if let Ok(raw) = self.src.get_manifest(repo, tag).await {
                self.dst
                    .put_manifest(repo, Some(tag), &raw.bytes, &raw.media_type)
                    .await?;
                return Ok(());
            }
            let index = Index {
                schema_version: 2,
                media_type: Some(MEDIA_TYPE_INDEX.into()),
                manifests: referrers.to_vec(),
                ..Index::default()
            };
            let bytes = serde_json::to_vec(&index).unwrap_or_default();
            self.dst
                .put_manifest(repo, Some(tag), &bytes, MEDIA_TYPE_INDEX)
                .await?;
            return Ok(());
        };
        let mut index: Index =
            serde_json::from_slice(&existing.bytes).map_err(|e| StoreError::Corrupt {
                location: self.dst.reference(repo, tag),
                message: format!("referrers index does not parse: {e}"),
            })?;
        let before = index.manifests.len();
        for referrer in referrers {
            if !index.manifests.iter().any(|d| d.digest == referrer.digest) {
                index.manifests.push(referrer.clone());
            }
        }
        if index.manifests.len() != before {
            let bytes = serde_json::to_vec(&index).unwrap_or_default();
            self.dst
                .put_manifest(repo, Some(tag), &bytes, MEDIA_TYPE_INDEX)
                .await?;
        }
        Ok(())
    }
}
