//! Typed errors of the pack layer. Each names the file it concerns, so the CLI can print one
//! sentence that tells the user where to look.

use std::path::PathBuf;

/// Errors raised while reading, loading or building a pack folder.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The pack folder does not exist or is not a folder.
    #[error("{0}: not a pack folder (it does not exist or is not a directory)")]
    NotADirectory(PathBuf),
    /// `pack.json` is missing from the pack folder.
    #[error("{0}: no pack.json in this folder; a pack needs one at its root")]
    MissingPackJson(PathBuf),
    /// `pack.json` is not valid JSON or does not match the expected shape.
    #[error("{path}: {field}{message}")]
    PackJson {
        /// Path of the pack.json file.
        path: PathBuf,
        /// Field path in the document, with a trailing ": " when known.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A symbolic link inside the pack points outside of it.
    #[error("{path}: symbolic link points outside the pack folder (to {target}); replace it with the file itself")]
    SymlinkOutside {
        /// The link.
        path: PathBuf,
        /// Where it points.
        target: PathBuf,
    },
    /// A `.packregignore` line is not a valid gitignore pattern.
    #[error("{path}: {message}")]
    Ignore {
        /// The ignore file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A Helm chart archive or folder is unusable.
    #[error("{path}: {message}")]
    Chart {
        /// The chart archive or folder.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The namespace a chart's pack would install into is not a Kubernetes namespace.
    #[error("{path}: namespace {namespace:?} is not a valid Kubernetes namespace")]
    BadNamespace {
        /// The chart archive or folder.
        path: PathBuf,
        /// The namespace (given, or the chart's name).
        namespace: String,
    },
    /// A pack.json field `build` would write (name, version) is one `validate` refuses.
    #[error("{path}: pack {field} {value:?} {message}")]
    BadPackField {
        /// The chart archive or folder.
        path: PathBuf,
        /// `name` or `version`.
        field: &'static str,
        /// The value given or taken from Chart.yaml.
        value: String,
        /// What is wrong, and what would be right.
        message: String,
    },
    /// The output folder of `build` already holds files.
    #[error("{0}: output folder is not empty; choose an empty or new folder")]
    OutputNotEmpty(PathBuf),
}

impl PackError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PackError::Io {
            path: path.into(),
            source,
        }
    }
}
