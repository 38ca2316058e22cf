//! Reading the pack index and changing it safely on registries that have no compare-and-swap
//! on tags. The reasoning is in docs/design.md, "The pack index"; in short:
//!
//! - every write first stores its whole new document under a tag of its own,
//!   `pending-<hex of its manifest digest>`, and only then moves `latest`;
//! - a reader merges `latest` with every `pending-` document that `latest` does not say it
//!   holds already (its `merged` list);
//! - a writer deletes only the documents it read and merged, and only after its own
//!   `pending-` tag and `latest` are written.
//!
//! So at any moment every change ever made is held by `latest` or by a `pending-` tag, whatever
//! order concurrent writers' tag PUTs land in: a lost race costs a stale `latest` for a moment,
//! never an entry. Re-checking `latest` right before moving it keeps such moments rare.

use std::collections::{BTreeMap, BTreeSet};

use super::doc::{manifest_for, Change, IndexEntry, IndexFile, Slot, Slots, LAYER_MEDIA_TYPE};
use super::format_name;
use crate::artifact::ArtifactError;
use crate::digest::Digest;
use crate::limits::{human, MAX_PACK_INDEX_BYTES, MAX_PACK_INDEX_ENTRIES};
use crate::oci::{Manifest, EMPTY_JSON, MEDIA_TYPE_MANIFEST};
use crate::ops::transfer::{parse_manifest, read_blob};
use crate::ops::OpError;
use crate::reference::pack_repository;
use crate::store::{Store, StoreError};

/// The repository of the index, outside `archive/` where Palette looks for packs.
pub const INDEX_REPO: &str = "spectro-packs/packreg-index";
/// The tag readers (and `skopeo inspect --raw`) look at.
pub const LATEST: &str = "latest";
/// Prefix of the tag each write keeps its document under until a later write merged it.
const PENDING: &str = "pending-";
/// Writes tried while `latest` keeps moving; after them the change stays in its pending tag.
const ATTEMPTS: usize = 5;

/// The index as read: every document merged.
#[derive(Debug, Default)]
pub struct IndexState {
    /// Digest of `latest`, when it exists.
    pub latest: Option<Digest>,
    /// The merged content.
    pub slots: Slots,
    /// Documents read and merged, by digest: `latest` and the pending ones.
    read: BTreeSet<Digest>,
    /// Pending documents `latest` already holds (not fetched).
    held: BTreeSet<Digest>,
    /// Documents that could not be read, left out (only when reading to rebuild).
    unreadable: BTreeSet<Digest>,
    /// `pending-` tags whose name is not the digest they resolve to, by the digest their name
    /// says: no writer of packreg's made them; never merged, and listed as merged so the
    /// next readers skip them without a request.
    misnamed: BTreeSet<Digest>,
}

impl IndexState {
    /// Whether any index document exists.
    pub fn exists(&self) -> bool {
        !self.read.is_empty()
    }

    /// The entry of `name:tag`, with the format of the manifest it points at when known.
    pub fn entry(&self, name: &str, tag: &str) -> Option<(&IndexEntry, Option<&str>)> {
        match self.slots.0.get(&(name.to_string(), tag.to_string()))? {
            Slot::Present(entry) => Some((entry, self.slots.format_of(&entry.digest))),
            Slot::Removed(_) => None,
        }
    }

    /// The pack names the index knows, sorted.
    pub fn names(&self) -> Vec<String> {
        let names: BTreeSet<String> = self
            .slots
            .entries()
            .into_iter()
            .map(|e| e.name.clone())
            .collect();
        names.into_iter().collect()
    }
}

/// What reading one index document found.
pub(super) enum Doc {
    /// Its manifest digest and content.
    Read(Digest, IndexFile),
    /// The tag is gone.
    Gone,
    /// The tag resolves to another digest than its name says (not fetched further).
    Misnamed,
}

/// One index document; with `expected`, only when the tag resolves to that digest.
pub(super) async fn read_doc(
    store: &dyn Store,
    reference: &str,
    expected: Option<&Digest>,
) -> Result<Doc, OpError> {
    let raw = match store.get_manifest(INDEX_REPO, reference).await {
        Ok(raw) => raw,
        Err(e) if e.is_not_found() => return Ok(Doc::Gone),
        Err(e) => return Err(e.into()),
    };
    if expected.is_some_and(|d| *d != raw.digest) {
        tracing::debug!(
            "{}: not the digest its name says; skipped",
            store.reference(INDEX_REPO, reference)
        );
        return Ok(Doc::Misnamed);
    }
    let location = store.reference(INDEX_REPO, reference);
    let corrupt = |message: String| {
        OpError::BadIndex(StoreError::Corrupt {
            location: location.clone(),
            message,
        })
    };
    let manifest: Manifest = serde_json::from_slice(&raw.bytes)
        .map_err(|e| corrupt(format!("the index manifest does not parse: {e}")))?;
    let layer = manifest
        .layers
        .iter()
        .find(|l| l.media_type == LAYER_MEDIA_TYPE)
        .ok_or_else(|| {
            corrupt(format!(
                "the index manifest has no {LAYER_MEDIA_TYPE} layer"
            ))
        })?;
    if layer.size > MAX_PACK_INDEX_BYTES {
        return Err(corrupt(format!(
            "the index document is {} bytes, over the {} packreg reads",
            layer.size,
            human(MAX_PACK_INDEX_BYTES)
        )));
    }
    let bytes = match read_blob(store, INDEX_REPO, layer, true, |r| {
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes)
            .map_err(|e| ArtifactError::Layer {
                layer: "packreg-index.json".into(),
                message: e.to_string(),
            })?;
        Ok(bytes)
    })
    .await
    {
        Ok(bytes) => bytes,
        // Deleted by a writer that merged it, between the manifest and the blob.
        Err(OpError::Store(e)) if e.is_not_found() => return Ok(Doc::Gone),
        Err(e) => return Err(e),
    };
    let file: IndexFile = serde_json::from_slice(&bytes)
        .map_err(|e| corrupt(format!("the index document does not parse: {e}")))?;
    if let Some(over) = over_bounds(&file) {
        return Err(corrupt(over));
    }
    Ok(Doc::Read(raw.digest, file))
}

/// Why `file` holds more than packreg keeps, if it does: its entries (tags and removals) are
/// bounded, as its bytes are ([`MAX_PACK_INDEX_BYTES`]).
pub(super) fn over_bounds(file: &IndexFile) -> Option<String> {
    let entries = file.packs.len() + file.removed.len();
    if entries > MAX_PACK_INDEX_ENTRIES {
        return Some(format!(
            "the index document has {entries} entries, over the {MAX_PACK_INDEX_ENTRIES} packreg keeps"
        ));
    }
    None
}

/// Reads the index: `latest` and the pending documents it does not hold, merged. An index
/// that does not exist reads as empty ([`IndexState::exists`] says which).
pub async fn read_state(store: &dyn Store) -> Result<IndexState, OpError> {
    read_state_with(store, false).await
}

/// [`read_state`]; with `discard`, documents that cannot be read (not packreg's, damaged)
/// are left out instead of failing the read, and the next write deletes them (for rebuild).
pub(super) async fn read_state_with(
    store: &dyn Store,
    discard: bool,
) -> Result<IndexState, OpError> {
    // A document that vanished while it was read was merged and deleted by a writer whose
    // newer documents the tag list may not have shown: read again.
    let mut attempt = 1;
    loop {
        match read_once(store, discard).await? {
            Some(state) => return Ok(state),
            None if attempt < ATTEMPTS => attempt += 1,
            None => {
                return Err(StoreError::Remote {
                    location: store.reference(INDEX_REPO, LATEST),
                    message: "the pack index kept changing while it was read; try again".into(),
                }
                .into())
            }
        }
    }
}

/// One document, or with `discard` the digest of one that cannot be read.
enum Read {
    Doc(Digest, IndexFile),
    Unreadable(Digest),
    Vanished,
    Misnamed,
}

async fn read_or_discard(
    store: &dyn Store,
    tag: &str,
    expected: Option<&Digest>,
    discard: bool,
) -> Result<Read, OpError> {
    match read_doc(store, tag, expected).await {
        Ok(Doc::Read(digest, file)) => Ok(Read::Doc(digest, file)),
        Ok(Doc::Gone) => Ok(Read::Vanished),
        Ok(Doc::Misnamed) => Ok(Read::Misnamed),
        Err(
            OpError::BadIndex(e)
            | OpError::Store(e @ (StoreError::Corrupt { .. } | StoreError::Integrity { .. })),
        ) if discard => {
            tracing::warn!("{}: left out: {e}", store.reference(INDEX_REPO, tag));
            Ok(match store.resolve(INDEX_REPO, tag).await? {
                Some(digest) => Read::Unreadable(digest),
                None => Read::Vanished,
            })
        }
        Err(e) => Err(e),
    }
}

/// One read; None when a listed document vanished meanwhile.
async fn read_once(store: &dyn Store, discard: bool) -> Result<Option<IndexState>, OpError> {
    let tags = store.tags(INDEX_REPO).await?;
    let mut state = IndexState::default();
    let mut held_by_latest = BTreeSet::new();
    if tags.iter().any(|t| t == LATEST) {
        match read_or_discard(store, LATEST, None, discard).await? {
            Read::Doc(digest, file) => {
                state.slots = Slots::from_file(&file);
                held_by_latest.extend(file.merged);
                state.read.insert(digest.clone());
                state.latest = Some(digest);
            }
            Read::Unreadable(digest) => {
                state.unreadable.insert(digest.clone());
                state.latest = Some(digest);
            }
            Read::Vanished => return Ok(None),
            Read::Misnamed => {}
        }
    }
    for tag in tags.iter().filter(|t| t.starts_with(PENDING)) {
        let Ok(digest) = format!("sha256:{}", &tag[PENDING.len()..]).parse::<Digest>() else {
            continue;
        };
        if state.read.contains(&digest) {
            continue;
        }
        if held_by_latest.contains(&digest) {
            state.held.insert(digest);
            continue;
        }
        match read_or_discard(store, tag, Some(&digest), discard).await? {
            Read::Doc(digest, file) => {
                state.slots.merge(&Slots::from_file(&file));
                state.read.insert(digest);
            }
            Read::Unreadable(digest) => {
                state.unreadable.insert(digest);
            }
            Read::Vanished => return Ok(None),
            Read::Misnamed => {
                state.misnamed.insert(digest);
            }
        }
    }
    Ok(Some(state))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Applies `changes` to the index of `store` (see the module notes for why no change is
/// lost to a concurrent writer). Costs one read of the index, two blob and two manifest
/// writes, and a delete of the document it replaces.
pub async fn update(store: &dyn Store, changes: &[Change]) -> Result<(), OpError> {
    update_with(store, changes, &BTreeMap::new(), false).await
}

/// [`update`], given the formats (by digest) of manifests the caller read; the format of any
/// other digest an entry added points at is read from its manifest.
pub async fn update_with_formats(
    store: &dyn Store,
    changes: &[Change],
    formats: &BTreeMap<Digest, String>,
) -> Result<(), OpError> {
    update_with(store, changes, formats, false).await
}

/// [`update_with_formats`]; with `discard`, documents that cannot be read are replaced (see
/// [`read_state_with`]).
pub(super) async fn update_with(
    store: &dyn Store,
    changes: &[Change],
    formats: &BTreeMap<Digest, String>,
    discard: bool,
) -> Result<(), OpError> {
    if changes.is_empty() && !discard {
        return Ok(());
    }
    // Serialises writers of a local store; registries have no lock (no-op).
    let _lock = store.lock(INDEX_REPO).await?;
    let mut formats = formats.clone();
    for attempt in 1..=ATTEMPTS {
        let state = read_state_with(store, discard).await?;
        let mut slots = state.slots.clone();
        slots.apply(changes, now_ms());
        add_formats(store, &mut slots, changes, &mut formats).await;
        if slots == state.slots && state.exists() && state.unreadable.is_empty() {
            return Ok(());
        }
        let merged: Vec<Digest> = state
            .read
            .iter()
            .chain(&state.held)
            .chain(&state.misnamed)
            .cloned()
            .collect();
        let file = slots.to_file(merged);
        let bytes = serde_json::to_vec(&file).map_err(|e| OpError::Task(e.to_string()))?;
        // Never written larger than any reader reads.
        let over = over_bounds(&file).or_else(|| {
            (bytes.len() as u64 > MAX_PACK_INDEX_BYTES).then(|| {
                format!(
                    "the index document would be {} bytes, over the {} packreg reads",
                    bytes.len(),
                    human(MAX_PACK_INDEX_BYTES)
                )
            })
        });
        if let Some(message) = over {
            return Err(OpError::BadIndex(StoreError::Corrupt {
                location: store.reference(INDEX_REPO, LATEST),
                message,
            }));
        }
        let digest = write_doc(store, &bytes, !state.exists()).await?;
        // Moved since it was read: someone else wrote. Read again and apply on top; this
        // attempt's document stays in its pending tag and is merged and deleted then.
        if store.resolve(INDEX_REPO, LATEST).await? != state.latest {
            tracing::debug!("the pack index moved while it was updated (attempt {attempt})");
            continue;
        }
        store
            .put_manifest(
                INDEX_REPO,
                Some(LATEST),
                &manifest_for_bytes(&bytes),
                MEDIA_TYPE_MANIFEST,
            )
            .await?;
        // Only what this write fetched: documents `latest` merely lists as held were
        // deleted, or found undeletable, by the writer that read them.
        let replaced = state.read.union(&state.unreadable);
        tidy(store, replaced.filter(|d| **d != digest)).await;
        return Ok(());
    }
    tracing::debug!("the pack index kept moving; this change waits in its pending tag");
    Ok(())
}

/// Records in `slots` the format of each manifest an added entry points at: from `known`, else
/// read from the pack's manifest (and kept in `known` for a next attempt). A manifest that
/// cannot be read leaves its format out; `ls` then reads it itself.
async fn add_formats(
    store: &dyn Store,
    slots: &mut Slots,
    changes: &[Change],
    known: &mut BTreeMap<Digest, String>,
) {
    for change in changes {
        let Change::Put(entry) = change else {
            continue;
        };
        if slots.format_of(&entry.digest).is_some() {
            continue;
        }
        if !known.contains_key(&entry.digest) {
            let repo = pack_repository(&entry.name);
            match store.get_manifest(&repo, entry.digest.as_str()).await {
                Ok(raw) => {
                    let manifest = parse_manifest(store, &repo, &raw).ok();
                    known.insert(entry.digest.clone(), format_name(manifest.as_ref()));
                }
                Err(e) => tracing::debug!("format of {} not recorded: {e}", entry.digest),
            }
        }
        if let Some(format) = known.get(&entry.digest) {
            slots.set_format(&entry.digest, format);
        }
    }
}

fn manifest_for_bytes(doc: &[u8]) -> Vec<u8> {
    manifest_for(Digest::of(doc), doc.len() as u64)
}

/// Stores document `bytes` (and, for a new index, the empty config) and tags its manifest
/// `pending-<hex>`. Returns the manifest digest.
async fn write_doc(store: &dyn Store, bytes: &[u8], first: bool) -> Result<Digest, OpError> {
    let config = Digest::of(EMPTY_JSON);
    if first && !store.has_blob(INDEX_REPO, &config).await? {
        put_small_blob(store, &config, EMPTY_JSON).await?;
    }
    put_small_blob(store, &Digest::of(bytes), bytes).await?;
    let manifest = manifest_for_bytes(bytes);
    let digest = Digest::of(&manifest);
    let tag = format!("{PENDING}{}", digest.hex());
    store
        .put_manifest(INDEX_REPO, Some(&tag), &manifest, MEDIA_TYPE_MANIFEST)
        .await?;
    Ok(digest)
}

async fn put_small_blob(store: &dyn Store, digest: &Digest, bytes: &[u8]) -> Result<(), OpError> {
    let reader = Box::pin(std::io::Cursor::new(bytes.to_vec()));
    store
        .put_blob(INDEX_REPO, digest, bytes.len() as u64, reader)
        .await?;
    Ok(())
}

/// Deletes the documents the new one merged. Failures leave them for later writers (a
/// registry that does not delete keeps them listed in `merged`, so readers skip them).
async fn tidy(store: &dyn Store, merged: impl Iterator<Item = &Digest>) {
    for digest in merged {
        match store.delete_manifest(INDEX_REPO, digest).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => tracing::debug!("index document {digest} stays: {e}"),
        }
    }
    if let Err(e) = store.collect_garbage(INDEX_REPO).await {
        tracing::debug!("the pack index's old documents stay: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::index::IndexEntry;
    use crate::store::layout::LayoutStore;

    fn put(name: &str) -> Change {
        Change::Put(IndexEntry {
            name: name.into(),
            version: "1.0.0".into(),
            tag: "1.0.0".into(),
            digest: Digest::of(name.as_bytes()),
            layer: None,
            display_name: None,
            updated: 0,
        })
    }

    fn names(state: &IndexState) -> Vec<String> {
        state.names()
    }

    /// A lost race played out step by step: a writer that read the index before another
    /// wrote moves `latest` last, to a document without the other's entry.
    #[tokio::test]
    async fn a_latest_overwritten_by_a_stale_writer_loses_no_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = LayoutStore::new(dir.path());
        update(&store, &[put("base")]).await.unwrap();
        let stale = read_state(&store).await.unwrap();
        update(&store, &[put("winner")]).await.unwrap();
        // The stale writer passed its re-check before `winner` moved `latest`, and PUTs now.
        let mut slots = stale.slots.clone();
        slots.apply(&[put("loser")], now_ms());
        let bytes =
            serde_json::to_vec(&slots.to_file(stale.read.iter().cloned().collect())).unwrap();
        write_doc(&store, &bytes, false).await.unwrap();
        store
            .put_manifest(
                INDEX_REPO,
                Some(LATEST),
                &manifest_for_bytes(&bytes),
                MEDIA_TYPE_MANIFEST,
            )
            .await
            .unwrap();
        assert_eq!(
            names(&read_state(&store).await.unwrap()),
            ["base", "loser", "winner"]
        );
        // The next write merges everything into `latest` and deletes what it merged.
        update(&store, &[put("next")]).await.unwrap();
        let state = read_state(&store).await.unwrap();
        assert_eq!(names(&state), ["base", "loser", "next", "winner"]);
        let tags = store.tags(INDEX_REPO).await.unwrap();
        assert_eq!(tags.len(), 2, "{tags:?}");
        let Doc::Read(_, file) = read_doc(&store, LATEST, None).await.unwrap() else {
            panic!("no latest")
        };
        assert_eq!(file.packs.len(), 4);
    }

    #[tokio::test]
    async fn removals_and_unchanged_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = LayoutStore::new(dir.path());
        assert!(!read_state(&store).await.unwrap().exists());
        update(&store, &[put("a"), put("b")]).await.unwrap();
        let before = store.resolve(INDEX_REPO, LATEST).await.unwrap();
        // Nothing changes: nothing is written.
        update(&store, &[put("a")]).await.unwrap();
        assert_eq!(store.resolve(INDEX_REPO, LATEST).await.unwrap(), before);
        update(
            &store,
            &[Change::Remove {
                name: "a".into(),
                tag: "1.0.0".into(),
            }],
        )
        .await
        .unwrap();
        assert_eq!(names(&read_state(&store).await.unwrap()), ["b"]);
    }
}

#[cfg(test)]
mod unreadable_tests {
    use super::*;
    use crate::store::layout::LayoutStore;

    #[tokio::test]
    async fn a_document_that_is_not_an_index_fails_reads_and_rebuild_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = LayoutStore::new(dir.path());
        put_small_blob(&store, &Digest::of(EMPTY_JSON), EMPTY_JSON)
            .await
            .unwrap();
        // Another tool's artifact under `latest`: a manifest with no index layer.
        let foreign = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
        store
            .put_manifest(INDEX_REPO, Some(LATEST), foreign, MEDIA_TYPE_MANIFEST)
            .await
            .unwrap();
        let err = read_state(&store).await.unwrap_err();
        assert!(matches!(err, OpError::BadIndex(_)), "{err:?}");
        update_with(&store, &[], &BTreeMap::new(), true)
            .await
            .unwrap();
        let state = read_state(&store).await.unwrap();
        assert!(state.exists() && state.names().is_empty());
        let tags = store.tags(INDEX_REPO).await.unwrap();
        assert_eq!(tags.len(), 2, "{tags:?}");
    }
}
