//! What a mirror reports: counts, conflicts, failures, images and warnings.

use serde::Serialize;

use super::options::MirrorOptions;
use crate::ops::copy::CopyStats;
use crate::ops::OpError;

/// What a mirror did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MirrorSummary {
    /// Packs (repositories) visited.
    pub packs: usize,
    /// Tags created or moved at the destination.
    pub tags_copied: usize,
    /// The tags this run wrote at the destination, as `name:tag`, in the order written:
    /// versions and labels (as many as `tags_copied`), then the parent tags it set or moved.
    pub copied_tags: Vec<String>,
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
    /// Images the packs declare that the source store does not hold, left out because
    /// their own registries are not to be reached (import of a bundle without them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images_not_in_source: Vec<String>,
    /// What the user should know although the copy succeeded (the destination's pack index
    /// not updated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::ops::Warning>,
    /// Labels not copied because the version they point at is not among the versions
    /// selected ([`MirrorOptions::versions`], [`MirrorOptions::latest`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels_left_out: Vec<LabelLeftOut>,
}

/// A label a version selection left out with the version it points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelLeftOut {
    /// Pack name.
    pub pack: String,
    /// The label tag (`group__label` or `label`).
    pub label: String,
    /// The version it points at in the source; None when it points at no version.
    pub version: Option<String>,
}

/// An image carried with its packs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
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
#[serde(rename_all = "camelCase")]
pub struct MirrorFailure {
    /// Pack name.
    pub pack: String,
    /// The tag (version, label) concerned; None when the whole pack failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// What went wrong.
    pub error: String,
    /// The typed error, for the front end to add what to do.
    #[serde(skip)]
    pub cause: Option<std::sync::Arc<OpError>>,
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
    pub(super) fn add(&mut self, part: MirrorSummary) {
        self.packs += part.packs;
        self.tags_copied += part.tags_copied;
        self.tags_unchanged += part.tags_unchanged;
        self.copied_tags.extend(part.copied_tags);
        self.conflicts.extend(part.conflicts);
        self.manifests_copied += part.manifests_copied;
        self.blobs_copied += part.blobs_copied;
        self.blobs_skipped += part.blobs_skipped;
        self.blobs_mounted += part.blobs_mounted;
        self.bytes_copied += part.bytes_copied;
        self.referrers_copied += part.referrers_copied;
        self.failures.extend(part.failures);
        self.warnings.extend(part.warnings);
        self.labels_left_out.extend(part.labels_left_out);
    }

    /// Adds what the graph copier did for pack `name`.
    pub(super) fn add_copy(&mut self, name: &str, stats: CopyStats) {
        self.manifests_copied += stats.manifests_copied;
        self.blobs_copied += stats.blobs_copied;
        self.blobs_skipped += stats.blobs_skipped;
        self.blobs_mounted += stats.blobs_mounted;
        self.bytes_copied = self.bytes_copied.saturating_add(stats.bytes_copied);
        self.referrers_copied += stats.referrers_copied;
        for (tag, at_destination, at_source) in stats.conflicts {
            self.conflicts.push(format!(
                "{name}:{tag} (destination has {at_destination}, source {at_source})"
            ));
        }
    }

    /// Records a failure; true when the copy must stop there (`fail_fast`).
    pub(super) fn fail(
        &mut self,
        opts: &MirrorOptions,
        pack: &str,
        tag: Option<&str>,
        err: OpError,
    ) -> bool {
        self.failures.push(MirrorFailure {
            pack: pack.to_string(),
            tag: tag.map(str::to_string),
            error: err.to_string(),
            cause: Some(std::sync::Arc::new(err)),
        });
        opts.fail_fast
    }
}
