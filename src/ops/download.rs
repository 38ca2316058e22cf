//! Downloads that write each byte once: a blob that is used as a file (a chart archive, any
//! file layer) is written into one file, hashed as it streams, and that file, once verified, is
//! moved to where it is used. A large blob's file is its partial download in the cache, so an
//! interrupted pull is continued by the next run; a small one's is a temporary file beside the
//! destination.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::gather::{gather, Gathered};
use super::partial::{Partial, PARTIAL_MIN};
use super::progress::{Counted, Progress};
use super::transfer::{blob_label, FinishOnDrop};
use super::OpError;
use crate::artifact::ArtifactError;
use crate::digest::{hash_reader, Digest};
use crate::oci::Descriptor;
use crate::store::{BlobReader, Store, StoreError};

/// A verified download on disk, to be moved where it is used.
pub(crate) struct Downloaded {
    path: PathBuf,
    /// The file is a partial download of the cache: forgotten once used.
    kept: bool,
}

impl Downloaded {
    /// Hands the file to `place` (which moves or copies it away) and forgets it.
    pub(crate) fn place<T>(
        self,
        place: impl FnOnce(&Path) -> Result<T, ArtifactError>,
    ) -> Result<T, ArtifactError> {
        let result = place(&self.path);
        if self.kept {
            crate::resume::forget_download(&self.path);
        }
        // Gone when it was moved; a copy or a failure leaves it behind.
        let _ = std::fs::remove_file(&self.path);
        result
    }
}

/// Where a download is written.
enum Target {
    Kept(Partial),
    Temp(tempfile::TempPath),
}

impl Target {
    fn path(&self) -> PathBuf {
        match self {
            Target::Kept(p) => p.path().to_path_buf(),
            Target::Temp(t) => t.to_path_buf(),
        }
    }
}

/// How an attempt ended when it did not end well.
enum Failed {
    /// Every byte arrived and the whole does not match the digest.
    Wrong(String),
    Other(OpError),
}

/// Downloads blob `desc` of `repo` into a file of its own, verified against its digest and
/// size: the partial download in the cache for a large blob (continued where an earlier run
/// stopped), else a temporary file in `scratch`. Stops with an error once `cancelled` is set.
pub(crate) async fn download_to_file(
    store: &dyn Store,
    repo: &str,
    desc: &Descriptor,
    progress: &dyn Progress,
    scratch: &Path,
    cancelled: &Arc<AtomicBool>,
) -> Result<Downloaded, OpError> {
    let label = blob_label(desc);
    let bar = progress.start(&label, desc.size);
    let _finish = FinishOnDrop(bar.clone());
    let kept = (desc.size >= PARTIAL_MIN && store.keeps_partial_downloads())
        .then(|| store.cache_dir())
        .flatten()
        .and_then(|cache| Partial::open(&cache, &desc.digest, desc.size));
    let target = match kept {
        Some(partial) => Target::Kept(partial),
        None => Target::Temp(
            tempfile::Builder::new()
                .prefix(".download-")
                .tempfile_in(scratch)
                .map_err(|e| ArtifactError::io(scratch, e))?
                .into_temp_path(),
        ),
    };
    let path = target.path();
    let have = match &target {
        Target::Kept(p) => p.have,
        Target::Temp(_) => 0,
    };
    let location = store.reference(repo, desc.digest.as_str());
    let mut from = have;
    loop {
        if from > 0 {
            tracing::info!("continuing the download of {label} at byte {from}");
        }
        let attempt = attempt(store, repo, desc, &path, from, &bar, &label, cancelled).await;
        match attempt {
            Ok(()) => break,
            // Bytes an earlier run kept may be anyone's (a hostile registry sent them): when
            // the whole proves wrong they are dropped and the blob is downloaded from byte 0.
            Err(Failed::Wrong(_)) if from > 0 => {
                tracing::info!("the bytes kept of {label} were wrong; downloading it again");
                from = 0;
            }
            Err(failed) => {
                if let Target::Kept(partial) = target {
                    match failed {
                        Failed::Wrong(_) => partial.remove(),
                        Failed::Other(_) => partial.keep_if_incomplete(desc.size),
                    }
                }
                return Err(match failed {
                    Failed::Wrong(message) => StoreError::Integrity { location, message }.into(),
                    Failed::Other(e) => e,
                });
            }
        }
    }
    Ok(match target {
        Target::Kept(_) => Downloaded { path, kept: true },
        Target::Temp(temp) => {
            // Kept past the TempPath: `place` moves it away.
            let path = temp.keep().map_err(|e| ArtifactError::io(&path, e.error))?;
            Downloaded { path, kept: false }
        }
    })
}

/// One try: the file is cut to `from` bytes, those are hashed, and the rest of the blob is
/// appended as it arrives.
#[allow(clippy::too_many_arguments)]
async fn attempt(
    store: &dyn Store,
    repo: &str,
    desc: &Descriptor,
    path: &Path,
    from: u64,
    bar: &Arc<dyn super::progress::Bar>,
    label: &str,
    cancelled: &Arc<AtomicBool>,
) -> Result<(), Failed> {
    let size = desc.size;
    let body: BlobReader = match from {
        0 => store.get_blob(repo, &desc.digest).await,
        n if n >= size => Ok(Box::pin(tokio::io::empty()) as BlobReader),
        n => store.get_blob_at(repo, &desc.digest, n).await,
    }
    .map_err(|e| Failed::Other(e.into()))?;
    let rest = gather(
        Box::pin(Counted::new(body, bar.clone())),
        size - from.min(size),
    );
    let (path, label) = (path.to_path_buf(), label.to_string());
    let (expected, cancelled) = (desc.digest.clone(), cancelled.clone());
    tokio::task::spawn_blocking(move || {
        write_verified(&path, from, rest, &expected, size, &label, &cancelled)
    })
    .await
    .map_err(|e| Failed::Other(e.into()))?
}

fn write_verified(
    path: &Path,
    from: u64,
    mut rest: Gathered,
    expected: &Digest,
    size: u64,
    label: &str,
    cancelled: &AtomicBool,
) -> Result<(), Failed> {
    let file_error = |e: std::io::Error| Failed::Other(ArtifactError::io(path, e).into());
    let mut file = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(file_error)?;
    file.set_len(from).map_err(file_error)?;
    let head = File::open(path).map_err(file_error)?.take(from);
    let mut hasher = hash_reader(head).map_err(file_error)?;
    loop {
        if cancelled.load(Ordering::Relaxed) {
            return Err(Failed::Other(
                ArtifactError::Layer {
                    layer: label.to_string(),
                    message: "the pull was cancelled".into(),
                }
                .into(),
            ));
        }
        let buf = match rest.next_buffer() {
            Ok(Some(buf)) => buf,
            Ok(None) => break,
            Err(e) => {
                return Err(Failed::Other(
                    ArtifactError::Layer {
                        layer: label.to_string(),
                        message: e.to_string(),
                    }
                    .into(),
                ))
            }
        };
        if hasher.len() + buf.len() as u64 > size {
            return Err(Failed::Wrong(format!(
                "blob {expected} is larger than its declared {size} bytes"
            )));
        }
        hasher.update(&buf);
        file.write_all(&buf).map_err(file_error)?;
    }
    let len = hasher.len();
    let got = hasher.finish();
    if len != size || &got != expected {
        return Err(Failed::Wrong(format!(
            "blob content does not match its digest: expected {expected} ({size} bytes), got {got} ({len} bytes)"
        )));
    }
    Ok(())
}
