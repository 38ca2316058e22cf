//! Copying packs between any two stores, digest-preserving and incremental: manifests move as
//! their exact bytes, blobs stream from store to store with digest checks (or are mounted
//! within one registry), and what the destination has is skipped. The graphs are copied by
//! [`crate::ops::copy`]; this folder holds what is the mirror command's own: which packs
//! ([`selection`]), each pack's tags and parent tags ([`pack`]), the images they declare
//! ([`images`]) and what is reported ([`summary`]).

mod dry_run;
mod images;
mod index;
mod options;
mod pack;
mod selection;
mod summary;

use futures_util::stream::{self, StreamExt};

pub use options::MirrorOptions;
pub use summary::{LabelLeftOut, MirrorFailure, MirrorSummary, MirroredImage};

use super::OpError;
use crate::store::Store;
use pack::PackCopier;

/// Copies packs from `src` to `dst`: every tag of every pack (or those `opts` selects), with
/// the referrers the source has, then brings the destination's parent tags up to date. A pack
/// or tag that fails (a manifest or blob missing at the source, a write the destination
/// refuses) is recorded in [`MirrorSummary::failures`] and the copy goes on, unless
/// `opts.fail_fast`; errors listing the source's packs end it at once. With `opts.dry_run`
/// the same copy runs against a destination that keeps its writes in memory
/// ([`dry_run`]), so it reports what the real run would do.
pub async fn mirror(
    src: &dyn Store,
    dst: &dyn Store,
    opts: &MirrorOptions,
) -> Result<MirrorSummary, OpError> {
    if !opts.dry_run {
        return copy(src, dst, opts, true).await;
    }
    let rehearsal = MirrorOptions {
        dry_run: false,
        progress: std::sync::Arc::new(super::progress::NoProgress),
        ..opts.clone()
    };
    let dst = dry_run::DryRunStore::new(dst);
    let mut summary = copy(src, &dst, &rehearsal, false).await?;
    summary.dry_run = true;
    Ok(summary)
}

/// The copy [`mirror`] makes; `index` says whether the destination's pack index is kept.
async fn copy(
    src: &dyn Store,
    dst: &dyn Store,
    opts: &MirrorOptions,
    index: bool,
) -> Result<MirrorSummary, OpError> {
    let mut summary = MirrorSummary::default();
    let copier = PackCopier {
        src,
        dst,
        opts,
        same_registry: src.registry_id() == dst.registry_id(),
        places: Default::default(),
    };
    let named = !opts.names.is_empty();
    let copier = &copier;
    let (packs, from_index) = selection::selection(src, opts).await?;
    summary.names_from_index = from_index;
    let mut present = Vec::new();
    // Each completed pack goes to the index keeper, which records it while the next ones
    // copy.
    let (completed, for_index) = tokio::sync::mpsc::unbounded_channel();
    let keeper = async {
        if index {
            index::keep_index(dst, for_index).await
        } else {
            None
        }
    };
    let copies = async {
        // Owned here, so that the keeper ends once the copies are done.
        let sender = completed;
        let completed = &sender;
        // Packs are copied several at a time: a mirror with little to copy is bound by the
        // registries' answer time, not by bandwidth.
        let mut copies = stream::iter(packs)
            .map(|(name, only_tag)| async move {
                let mut part = MirrorSummary::default();
                let result = copier.copy_pack(&name, only_tag, named, &mut part).await;
                if let Ok(tags) = &result {
                    // To the index as soon as it completes, not in the order the packs are
                    // reported. The keeper ends only after the copies: the send cannot fail.
                    let _ = completed.send((name.clone(), tags.clone()));
                }
                (name, result, part)
            })
            .buffered(PACKS_AT_ONCE);
        while let Some((name, result, part)) = copies.next().await {
            summary.add(part);
            match result {
                Ok(tags) => {
                    present.extend(tags.into_iter().map(|t| (name.clone(), t.tag)));
                }
                Err(e) => {
                    summary.fail(opts, &name, None, e);
                }
            }
            if opts.fail_fast && !summary.failures.is_empty() {
                break;
            }
        }
        drop(copies);
        drop(sender);
    };
    let ((), warning) = tokio::join!(copies, keeper);
    summary.warnings.extend(warning);
    let stopped = opts.fail_fast && !summary.failures.is_empty();
    if opts.with_images && !stopped {
        images::copy_pack_images(src, dst, opts, &present, &mut summary).await;
    }
    Ok(summary)
}

/// Packs copied at once.
const PACKS_AT_ONCE: usize = 8;

#[cfg(test)]
mod tests;
