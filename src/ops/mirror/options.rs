//! What a mirror is asked to do.

use std::sync::Arc;

use crate::ops::progress::{NoProgress, Progress};
use crate::version_range::VersionRange;

/// Choices for [`mirror`](super::mirror).
#[derive(Clone)]
pub struct MirrorOptions {
    /// Only packs whose name contains this.
    pub filter: Option<String>,
    /// Explicit packs (name, optional tag), for registries without `_catalog`.
    pub names: Vec<(String, Option<String>)>,
    /// Only the versions in this range, of each pack (with the labels on them).
    pub versions: Option<VersionRange>,
    /// Only the N highest versions of each pack (of those in `versions`, when both are given).
    pub latest: Option<usize>,
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
    /// Whether an image the source store lacks is read from its own registry; without, it
    /// is left out and listed in [`MirrorSummary::images_not_in_source`](super::MirrorSummary)
    /// (import carries the images a bundle holds, and reaches no registry for the others).
    pub image_upstreams: bool,
    /// Copy only versions a signature verifies (the others are failures).
    pub verify: Option<crate::ops::verify_gate::VerifyGate>,
}

impl MirrorOptions {
    /// Whether only some versions of each pack are copied.
    pub fn selects_versions(&self) -> bool {
        self.versions.is_some() || self.latest.is_some()
    }
}

impl Default for MirrorOptions {
    fn default() -> Self {
        MirrorOptions {
            filter: None,
            names: Vec::new(),
            versions: None,
            latest: None,
            dry_run: false,
            force: false,
            concurrency: crate::ops::push::DEFAULT_CONCURRENCY,
            fail_fast: false,
            progress: Arc::new(NoProgress),
            with_images: false,
            skip_missing_images: false,
            image_sources: crate::config::builtin_store_options(&Default::default()),
            image_upstreams: true,
            verify: None,
        }
    }
}
