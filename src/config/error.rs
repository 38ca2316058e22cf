//! The errors of reading or writing the settings, or of a setting's value.

use std::path::PathBuf;

/// Errors of reading or writing the settings, or of a setting's value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read, locked or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file is not valid TOML.
    #[error("{path}:{line}: not valid TOML: {message}; fix the file or move it away")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The parser's explanation.
        message: String,
    },
    /// A key of the file has a value packreg cannot use.
    #[error("{path}:{line}: {key}: {message}; fix or remove the line")]
    Value {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The key, dotted (`registries."host".chunk_size`).
        key: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// An environment variable has a value packreg cannot use.
    #[error("{var}={value:?}: {message}")]
    Env {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is expected.
        message: String,
    },
}
