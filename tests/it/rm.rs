//! `packreg rm`, with the parent tags it keeps right.

use crate::support as common;

use common::local::{blob_accounting, layout_tags};
use common::{ok, s, stderr, Backend, Sandbox, TestStore};

over_backends!(versions_parent_tags_and_rm);

/// Parent tags (`1.x`, `1.1.x`) point at the latest version of their line and pull takes the
/// latest version; rm re-points a parent tag to the next latest, removes the parent tags of a
/// line it empties, leaves no unreferenced blob, and fails naming a version that is not there.
fn versions_parent_tags_and_rm(backend: Backend) {
    let sb = Sandbox::new();
    let store = TestStore::start(backend, &sb);
    let r = store.at("");
    for v in ["1.0.0", "1.1.0", "1.10.0", "1.9.3", "2.0.0-rc.1"] {
        let dir = common::pack_with_version(&sb.path(&format!("src-{v}")), "hello-manifests", v);
        ok(&sb.run(&["-r", &r, "push", s(&dir)]));
    }
    let digest_of = |tag: &str| {
        sb.json(&["-r", &r, "inspect", &format!("hello-manifests:{tag}")])["digest"].clone()
    };
    let exists = |tag: &str| {
        let out = sb.run(&["-r", &r, "inspect", &format!("hello-manifests:{tag}")]);
        match out.status.code() {
            Some(0) => true,
            Some(1) => false,
            code => panic!("inspect {tag}: exit {code:?}: {}", stderr(&out)),
        }
    };
    assert_eq!(digest_of("1.x"), digest_of("1.10.0"));
    assert_eq!(digest_of("1.1.x"), digest_of("1.1.0"));
    assert_eq!(digest_of("2.x"), digest_of("2.0.0-rc.1"));

    let latest = sb.json(&[
        "-r",
        &r,
        "pull",
        "hello-manifests",
        "-o",
        s(&sb.path("latest")),
    ]);
    assert_eq!(latest["version"], "2.0.0-rc.1");
    let by_parent = sb.json(&[
        "-r",
        &r,
        "pull",
        "hello-manifests:1.x",
        "-o",
        s(&sb.path("one")),
    ]);
    assert_eq!(by_parent["version"], "1.10.0");

    let removed = sb.json(&["-r", &r, "rm", "hello-manifests:1.10.0"]);
    assert!(removed["digest"].is_string());
    assert_eq!(
        removed["reference"].as_str().unwrap().rsplit(':').next(),
        Some("1.10.0")
    );
    assert_eq!(
        digest_of("1.x"),
        digest_of("1.9.3"),
        "1.x re-pointed after rm"
    );
    assert!(!exists("1.10.x"), "empty line's parent tag removed");
    ok(&sb.run(&["-r", &r, "rm", "hello-manifests:2.0.0-rc.1"]));
    assert!(
        !exists("2.x") && !exists("2.0.x"),
        "line 2 removed with its last version"
    );

    let rows = sb.json(&["-r", &r, "ls", "hello-manifests"]);
    let versions: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, vec!["1.0.0", "1.1.0", "1.9.3"]);
    if let Some(dir) = &store.dir {
        let repo = dir.join("spectro-packs/archive/hello-manifests");
        assert_eq!(
            layout_tags(&repo),
            vec!["1.0.0", "1.0.x", "1.1.0", "1.1.x", "1.9.3", "1.9.x", "1.x"]
        );
        let (stored, reached) = blob_accounting(&repo);
        assert_eq!(stored, reached, "rm leaves no unreferenced blob");
    }
    let latest = sb.json(&[
        "-r",
        &r,
        "pull",
        "hello-manifests",
        "-o",
        s(&sb.path("after")),
    ]);
    assert_eq!(latest["version"], "1.9.3");

    let missing = sb.run(&["-r", &r, "rm", "hello-manifests:7.0.0"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("7.0.0"), "{}", stderr(&missing));
}
