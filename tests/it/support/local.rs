//! A local store in a temporary folder, for the tests of what packreg does on disk. Each
//! command runs with a private HOME of its own (see [`super::packreg`]).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{ok, packreg};

/// A local store (`<root>/store`) and room for the test's files.
pub struct Env {
    _tmp: tempfile::TempDir,
    /// The temporary folder.
    pub root: PathBuf,
    /// `oci:<root>/store`.
    pub registry: String,
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    /// A new empty store.
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let registry = format!("oci:{}", root.join("store").display());
        Env {
            _tmp: tmp,
            root,
            registry,
        }
    }

    /// Runs packreg against the store.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        let mut full = vec!["-r", self.registry.as_str()];
        full.extend_from_slice(args);
        packreg(&full)
    }

    /// Runs packreg against the store with `--json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.run(&full);
        serde_json::from_str(&ok(&out)).unwrap()
    }

    /// A path inside the temporary folder.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The OCI layout of pack repository `name`.
    pub fn repo_dir(&self, name: &str) -> PathBuf {
        self.root.join("store/spectro-packs/archive").join(name)
    }

    /// Writes a copy of testdata pack `name` with pack.json's version set to `version`.
    pub fn pack_version(&self, name: &str, version: &str) -> PathBuf {
        super::pack_with_version(&self.path(&format!("src-{name}-{version}")), name, version)
    }

    /// Pushes a copy of testdata pack `name` at `version`; returns the manifest digest.
    pub fn push_version(&self, name: &str, version: &str) -> String {
        let dir =
            super::pack_with_version(&self.path(&format!("src-{name}-{version}")), name, version);
        let pushed = self.json(&["push", dir.to_str().unwrap()]);
        pushed["digest"].as_str().unwrap().to_string()
    }

    /// The file of blob `digest` in pack repository `name`.
    pub fn blob(&self, name: &str, digest: &str) -> PathBuf {
        self.repo_dir(name)
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    }

    /// Config and layer digests of manifest `digest`.
    pub fn referenced(&self, name: &str, digest: &str) -> Vec<String> {
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(self.blob(name, digest)).unwrap()).unwrap();
        let mut out = vec![manifest["config"]["digest"].as_str().unwrap().to_string()];
        for layer in manifest["layers"].as_array().unwrap() {
            out.push(layer["digest"].as_str().unwrap().to_string());
        }
        out
    }

    /// The blob files of pack repository `name`.
    pub fn stored_blobs(&self, name: &str) -> std::collections::BTreeSet<String> {
        std::fs::read_dir(self.repo_dir(name).join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }

    /// Rewrites the index.json of pack repository `name`.
    pub fn edit_index(&self, name: &str, edit: impl FnOnce(&mut Value)) {
        let path = self.repo_dir(name).join("index.json");
        let mut index: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        edit(&mut index);
        std::fs::write(&path, serde_json::to_vec(&index).unwrap()).unwrap();
    }
}

/// Blobs stored in the OCI layout `repo_dir`, and blobs its index reaches.
pub fn blob_accounting(repo_dir: &Path) -> (usize, usize) {
    let stored = std::fs::read_dir(repo_dir.join("blobs/sha256"))
        .unwrap()
        .count();
    let index: Value =
        serde_json::from_slice(&std::fs::read(repo_dir.join("index.json")).unwrap()).unwrap();
    let mut reached = std::collections::BTreeSet::new();
    for desc in index["manifests"].as_array().unwrap() {
        let digest = desc["digest"].as_str().unwrap().to_string();
        let hex = digest.trim_start_matches("sha256:");
        let manifest: Value = serde_json::from_slice(
            &std::fs::read(repo_dir.join("blobs/sha256").join(hex)).unwrap(),
        )
        .unwrap();
        reached.insert(digest);
        reached.insert(manifest["config"]["digest"].as_str().unwrap().to_string());
        for layer in manifest["layers"].as_array().unwrap() {
            reached.insert(layer["digest"].as_str().unwrap().to_string());
        }
    }
    (stored, reached.len())
}

/// The tags the index of the OCI layout `repo_dir` names, sorted.
pub fn layout_tags(repo_dir: &Path) -> Vec<String> {
    let index: Value =
        serde_json::from_slice(&std::fs::read(repo_dir.join("index.json")).unwrap()).unwrap();
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
