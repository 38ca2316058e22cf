//! Helpers shared by the integration tests.
#![allow(dead_code)]

#[macro_use]
mod peers;
#[macro_use]
mod backend;
pub mod connect_proxy;
pub mod fake_registry;
pub mod fault_proxy;
pub mod local;
pub mod oras;
pub mod registry;
mod sandbox;
pub mod store;

pub use backend::{Backend, TestStore};
pub use peers::peers_available;
pub use sandbox::{isolate, packreg, packreg_command, packreg_env, packreg_in, Sandbox};

use std::path::{Path, PathBuf};
use std::process::Output;

/// The repository's testdata folder.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// A testdata pack folder.
pub fn pack(name: &str) -> PathBuf {
    testdata().join("packs").join(name)
}

/// The good packs in testdata.
pub const GOOD_PACKS: &[&str] = &["hello-manifests", "shop", "probe", "hardened-os"];

/// A path as text (the tests' paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Copies a folder recursively (files and folders only).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A file's bytes and execute bit; None for a folder.
pub type Content = Option<(Vec<u8>, bool)>;

/// Every file under `root` (relative path, bytes, executable bit), and every folder.
pub fn snapshot(root: &Path) -> Vec<(String, Content)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let md = std::fs::metadata(&path).unwrap();
            if md.is_dir() {
                out.push((rel, None));
                stack.push(path);
            } else {
                let exec = md.permissions().mode() & 0o111 != 0;
                out.push((rel, Some((std::fs::read(&path).unwrap(), exec))));
            }
        }
    }
    out.sort();
    out
}

/// Asserts a command succeeded, showing its output when not.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

/// A copy of hello-manifests named `name` at `version`, in the sandbox's `<name>-<version>`.
pub fn named_pack(sb: &Sandbox, name: &str, version: &str) -> PathBuf {
    let dir = pack_with_version(
        &sb.path(&format!("{name}-{version}")),
        "hello-manifests",
        version,
    );
    set_pack_field(&dir, "name", name);
    dir
}

/// Copies testdata pack `name` to `dir` with pack.json's version set to `version`.
pub fn pack_with_version(dir: &Path, name: &str, version: &str) -> PathBuf {
    copy_dir(&pack(name), dir);
    set_pack_field(dir, "version", version);
    dir.to_path_buf()
}

/// Sets one top-level field of the pack.json in `dir`.
pub fn set_pack_field(dir: &Path, field: &str, value: &str) {
    let path = dir.join("pack.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    meta[field] = serde_json::Value::from(value);
    std::fs::write(&path, serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
}

/// Writes `size` random bytes to `path` (incompressible, so transfers take their time).
pub fn write_random(path: &Path, size: u64) {
    let mut random = std::fs::File::open("/dev/urandom").unwrap();
    let mut out = std::fs::File::create(path).unwrap();
    std::io::copy(&mut std::io::Read::take(&mut random, size), &mut out).unwrap();
}
