//! Pushing a pack folder to a store.

use std::path::Path;
use std::sync::Arc;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use super::blobcache::BlobCache;
use super::progress::{Counted, NoProgress, Progress};
use super::tags::{update_parent_tags, ParentTag};
use super::transfer::{parse_manifest, upload_or_mount};
use super::versions::parent_tags;
use super::OpError;
use crate::artifact::{build_artifact, content_identity, Format};
use crate::digest::Digest;
use crate::oci::MEDIA_TYPE_MANIFEST;
use crate::pack::{validate, EntryKind, Pack};
use crate::reference::{pack_repository, version_to_tag};
use crate::store::{Store, StoreError};

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
    /// What the user should know although the push succeeded (garbage left in place).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
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
    let repo = pack_repository(pack.name());
    let tag = version_to_tag(pack.version());
    let reference = store.reference(&repo, &tag);
    let _lock = store.lock(&repo).await?;
    let existing = store.resolve(&repo, &tag).await?;

    let build = {
        let pack = pack.clone();
        tokio::task::spawn_blocking(move || build_artifact(&pack, format, message.as_deref()))
    };
    // A new version sends its largest file while the artifact is still being hashed.
    let speculative = match (&existing, format) {
        (None, Format::Native) => largest_file(&pack),
        _ => None,
    };
    let (artifact, speculation) = match speculative {
        None => (build.await??, None),
        Some((path, size, title)) => {
            let bar = opts.progress.start(&title, size);
            let spec_path = path.clone();
            let (decide, decision) = tokio::sync::oneshot::channel();
            let repo_ref = repo.as_str();
            let upload: SpecFuture = Box::pin(async move {
                let file = tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| StoreError::io(&path, e))?;
                let sent = store
                    .put_blob_streaming(
                        repo_ref,
                        size,
                        Box::pin(Counted::new(file, bar.clone())),
                        decision,
                    )
                    .await;
                bar.finish();
                sent
            });
            let mut upload = upload;
            tokio::pin!(build);
            tokio::select! {
                built = &mut build => (built??, Some((spec_path, decide, Speculation::Running(upload)))),
                sent = &mut upload => (build.await??, Some((spec_path, decide, Speculation::Done(sent)))),
            }
        }
    };

    let mut status = PushStatus::Pushed;
    if let Some(existing) = existing {
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
                    warnings: Vec::new(),
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
        let sent_early = settle_speculation(store, &repo, &artifact, speculation).await?;
        if let Some(size) = sent_early.as_ref().map(|(_, size)| *size) {
            uploaded += 1;
            bytes += size;
        }
        let early_digest = sent_early.map(|(d, _)| d);
        let early_ref = early_digest.as_ref();
        let progress = opts.progress.as_ref();
        let repo_ref = repo.as_str();
        let registry = store.registry_id();
        let full = store.full_name(&repo);
        let mut cache = BlobCache::load();
        let cache_ref = &cache;
        let (registry_ref, full_ref) = (registry.as_str(), full.as_str());
        let sent: Vec<Option<u64>> = stream::iter(
            artifact
                .blobs
                .iter()
                .filter(|b| Some(&b.descriptor.digest) != early_ref),
        )
        .map(|blob| async move {
            let from = cache_ref.elsewhere(registry_ref, full_ref, &blob.descriptor.digest);
            let sent = upload_or_mount(store, repo_ref, blob, from.as_deref(), progress).await?;
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
    let mut warnings = Vec::new();
    if status == PushStatus::Replaced {
        warnings.extend(super::collect_garbage(store, &repo).await);
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
        warnings,
    })
}

/// Files at least this large are sent while the artifact is hashed.
const SPECULATIVE_MIN: u64 = 32 * 1024 * 1024;

type SpecFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Option<Digest>, StoreError>> + Send + 'a>,
>;

/// A speculative upload of the largest file, still running or finished.
enum Speculation<'a> {
    Running(SpecFuture<'a>),
    Done(Result<Option<Digest>, StoreError>),
}

/// The largest file that travels as a layer of its own in the native format (a top-level
/// file or a chart archive), when it is large enough to be worth sending early: its path,
/// size and title.
fn largest_file(pack: &Pack) -> Option<(std::path::PathBuf, u64, String)> {
    pack.tree
        .entries
        .iter()
        .filter_map(|e| match e.kind {
            EntryKind::File { size, .. } => Some((e, size)),
            EntryKind::Dir => None,
        })
        .filter(|(e, _)| {
            !e.rel.contains('/')
                || (e.rel.starts_with("charts/")
                    && e.rel.ends_with(".tgz")
                    && e.rel.matches('/').count() == 1)
        })
        .filter(|(e, size)| *size >= SPECULATIVE_MIN && e.rel != "pack.json")
        .max_by_key(|(_, size)| *size)
        .map(|(e, size)| (e.path.clone(), size, e.rel.clone()))
}

/// Decides what the speculative upload is worth once the artifact is known: cancelled when
/// the store already had that blob (a chart shared with an earlier version), awaited
/// otherwise. Returns the digest and size it delivered. A failed speculation only means the
/// blob goes the ordinary way.
async fn settle_speculation(
    store: &dyn Store,
    repo: &str,
    artifact: &crate::artifact::Artifact,
    speculation: Option<(
        std::path::PathBuf,
        tokio::sync::oneshot::Sender<bool>,
        Speculation<'_>,
    )>,
) -> Result<Option<(Digest, u64)>, OpError> {
    let Some((path, decide, speculation)) = speculation else {
        return Ok(None);
    };
    let outcome = match speculation {
        Speculation::Done(outcome) => outcome,
        Speculation::Running(upload) => {
            // The blob whose bytes are on their way: stored only if the registry lacks it.
            let sending = artifact
                .blobs
                .iter()
                .find(|b| matches!(&b.source, crate::artifact::BlobSource::File(p) if *p == path));
            let wanted = match sending {
                Some(blob) => !store.has_blob(repo, &blob.descriptor.digest).await?,
                None => false,
            };
            if !wanted {
                // Dropping the upload ends it mid-stream; the registry expires the session.
                drop(upload);
                return Ok(None);
            }
            let _ = decide.send(true);
            upload.await
        }
    };
    match outcome {
        Ok(Some(digest)) => {
            let blob = artifact
                .blobs
                .iter()
                .find(|b| b.descriptor.digest == digest);
            match blob {
                Some(blob) => Ok(Some((digest, blob.descriptor.size))),
                // The file changed while it was pushed: its ordinary upload follows.
                None => Ok(None),
            }
        }
        Ok(None) => Ok(None),
        Err(e) => {
            tracing::debug!("the early upload failed ({e}); uploading the ordinary way");
            Ok(None)
        }
    }
}
