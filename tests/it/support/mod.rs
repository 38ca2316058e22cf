//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

/// The variables that place a user's files, with where they point inside a private HOME.
/// Every packreg a test runs gets its own, so no test reads or writes the user's real
/// credentials, hosts file, blob cache or embedded store.
pub const USER_DIRS: &[(&str, &str)] = &[
    ("HOME", ""),
    ("XDG_DATA_HOME", ".local/share"),
    ("XDG_CACHE_HOME", ".cache"),
    ("XDG_CONFIG_HOME", ".config"),
    ("XDG_STATE_HOME", ".local/state"),
    ("DOCKER_CONFIG", ".docker"),
];

/// Points every variable of [`USER_DIRS`] into `home`, except those in `set_by_test`.
pub fn isolate(cmd: &mut Command, home: &Path, set_by_test: &[&str]) {
    for (var, rel) in USER_DIRS {
        if !set_by_test.contains(var) {
            cmd.env(var, home.join(rel));
        }
    }
}

/// A packreg command with `home` as its private HOME (see [`isolate`]) and none of the
/// variables that would change its defaults.
pub fn packreg_command(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_packreg"));
    cmd.env_remove("RUST_LOG")
        .env_remove("PACKREG_REGISTRY")
        .env_remove("PACKREG_FORMAT");
    isolate(&mut cmd, home, &[]);
    cmd
}

/// Runs the packreg binary with `args`, with a private HOME and user folders.
pub fn packreg(args: &[&str]) -> Output {
    packreg_in(None, args)
}

/// Runs the packreg binary in `cwd`, with a private HOME and user folders.
pub fn packreg_in(cwd: Option<&Path>, args: &[&str]) -> Output {
    packreg_env(cwd, &[], args)
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

/// Runs packreg with extra environment variables; the user folders it does not set are
/// private to this run.
pub fn packreg_env(cwd: Option<&Path>, env: &[(&str, &Path)], args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = packreg_command(home.path());
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd.output().expect("packreg runs")
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
pub mod connect_proxy;
pub mod fake_registry;
pub mod fault_proxy;
pub mod registry;

/// A private HOME, docker config and packreg config for commands run against registries.
pub struct Sandbox {
    /// The temporary HOME.
    pub home: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A new empty sandbox.
    pub fn new() -> Sandbox {
        Sandbox {
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// A path inside the sandbox.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.home.path().join(rel)
    }

    /// Runs packreg with the sandbox's HOME, DOCKER_CONFIG and XDG folders.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None)
    }

    /// A packreg command with the sandbox as its HOME and user folders, run in it.
    pub fn command(&self) -> Command {
        let mut cmd = packreg_command(self.home.path());
        cmd.current_dir(self.home.path());
        cmd
    }

    /// Runs packreg with `stdin` as standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::Write;
        let mut cmd = self.command();
        cmd.args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("packreg runs");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        } else {
            drop(child.stdin.take());
        }
        child.wait_with_output().unwrap()
    }

    /// Runs packreg with `--json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        serde_json::from_str(&ok(&self.run(&full))).unwrap()
    }
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
