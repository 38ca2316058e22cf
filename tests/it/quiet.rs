//! `-q`: nothing but errors, warnings and the data asked for, on every command; `export` still
//! prints its summary.

use crate::support as common;

use common::{ok, pack, pack_with_version, s, stderr, Sandbox};

// Each command run with -q prints no progress, status or summary: stderr stays empty, and
// stdout holds only the data the command is for (push: the digest, pull: the folder, ls: the
// references), or nothing.
#[test]
fn quiet_silences_progress_and_summaries() {
    let sb = Sandbox::new();
    let store = sb.registry();
    let quiet = |args: &[&str]| -> String {
        let mut full = vec!["-q", "-r", &store];
        full.extend_from_slice(args);
        let out = sb.run(&full);
        let text = ok(&out);
        assert_eq!(stderr(&out), "", "{args:?} wrote on stderr");
        text
    };
    let v1 = pack_with_version(&sb.path("src-1.0.0"), "hello-manifests", "1.0.0");
    let v2 = pack_with_version(&sb.path("src-1.1.0"), "hello-manifests", "1.1.0");
    assert_eq!(quiet(&["validate", s(&pack("hello-manifests"))]), "");
    let built = sb.path("built");
    let chart = common::testdata().join("charts/web-1.2.0.tgz");
    assert_eq!(quiet(&["build", s(&chart), s(&built)]), "");
    let pushed = quiet(&["push", s(&v1)]);
    assert!(
        pushed.trim().starts_with("sha256:") && pushed.lines().count() == 1,
        "{pushed}"
    );
    quiet(&["push", s(&v2)]);
    assert_eq!(
        quiet(&["tag", "add", "hello-manifests:1.0.0", "stable"]),
        ""
    );
    assert_eq!(quiet(&["tag", "rm", "hello-manifests:stable"]), "");
    let pulled = sb.path("pulled");
    assert_eq!(
        quiet(&["pull", "hello-manifests:1.0.0", "-o", s(&pulled)]).trim(),
        s(&pulled)
    );
    let mirrored = format!("oci:{}", s(&sb.path("mirrored")));
    assert_eq!(quiet(&["mirror", &store, &mirrored]), "");
    let bundle = sb.path("bundle.tar");
    let summary = quiet(&["export", "--all", "-o", s(&bundle)]);
    assert!(
        summary.contains("pack(s)"),
        "export keeps its summary: {summary}"
    );
    let imported = format!("oci:{}", s(&sb.path("imported")));
    let out = sb.run(&["-q", "-r", &imported, "import", s(&bundle)]);
    assert_eq!(ok(&out), "", "import");
    assert_eq!(stderr(&out), "");
    assert_eq!(quiet(&["catalog", "-o", s(&sb.path("site"))]), "");
    assert_eq!(quiet(&["index", "rebuild"]), "");
    assert_eq!(quiet(&["rm", "hello-manifests:1.1.0"]), "");
    assert_eq!(quiet(&["logout", "127.0.0.1:1"]), "");
    assert_eq!(quiet(&["man", "-o", s(&sb.path("man"))]), "");
}
