//! Air-gap bundles: one tar holding an OCI image layout tree
//! (`spectro-packs/archive/<name>/{oci-layout,index.json,blobs/…}`), which skopeo and
//! `oras cp --from-oci-layout` read once untarred. Its first entry is its table of contents
//! ([`contents`]); `import` checks the tar's structure ([`scan`]) and that everything listed
//! arrived before it tags anything.

mod contents;
mod error;
mod open;
mod scan;

use std::fs::File;
use std::path::{Path, PathBuf};

use super::mirror::{mirror, MirrorOptions, MirrorSummary};
use super::OpError;
use crate::archive::{write_tar, TarEntry, TarEntryKind};
use crate::digest::{hash_file, Digest};
use crate::reference::PACKS_PREFIX;
use crate::store::layout::LayoutStore;
use crate::store::Store;

pub use contents::{BundleContents, RepositoryContents, CONTENTS_ENTRY};
pub use error::BundleError;
pub use open::{open, OpenBundle};

fn bundle_error(path: &Path, message: impl std::fmt::Display) -> OpError {
    OpError::Bundle {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Writes the packs `opts` selects (every pack with no names) from `src` into the tar
/// `bundle`, which appears whole or not at all. An existing file is replaced only with
/// `opts.force`.
pub async fn export(
    src: &dyn Store,
    bundle: &Path,
    opts: &MirrorOptions,
) -> Result<MirrorSummary, OpError> {
    if !opts.force && bundle.symlink_metadata().is_ok() {
        return Err(exists(bundle));
    }
    let parent = match bundle.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| bundle_error(&parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".packreg-export-")
        .tempdir_in(&parent)
        .map_err(|e| bundle_error(&parent, e))?;
    crate::fsutil::track_staging(staging.path());
    let result = write_bundle(src, bundle, opts, staging.path()).await;
    crate::fsutil::untrack_staging(staging.path());
    result
}

async fn write_bundle(
    src: &dyn Store,
    bundle: &Path,
    opts: &MirrorOptions,
    staging: &Path,
) -> Result<MirrorSummary, OpError> {
    let tree = staging.join("layout");
    let layout = LayoutStore::new(&tree);
    // A bundle missing a pack would only be found out at the air-gapped site: stop at the
    // first failure and write none.
    let opts = MirrorOptions {
        fail_fast: true,
        ..opts.clone()
    };
    let summary = mirror(src, &layout, &opts).await?;
    if let Some(failure) = summary.failures.first() {
        return Err(bundle_error(bundle, format!("not written: {failure}")));
    }
    if opts.dry_run {
        return Ok(summary);
    }
    let contents = BundleContents::of(&layout).await?;
    let mut entries = vec![TarEntry {
        name: CONTENTS_ENTRY.into(),
        kind: TarEntryKind::Bytes(contents.to_bytes()),
    }];
    entries.extend(layout_entries(&tree)?);
    let tmp = staging.join("bundle.tar");
    let tmp_for_task = tmp.clone();
    tokio::task::spawn_blocking(move || -> Result<(), OpError> {
        let file = File::create(&tmp_for_task).map_err(|e| bundle_error(&tmp_for_task, e))?;
        let out = write_tar(std::io::BufWriter::with_capacity(1 << 20, file), &entries)
            .map_err(|e| bundle_error(&tmp_for_task, e))?;
        out.into_inner()
            .map_err(|e| bundle_error(&tmp_for_task, e.into_error()))?
            .sync_all()
            .map_err(|e| bundle_error(&tmp_for_task, e))
    })
    .await??;
    place(&tmp, bundle, opts.force)?;
    Ok(summary)
}

fn exists(bundle: &Path) -> OpError {
    BundleError::Exists {
        path: bundle.to_path_buf(),
    }
    .into()
}

/// Moves the finished `tmp` to `bundle`; without `force`, never over a file that appeared
/// meanwhile (a hard link fails where the name exists).
fn place(tmp: &Path, bundle: &Path, force: bool) -> Result<(), OpError> {
    if !force {
        match std::fs::hard_link(tmp, bundle) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists(bundle)),
            // A file system without hard links: checked, then renamed.
            Err(_) if bundle.symlink_metadata().is_ok() => return Err(exists(bundle)),
            Err(_) => {}
        }
    }
    std::fs::rename(tmp, bundle).map_err(|e| bundle_error(bundle, e))
}

/// The files of a layout tree in a stable order, without packreg's lock files.
fn layout_entries(tree: &Path) -> Result<Vec<TarEntry>, OpError> {
    let mut entries = Vec::new();
    if !tree.exists() {
        return Ok(entries);
    }
    let walker = walkdir::WalkDir::new(tree)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !e.file_name().to_string_lossy().starts_with(".packreg"));
    for entry in walker {
        let entry = entry.map_err(|e| bundle_error(tree, e))?;
        let rel = entry
            .path()
            .strip_prefix(tree)
            .map_err(|e| bundle_error(tree, e))?
            .to_string_lossy()
            .replace('\\', "/");
        let kind = if entry.file_type().is_dir() {
            TarEntryKind::Dir
        } else {
            TarEntryKind::File {
                source: entry.path().to_path_buf(),
                executable: false,
            }
        };
        entries.push(TarEntry { name: rel, kind });
    }
    Ok(entries)
}

/// Checks that every blob of every layout under `tree` hashes to its name.
fn verify_layout_blobs(tree: &Path) -> Result<usize, OpError> {
    let mut count = 0;
    for entry in walkdir::WalkDir::new(tree) {
        let entry = entry.map_err(|e| bundle_error(tree, e))?;
        let path = entry.path();
        let in_blobs = path.parent().is_some_and(|p| p.ends_with("blobs/sha256"));
        if !entry.file_type().is_file() || !in_blobs {
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        let expected: Digest = format!("sha256:{name}")
            .parse()
            .map_err(|_| bundle_error(path, "a blob whose name is not a sha256 digest"))?;
        let (got, _) = hash_file(path).map_err(|e| bundle_error(path, e))?;
        if got != expected {
            return Err(bundle_error(
                path,
                format!("blob content hashes to {got}, not {expected}: the bundle is corrupt; nothing was imported"),
            ));
        }
        count += 1;
    }
    Ok(count)
}

/// Pushes every pack of the tar `bundle` into `dst`, incrementally. Every blob of the
/// bundle is checked against its digest before anything is written.
pub async fn import(
    bundle: &Path,
    dst: &dyn Store,
    opts: &MirrorOptions,
) -> Result<MirrorSummary, OpError> {
    let opened = open::open_in(bundle, "packreg-import-").await?;
    mirror(&opened.layout, dst, opts).await
}

/// Checks that every manifest the layout `repo` lists, and every manifest and blob they
/// reference, is in the bundle (their content was verified on extraction). A truncated or
/// edited bundle is refused here, before anything is tagged at the destination.
pub(super) async fn check_complete(layout: &LayoutStore, repo: &str) -> Result<(), String> {
    let pack = match repo.strip_prefix(PACKS_PREFIX) {
        Some(name) => format!("pack {name}"),
        None => format!("image {repo}"),
    };
    let index = layout.index(repo).map_err(|e| e.to_string())?;
    for top in &index.manifests {
        let tag = top
            .annotations
            .get(crate::oci::ANNOTATION_REF_NAME)
            .map_or_else(|| top.digest.to_string(), String::clone);
        let lacks = |what: &str, digest: &Digest| {
            format!("{pack} version {tag}: the bundle lacks {what} {digest} (it was truncated or edited); nothing was imported")
        };
        let mut pending = vec![top.clone()];
        while let Some(desc) = pending.pop() {
            if !layout.has_blob(repo, &desc.digest).await.unwrap_or(false) {
                return Err(lacks("manifest", &desc.digest));
            }
            let raw = layout
                .get_manifest(repo, desc.digest.as_str())
                .await
                .map_err(|e| format!("{pack} version {tag}: {e}; nothing was imported"))?;
            let refs = crate::oci::references(&raw.media_type, &raw.bytes).map_err(|e| {
                format!(
                    "{pack} version {tag}: manifest {} does not parse ({e}); nothing was imported",
                    desc.digest
                )
            })?;
            for blob in &refs.blobs {
                if !layout.has_blob(repo, &blob.digest).await.unwrap_or(false) {
                    return Err(lacks("blob", &blob.digest));
                }
            }
            pending.extend(refs.manifests);
        }
    }
    Ok(())
}
