//! A setting's value and where it comes from, as `config show` prints them.

use std::fmt;
use std::path::PathBuf;

/// Where a setting's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// An environment variable.
    Env(&'static str),
    /// The settings file, at the top level.
    File(PathBuf),
    /// The settings file, in the section of one registry.
    Registry {
        /// The file.
        path: PathBuf,
        /// The section's host.
        host: String,
    },
    /// packreg's built-in default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("flag"),
            Source::Env(var) => write!(f, "env {var}"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Registry { path, host } => {
                write!(f, "file {} [registries.\"{host}\"]", path.display())
            }
            Source::Default => f.write_str("default"),
        }
    }
}

impl serde::Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A setting's value in force and its source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// Where it comes from.
    pub source: Source,
}
