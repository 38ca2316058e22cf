//! Temporary files a run killed mid-write left in a layout: an upload's file (locked by its
//! writer while it is written, so one no process holds is dead) and an atomic write's file
//! (written and renamed in a moment, under the index lock for `index.json`). Swept under the
//! index lock whenever a write session starts and at garbage collection, so nothing half-written
//! outlives the next run.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Prefix of a blob upload's temporary file, in the repository's folder.
pub(super) const UPLOAD_PREFIX: &str = ".packreg-upload-";
/// Prefix of [`crate::fsutil::write_atomic`]'s temporary files.
const ATOMIC_PREFIX: &str = ".packreg-tmp-";
/// An atomic write's temporary file lives for milliseconds; older than this it is a leftover.
const ATOMIC_STALE_AFTER: Duration = Duration::from_secs(60);

/// Removes from the layout at `dir` the upload files no writer holds that were last written
/// before `opened` (when this run opened the store: nothing this run writes is touched), and
/// atomic-write files older than [`ATOMIC_STALE_AFTER`]. Returns how many went. Failures are
/// only logged: a leftover costs disk space, never correctness.
pub(super) fn sweep_stale(dir: &Path, opened: SystemTime) -> usize {
    let now = SystemTime::now();
    let mut removed = 0;
    for folder in [dir.to_path_buf(), dir.join("blobs").join("sha256")] {
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let modified = meta.modified().unwrap_or(now);
            let stale = if name.starts_with(UPLOAD_PREFIX) {
                modified < opened && !held_by_a_writer(&entry.path())
            } else if name.starts_with(ATOMIC_PREFIX) {
                now.duration_since(modified)
                    .is_ok_and(|age| age > ATOMIC_STALE_AFTER)
            } else {
                false
            };
            if stale {
                match fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) => tracing::debug!("{}: left in place: {e}", entry.path().display()),
                }
            }
        }
    }
    if removed > 0 {
        tracing::info!(
            "{}: removed {removed} temporary file(s) an interrupted run left",
            dir.display()
        );
    }
    removed
}

/// Whether a live writer holds the upload file at `path` locked.
fn held_by_a_writer(path: &Path) -> bool {
    let Ok(file) = fs::File::options().read(true).write(true).open(path) else {
        return true;
    };
    match file.try_lock() {
        Ok(()) => false,
        Err(fs::TryLockError::WouldBlock) => true,
        Err(fs::TryLockError::Error(_)) => true,
    }
}
