//! Operations on packs in any [`Store`](crate::store::Store): push, pull, list, inspect,
//! remove and diff. The command line is a thin layer over these.

pub mod blobcache;
pub mod bundle;
pub mod catalog;
pub mod copy;
pub mod diff;
pub mod doctor;
pub(crate) mod download;
pub(crate) mod gather;
pub mod identity;
pub mod images;
pub mod index;
pub mod inspect;
pub mod labels;
pub mod list;
pub mod mirror;
pub mod not_found;
pub mod pack_repositories;
pub mod parent_tags;
pub mod partial;
pub mod progress;
pub mod pull;
pub mod push;
pub mod remedy;
pub mod remove;
pub mod resolve;
pub mod signatures;
pub mod transfer;
pub mod verify_gate;

use std::path::PathBuf;

pub use inspect::{inspect, Inspection, LayerInfo};
pub use list::{list, PackVersion};
pub use pull::{pull, PullOptions, PullOutcome};
pub use push::{push, PushOptions, PushOutcome, PushStatus};
pub use remedy::{Remedy, Warning};
pub use remove::{remove, RemoveOutcome};

use crate::artifact::ArtifactError;
use crate::digest::Digest;
use crate::error::PackError;
use crate::pack::Report;
use crate::store::StoreError;

/// Errors of the operations.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Building or unpacking the artifact failed.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// The pack folder could not be loaded.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// The pack failed validation.
    #[error("{}: the pack is not valid ({} error(s)), first: {}", .report.pack.display(), .report.errors().count(), first_error(.report))]
    Invalid {
        /// The validation report.
        report: Box<Report>,
    },
    /// The version exists with other content.
    #[error("{reference} already exists with different content ({existing})")]
    Conflict {
        /// The reference pushed to.
        reference: String,
        /// Digest already there.
        existing: Digest,
    },
    /// A pack has no version at all.
    #[error("no versions of pack {name} in {location}")]
    NoVersions {
        /// Pack name.
        name: String,
        /// The store.
        location: String,
    },
    /// A pack, or a tag or digest of one, is not in the store (with what is there instead).
    #[error(transparent)]
    PackNotFound(Box<not_found::PackNotFound>),
    /// A tag to copy has no manifest at the source (listed but missing, or named and absent).
    #[error("{reference}: the manifest of this tag is missing from {location}; nothing of it was copied")]
    MissingManifest {
        /// `name:tag`.
        reference: String,
        /// The source store.
        location: String,
    },
    /// The output folder of a pull holds files.
    #[error("{}: exists and is not empty", .0.display())]
    OutputExists(PathBuf),
    /// The pulled pack's name or version cannot name the default output folder.
    #[error("{0:?} cannot name the pull folder: pack.json's version is not a valid tag")]
    UnsafeOutputName(String),
    /// A tag given where a version is needed.
    #[error("{0:?} is not a version tag; give NAME:VERSION")]
    NotAVersion(String),
    /// A label that is not a valid tag or collides with version, parent or referrer tags.
    #[error("{0:?} cannot be a label: a label is letters, digits, '.', '_' and '-', not a version (starting with a digit), a parent tag (1.x) or a sha256- tag")]
    BadLabel(String),
    /// A bundle could not be read or written.
    #[error("{path}: {message}")]
    Bundle {
        /// The bundle file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A bundle holds no packs.
    #[error("{}: holds no packs (no OCI layout under spectro-packs/archive/)", .0.display())]
    EmptyBundle(PathBuf),
    /// A bundle that would replace a file, or is truncated or damaged.
    #[error(transparent)]
    BundleFault(#[from] bundle::BundleError),
    /// Neither the catalog nor a pack index names the store's packs.
    #[error("{location} refuses to list its repositories (_catalog) and has no pack index (spectro-packs/packreg-index:latest)")]
    NoPackNames {
        /// The store.
        location: String,
    },
    /// A pack declares an image reference that cannot be read.
    #[error("{reference}: pack.content.images in values.yaml: {source}")]
    BadImage {
        /// The pack.
        reference: String,
        /// What is wrong with the image.
        #[source]
        source: crate::image::BadImage,
    },
    /// The pack index cannot be read (not packreg's, or damaged).
    #[error("{0}")]
    BadIndex(StoreError),
    /// A background task failed.
    #[error("internal task failed: {0}")]
    Task(String),
    /// Read back after it was written, a tag points elsewhere: another writer (a concurrent
    /// push, a tag change) moved it meanwhile, and its content is what the store holds.
    #[error("{reference} was written as {written}, but another writer changed it meanwhile: it {}", now_points(.now))]
    TagMoved {
        /// The tag's full reference.
        reference: String,
        /// What this operation wrote.
        written: Digest,
        /// What the tag points at now; None when it is gone.
        now: Option<Digest>,
    },
    /// A version failed the verification gate (`ops::verify_gate`).
    #[error(transparent)]
    Unverified(Box<verify_gate::Unverified>),
}

fn now_points(now: &Option<Digest>) -> String {
    match now {
        Some(digest) => format!("now points at {digest}"),
        None => "is gone".into(),
    }
}

fn first_error(report: &Report) -> String {
    report
        .errors()
        .next()
        .map(|f| f.to_string().trim_start_matches("error: ").to_string())
        .unwrap_or_default()
}

/// Garbage collection after a write that already succeeded. Its failure (a reachable manifest
/// in doubt keeps every blob) leaves the store whole: it is returned as a warning for the user,
/// not as an error of the operation.
async fn collect_garbage(store: &dyn crate::store::Store, repo: &str) -> Option<Warning> {
    match store.collect_garbage(repo).await {
        Ok(()) => None,
        Err(e) => Some(e.to_string().into()),
    }
}

impl From<tokio::task::JoinError> for OpError {
    fn from(err: tokio::task::JoinError) -> Self {
        OpError::Task(err.to_string())
    }
}
