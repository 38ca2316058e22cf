//! Labels and parent tags as `ls`, `ls -q` and `inspect` show them, in text and in `--json`.

use crate::support as common;

use common::{ok, pack_with_version, s, Backend, Sandbox, TestStore};
use serde_json::{json, Value};

/// Pushes hello-manifests 1.0.0 and 1.1.0 and labels 1.0.0 `lts__stable`.
fn two_versions_one_label(sb: &Sandbox, target: &str) {
    for v in ["1.0.0", "1.1.0"] {
        let dir = pack_with_version(&sb.path(&format!("src-{v}")), "hello-manifests", v);
        sb.json(&["-r", target, "push", s(&dir)]);
    }
    sb.json(&[
        "-r",
        target,
        "tag",
        "add",
        "hello-manifests:1.0.0",
        "stable",
        "-g",
        "lts",
    ]);
}

// Each version lists the labels and the parent tags that point at it, and only those.
fn ls_and_inspect_show_labels_and_parent_tags(backend: Backend) {
    let sb = Sandbox::new();
    let store = TestStore::start(backend, &sb);
    let target = store.at("");
    two_versions_one_label(&sb, &target);

    let rows = sb.json(&["-r", &target, "ls", "hello-manifests"]);
    let tags_of = |row: &Value| (row["labels"].clone(), row["parentTags"].clone());
    assert_eq!(
        tags_of(&rows[0]),
        (json!(["lts__stable"]), json!(["1.0.x"])),
        "{rows}"
    );
    assert_eq!(
        tags_of(&rows[1]),
        (json!([]), json!(["1.1.x", "1.x"])),
        "{rows}"
    );

    let text = ok(&sb.run(&["-r", &target, "ls", "hello-manifests"]));
    let header = text.lines().next().unwrap();
    assert!(
        header.contains("PARENT TAGS") && header.contains("LABELS"),
        "{text}"
    );
    let line_of = |v: &str| text.lines().find(|l| l.contains(v)).unwrap().to_string();
    assert!(line_of("1.0.0").contains("1.0.x") && line_of("1.0.0").contains("lts__stable"));
    assert!(line_of("1.1.0").contains("1.1.x,1.x"), "{text}");

    let shown = sb.json(&["-r", &target, "inspect", "hello-manifests:1.0.0"]);
    assert_eq!(shown["labels"], json!(["lts__stable"]), "{shown}");
    assert_eq!(shown["parentTags"], json!(["1.0.x"]), "{shown}");
    let text = ok(&sb.run(&["-r", &target, "inspect", "hello-manifests:1.1.0"]));
    assert!(text.contains("Parents:    1.1.x, 1.x"), "{text}");
    assert!(text.contains("Labels:     none"), "{text}");
}
over_backends!(ls_and_inspect_show_labels_and_parent_tags);

// `ls -q` prints the full reference of each version, one a line and nothing else, each one a
// reference `inspect` takes back.
fn ls_quiet_prints_references_only(backend: Backend) {
    let sb = Sandbox::new();
    let store = TestStore::start(backend, &sb);
    let target = store.at("");
    two_versions_one_label(&sb, &target);
    let out = sb.run(&["-r", &target, "-q", "ls"]);
    let text = ok(&out);
    let lines: Vec<&str> = text.lines().collect();
    let rows = sb.json(&["-r", &target, "ls"]);
    let expected: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reference"].as_str().unwrap())
        .collect();
    assert_eq!(lines, expected, "{text}");
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].ends_with("spectro-packs/archive/hello-manifests:1.0.0"),
        "{text}"
    );
    assert!(common::stderr(&out).is_empty(), "{}", common::stderr(&out));
}
over_backends!(ls_quiet_prints_references_only);

// A listing asks the registry where each label points (a label can point at any version), but
// not where each parent tag does: push, rm, tag and mirror keep a parent on the highest
// version of its line, so the tag list says it, and `ls` of many packs sends no request per
// parent tag.
#[test]
fn ls_resolves_labels_but_takes_parent_tags_from_the_tag_list() {
    require_peers!("docker-registry");
    let sb = Sandbox::new();
    let store = TestStore::start(Backend::Registry, &sb);
    let target = store.at("");
    two_versions_one_label(&sb, &target);
    let registry = store.registry.as_ref().unwrap();
    let before = registry.log().len();
    let rows = sb.json(&["-r", &target, "ls"]);
    assert_eq!(rows[1]["parentTags"], json!(["1.1.x", "1.x"]), "{rows}");
    let log = registry.log()[before..].to_string();
    let asked = |tag: &str| {
        log.lines()
            .any(|l| l.contains(&format!("/manifests/{tag} ")))
    };
    assert!(asked("lts__stable"), "{log}");
    for parent in ["1.x", "1.0.x", "1.1.x"] {
        assert!(!asked(parent), "{parent} asked for:\n{log}");
    }
}
