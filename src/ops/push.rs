//! Pushing a pack folder to a store.

use std::path::Path;
use std::sync::Arc;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use super::blobcache::BlobCache;
use super::index::{Change, IndexEntry};
use super::parent_tags::{update_parent_tags, ParentTag};
use super::progress::{NoProgress, Progress};
use super::transfer::{parse_manifest, upload_or_mount, FileOrigin};
use super::OpError;
use crate::artifact::{build_artifact, content_identity, Artifact, BlobSource, Format};
use crate::digest::Digest;
use crate::oci::MEDIA_TYPE_MANIFEST;
use crate::pack::{validate, EntryKind, Pack};
use crate::reference::pack_repository;
use crate::store::{BlobUpload, Store, StoreError};
use crate::tag_grammar::{parent_tags, version_to_tag};

/// Blobs moved at once by default.
pub const DEFAULT_CONCURRENCY: usize = crate::config::DEFAULT_CONCURRENCY as usize;

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
#[serde(rename_all = "camelCase")]
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
    pub warnings: Vec<crate::ops::Warning>,
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
    let repo = pack_repository(pack.name());
    let tag = version_to_tag(pack.version());
    let reference = store.reference(&repo, &tag);
    let _lock = store.lock(&repo).await?;
    let existing = store.resolve(&repo, &tag).await?;
    let (artifact, early) =
        build_sending_early(store, &repo, &pack, existing.is_none(), opts).await?;
    let outcome = |digest: Digest, status, counts: Counts, parent_tags, warnings| PushOutcome {
        reference: reference.clone(),
        name: pack.name().to_string(),
        version: pack.version().to_string(),
        tag: tag.clone(),
        digest,
        format: opts.format,
        status,
        blobs_uploaded: counts.uploaded,
        blobs_skipped: counts.skipped,
        bytes_uploaded: counts.bytes,
        parent_tags,
        warnings,
    };

    let status = match existing {
        None => PushStatus::Pushed,
        Some(existing) if existing == artifact.digest => PushStatus::Unchanged,
        Some(existing) => {
            if same_content(store, &repo, &existing, &artifact).await? {
                tracing::info!("{reference}: identical content already stored as {existing}");
                let lines = parent_tags(&tag);
                let (parents, warnings) = tokio::join!(
                    update_parent_tags(store, &repo, &lines),
                    index_pack(store, &pack, &tag, &existing)
                );
                let parents = parents?;
                return Ok(outcome(
                    existing,
                    PushStatus::Unchanged,
                    Counts::default(),
                    parents,
                    warnings,
                ));
            }
            if !opts.force {
                return Err(OpError::Conflict {
                    reference,
                    existing,
                });
            }
            PushStatus::Replaced
        }
    };

    let mut counts = Counts::default();
    if status != PushStatus::Unchanged {
        let sent_early = settle_early(store, &repo, &artifact, early).await?;
        if let Some((_, size)) = &sent_early {
            counts.add(Some(*size));
        }
        let early_digest = sent_early.map(|(d, _)| d);
        upload_blobs(
            store,
            &repo,
            &artifact,
            early_digest.as_ref(),
            opts,
            &mut counts,
        )
        .await?;
        store
            .put_manifest(
                &repo,
                Some(&tag),
                &artifact.manifest_bytes,
                MEDIA_TYPE_MANIFEST,
            )
            .await?;
        // A registry has no compare-and-swap on tags: a concurrent push of this version (or
        // any tag change) can land between the check above and this PUT, or just after it.
        // Reading the tag back catches the second; the index then says what the store holds.
        let now = store.resolve(&repo, &tag).await?;
        if now.as_ref() != Some(&artifact.digest) {
            index_what_is_held(store, pack.name(), &tag).await;
            return Err(OpError::TagMoved {
                reference,
                written: artifact.digest.clone(),
                now,
            });
        }
    }
    // The index entry depends only on the manifest: it is written while the parents move.
    let lines = parent_tags(&tag);
    let (parents, indexed) = tokio::join!(
        update_parent_tags(store, &repo, &lines),
        index_pack(store, &pack, &tag, &artifact.digest)
    );
    let parents = parents?;
    let mut warnings = Vec::new();
    if status == PushStatus::Replaced {
        warnings.extend(super::collect_garbage(store, &repo).await);
    }
    warnings.extend(indexed);
    Ok(outcome(
        artifact.digest.clone(),
        status,
        counts,
        parents,
        warnings,
    ))
}

/// Records the pushed version in the pack index; a failure is a warning (the push is done).
async fn index_pack(
    store: &dyn Store,
    pack: &Pack,
    tag: &str,
    digest: &Digest,
) -> Vec<super::Warning> {
    let entry = IndexEntry {
        name: pack.name().to_string(),
        version: pack.version().to_string(),
        tag: tag.to_string(),
        digest: digest.clone(),
        layer: Some(pack.meta.layer().to_string()),
        display_name: Some(pack.meta.display_name().to_string()),
        updated: 0,
    };
    super::index::record(store, &[Change::Put(entry)])
        .await
        .into_iter()
        .collect()
}

/// Records in the pack index what the store holds at `name:tag` (the tag moved under this
/// push); a failure is only logged, the push's own error being the one to report.
async fn index_what_is_held(store: &dyn Store, name: &str, tag: &str) {
    let change = match super::index::entry_in_store(store, name, tag).await {
        Ok(Some(entry)) => Change::Put(entry),
        Ok(None) => Change::Remove {
            name: name.to_string(),
            tag: tag.to_string(),
        },
        Err(e) => {
            tracing::warn!("the pack index was not updated: {e}");
            return;
        }
    };
    if let Some(warning) = super::index::record(store, &[change]).await {
        tracing::warn!("{}", warning.text);
    }
}

/// Blobs sent and skipped, and bytes sent.
#[derive(Default)]
struct Counts {
    uploaded: usize,
    skipped: usize,
    bytes: u64,
}

impl Counts {
    fn add(&mut self, sent: Option<u64>) {
        match sent {
            Some(size) => {
                self.uploaded += 1;
                self.bytes += size;
            }
            None => self.skipped += 1,
        }
    }
}

/// Whether the version stored as `existing` holds the same content as `artifact` (pack.json
/// and the uncompressed content of every layer).
async fn same_content(
    store: &dyn Store,
    repo: &str,
    existing: &Digest,
    artifact: &Artifact,
) -> Result<bool, OpError> {
    let raw = store.get_manifest(repo, existing.as_str()).await?;
    let (Ok(stored), Some(wanted)) = (
        parse_manifest(store, repo, &raw),
        content_identity(&artifact.manifest),
    ) else {
        return Ok(false);
    };
    super::identity::holds_identity(store, repo, &stored, &wanted).await
}

/// Uploads (or mounts, where another repository of the store is known to hold them) every
/// blob but the one sent early, `concurrency` at a time.
async fn upload_blobs(
    store: &dyn Store,
    repo: &str,
    artifact: &Artifact,
    sent_early: Option<&Digest>,
    opts: &PushOptions,
    counts: &mut Counts,
) -> Result<(), OpError> {
    let progress = opts.progress.as_ref();
    let registry = store.registry_id();
    let full = store.full_name(repo);
    let mut cache = BlobCache::load(store.cache_dir().as_deref());
    let cache_ref = &cache;
    let (registry_ref, full_ref) = (registry.as_str(), full.as_str());
    let sent: Vec<Option<u64>> = stream::iter(
        artifact
            .blobs
            .iter()
            .filter(|b| Some(&b.descriptor.digest) != sent_early),
    )
    .map(|blob| async move {
        let from = cache_ref.elsewhere(registry_ref, full_ref, &blob.descriptor.digest);
        let sent = upload_or_mount(store, repo, blob, from.as_deref(), progress).await?;
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
        counts.add(size);
    }
    Ok(())
}

/// Files at least this large are sent while the artifact is hashed.
const EARLY_MIN: u64 = 32 * 1024 * 1024;

type SendFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + 'a>>;

/// The largest file of a new version, sent in an upload session of its own while the
/// artifact is hashed; committed or cancelled once the digest is known.
struct EarlyUpload<'a> {
    path: std::path::PathBuf,
    session: Arc<dyn BlobUpload + 'a>,
    sending: Sending<'a>,
}

enum Sending<'a> {
    Running(SendFuture<'a>),
    Done(Result<(), StoreError>),
}

/// Builds the artifact on a blocking thread; for a new version in the native format whose
/// largest file is big enough, and a store with upload sessions, sends that file meanwhile.
async fn build_sending_early<'a>(
    store: &'a dyn Store,
    repo: &'a str,
    pack: &Pack,
    new_version: bool,
    opts: &PushOptions,
) -> Result<(Artifact, Option<EarlyUpload<'a>>), OpError> {
    let build = {
        let (pack, format, message) = (pack.clone(), opts.format, opts.message.clone());
        tokio::task::spawn_blocking(move || build_artifact(&pack, format, message.as_deref()))
    };
    let largest = match (new_version, opts.format) {
        (true, Format::Native) => largest_file(pack),
        _ => None,
    };
    let session = match &largest {
        Some((path, size, _)) => {
            store
                .start_blob_upload(repo, &content_key(path, *size))
                .await?
        }
        None => None,
    };
    let (Some((path, size, title)), Some(session)) = (largest, session) else {
        return Ok((build.await??, None));
    };
    let bar = opts.progress.start(&title, size);
    let sender = session.clone();
    let origin = FileOrigin {
        path: path.clone(),
        bar: bar.clone(),
    };
    let mut sending: SendFuture<'a> = Box::pin(async move {
        let sent = sender.send(size, &origin).await;
        bar.finish();
        sent
    });
    tokio::pin!(build);
    let (built, sending) = tokio::select! {
        built = &mut build => (built, Sending::Running(sending)),
        sent = &mut sending => (build.await, Sending::Done(sent)),
    };
    let early = EarlyUpload {
        path,
        session,
        sending,
    };
    match built {
        Ok(Ok(artifact)) => Ok((artifact, Some(early))),
        failed => {
            abandon(early).await;
            Ok((failed??, None))
        }
    }
}

/// A name for a file's content that stays the same across runs while the file does.
fn content_key(path: &Path, size: u64) -> String {
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{} {size} {modified}", path.display())
}

/// Stops an early upload: the transfer (if still running) is dropped and the session ended.
async fn abandon(early: EarlyUpload<'_>) {
    drop(early.sending);
    early.session.cancel().await;
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
        .filter(|(e, size)| *size >= EARLY_MIN && e.rel != "pack.json")
        .max_by_key(|(_, size)| *size)
        .map(|(e, size)| (e.path.clone(), size, e.rel.clone()))
}

/// Decides what the early upload is worth once the artifact is known: committed when the
/// store lacks that blob and the bytes sent hash to it, cancelled otherwise (a chart shared
/// with an earlier version, a file that changed meanwhile, a failed transfer: the blob then
/// goes the ordinary way). Returns the digest and size it delivered.
async fn settle_early(
    store: &dyn Store,
    repo: &str,
    artifact: &Artifact,
    early: Option<EarlyUpload<'_>>,
) -> Result<Option<(Digest, u64)>, OpError> {
    let Some(early) = early else {
        return Ok(None);
    };
    let blob = artifact
        .blobs
        .iter()
        .find(|b| matches!(&b.source, BlobSource::File(p) if *p == early.path));
    let wanted = match blob {
        Some(blob) => !store.has_blob(repo, &blob.descriptor.digest).await?,
        None => false,
    };
    let Some(blob) = blob.filter(|_| wanted) else {
        abandon(early).await;
        return Ok(None);
    };
    let sent = match early.sending {
        Sending::Running(sending) => sending.await,
        Sending::Done(sent) => sent,
    };
    let digest = &blob.descriptor.digest;
    let committed = match sent {
        Ok(()) => early.session.commit(digest).await,
        Err(e) => Err(e),
    };
    match committed {
        Ok(()) => Ok(Some((digest.clone(), blob.descriptor.size))),
        Err(e) => {
            // A file that changed meanwhile fails the registry's digest check.
            tracing::debug!("the early upload failed ({e}); uploading the ordinary way");
            early.session.cancel().await;
            Ok(None)
        }
    }
}
