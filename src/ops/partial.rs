//! Large blob downloads kept across runs: the bytes received so far are appended to
//! `$XDG_CACHE_HOME/packreg/downloads/<digest>.partial` (else `~/.cache/packreg/downloads/`)
//! as they pass, so a pull that was interrupted continues with a Range request from there the
//! next time. Kept bytes are completed and verified as a whole before anything reads them
//! (another registry, even a hostile one, may have sent them); when the whole proves wrong
//! they are removed and the blob is downloaded again from byte 0 in the same run. The file is
//! removed once the blob is used.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::gather::Gathered;
use crate::digest::Digest;

/// Blobs at least this large keep their partial bytes.
pub const PARTIAL_MIN: u64 = 16 * 1024 * 1024;

/// The folder holding partial downloads in the cache folder `cache`.
pub fn downloads_dir(cache: &Path) -> PathBuf {
    cache.join("downloads")
}

/// A partial download: the bytes an earlier run received, and the file new ones go to.
pub(crate) struct Partial {
    path: PathBuf,
    /// Bytes already on disk.
    pub have: u64,
}

impl Partial {
    /// The partial file of blob `digest` (`size` bytes) in the cache folder `cache`, created
    /// empty when there is none. None when the folder cannot be used (the download then simply
    /// is not kept).
    pub(crate) fn open(cache: &Path, digest: &Digest, size: u64) -> Option<Partial> {
        let dir = downloads_dir(cache);
        std::fs::create_dir_all(&dir).ok()?;
        let path = dir.join(format!("{}.partial", digest.hex()));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .ok()?;
        let mut have = file.metadata().ok()?.len();
        if have > size {
            // Not this blob's bytes: start again.
            file.set_len(0).ok()?;
            have = 0;
        }
        crate::resume::keep_download(&path, digest.as_str(), size);
        Some(Partial { path, have })
    }

    /// The file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The folder holding the file.
    pub(crate) fn folder(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// The bytes on disk followed by `rest` (the blob from `have` on), appending `rest` to the
    /// file as it arrives.
    pub(crate) fn reader(&self, rest: Gathered) -> std::io::Result<impl Read> {
        let existing = File::open(&self.path)?.take(self.have);
        let sink = std::fs::OpenOptions::new().append(true).open(&self.path)?;
        Ok(existing.chain(rest.tee_into(sink)))
    }

    /// Whether the file holds at least `size` bytes: everything arrived.
    pub(crate) fn is_complete(&self, size: u64) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|m| m.len() >= size)
    }

    /// The same file, now holding the whole blob of `size` bytes (checked).
    pub(crate) fn whole(self, size: u64) -> Partial {
        Partial {
            path: self.path,
            have: size,
        }
    }

    /// Forgets the partial bytes (the blob is complete, or they proved wrong).
    pub(crate) fn remove(self) {
        crate::resume::forget_download(&self.path);
        let _ = std::fs::remove_file(&self.path);
    }

    /// After a failed download: keeps the bytes when the blob is still incomplete (the next
    /// run continues), removes them when the whole blob was there and still failed.
    pub(crate) fn keep_if_incomplete(self, size: u64) {
        if self.is_complete(size) {
            self.remove();
        }
    }
}
