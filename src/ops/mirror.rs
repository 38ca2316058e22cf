//! Copying packs between any two stores, digest-preserving and incremental: manifests move as
//! their exact bytes, blobs stream from store to store with digest checks (or are mounted
//! within one registry), and what the destination has is skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use super::index::{entry_in_store, is_indexed_tag, record, Change};
use super::progress::{NoProgress, Progress};
use super::tags::{tag_digests, update_parent_tags_known};
use super::transfer::StoreOrigin;
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
    /// Stop at the first pack or tag that fails, instead of copying the rest and reporting
    /// every failure.
    pub fail_fast: bool,
    /// Where to report transfer progress.
    pub progress: Arc<dyn Progress>,
    /// Copy the container images the packs declare too.
    pub with_images: bool,
    /// An image that cannot be found is a warning, not a failure of its pack.
    pub skip_missing_images: bool,
    /// How to reach the images' own registries (credentials, TLS, timeouts).
    pub image_sources: crate::store::StoreOptions,
}

impl Default for MirrorOptions {
    fn default() -> Self {
        MirrorOptions {
            filter: None,
            names: Vec::new(),
            dry_run: false,
            force: false,
            concurrency: super::push::DEFAULT_CONCURRENCY,
            fail_fast: false,
            progress: Arc::new(NoProgress),
            with_images: false,
            skip_missing_images: false,
            image_sources: crate::config::builtin_store_options(&Default::default()),
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
    /// Packs and tags that could not be copied; the rest was (unless `fail_fast` stopped
    /// the copy at the first).
    pub failures: Vec<MirrorFailure>,
    /// Whether the source refused `_catalog` and the pack names came from its pack index.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub names_from_index: bool,
    /// Images copied or found in place (`--with-images`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<MirroredImage>,
    /// What the user should know although the copy succeeded (the destination's pack index
    /// not updated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// An image carried with its packs.
#[derive(Debug, Clone, Serialize)]
pub struct MirroredImage {
    /// The image as the pack declares it, normalised (`docker.io/library/nginx:1.25`).
    pub source: String,
    /// Where it is now (`<destination>/<source host>/<path>:<tag>`).
    pub destination: String,
    /// Its digest.
    pub digest: String,
    /// Whether this run wrote anything of it.
    pub copied: bool,
    /// Where it was read from: the source store at the mapped place, or its own registry.
    pub from: String,
}

/// A pack, or one tag of it, that could not be copied.
#[derive(Debug, Clone, Serialize)]
pub struct MirrorFailure {
    /// Pack name.
    pub pack: String,
    /// The tag (version, label) concerned; None when the whole pack failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// What went wrong.
    pub error: String,
}

impl std::fmt::Display for MirrorFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.tag {
            Some(tag) => write!(f, "{}:{tag}: {}", self.pack, self.error),
            None => write!(f, "{}: {}", self.pack, self.error),
        }
    }
}

impl MirrorSummary {
    /// Adds the counts and lists of `part` (one pack's copy).
    fn add(&mut self, part: MirrorSummary) {
        self.packs += part.packs;
        self.tags_copied += part.tags_copied;
        self.tags_unchanged += part.tags_unchanged;
        self.conflicts.extend(part.conflicts);
        self.manifests_copied += part.manifests_copied;
        self.blobs_copied += part.blobs_copied;
        self.blobs_skipped += part.blobs_skipped;
        self.blobs_mounted += part.blobs_mounted;
        self.bytes_copied += part.bytes_copied;
        self.referrers_copied += part.referrers_copied;
        self.failures.extend(part.failures);
        self.warnings.extend(part.warnings);
    }

    /// Records a failure; true when the copy must stop there (`fail_fast`).
    fn fail(&mut self, opts: &MirrorOptions, pack: &str, tag: Option<&str>, err: OpError) -> bool {
        self.failures.push(MirrorFailure {
            pack: pack.to_string(),
            tag: tag.map(str::to_string),
            error: err.to_string(),
        });
        opts.fail_fast
    }
}

enum BlobOutcome {
    Copied(u64),
    Skipped,
    Mounted,
}

pub(super) struct Copier<'a> {
    pub(super) src: &'a dyn Store,
    pub(super) dst: &'a dyn Store,
    pub(super) opts: &'a MirrorOptions,
    pub(super) same_registry: bool,
}

/// Copies packs from `src` to `dst`: every tag of every pack (or those `opts` selects), with
/// the referrers the source has, then brings the destination's parent tags up to date. A pack
/// or tag that fails (a manifest or blob missing at the source, a write the destination
/// refuses) is recorded in [`MirrorSummary::failures`] and the copy goes on, unless
/// `opts.fail_fast`; errors listing the source's packs end it at once.
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
    let named = !opts.names.is_empty();
    let copier = &copier;
    let (packs, from_index) = selection(src, opts).await?;
    summary.names_from_index = from_index;
    let mut copied = Vec::new();
    let mut present = Vec::new();
    // Packs are copied several at a time: a mirror with little to copy is bound by the
    // registries' answer time, not by bandwidth.
    let mut copies = stream::iter(packs)
        .map(|(name, only_tag)| async move {
            let mut part = MirrorSummary::default();
            let result = copier.copy_pack(&name, only_tag, named, &mut part).await;
            (name, result, part)
        })
        .buffered(PACKS_AT_ONCE);
    while let Some((name, result, part)) = copies.next().await {
        summary.add(part);
        match result {
            Ok(tags) => {
                for (tag, written) in tags {
                    if written {
                        copied.push((name.clone(), tag.clone()));
                    }
                    present.push((name.clone(), tag));
                }
            }
            Err(e) => {
                summary.fail(opts, &name, None, e);
            }
        }
        if opts.fail_fast && !summary.failures.is_empty() {
            break;
        }
    }
    if !opts.dry_run {
        summary.warnings.extend(index_copied(dst, &copied).await);
    }
    let stopped = opts.fail_fast && !summary.failures.is_empty();
    if opts.with_images && !stopped {
        super::mirror_images::copy_pack_images(src, dst, opts, &present, &mut summary).await;
    }
    Ok(summary)
}

/// Packs copied at once.
const PACKS_AT_ONCE: usize = 8;

/// Records the tags now at the destination in its pack index, so it can be listed even where
/// it refuses `_catalog`. A failure is a warning: the copy itself is done.
async fn index_copied(dst: &dyn Store, copied: &[(String, String)]) -> Option<String> {
    let mut changes = Vec::new();
    for (name, tag) in copied.iter().filter(|(_, t)| is_indexed_tag(t)) {
        match entry_in_store(dst, name, tag).await {
            Ok(Some(entry)) => changes.push(Change::Put(entry)),
            Ok(None) => {}
            Err(e) => {
                return Some(format!(
                    "the destination's pack index was not updated ({e}); `packreg index rebuild` repairs it"
                ))
            }
        }
    }
    record(dst, &changes).await
}

/// The packs to copy: explicit names, else the source's catalog (or, where it refuses
/// `_catalog`, its pack index) filtered by name. The bool says whether the index named them.
async fn selection(
    src: &dyn Store,
    opts: &MirrorOptions,
) -> Result<(Vec<(String, Option<String>)>, bool), OpError> {
    if !opts.names.is_empty() {
        return Ok((opts.names.clone(), false));
    }
    let mut out = Vec::new();
    let (repos, from_index) = super::list::pack_repositories(src).await?;
    for repo in repos {
        let Some(name) = repo.strip_prefix(PACKS_PREFIX) else {
            continue;
        };
        if opts.filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        out.push((name.to_string(), None));
    }
    Ok((out, from_index))
}

impl Copier<'_> {
    /// Copies one pack (or one tag of it). Failures of single tags are recorded in `summary`;
    /// an error returned concerns the whole pack. Returns the tags the destination now has as
    /// the source does.
    async fn copy_pack(
        &self,
        name: &str,
        only_tag: Option<String>,
        named: bool,
        summary: &mut MirrorSummary,
    ) -> Result<Vec<(String, bool)>, OpError> {
        let repo = pack_repository(name);
        // With every tag listed, the list also tells which referrer fallback tags exist.
        let listed = only_tag.is_none();
        let tags = match only_tag {
            Some(tag) => vec![tag],
            None => self.src.tags(&repo).await?,
        };
        if tags.is_empty() {
            // A pack the source lists may be empty; one asked for by name must exist.
            if named {
                return Err(OpError::NoVersions {
                    name: name.to_string(),
                    location: self.src.location(),
                });
            }
            return Ok(Vec::new());
        }
        summary.packs += 1;
        let _lock = if self.opts.dry_run {
            None
        } else {
            Some(self.dst.lock(&repo).await?)
        };
        self.copy_repo(name, &repo, &tags, listed, summary).await
    }

    async fn copy_repo(
        &self,
        name: &str,
        repo: &str,
        tags: &[String],
        listed: bool,
        summary: &mut MirrorSummary,
    ) -> Result<Vec<(String, bool)>, OpError> {
        // Parent tags are derived at the destination; referrer fallback tags are merged after
        // the versions they refer to.
        let (fallback, plain): (Vec<&String>, Vec<&String>) = tags
            .iter()
            .filter(|t| !is_parent_tag(t))
            .partition(|t| t.starts_with("sha256-"));
        // What the destination holds, listed once: the tags to compare with, then the basis of
        // its parent tags.
        let mut dst_tags: BTreeMap<String, Digest> =
            tag_digests(self.dst, repo).await?.into_iter().collect();
        let mut present = Vec::new();
        let mut done = Vec::new();
        for tag in plain {
            match self
                .copy_tag(name, repo, tag, &mut dst_tags, &mut present, summary)
                .await
            {
                // Every tag now at the destination, and whether this copy wrote it.
                Ok(written) => done.push((tag.clone(), written)),
                Err(e) => {
                    if summary.fail(self.opts, name, Some(tag), e) {
                        return Ok(done);
                    }
                }
            }
        }
        if self.opts.dry_run {
            return Ok(done);
        }
        let src_tags: Option<BTreeSet<&str>> =
            listed.then(|| tags.iter().map(String::as_str).collect());
        self.copy_referrers(repo, &present, &fallback, src_tags.as_ref(), summary)
            .await?;
        let parents: BTreeSet<String> = dst_tags
            .keys()
            .filter(|t| is_version_tag(t))
            .flat_map(|t| parent_tags(t))
            .collect();
        let parents: Vec<String> = parents.into_iter().collect();
        update_parent_tags_known(self.dst, repo, &parents, dst_tags.into_iter().collect()).await?;
        Ok(done)
    }

    /// Copies one tag: its manifest's graph, then the tag. Records the source digest in
    /// `present` for the referrers pass.
    async fn copy_tag(
        &self,
        name: &str,
        repo: &str,
        tag: &str,
        dst_tags: &mut BTreeMap<String, Digest>,
        present: &mut Vec<Digest>,
        summary: &mut MirrorSummary,
    ) -> Result<bool, OpError> {
        let digest =
            self.src
                .resolve(repo, tag)
                .await?
                .ok_or_else(|| OpError::MissingManifest {
                    reference: format!("{name}:{tag}"),
                    location: self.src.location(),
                })?;
        present.push(digest.clone());
        match dst_tags.get(tag).cloned() {
            Some(d) if d == digest => {
                summary.tags_unchanged += 1;
                return Ok(false);
            }
            Some(d) if !self.opts.force => {
                summary.conflicts.push(format!(
                    "{name}:{tag} (destination has {d}, source {digest})"
                ));
                return Ok(false);
            }
            _ => {}
        }
        if !self.opts.dry_run {
            self.copy_graph(repo, &digest, Some(tag), summary).await?;
            dst_tags.insert(tag.to_string(), digest);
        }
        summary.tags_copied += 1;
        Ok(true)
    }

    /// Copies manifest `digest` and everything it references, unless the destination has it;
    /// tags it with `tag` when given.
    pub(super) async fn copy_graph(
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
        let origin = StoreOrigin {
            store: self.src,
            repo,
            desc,
            bar: bar.clone(),
        };
        let result = self
            .dst
            .put_blob_from(repo, &desc.digest, desc.size, &origin)
            .await;
        bar.finish();
        result?;
        Ok(BlobOutcome::Copied(desc.size))
    }
}
