//! What changed between two pack versions, in any two stores: pack.json fields and
//! values.yaml keys by path, charts by name and content, the other files by content, and the
//! images the values declare. Layer digests decide what is read: a blob whose digest both
//! sides share is never downloaded, so comparing two versions of a pack with a large
//! unchanged chart reads only what changed.
//!
//! `side` reads each pack, `keys` compares documents key by key, `charts`, `files` and
//! `images` compare their parts, `render` writes the report for people.

mod budget;
mod charts;
mod files;
mod images;
mod keys;
pub mod render;
mod side;

use std::collections::BTreeSet;

use serde::Serialize;

pub use budget::{PatchBudget, PATCH_FILE_TIME, PATCH_TOTAL_BYTES, PATCH_TOTAL_TIME};
pub use charts::ChartChange;
pub use files::FileChange;
pub use images::{ImageChange, ImageChangeKind};
pub use keys::{dotted, pointer, Change, KeyChange, Segment};
pub use side::{DiffSide, SideInfo};

use side::Side;

use super::push::DEFAULT_CONCURRENCY;
use super::OpError;
use crate::artifact::ArtifactError;
use crate::digest::Digest;
use crate::limits::DOCUMENT_LIMIT;
use crate::reference::PackRef;
use crate::store::{Store, StoreError};

/// Errors of a diff.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// Reading either side failed.
    #[error(transparent)]
    Op(#[from] OpError),
    /// A file of one side cannot be compared.
    #[error("{file} of {reference}: {message}")]
    Unreadable {
        /// The side's full reference.
        reference: String,
        /// The file in the pack.
        file: String,
        /// What is wrong.
        message: String,
    },
}

impl From<StoreError> for DiffError {
    fn from(err: StoreError) -> Self {
        DiffError::Op(err.into())
    }
}

impl From<ArtifactError> for DiffError {
    fn from(err: ArtifactError) -> Self {
        DiffError::Op(err.into())
    }
}

/// Choices for [`diff`].
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Make unified diffs of changed text files, charts' files included.
    pub patch: bool,
    /// How much work the patches may do.
    pub budget: PatchBudget,
    /// Blobs downloaded at once.
    pub concurrency: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            patch: false,
            budget: PatchBudget::default(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// How much was downloaded to compare.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadStats {
    /// Blobs downloaded.
    pub blobs: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// The differences between two packs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackDiff {
    /// Whether the packs hold the same content (whatever their formats).
    pub identical: bool,
    /// The first side.
    pub from: SideInfo,
    /// The second side.
    pub to: SideInfo,
    /// pack.json fields.
    #[serde(rename = "packJson")]
    pub pack_json: Vec<KeyChange>,
    /// values.yaml keys (comments ignored, lists compared index by index).
    pub values: Vec<KeyChange>,
    /// Charts by name.
    pub charts: Vec<ChartChange>,
    /// Other files.
    pub files: Vec<FileChange>,
    /// Images of `pack.content.images`.
    pub images: Vec<ImageChange>,
    /// How lists are compared: always `"index"`, so a reader knows an insertion shows as a
    /// change of every later item.
    #[serde(rename = "listsComparedBy")]
    pub lists_compared_by: &'static str,
    /// What was downloaded.
    pub read: ReadStats,
}

impl PackDiff {
    fn new(from: SideInfo, to: SideInfo) -> PackDiff {
        PackDiff {
            identical: true,
            from,
            to,
            pack_json: Vec::new(),
            values: Vec::new(),
            charts: Vec::new(),
            files: Vec::new(),
            images: Vec::new(),
            lists_compared_by: "index",
            read: ReadStats::default(),
        }
    }

    fn is_empty(&self) -> bool {
        self.pack_json.is_empty()
            && self.values.is_empty()
            && self.charts.is_empty()
            && self.files.is_empty()
            && self.images.is_empty()
    }
}

/// Compares pack `a_ref` of `a_store` with pack `b_ref` of `b_store`.
pub async fn diff(
    a_store: &dyn Store,
    a_ref: &PackRef,
    b_store: &dyn Store,
    b_ref: &PackRef,
    opts: &DiffOptions,
) -> Result<PackDiff, DiffError> {
    diff_sides(
        DiffSide::Stored(a_store, a_ref),
        DiffSide::Stored(b_store, b_ref),
        opts,
    )
    .await
}

/// Compares two sides, each a pack in a store or a pack folder (nothing is uploaded).
pub async fn diff_sides(
    a: DiffSide<'_>,
    b: DiffSide<'_>,
    opts: &DiffOptions,
) -> Result<PackDiff, DiffError> {
    let staging = crate::staging::Staging::create("packreg-diff-")
        .map_err(|e| ArtifactError::io(std::env::temp_dir(), e))?;
    crate::fsutil::track_staging(staging.path());
    let result = compare(a, b, opts, staging.path()).await;
    crate::fsutil::untrack_staging(staging.path());
    result
}

async fn compare(
    a: DiffSide<'_>,
    b: DiffSide<'_>,
    opts: &DiffOptions,
    staging: &std::path::Path,
) -> Result<PackDiff, DiffError> {
    let (mut a, mut b) = tokio::try_join!(
        Side::open(a, staging.join("a")),
        Side::open(b, staging.join("b")),
    )?;
    let mut report = PackDiff::new(a.info.clone(), b.info.clone());
    if a.info.digest == b.info.digest {
        return Ok(report);
    }
    let shared: BTreeSet<_> = a.bundles().intersection(&b.bundles()).cloned().collect();
    let concurrency = opts.concurrency;
    tokio::try_join!(a.load(&shared, concurrency), b.load(&shared, concurrency))?;

    if !same_file(&a, &b, "pack.json") {
        let json = |text: &str| serde_json::from_str(text).map_err(|e| e.to_string());
        let missing = |side: &Side| DiffError::Unreadable {
            reference: side.info.reference.clone(),
            file: "pack.json".into(),
            message: "the pack has none: not a pack".into(),
        };
        let pa = document(&mut a, "pack.json", concurrency, json).await?;
        let pa = pa.ok_or_else(|| missing(&a))?;
        let pb = document(&mut b, "pack.json", concurrency, json).await?;
        let pb = pb.ok_or_else(|| missing(&b))?;
        report.pack_json = keys::diff(&pa, &pb);
    }

    if !same_file(&a, &b, "values.yaml") {
        let empty = || serde_json::Value::Object(Default::default());
        let va = document(&mut a, "values.yaml", concurrency, keys::yaml_to_json)
            .await?
            .unwrap_or_else(empty);
        let vb = document(&mut b, "values.yaml", concurrency, keys::yaml_to_json)
            .await?
            .unwrap_or_else(empty);
        report.values = keys::diff(&va, &vb);
        report.images = images::diff(&images::declared(&va), &images::declared(&vb));
    }

    let mut patcher = opts.patch.then(|| budget::Patcher::new(opts.budget));
    report.charts = charts::compare(&mut a, &mut b, patcher.as_mut(), concurrency).await?;
    report.files = files::compare(&mut a, &mut b, patcher.as_mut(), concurrency).await?;
    report.identical = report.is_empty();
    let fetched: Vec<(Digest, u64)> = a.fetched().into_iter().chain(b.fetched()).collect();
    report.read = ReadStats {
        blobs: fetched.len(),
        bytes: fetched.iter().map(|(_, size)| size).sum(),
    };
    Ok(report)
}

/// Whether both sides hold `rel` with the same digest.
fn same_file(a: &Side, b: &Side, rel: &str) -> bool {
    match (a.files.get(rel), b.files.get(rel)) {
        (Some(x), Some(y)) => x.digest == y.digest,
        _ => false,
    }
}

/// Reads and parses document `rel` of `side`, downloading it unless the other side has the
/// same digest (the caller checks [`same_file`] first); None when the pack has no such file.
async fn document(
    side: &mut Side<'_>,
    rel: &str,
    concurrency: usize,
    parse: impl Fn(&str) -> Result<serde_json::Value, String>,
) -> Result<Option<serde_json::Value>, DiffError> {
    if !side.files.contains_key(rel) {
        return Ok(None);
    }
    side.make_local(&[rel.to_string()], concurrency).await?;
    let unreadable = |message: String| DiffError::Unreadable {
        reference: side.info.reference.clone(),
        file: rel.to_string(),
        message,
    };
    let bytes = side
        .read(rel, DOCUMENT_LIMIT)?
        .ok_or_else(|| unreadable(format!("larger than {DOCUMENT_LIMIT} bytes")))?;
    let text = String::from_utf8(bytes).map_err(|_| unreadable("not UTF-8 text".into()))?;
    parse(&text)
        .map(Some)
        .map_err(|e| unreadable(format!("does not parse: {e}")))
}
