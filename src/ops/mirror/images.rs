//! `mirror --with-images`: the container images of every pack version copied (or already at
//! the destination) travel too, each to `<destination>/<source host>/<source path>`, read from
//! the source store at that same mapped place when it has it (so internet -> bundle -> registry
//! A -> registry B works without the internet), else from the image's own registry.

use std::collections::{BTreeSet, HashMap};

use super::options::MirrorOptions;
use super::summary::{MirrorFailure, MirrorSummary, MirroredImage};
use crate::image::ImageRef;
use crate::ops::copy::{mount_source, CopyOptions, CopyStats, GraphCopier, Side};
use crate::ops::images::pack_images;
use crate::ops::OpError;
use crate::reference::PackRef;
use crate::store::Store;

/// Copies the images of `packs` (name, version tag) from `src` (or their registries) to `dst`,
/// recording each in `summary.images`; a pack whose image cannot be copied is a failure of that
/// pack (a warning with `skip_missing_images`).
pub(crate) async fn copy_pack_images(
    src: &dyn Store,
    dst: &dyn Store,
    opts: &MirrorOptions,
    packs: &[(String, String)],
    summary: &mut MirrorSummary,
) {
    let mut upstreams: HashMap<String, Box<dyn Store>> = HashMap::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    for (name, tag) in packs {
        let images = match PackRef::parse(&format!("{name}:{tag}")) {
            Ok(pack_ref) => pack_images(src, &pack_ref).await,
            Err(e) => Err(OpError::Artifact(crate::artifact::ArtifactError::NotAPack(
                e.to_string(),
            ))),
        };
        let images = match images {
            Ok((_, images)) => images,
            // Carrying only what the source holds (import), a pack whose image list cannot
            // be read still comes: its images were not asked for.
            Err(e) if !opts.image_upstreams => {
                let note = format!("{name}:{tag}: its images were not read: {e}");
                summary.warnings.push(note.into());
                continue;
            }
            Err(e) => {
                fail(summary, opts, name, Some(tag), e.to_string());
                continue;
            }
        };
        for image in images {
            if !done.insert(image.image.clone()) {
                continue;
            }
            if !opts.image_upstreams && !in_source(src, &image.parsed).await {
                summary.images_not_in_source.push(image.image.clone());
                continue;
            }
            let conflicts = &mut summary.conflicts;
            match copy_one(src, dst, opts, &image.parsed, &mut upstreams, conflicts).await {
                Ok(copied) => summary.images.push(copied),
                Err(e) => {
                    let message = format!("image {}: {e}", image.image);
                    fail(summary, opts, name, Some(tag), message);
                }
            }
        }
    }
}

fn fail(
    summary: &mut MirrorSummary,
    opts: &MirrorOptions,
    pack: &str,
    tag: Option<&str>,
    error: String,
) {
    if opts.skip_missing_images {
        summary
            .warnings
            .push(format!("{pack}:{}: {error}", tag.unwrap_or_default()).into());
        return;
    }
    summary.failures.push(MirrorFailure {
        pack: pack.to_string(),
        tag: tag.map(str::to_string),
        error,
        cause: None,
    });
}

/// Whether `src` holds `image` at its mapped place.
async fn in_source(src: &dyn Store, image: &ImageRef) -> bool {
    let reference = image.reference();
    src.resolve(&image.mapped_repository(), &reference)
        .await
        .ok()
        .flatten()
        .is_some()
}

/// Copies one image; a destination tag (the image's, or a cosign tag of it) that points at
/// another manifest is left alone without `force` and added to `conflicts`.
async fn copy_one(
    src: &dyn Store,
    dst: &dyn Store,
    opts: &MirrorOptions,
    image: &ImageRef,
    upstreams: &mut HashMap<String, Box<dyn Store>>,
    conflicts: &mut Vec<String>,
) -> Result<MirroredImage, OpError> {
    let mapped = image.mapped_repository();
    let reference = image.reference();
    let destination = dst.reference(&mapped, &reference);
    let in_source = src
        .resolve(&mapped, &reference)
        .await
        .ok()
        .flatten()
        .is_some();
    let (store, repo, from): (&dyn Store, &str, String) = if in_source {
        (src, mapped.as_str(), src.reference(&mapped, &reference))
    } else {
        let host = image.api_host().to_string();
        if !upstreams.contains_key(&host) {
            let store = crate::store::open_registry(&host, &opts.image_sources).await?;
            upstreams.insert(host.clone(), store);
        }
        let store = upstreams[&host].as_ref();
        (store, image.repository.as_str(), image.to_string())
    };
    // The image's manifests and blobs, then what refers to it; its counts are not the
    // packs' and stay out of the summary.
    let from_side = Side { store, repo };
    let copy_opts = CopyOptions {
        concurrency: opts.concurrency,
        progress: opts.progress.clone(),
        mount_from: mount_source(&from_side, dst),
        force: opts.force,
        places: None,
    };
    let copier = GraphCopier::new(
        from_side,
        Side {
            store: dst,
            repo: &mapped,
        },
        &copy_opts,
    );
    let mut stats = CopyStats::default();
    let tag = image.tag.as_deref().filter(|_| image.digest.is_none());
    let top = copier.copy_reference(&reference, tag, &mut stats).await?;
    // The destination's tag names another image: what refers to this one stays behind too.
    let attached = if stats.conflicts.is_empty() {
        let subjects = BTreeSet::from([top.digest.clone()]);
        copier.copy_referrers(&subjects, None, &mut stats).await?
    } else {
        false
    };
    for (tag, at_destination, at_source) in std::mem::take(&mut stats.conflicts) {
        conflicts.push(format!(
            "{} (destination has {at_destination}, source {at_source})",
            dst.reference(&mapped, &tag)
        ));
    }
    if let Some(want) = &image.digest {
        if *want != top.digest {
            return Err(crate::store::StoreError::Integrity {
                location: from,
                message: format!("the image is {}, not the {want} the pack names", top.digest),
            }
            .into());
        }
    }
    Ok(MirroredImage {
        source: image.to_string(),
        destination,
        digest: top.digest.to_string(),
        copied: top.written || attached,
        from,
    })
}
