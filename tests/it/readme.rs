//! The README's main-job command, pasted as a new user would, with `cargo run --release --`
//! standing for the packreg binary and a private data folder.

use crate::support as common;

use std::process::Command;

fn run_it_command() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## Run it")
        .nth(1)
        .expect("README has a Run it section");
    let block = section.split("```sh\n").nth(1).expect("a sh block");
    block.split("```").next().unwrap().trim().to_string()
}

#[test]
fn readme_main_job_works() {
    let command = run_it_command();
    assert!(
        command.contains("push") && command.contains("pull"),
        "{command}"
    );
    let binary = env!("CARGO_BIN_EXE_packreg");
    let script = command.replace("cargo run --release --", binary);
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("bash");
    common::isolate(&mut cmd, tmp.path(), &[]);
    let out = cmd
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("XDG_DATA_HOME", tmp.path().join("data"))
        .env("TMPDIR", tmp.path())
        .env_remove("PACKREG_REGISTRY")
        .env_remove("PACKREG_FORMAT")
        .output()
        .unwrap();
    let text = common::ok(&out);
    assert!(text.contains("pulled pack is identical"), "{text}");
    assert!(tmp
        .path()
        .join("data/packreg/store/spectro-packs/archive/shop/index.json")
        .is_file());
}

/// The Markdown files whose links are checked: README.md and every page under docs/.
fn markdown_files() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The targets of the `[text](target)` links of a Markdown text, outside code blocks and code
/// spans.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        // Code spans dropped: what is between backticks is not a link.
        let prose: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, part)| part)
            .collect::<Vec<_>>()
            .join(" ");
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            targets.push(after[..end].trim().to_string());
            rest = &after[end..];
        }
    }
    targets
}

/// A heading's anchor as GitHub makes it: lowercase, punctuation dropped, spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    let mut in_block = false;
    let mut found = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
        } else if !in_block && line.starts_with('#') {
            found.push(anchor(line.trim_start_matches('#')));
        }
    }
    found
}

/// Every relative link of README.md and docs/ points at a file that exists, and an anchor in
/// it at a heading of that file, so moving or renaming a page cannot leave a dead link.
#[test]
fn relative_links_point_at_existing_files_and_headings() {
    let files = markdown_files();
    assert!(files.len() > 5, "{files:?}");
    let mut dead = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = match target.split_once('#') {
                Some((path, fragment)) => (path, Some(fragment)),
                None => (target.as_str(), None),
            };
            let linked = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            checked += 1;
            if !linked.exists() {
                dead.push(format!("{}: {target}: no such file", file.display()));
                continue;
            }
            let Some(fragment) = fragment else { continue };
            let headings = std::fs::read_to_string(&linked)
                .map(|t| anchors(&t))
                .unwrap_or_default();
            if !headings.iter().any(|h| h == fragment) {
                dead.push(format!("{}: {target}: no such heading", file.display()));
            }
        }
    }
    assert!(checked > 20, "only {checked} links found");
    assert!(dead.is_empty(), "dead links:\n{}", dead.join("\n"));
}

#[test]
fn link_targets_skip_code() {
    let text = "a [x](a.md) `[y](b.md)` [z](c.md#d)\n```\n[w](e.md)\n```\n";
    assert_eq!(link_targets(text), ["a.md", "c.md#d"]);
    assert_eq!(
        anchor(" Credentials: login and logout"),
        "credentials-login-and-logout"
    );
}

/// The `PACKREG_*` names in `text`, whole (a name cut short, as in `PACKREG_MAX_*`, is left
/// out).
fn packreg_variables(text: &str, into: &mut std::collections::BTreeSet<String>) {
    let mut rest = text;
    while let Some(at) = rest.find("PACKREG_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        if !name.ends_with('_') {
            into.insert(name);
        }
    }
}

/// docs/settings.md's table names every `PACKREG_*` variable the code, the build, the scripts
/// and the tests read, and no other. `PACKREG_VERSION` is not one: build.rs hands it to the
/// compiler for `--version`.
#[test]
fn every_packreg_variable_is_in_the_settings_table() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut in_code = std::collections::BTreeSet::new();
    let mut dirs = vec![root.join("src"), root.join("scripts"), root.join("tests")];
    packreg_variables(
        &std::fs::read_to_string(root.join("build.rs")).unwrap(),
        &mut in_code,
    );
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "rs" || e == "sh" || e == "py")
            {
                packreg_variables(&std::fs::read_to_string(&path).unwrap(), &mut in_code);
            }
        }
    }
    in_code.remove("PACKREG_VERSION");
    assert!(in_code.contains("PACKREG_TIMEOUT"), "{in_code:?}");
    let settings = std::fs::read_to_string(root.join("docs/settings.md")).unwrap();
    let table: String = settings
        .lines()
        .filter(|l| l.starts_with('|'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut in_table = std::collections::BTreeSet::new();
    packreg_variables(&table, &mut in_table);
    assert_eq!(
        in_code, in_table,
        "docs/settings.md's table and the code name different PACKREG_* variables"
    );
}
