//! `ls` of every pack reads the pack index instead of each version's manifest, checked
//! against the tag lists: the same output as a listing from the manifests, also when other
//! tools tagged or deleted versions since the index was written.

use crate::support as common;
use crate::support::fault_proxy;

use common::registry::{Registry, Tls};
use common::{ok, stderr, Sandbox};
use fault_proxy::{FaultProxy, Inject};

fn run(sb: &Sandbox, registry: &str, args: &[&str]) -> std::process::Output {
    let mut full = vec!["-r", registry, "--plain-http"];
    full.extend_from_slice(args);
    sb.run(&full)
}

fn push(sb: &Sandbox, registry: &str, name: &str, version: &str) {
    let dir = common::named_pack(sb, name, version);
    ok(&run(sb, registry, &["-q", "push", dir.to_str().unwrap()]));
}

/// Manifest reads of pack versions in the registry's log after its first `skip` bytes.
fn pack_manifest_reads(reg: &Registry, skip: usize) -> usize {
    reg.log()[skip..]
        .lines()
        .filter(|l| l.contains("\"GET /v2/spectro-packs/archive/") && l.contains("/manifests/"))
        .count()
}

fn skopeo_delete(sb: &Sandbox, reference: &str) {
    let out = std::process::Command::new("skopeo")
        .args(["delete", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .env("HOME", sb.home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo delete: {}", stderr(&out));
}

/// `ls --json` and `ls` of the whole registry.
fn listings(sb: &Sandbox, registry: &str) -> (String, String) {
    (
        ok(&run(sb, registry, &["--json", "ls"])),
        ok(&run(sb, registry, &["ls"])),
    )
}

/// Deletes the pack index (its manifest, so `latest` and its `pending-` tag go), as a
/// registry never written by packreg would be.
fn drop_index(sb: &Sandbox, reg: &Registry) {
    skopeo_delete(
        sb,
        &format!("{}/spectro-packs/packreg-index:latest", reg.addr),
    );
}

#[test]
fn ls_lists_from_the_index_without_reading_manifests_and_as_the_manifests_say() {
    require_peers!("docker-registry", "skopeo");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    for (name, version) in [("alpha", "1.0.0"), ("alpha", "1.1.0"), ("beta", "2.0.0")] {
        push(&sb, &reg.addr, name, version);
    }
    ok(&run(
        &sb,
        &reg.addr,
        &["tag", "add", "alpha:1.1.0", "stable", "-g", "lts"],
    ));
    let skip = reg.log().len();
    let indexed = listings(&sb, &reg.addr);
    assert_eq!(
        pack_manifest_reads(&reg, skip),
        0,
        "ls read version manifests the index lists"
    );
    assert!(indexed.0.contains("\"lts__stable\""), "{}", indexed.0);
    assert!(indexed.0.contains("\"1.x\""), "{}", indexed.0);

    drop_index(&sb, &reg);
    let skip = reg.log().len();
    let read = listings(&sb, &reg.addr);
    assert!(
        pack_manifest_reads(&reg, skip) > 0,
        "no index: manifests read"
    );
    assert_eq!(indexed, read);
}

#[test]
fn ls_from_a_stale_index_shows_versions_tagged_and_deleted_by_other_tools() {
    require_peers!("docker-registry", "skopeo");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    for version in ["1.0.0", "1.1.0"] {
        push(&sb, &reg.addr, "alpha", version);
    }
    // Pushed as another tool would, leaving the index as it was: its writes refused.
    let proxy = FaultProxy::start(&reg.addr);
    for method in ["PUT", "POST"] {
        proxy.inject(Inject {
            method,
            path_contains: "/packreg-index/".into(),
            status: Some(403),
            headers: Vec::new(),
            times: usize::MAX,
        });
    }
    push(&sb, &proxy.addr, "alpha", "1.2.0");
    push(&sb, &proxy.addr, "gamma", "3.0.0");
    // Deleted behind the index's back.
    skopeo_delete(
        &sb,
        &format!("{}/spectro-packs/archive/alpha:1.0.0", reg.addr),
    );

    let stale = listings(&sb, &reg.addr);
    let rows: serde_json::Value = serde_json::from_str(&stale.0).unwrap();
    let versions: Vec<(&str, &str)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["version"].as_str().unwrap()))
        .collect();
    assert_eq!(
        versions,
        [("alpha", "1.1.0"), ("alpha", "1.2.0"), ("gamma", "3.0.0")],
        "{rows}"
    );
    drop_index(&sb, &reg);
    assert_eq!(stale, listings(&sb, &reg.addr));
}
