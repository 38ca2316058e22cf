//! The pack folder model: `pack.json`, values, charts and the files that travel with them.
//! This layer knows nothing of OCI.

pub mod build;
pub mod chart;
pub mod chart_icon;
pub mod chart_images;
pub mod meta;
pub mod rules;
pub mod tree;
pub mod validate;

use std::path::{Path, PathBuf};

pub use meta::PackJson;
pub use tree::{EntryKind, Tree, TreeEntry, IGNORE_FILE};
pub use validate::{validate, Finding, Report, Severity};

use crate::error::PackError;

/// A loaded pack folder: its metadata, the exact pack.json bytes and its files.
#[derive(Debug, Clone)]
pub struct Pack {
    /// Parsed pack.json.
    pub meta: PackJson,
    /// pack.json exactly as on disk (artifacts carry these bytes, never a rewrite).
    pub pack_json: Vec<u8>,
    /// The files that belong to the pack.
    pub tree: Tree,
}

impl Pack {
    /// Loads the pack at `dir`: scans its files and parses pack.json. Does not validate.
    pub fn load(dir: &Path) -> Result<Pack, PackError> {
        let tree = Tree::scan(dir, IGNORE_FILE)?;
        if !tree.has_file("pack.json") {
            return Err(PackError::MissingPackJson(dir.into()));
        }
        let path = dir.join("pack.json");
        let pack_json = std::fs::read(&path).map_err(|e| PackError::io(&path, e))?;
        let meta = PackJson::parse(&pack_json).map_err(|(field, message)| PackError::PackJson {
            path: path.clone(),
            field: if field.is_empty() {
                String::new()
            } else {
                format!("{field}: ")
            },
            message,
        })?;
        Ok(Pack {
            meta,
            pack_json,
            tree,
        })
    }

    /// The pack folder.
    pub fn root(&self) -> &PathBuf {
        &self.tree.root
    }

    /// Pack name from pack.json.
    pub fn name(&self) -> &str {
        self.meta.name()
    }

    /// Pack version from pack.json.
    pub fn version(&self) -> &str {
        self.meta.version()
    }
}
