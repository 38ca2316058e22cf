//! `packreg tag`: labels and parent tags following adds and removals, and what tag changes do
//! on a registry that does not delete.

use crate::support as common;

use common::registry::{Registry, Tls};
use common::{ok, pack, pack_with_version, s, stderr, Sandbox};

use crate::mirror::digest_of;

#[test]
fn labels_and_parent_tags_follow_adds_and_removals() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let layout = format!("oci:{}", s(&sb.path("store")));
    for target in [reg.addr.clone(), layout] {
        for v in ["1.0.0", "1.1.0"] {
            let dir = pack_with_version(&sb.path(&format!("src-{v}")), "hello-manifests", v);
            sb.json(&["-r", &target, "push", s(&dir)]);
        }
        let added = sb.json(&[
            "-r",
            &target,
            "tag",
            "add",
            "hello-manifests:1.0.0",
            "stable",
            "-g",
            "lts",
        ]);
        assert_eq!(added["tag"], "lts__stable");
        assert_eq!(
            digest_of(&sb, &target, "hello-manifests:lts__stable"),
            digest_of(&sb, &target, "hello-manifests:1.0.0")
        );
        assert_eq!(
            digest_of(&sb, &target, "hello-manifests:1.x"),
            digest_of(&sb, &target, "hello-manifests:1.1.0")
        );
        let pulled = sb.json(&[
            "-r",
            &target,
            "pull",
            "hello-manifests:lts__stable",
            "-o",
            s(&sb.path("lts")),
            "--force",
        ]);
        assert_eq!(pulled["version"], "1.0.0");

        ok(&sb.run(&["-r", &target, "tag", "rm", "hello-manifests:lts__stable"]));
        let gone = sb.run(&["-r", &target, "inspect", "hello-manifests:lts__stable"]);
        assert_eq!(gone.status.code(), Some(1), "label removed");
        // The version and its other tags stay.
        assert!(digest_of(&sb, &target, "hello-manifests:1.0.0").is_string());
        assert_eq!(
            digest_of(&sb, &target, "hello-manifests:1.0.x"),
            digest_of(&sb, &target, "hello-manifests:1.0.0")
        );

        let refused = sb.run(&["-r", &target, "tag", "rm", "hello-manifests:1.0.0"]);
        assert_eq!(
            refused.status.code(),
            Some(1),
            "versions are removed with rm"
        );
        let dir = pack_with_version(&sb.path("src-1.2.0"), "hello-manifests", "1.2.0");
        sb.json(&["-r", &target, "push", s(&dir)]);
        assert_eq!(
            digest_of(&sb, &target, "hello-manifests:1.x"),
            digest_of(&sb, &target, "hello-manifests:1.2.0")
        );
        ok(&sb.run(&["-r", &target, "rm", "hello-manifests:1.2.0"]));
        assert_eq!(
            digest_of(&sb, &target, "hello-manifests:1.x"),
            digest_of(&sb, &target, "hello-manifests:1.1.0")
        );
        for v in ["1.0.0", "1.1.0"] {
            ok(&sb.run(&["-r", &target, "rm", &format!("hello-manifests:{v}")]));
        }
    }
}

#[test]
fn without_deletes_rm_and_tag_rm_fail_clearly_and_change_nothing() {
    require_peers!("docker-registry");
    let reg = Registry::start_without_deletes();
    let sb = Sandbox::new();
    let pushed = sb.json(&["-r", &reg.addr, "push", s(&pack("probe"))]);
    sb.json(&["-r", &reg.addr, "tag", "add", "probe:0.1.0", "stable"]);
    for args in [["tag", "rm", "probe:stable"], ["rm", "probe:0.1.0", ""]] {
        let args: Vec<&str> = args.iter().copied().filter(|a| !a.is_empty()).collect();
        let mut full = vec!["-r", reg.addr.as_str()];
        full.extend(args);
        let out = sb.run(&full);
        assert_eq!(out.status.code(), Some(1), "{full:?}");
        assert!(
            stderr(&out).contains("does not allow deletes"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(
        digest_of(&sb, &reg.addr, "probe:stable"),
        pushed["digest"],
        "the label still points at the version"
    );
    assert_eq!(digest_of(&sb, &reg.addr, "probe:0.1.0"), pushed["digest"]);

    // rm moves parent tags before it deletes; a refused delete moves them back.
    let dir = common::pack_with_version(&sb.path("v2"), "probe", "0.2.0");
    let second = sb.json(&["-r", &reg.addr, "push", s(&dir)]);
    let out = sb.run(&["-r", &reg.addr, "rm", "probe:0.2.0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(digest_of(&sb, &reg.addr, "probe:0.x"), second["digest"]);
    assert_eq!(digest_of(&sb, &reg.addr, "probe:0.2.x"), second["digest"]);
}
