//! Pulling a pack into a folder.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::download::download_to_file;
use super::progress::{NoProgress, Progress};
use super::push::DEFAULT_CONCURRENCY;
use super::resolve::resolve_ref;
use super::transfer::{parse_manifest, read_blob_with_progress};
use super::OpError;
use crate::artifact::media::ANNOTATION_FILE_MODE;
use crate::artifact::unpack::{
    extract_dir_layer, extract_tarball, find_pack_root, place_file_layer,
};
use crate::artifact::{classify, ArtifactError, Format};
use crate::digest::Digest;
use crate::limits::{read_bounded, MAX_PACK_JSON_BYTES};
use crate::oci::{Manifest, ANNOTATION_UNPACK};
use crate::pack::PackJson;
use crate::reference::{is_repository_component, PackRef, Selector};
use crate::store::Store;
use crate::tag_grammar::{is_valid_tag, version_to_tag};

/// Choices for [`pull`].
#[derive(Clone)]
pub struct PullOptions {
    /// Destination folder (default `./<name>-<version>`).
    pub output: Option<PathBuf>,
    /// Replace a non-empty destination.
    pub force: bool,
    /// Blobs downloaded at once.
    pub concurrency: usize,
    /// Where to report transfer progress.
    pub progress: Arc<dyn Progress>,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            output: None,
            force: false,
            concurrency: DEFAULT_CONCURRENCY,
            progress: Arc::new(NoProgress),
        }
    }
}

/// The result of a pull.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullOutcome {
    /// Full reference pulled.
    pub reference: String,
    /// Manifest digest.
    pub digest: Digest,
    /// Pack name (from pack.json).
    pub name: String,
    /// Pack version (from pack.json).
    pub version: String,
    /// Artifact format.
    pub format: Format,
    /// Where the pack now is.
    pub dir: PathBuf,
    /// Bytes downloaded.
    pub bytes: u64,
}

fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none())
}

fn check_destination(dest: &Path, force: bool) -> Result<(), OpError> {
    if dest.exists() && !force && !is_empty_dir(dest) {
        return Err(OpError::OutputExists(dest.to_path_buf()));
    }
    Ok(())
}

/// Pulls the pack `pack_ref` into a folder. Layers are verified as they stream into a staging
/// folder beside the destination, which is renamed into place only when complete.
pub async fn pull(
    store: &dyn Store,
    pack_ref: &PackRef,
    opts: &PullOptions,
) -> Result<PullOutcome, OpError> {
    let repo = pack_ref.repository();
    let (reference, raw) = resolve_ref(store, pack_ref).await?;
    let full_reference = store.reference(&repo, &reference);
    let manifest = parse_manifest(store, &repo, &raw)?;
    let format = classify(&manifest)?;
    if let Some(out) = &opts.output {
        check_destination(out, opts.force)?;
    }
    let parent = match &opts.output {
        Some(out) => match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        },
        None => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| ArtifactError::io(&parent, e))?;
    // Shared with the blocking transfers: the folder is removed when the last of them and
    // this pull are done, so an interrupted pull cannot race its own clean-up.
    let staging = Arc::new(
        tempfile::Builder::new()
            .prefix(".packreg-pull-")
            .tempdir_in(&parent)
            .map_err(|e| ArtifactError::io(&parent, e))?,
    );
    crate::fsutil::track_staging(staging.path());
    let result = finish_pull(
        store,
        pack_ref,
        opts,
        &staging,
        &manifest,
        format,
        &full_reference,
    )
    .await;
    crate::fsutil::untrack_staging(staging.path());
    let (dest, name, version, bytes) = result?;
    Ok(PullOutcome {
        reference: full_reference,
        digest: raw.digest,
        name,
        version,
        format,
        dir: dest,
        bytes,
    })
}

/// Downloads into `staging` and moves the pack into place: (destination, name, version,
/// bytes).
async fn finish_pull(
    store: &dyn Store,
    pack_ref: &PackRef,
    opts: &PullOptions,
    staging: &Arc<tempfile::TempDir>,
    manifest: &Manifest,
    format: Format,
    full_reference: &str,
) -> Result<(PathBuf, String, String, u64), OpError> {
    let repo = pack_ref.repository();
    let content = staging.path().join("pack");
    std::fs::create_dir(&content).map_err(|e| ArtifactError::io(&content, e))?;

    let bytes = download_layers(store, &repo, manifest, format, staging, opts).await?;
    let mut cache = super::blobcache::BlobCache::load(store.cache_dir().as_deref());
    let (registry, full) = (store.registry_id(), store.full_name(&repo));
    for layer in &manifest.layers {
        cache.record(&registry, &full, &layer.digest);
    }
    cache.save();
    let root = if format == Format::Palette {
        let title = manifest.layers[0].title().unwrap_or("layer").to_string();
        find_pack_root(&content, &title)?
    } else {
        content.clone()
    };
    // Links were checked against the extraction folder; the pack folder may be a part of it.
    crate::archive::check_links_within(&root).map_err(|e| ArtifactError::Layer {
        layer: full_reference.to_string(),
        message: e.to_string(),
    })?;
    let pack_json_path = root.join("pack.json");
    let file = std::fs::File::open(&pack_json_path).map_err(|_| {
        ArtifactError::NotAPack(format!("{full_reference} carries no pack.json: not a pack"))
    })?;
    let pack_json = read_bounded(file, MAX_PACK_JSON_BYTES, "pack.json")
        .map_err(|e| ArtifactError::NotAPack(format!("{full_reference}: {e}")))?;
    let meta = PackJson::parse(&pack_json).map_err(|(field, message)| {
        ArtifactError::NotAPack(format!(
            "{full_reference}: pack.json {field} does not parse: {message}"
        ))
    })?;
    let name = meta.name().to_string();
    let version = meta.version().to_string();
    let dest = match &opts.output {
        Some(out) => out.clone(),
        None => {
            let out = default_output(pack_ref, &name, &version)?;
            check_destination(&out, opts.force)?;
            out
        }
    };
    set_dir_mode(&root)?;
    place(&root, &dest, &staging.path().join("old"), opts.force)?;
    Ok((dest, name, version, bytes))
}

/// Moves the pulled pack `root` to `dest`. Without `force`, `dest` was empty or absent when the
/// pull began but may have been filled since: it is checked again, and the rename itself
/// refuses a non-empty folder (rename(2) replaces only an empty one), so nothing written
/// there meanwhile is lost. With `force`, the old folder moves to `old` (in staging, deleted
/// with it).
fn place(root: &Path, dest: &Path, old: &Path, force: bool) -> Result<(), OpError> {
    if !force {
        check_destination(dest, false)?;
        return match std::fs::rename(root, dest) {
            Ok(()) => Ok(()),
            Err(_) if dest.exists() && !is_empty_dir(dest) => {
                Err(OpError::OutputExists(dest.to_path_buf()))
            }
            Err(e) => Err(ArtifactError::io(dest, e).into()),
        };
    }
    let replaced = dest.exists();
    if replaced {
        std::fs::rename(dest, old).map_err(|e| ArtifactError::io(dest, e))?;
    }
    if let Err(e) = std::fs::rename(root, dest) {
        if replaced {
            let _ = std::fs::rename(old, dest);
        }
        return Err(ArtifactError::io(dest, e).into());
    }
    Ok(())
}

/// `./<name>-<version>`, from pack.json's name and version when they are a valid repository
/// name and a valid tag (so they are one plain folder name), else from the reference the user
/// typed. Content from a store never chooses where a pull writes.
fn default_output(pack_ref: &PackRef, name: &str, version: &str) -> Result<PathBuf, OpError> {
    let name = if is_repository_component(name) {
        name
    } else {
        pack_ref.name.as_str()
    };
    let version = if is_valid_tag(&version_to_tag(version)) {
        version.to_string()
    } else {
        match &pack_ref.selector {
            Selector::Tag(tag) => tag.clone(),
            _ => return Err(OpError::UnsafeOutputName(version.to_string())),
        }
    };
    let folder = format!("{name}-{version}");
    // Belt and braces: exactly one plain component, so the folder is inside the working one.
    let mut comps = Path::new(&folder).components();
    match (comps.next(), comps.next()) {
        (Some(std::path::Component::Normal(_)), None) => Ok(PathBuf::from(folder)),
        _ => Err(OpError::UnsafeOutputName(folder)),
    }
}

#[cfg(unix)]
fn set_dir_mode(dir: &Path) -> Result<(), OpError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| ArtifactError::io(dir, e).into())
}

#[cfg(not(unix))]
fn set_dir_mode(_dir: &Path) -> Result<(), OpError> {
    Ok(())
}

/// Set when the pull is dropped (interrupted): blocking transfers then stop at their next
/// read.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A reader that fails once the pull it serves was cancelled. Not with
/// `ErrorKind::Interrupted`: `io::copy` and `read_to_end` retry that for ever.
struct Cancellable<'a> {
    inner: &'a mut dyn Read,
    cancelled: Arc<AtomicBool>,
}

impl Read for Cancellable<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("the pull was cancelled"));
        }
        self.inner.read(buf)
    }
}

async fn download_layers(
    store: &dyn Store,
    repo: &str,
    manifest: &Manifest,
    format: Format,
    staging: &Arc<tempfile::TempDir>,
    opts: &PullOptions,
) -> Result<u64, OpError> {
    let progress = opts.progress.as_ref();
    let cancelled = Arc::new(AtomicBool::new(false));
    let _cancel = CancelOnDrop(cancelled.clone());
    let dest = staging.path().join("pack");
    let (dest, cancelled) = (&dest, &cancelled);
    let sizes: Vec<u64> = stream::iter(&manifest.layers)
        .map(|layer| async move {
            // Each transfer keeps the staging folder alive until it has stopped writing.
            let keep = staging.clone();
            let cancelled = cancelled.clone();
            let dest = dest.to_path_buf();
            let title = layer.title().map(str::to_string);
            let size = layer.size;
            if format == Format::Palette {
                let name = title.unwrap_or_else(|| layer.digest.to_string());
                read_blob_with_progress(store, repo, layer, true, progress, move |r| {
                    let _keep = keep;
                    let mut r = Cancellable {
                        inner: r,
                        cancelled,
                    };
                    extract_tarball(&dest, &name, size, &mut r)
                })
                .await?;
                return Ok::<_, OpError>(layer.size);
            }
            // As ORAS does: layers without a title are not files of the pack.
            let Some(title) = title else {
                return Ok(0);
            };
            let unpack =
                layer.annotations.get(ANNOTATION_UNPACK).map(String::as_str) == Some("true");
            let executable = layer
                .annotations
                .get(ANNOTATION_FILE_MODE)
                .map(String::as_str)
                == Some("0755");
            if unpack {
                read_blob_with_progress(store, repo, layer, true, progress, move |r| {
                    let _keep = keep;
                    let mut r = Cancellable {
                        inner: r,
                        cancelled,
                    };
                    extract_dir_layer(&dest, &title, size, &mut r)
                })
                .await?;
                return Ok(layer.size);
            }
            // A file is written once, where it is downloaded, then moved into the pack.
            let file =
                download_to_file(store, repo, layer, progress, keep.path(), &cancelled).await?;
            tokio::task::spawn_blocking(move || {
                let _keep = keep;
                file.place(|from| place_file_layer(&dest, &title, from, executable))
            })
            .await??;
            Ok(layer.size)
        })
        .buffer_unordered(opts.concurrency.max(1))
        // Every transfer runs to its end before an error is returned: a blocking extraction
        // still writing into the staging folder would outlive its removal otherwise.
        .collect::<Vec<Result<u64, OpError>>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    // Each size was verified against the bytes read, yet they are the manifest's numbers.
    Ok(sizes.iter().fold(0u64, |sum, s| sum.saturating_add(*s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cancelled transfer must end a copy loop: `io::copy` and `read_to_end` retry
    /// `ErrorKind::Interrupted` for ever, which left a thread spinning at 100% CPU.
    #[test]
    fn a_cancelled_read_stops_io_copy() {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut endless = std::io::repeat(7);
            let mut reader = Cancellable {
                inner: &mut endless,
                cancelled: Arc::new(AtomicBool::new(true)),
            };
            let _ = done.send(std::io::copy(&mut reader, &mut std::io::sink()));
        });
        let result = finished
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("io::copy kept retrying a cancelled read");
        assert!(result.is_err(), "{result:?}");
    }
}
