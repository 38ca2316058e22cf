//! Hostile local stores and bundles: each test crafts the bad input itself and checks
//! that nothing is lost, nothing escapes and the user is told what happened.

use crate::support as common;

mod craft;
mod files;
mod fuzz_corpus;
// The fuzz targets' entry points (fuzz/src/harness.rs), replayed and property-tested here.
mod gc;
#[path = "../../../fuzz/src/harness.rs"]
mod harness;
mod local;
mod mirror;
mod properties;
mod pull;
mod rm;
mod terminal;

use std::path::{Path, PathBuf};

use common::{ok, packreg};
use serde_json::Value;

/// A local store in a temporary folder.
pub(crate) struct Env {
    _tmp: tempfile::TempDir,
    pub(crate) root: PathBuf,
    pub(crate) registry: String,
}

impl Env {
    pub(crate) fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let registry = format!("oci:{}", root.join("store").display());
        Env {
            _tmp: tmp,
            root,
            registry,
        }
    }

    pub(crate) fn run(&self, args: &[&str]) -> std::process::Output {
        let mut full = vec!["-r", self.registry.as_str()];
        full.extend_from_slice(args);
        packreg(&full)
    }

    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        serde_json::from_str(&ok(&self.run(&full))).unwrap()
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub(crate) fn repo_dir(&self, name: &str) -> PathBuf {
        self.root.join("store/spectro-packs/archive").join(name)
    }

    /// Pushes a copy of testdata pack `name` at `version`; returns the manifest digest.
    pub(crate) fn push_version(&self, name: &str, version: &str) -> String {
        let dir =
            common::pack_with_version(&self.path(&format!("src-{name}-{version}")), name, version);
        let pushed = self.json(&["push", s(&dir)]);
        pushed["digest"].as_str().unwrap().to_string()
    }

    /// The file of blob `digest` in pack repository `name`.
    pub(crate) fn blob(&self, name: &str, digest: &str) -> PathBuf {
        self.repo_dir(name)
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    }

    /// Config and layer digests of manifest `digest`.
    pub(crate) fn referenced(&self, name: &str, digest: &str) -> Vec<String> {
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(self.blob(name, digest)).unwrap()).unwrap();
        let mut out = vec![manifest["config"]["digest"].as_str().unwrap().to_string()];
        for layer in manifest["layers"].as_array().unwrap() {
            out.push(layer["digest"].as_str().unwrap().to_string());
        }
        out
    }

    pub(crate) fn stored_blobs(&self, name: &str) -> std::collections::BTreeSet<String> {
        std::fs::read_dir(self.repo_dir(name).join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }

    pub(crate) fn edit_index(&self, name: &str, edit: impl FnOnce(&mut Value)) {
        let path = self.repo_dir(name).join("index.json");
        let mut index: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        edit(&mut index);
        std::fs::write(&path, serde_json::to_vec(&index).unwrap()).unwrap();
    }
}

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Tags of a pack in a local store tree `root`.
pub(crate) fn tags_in(root: &Path, name: &str) -> Vec<String> {
    let path = root
        .join("spectro-packs/archive")
        .join(name)
        .join("index.json");
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let index: Value = serde_json::from_slice(&bytes).unwrap();
    let mut tags: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .map(str::to_string)
        .collect();
    tags.sort();
    tags
}
