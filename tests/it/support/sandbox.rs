//! The one isolation of the tests: every packreg a test runs gets a private HOME, XDG folders
//! and DOCKER_CONFIG, so no test reads or writes the user's credentials, settings, blob cache
//! or embedded store, and no variable of the runner's environment changes its defaults.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::ok;

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

/// Variables of the runner's environment that would change packreg's defaults.
const DEFAULT_CHANGERS: &[&str] = &[
    "PACKREG_REGISTRY",
    "PACKREG_FORMAT",
    "PACKREG_MAX_UNPACKED_BYTES",
    "PACKREG_MAX_UNPACK_RATIO",
    "PACKREG_MAX_ENTRIES",
    "PACKREG_MAX_TAR_HEADER_BYTES",
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
    cmd.env_remove("RUST_LOG");
    for var in DEFAULT_CHANGERS {
        cmd.env_remove(var);
    }
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

/// A private HOME (XDG folders and docker config inside it) for the packreg commands of one
/// test, with room for the test's own files and a local store (`store/`).
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

    /// A new folder inside the sandbox.
    pub fn dir(&self, rel: &str) -> PathBuf {
        let dir = self.path(rel);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The sandbox's local store folder.
    pub fn store(&self) -> PathBuf {
        self.path("store")
    }

    /// `oci:<store>`, the `-r` of the sandbox's local store.
    pub fn registry(&self) -> String {
        format!("oci:{}", self.store().display())
    }

    /// Runs packreg against the sandbox's store in `cwd`.
    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Output {
        self.run_env(cwd, &[], args)
    }

    /// Runs packreg against the sandbox's store in `cwd` with extra environment variables.
    pub fn run_env(&self, cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
        self.run_at(cwd, &self.registry(), env, args)
    }

    /// Runs packreg against `registry` in `cwd` with extra environment variables.
    pub fn run_at(
        &self,
        cwd: &Path,
        registry: &str,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Output {
        let mut cmd = packreg_command(self.home.path());
        cmd.args(["-r", registry]).args(args).current_dir(cwd);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("packreg runs")
    }
}
