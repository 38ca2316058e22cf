//! Pushing a pack folder to a store.

use std::path::Path;
use std::sync::Arc;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use super::blobcache::BlobCache;
use super::progress::{NoProgress, Progress};
use super::tags::{update_parent_tags, ParentTag};
use super::transfer::{parse_manifest, upload_or_mount};
use super::versions::parent_tags;
use super::OpError;
use crate::artifact::{build_artifact, content_identity, Format};
use crate::digest::Digest;
use crate::oci::MEDIA_TYPE_MANIFEST;
use crate::pack::{validate, Pack};
use crate::reference::{pack_repository, version_to_tag};
use crate::store::Store;

/// Blobs moved at once by default.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Choices for [`push`].
#[derive(Clone)]
pub struct PushOptions {
    /// Artifact format.
    pub format: Format,
    /// Replace a version that exists with different content.
    pub force: bool,
    /// Kept as a manifest annotation.
    pub message: Option<String>,
    /// Blobs uploaded at once.
    pub concurrency: usize,
    /// Where to report transfer progress.
    pub progress: Arc<dyn Progress>,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            format: Format::Native,
            force: false,
            message: None,
            concurrency: DEFAULT_CONCURRENCY,
            progress: Arc::new(NoProgress),
        }
    }
}

/// What a push did to the version's tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PushStatus {
    /// The version is new.
    Pushed,
    /// The same content was already there: nothing changed.
    Unchanged,
    /// Different content was replaced (`--force`).
    Replaced,
}

/// The result of a push.
#[derive(Debug, Clone, Serialize)]
pub struct PushOutcome {
    /// Full reference (`oci:/path/spectro-packs/archive/name:tag`).
    pub reference: String,
    /// Pack name.
    pub name: String,
    /// Pack version.
    pub version: String,
    /// Tag the version went to.
    pub tag: String,
    /// Manifest digest the tag points at.
    pub digest: Digest,
    /// Artifact format.
    pub format: Format,
    /// What happened.
    pub status: PushStatus,
    /// Blobs sent.
    pub blobs_uploaded: usize,
    /// Blobs the store already had.
    pub blobs_skipped: usize,
    /// Bytes sent.
    pub bytes_uploaded: u64,
    /// Parent tags after the push.
    pub parent_tags: Vec<ParentTag>,
}

/// Validates the pack at `dir` and pushes it to `spectro-packs/archive/<name>:<version>`.
/// Blobs go first and the manifest last, so no tag ever points at a partial artifact.
pub async fn push(
    store: &dyn Store,
    dir: &Path,
    opts: &PushOptions,
) -> Result<PushOutcome, OpError> {
    let report = validate(dir);
    if !report.valid {
        return Err(OpError::Invalid {
            report: Box::new(report),
        });
    }
    let pack = Pack::load(dir)?;
    let format = opts.format;
    let message = opts.message.clone();
    let artifact = {
        let pack = pack.clone();
        tokio::task::spawn_blocking(move || build_artifact(&pack, format, message.as_deref()))
            .await??
    };
    let repo = pack_repository(pack.name());
    let tag = version_to_tag(pack.version());
    let reference = store.reference(&repo, &tag);
    let _lock = store.lock(&repo).await?;

    let mut status = PushStatus::Pushed;
    if let Some(existing) = store.resolve(&repo, &tag).await? {
        if existing == artifact.digest {
            status = PushStatus::Unchanged;
        } else {
            let raw = store.get_manifest(&repo, existing.as_str()).await?;
            let same = parse_manifest(store, &repo, &raw)
                .ok()
                .and_then(|m| content_identity(&m))
                .is_some_and(|old| Some(old) == content_identity(&artifact.manifest));
            if same {
                tracing::info!("{reference}: identical content already stored as {existing}");
                let parents = update_parent_tags(store, &repo, &parent_tags(&tag)).await?;
                return Ok(PushOutcome {
                    reference,
                    name: pack.name().to_string(),
                    version: pack.version().to_string(),
                    tag,
                    digest: existing,
                    format,
                    status: PushStatus::Unchanged,
                    blobs_uploaded: 0,
                    blobs_skipped: 0,
                    bytes_uploaded: 0,
                    parent_tags: parents,
                });
            }
            if !opts.force {
                return Err(OpError::Conflict {
                    reference,
                    existing,
                });
            }
            status = PushStatus::Replaced;
        }
    }

    let (mut uploaded, mut skipped, mut bytes) = (0, 0, 0);
    if status != PushStatus::Unchanged {
        let progress = opts.progress.as_ref();
        let repo_ref = repo.as_str();
        let registry = store.registry_id();
        let full = store.full_name(&repo);
        let mut cache = BlobCache::load();
        let cache_ref = &cache;
        let (registry_ref, full_ref) = (registry.as_str(), full.as_str());
        let sent: Vec<Option<u64>> = stream::iter(&artifact.blobs)
            .map(|blob| async move {
                let from = cache_ref.elsewhere(registry_ref, full_ref, &blob.descriptor.digest);
                let sent =
                    upload_or_mount(store, repo_ref, blob, from.as_deref(), progress).await?;
                tracing::debug!(
                    "{} {}",
                    if sent { "uploaded" } else { "skipped" },
                    blob.descriptor.digest
                );
                Ok::<_, OpError>(sent.then_some(blob.descriptor.size))
            })
            .buffer_unordered(opts.concurrency.max(1))
            .try_collect()
            .await?;
        for blob in &artifact.blobs {
            cache.record(&registry, &full, &blob.descriptor.digest);
        }
        cache.save();
        for size in sent {
            match size {
                Some(size) => {
                    uploaded += 1;
                    bytes += size;
                }
                None => skipped += 1,
            }
        }
        store
            .put_manifest(
                &repo,
                Some(&tag),
                &artifact.manifest_bytes,
                MEDIA_TYPE_MANIFEST,
            )
            .await?;
    }
    let parents = update_parent_tags(store, &repo, &parent_tags(&tag)).await?;
    if status == PushStatus::Replaced {
        store.collect_garbage(&repo).await?;
    }
    Ok(PushOutcome {
        reference,
        name: pack.name().to_string(),
        version: pack.version().to_string(),
        tag,
        digest: artifact.digest.clone(),
        format,
        status,
        blobs_uploaded: uploaded,
        blobs_skipped: skipped,
        bytes_uploaded: bytes,
        parent_tags: parents,
    })
}
