//! What makes the CLI install like one: shell completions, a man page per command,
//! `--version` naming the commit, and the Debian package scripts/build-deb.sh builds with
//! cargo-deb (unpacked here into a temporary root with `dpkg -x`, then run).

use crate::support as common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::{ok, stderr, stdout, Sandbox};

/// Every command path (`["tag", "add"]`) the help output lists, the `help` pseudo-command
/// excepted.
fn command_paths(sb: &Sandbox, parent: &[&str]) -> Vec<Vec<String>> {
    let mut args: Vec<&str> = parent.to_vec();
    args.push("--help");
    let help = ok(&sb.run(&args));
    let mut paths = Vec::new();
    let section = help.split("Commands:\n").nth(1).unwrap_or("");
    for line in section.lines().take_while(|l| l.starts_with("  ")) {
        let name = line.split_whitespace().next().unwrap_or("");
        if name.is_empty() || name == "help" {
            continue;
        }
        let mut path: Vec<String> = parent.iter().map(|s| s.to_string()).collect();
        path.push(name.to_string());
        let child: Vec<&str> = path.iter().map(String::as_str).collect();
        paths.extend(command_paths(sb, &child));
        paths.push(path);
    }
    paths
}

/// The man page names a command path should have: `packreg-tag-add.1`.
fn page_names(paths: &[Vec<String>]) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = paths
        .iter()
        .map(|p| format!("packreg-{}.1", p.join("-")))
        .collect();
    names.insert("packreg.1".into());
    names
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_man_page_per_command() {
    let sb = Sandbox::new();
    let paths = command_paths(&sb, &[]);
    assert!(paths.iter().any(|p| p == &["tag", "add"]), "{paths:?}");
    assert!(paths.iter().any(|p| p == &["diff"]), "{paths:?}");
    let dir = sb.path("man/pages");
    ok(&sb.run(&["man", "-o", dir.to_str().unwrap()]));
    assert_eq!(files_in(&dir), page_names(&paths));
    let diff_page = std::fs::read_to_string(dir.join("packreg-diff.1")).unwrap();
    assert!(diff_page.starts_with(".ie"), "a roff page: {diff_page}");
    assert!(diff_page.contains("\\-\\-from\\-registry"), "{diff_page}");

    // Without -o, into the current folder.
    let cwd = sb.home.path();
    ok(&sb.run(&["man", "--quiet"]));
    assert!(cwd.join("packreg-push.1").is_file());
}

#[test]
fn a_completion_script_per_shell() {
    let sb = Sandbox::new();
    let expect = [
        ("bash", "complete -F _packreg"),
        ("zsh", "#compdef packreg"),
        ("fish", "complete -c packreg"),
        ("powershell", "Register-ArgumentCompleter"),
    ];
    for (shell, marker) in expect {
        let script = ok(&sb.run(&["completions", shell]));
        assert!(script.contains(marker), "{shell}: {script}");
        // Every command is offered, diff and the new ones included.
        for command in ["push", "diff", "mirror", "completions", "man"] {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
    }
    let bad = sb.run(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let sb = Sandbox::new();
    let version = ok(&sb.run(&["--version"]));
    let head = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let crate_version = env!("CARGO_PKG_VERSION");
    match head {
        // Built in a git checkout: build.rs reruns when HEAD moves, so the binary names it.
        Some(head) => assert_eq!(
            version.trim(),
            format!("packreg {crate_version} (commit {head})")
        ),
        None => assert_eq!(version.trim(), format!("packreg {crate_version}")),
    }
}

#[test]
fn the_package_installs_a_working_binary_man_pages_and_completions() {
    require_peers!("dpkg", "dpkg-deb", "gzip");
    let root_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The dev profile reuses what `cargo test` built; scripts/build-deb.sh defaults to release.
    let start = std::time::Instant::now();
    let build = Command::new("bash")
        .arg(root_dir.join("scripts/build-deb.sh"))
        .env("PACKREG_DEB_PROFILE", "dev")
        .current_dir(root_dir)
        .output()
        .unwrap();
    eprintln!("scripts/build-deb.sh took {:?}", start.elapsed());
    let built = ok(&build);
    let deb = root_dir.join(built.lines().last().expect("the script prints the .deb"));
    assert!(deb.is_file(), "{}", deb.display());

    let field = |name: &str| {
        let out = Command::new("dpkg-deb")
            .arg("-f")
            .arg(&deb)
            .arg(name)
            .output()
            .unwrap();
        ok(&out).trim().to_string()
    };
    assert_eq!(field("Package"), "packreg");
    assert_eq!(field("Version"), format!("{}-1", env!("CARGO_PKG_VERSION")));

    let sb = Sandbox::new();
    let root = sb.path("root");
    let extract = Command::new("dpkg")
        .arg("-x")
        .arg(&deb)
        .arg(&root)
        .output()
        .unwrap();
    assert!(extract.status.success(), "{}", stderr(&extract));

    // The installed binary runs and names its commit.
    let installed = root.join("usr/bin/packreg");
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert!(
        stdout(&version).starts_with(&format!("packreg {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{}",
        stdout(&version)
    );
    let validate = Command::new(&installed)
        .arg("validate")
        .arg(root_dir.join("testdata/packs/shop"))
        .env("HOME", sb.home.path())
        .output()
        .unwrap();
    assert!(validate.status.success(), "{}", stderr(&validate));

    // A man page per command, compressed as Debian wants them.
    let man = root.join("usr/share/man/man1");
    let paths = command_paths(&sb, &[]);
    for page in page_names(&paths) {
        let file = man.join(format!("{page}.gz"));
        assert!(file.is_file(), "{} missing", file.display());
        let text = Command::new("gzip").arg("-dc").arg(&file).output().unwrap();
        assert!(stdout(&text).contains(".TH"), "{page} is not a man page");
    }

    let bash = root.join("usr/share/bash-completion/completions/packreg");
    let script = std::fs::read_to_string(&bash).unwrap();
    assert!(script.contains("complete -F _packreg"), "{script}");
    assert!(root
        .join("usr/share/zsh/vendor-completions/_packreg")
        .is_file());
    assert!(root
        .join("usr/share/fish/vendor_completions.d/packreg.fish")
        .is_file());
}
