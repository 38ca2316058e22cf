//! Hostile local stores and bundles (issue 9): each test crafts the bad input itself and checks
//! that nothing is lost, nothing escapes and the user is told what happened.

mod common;

use std::path::{Path, PathBuf};

use common::{ok, packreg, stderr};
use serde_json::Value;

/// A local store in a temporary folder.
struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    registry: String,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let registry = format!("oci:{}", root.join("store").display());
        Env {
            _tmp: tmp,
            root,
            registry,
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut full = vec!["-r", self.registry.as_str()];
        full.extend_from_slice(args);
        packreg(&full)
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        serde_json::from_str(&ok(&self.run(&full))).unwrap()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn repo_dir(&self, name: &str) -> PathBuf {
        self.root.join("store/spectro-packs/archive").join(name)
    }

    /// Pushes a copy of testdata pack `name` at `version`; returns the manifest digest.
    fn push_version(&self, name: &str, version: &str) -> String {
        let dir =
            common::pack_with_version(&self.path(&format!("src-{name}-{version}")), name, version);
        let pushed = self.json(&["push", s(&dir)]);
        pushed["digest"].as_str().unwrap().to_string()
    }

    /// The file of blob `digest` in pack repository `name`.
    fn blob(&self, name: &str, digest: &str) -> PathBuf {
        self.repo_dir(name)
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    }

    /// Config and layer digests of manifest `digest`.
    fn referenced(&self, name: &str, digest: &str) -> Vec<String> {
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(self.blob(name, digest)).unwrap()).unwrap();
        let mut out = vec![manifest["config"]["digest"].as_str().unwrap().to_string()];
        for layer in manifest["layers"].as_array().unwrap() {
            out.push(layer["digest"].as_str().unwrap().to_string());
        }
        out
    }

    fn stored_blobs(&self, name: &str) -> std::collections::BTreeSet<String> {
        std::fs::read_dir(self.repo_dir(name).join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }

    fn edit_index(&self, name: &str, edit: impl FnOnce(&mut Value)) {
        let path = self.repo_dir(name).join("index.json");
        let mut index: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        edit(&mut index);
        std::fs::write(&path, serde_json::to_vec(&index).unwrap()).unwrap();
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Item 6: garbage collection keeps every blob when a reachable manifest is in doubt.
#[test]
fn garbage_collection_keeps_everything_when_a_manifest_is_in_doubt() {
    type Craft = fn(&Env, &str);
    let cases: [(&str, Craft); 4] = [
        ("edited", |env, digest| {
            let path = env.blob("hello-manifests", digest);
            let mut bytes = std::fs::read(&path).unwrap();
            let at = bytes.len() / 2;
            bytes[at] ^= 0x20;
            std::fs::write(&path, bytes).unwrap();
        }),
        ("missing", |env, digest| {
            std::fs::remove_file(env.blob("hello-manifests", digest)).unwrap();
        }),
        ("unrecognised", |env, digest| {
            let digest = digest.to_string();
            env.edit_index("hello-manifests", move |index| {
                for d in index["manifests"].as_array_mut().unwrap() {
                    if d["digest"] == digest.as_str() {
                        d["mediaType"] = "application/vnd.example.future.manifest+json".into();
                    }
                }
            });
        }),
        ("over 4 MiB", |env, digest| {
            // The same manifest with a 5 MiB annotation, stored under its own digest and
            // listed in place of the original.
            let path = env.blob("hello-manifests", digest);
            let mut manifest: Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            manifest["annotations"]["padding"] = "x".repeat(5 << 20).into();
            let bytes = serde_json::to_vec(&manifest).unwrap();
            let big = packreg::digest::Digest::of(&bytes).to_string();
            std::fs::write(env.blob("hello-manifests", &big), &bytes).unwrap();
            std::fs::remove_file(&path).unwrap();
            let (digest, size) = (digest.to_string(), bytes.len());
            env.edit_index("hello-manifests", move |index| {
                for d in index["manifests"].as_array_mut().unwrap() {
                    if d["digest"] == digest.as_str() {
                        d["digest"] = big.clone().into();
                        d["size"] = size.into();
                    }
                }
            });
        }),
    ];
    for (what, craft) in cases {
        let env = Env::new();
        let kept = env.push_version("hello-manifests", "1.0.0");
        env.push_version("hello-manifests", "2.0.0");
        ok(&env.run(&["tag", "add", "hello-manifests:2.0.0", "stable"]));
        let needed = env.referenced("hello-manifests", &kept);
        craft(&env, &kept);
        let before = env.stored_blobs("hello-manifests");

        // Removing a label collects garbage without reading the other versions' manifests.
        let out = env.run(&["tag", "rm", "hello-manifests:stable"]);
        let msg = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{what}: {msg}");
        for digest in &needed {
            assert!(
                env.blob("hello-manifests", digest).is_file(),
                "{what}: {digest}, referenced by 1.0.0, was collected"
            );
        }
        assert_eq!(
            env.stored_blobs("hello-manifests"),
            before,
            "{what}: nothing collected"
        );
        assert!(
            msg.contains("garbage collection kept every blob") && msg.contains("index.json"),
            "{what}: the user is told why nothing was collected: {msg}"
        );
        let index =
            std::fs::read_to_string(env.repo_dir("hello-manifests").join("index.json")).unwrap();
        assert!(
            !index.contains("\"stable\""),
            "{what}: the label is still removed"
        );
    }
}
