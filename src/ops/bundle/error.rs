//! What can be wrong with a bundle, as facts the command line words (byte offsets and entry
//! names, never advice).

use std::path::PathBuf;

/// A bundle that cannot be written where asked, or read because it is damaged.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// `export` would replace a file.
    #[error("{}: exists; nothing was written", .path.display())]
    Exists {
        /// The bundle asked for.
        path: PathBuf,
    },
    /// The file ends inside an entry's header or content.
    #[error("{}: the bundle ends inside entry {entry} at byte {at}{}; it is truncated; nothing was imported", .path.display(), missing(*.at, *.end))]
    Truncated {
        /// The bundle.
        path: PathBuf,
        /// The entry cut off (its name, or the header after the last whole entry).
        entry: String,
        /// The file's length.
        at: u64,
        /// Where the entry would have ended, when its header was read.
        end: Option<u64>,
    },
    /// The file ends after a whole entry without the tar end marker: entries after it are
    /// gone.
    #[error("{}: the bundle ends after entry {last} at byte {at} without the tar end marker; it is truncated; nothing was imported", .path.display())]
    NoEnd {
        /// The bundle.
        path: PathBuf,
        /// The last whole entry ("no entry" for an empty file).
        last: String,
        /// The file's length.
        at: u64,
    },
    /// A header that does not parse, or other bytes that are not a tar.
    #[error("{}: the bundle is corrupt at byte {at} (after entry {after}): {message}; nothing was imported", .path.display())]
    Corrupt {
        /// The bundle.
        path: PathBuf,
        /// The byte where reading failed.
        at: u64,
        /// The last entry read whole.
        after: String,
        /// What the tar reader found.
        message: String,
    },
    /// The bundle's table of contents names something the bundle does not hold.
    #[error("{}: the bundle's contents list {what}, which it does not hold (it was truncated or edited); nothing was imported", .path.display())]
    Incomplete {
        /// The bundle.
        path: PathBuf,
        /// What is missing (`pack webapp version 1.0.0 (sha256:…)`).
        what: String,
    },
    /// The table of contents does not parse or is too large.
    #[error("{}: the bundle's contents entry ({entry}) cannot be read: {message}; nothing was imported", .path.display())]
    BadContents {
        /// The bundle.
        path: PathBuf,
        /// The entry's name.
        entry: String,
        /// Why.
        message: String,
    },
}

fn missing(at: u64, end: Option<u64>) -> String {
    match end {
        Some(end) => format!(
            " ({} more bytes of it were expected)",
            end.saturating_sub(at)
        ),
        None => String::new(),
    }
}
