//! The pack index (`spectro-packs/packreg-index:latest`) against a real docker-registry behind
//! a proxy that refuses `_catalog` (answers 401, as GHCR, Docker Hub and ECR do): listing and
//! mirroring without the catalog, push/rm/tag/mirror keeping it right, concurrent pushes from
//! separate processes, and `index verify`/`rebuild` after a tag deleted behind packreg's back.

use crate::support as common;
use crate::support::fault_proxy;

use std::path::{Path, PathBuf};

use common::registry::{Registry, Tls};
use common::{ok, stderr, stdout, Sandbox};
use fault_proxy::{FaultProxy, Inject};
use serde_json::Value;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A real registry behind a proxy that answers 401 to every `_catalog` request.
fn catalog_refused(reg: &Registry) -> FaultProxy {
    let proxy = FaultProxy::start(&reg.addr);
    proxy.inject(Inject {
        method: "GET",
        path_contains: "/_catalog".into(),
        status: Some(401),
        headers: Vec::new(),
        times: usize::MAX,
    });
    proxy
}

fn run(sb: &Sandbox, registry: &str, args: &[&str]) -> std::process::Output {
    let mut full = vec!["-r", registry, "--plain-http"];
    full.extend_from_slice(args);
    sb.run(&full)
}

/// `(name, version)` of every row `ls --json` prints, and its stderr.
fn listed(sb: &Sandbox, registry: &str) -> (Vec<(String, String)>, String) {
    let out = run(sb, registry, &["--json", "ls"]);
    let rows: Value = serde_json::from_str(&ok(&out)).unwrap();
    let mut rows: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rows.sort();
    (rows, stderr(&out))
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

/// The index document as skopeo copies it out of the registry: `(name, tag)` of its entries.
fn index_entries(sb: &Sandbox, addr: &str) -> Vec<(String, String)> {
    let dir = tempfile::tempdir_in(sb.home.path()).unwrap();
    let out = std::process::Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!(
            "docker://{addr}/spectro-packs/packreg-index:latest"
        ))
        .arg(format!("dir:{}", dir.path().display()))
        .env("HOME", sb.home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo: {}", stderr(&out));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["artifactType"], "application/vnd.packreg.index.v1",
        "{manifest}"
    );
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let doc: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(layer.trim_start_matches("sha256:"))).unwrap(),
    )
    .unwrap();
    let mut entries: Vec<(String, String)> = doc["packs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["tag"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    entries.sort();
    entries
}

#[test]
fn ls_lists_from_the_index_where_catalog_is_refused() {
    require_peers!("docker-registry", "skopeo");
    let reg = Registry::start(Tls::None, None);
    let proxy = catalog_refused(&reg);
    let sb = Sandbox::new();
    // Nothing pushed through packreg yet: no index, and the error says what to do.
    let out = run(&sb, &proxy.addr, &["ls"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("packreg index rebuild"),
        "{}",
        stderr(&out)
    );

    ok(&run(
        &sb,
        &proxy.addr,
        &["push", s(&common::named_pack(&sb, "alpha", "1.0.0"))],
    ));
    ok(&run(
        &sb,
        &proxy.addr,
        &["push", s(&common::named_pack(&sb, "beta", "2.0.0"))],
    ));
    let (rows, err) = listed(&sb, &proxy.addr);
    assert_eq!(rows, pairs(&[("alpha", "1.0.0"), ("beta", "2.0.0")]));
    assert!(
        err.contains("the pack names come from the pack index"),
        "no note: {err}"
    );
    assert!(
        proxy
            .log()
            .iter()
            .any(|(_, p, st)| p.contains("_catalog") && *st == 401),
        "the catalog was never refused"
    );
    // The same registry without the proxy lists from its catalog, with no note.
    let (rows, err) = listed(&sb, &reg.addr);
    assert_eq!(rows, pairs(&[("alpha", "1.0.0"), ("beta", "2.0.0")]));
    assert!(!err.contains("pack index"), "{err}");
}

#[test]
fn push_rm_tag_and_mirror_keep_the_index_right() {
    require_peers!("docker-registry", "skopeo");
    let reg = Registry::start(Tls::None, None);
    let proxy = catalog_refused(&reg);
    let sb = Sandbox::new();
    for (name, version) in [("alpha", "1.0.0"), ("alpha", "1.1.0"), ("beta", "2.0.0")] {
        ok(&run(
            &sb,
            &proxy.addr,
            &["push", s(&common::named_pack(&sb, name, version))],
        ));
    }
    ok(&run(
        &sb,
        &proxy.addr,
        &["tag", "add", "alpha:1.1.0", "stable", "-g", "lts"],
    ));
    ok(&run(
        &sb,
        &proxy.addr,
        &["tag", "add", "beta:2.0.0", "edge"],
    ));
    assert_eq!(
        index_entries(&sb, &reg.addr),
        pairs(&[
            ("alpha", "1.0.0"),
            ("alpha", "1.1.0"),
            ("alpha", "lts__stable"),
            ("beta", "2.0.0"),
            ("beta", "edge"),
        ])
    );
    // rm takes the version and its label out; tag rm the label.
    ok(&run(&sb, &proxy.addr, &["rm", "alpha:1.1.0"]));
    ok(&run(&sb, &proxy.addr, &["tag", "rm", "beta:edge"]));
    let left = pairs(&[("alpha", "1.0.0"), ("beta", "2.0.0")]);
    assert_eq!(index_entries(&sb, &reg.addr), left);
    ok(&run(&sb, &proxy.addr, &["index", "verify"]));

    // Mirror from the catalog-refusing registry to another that refuses it too: the names
    // come from the source's index, and the destination gets an index of what was copied.
    let dst_reg = Registry::start(Tls::None, None);
    let dst = catalog_refused(&dst_reg);
    let out = run(&sb, &proxy.addr, &["mirror", &proxy.addr, &dst.addr]);
    ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains("the pack names come from its pack index"),
        "{err}"
    );
    assert!(!err.contains("warning"), "{err}");
    assert_eq!(index_entries(&sb, &dst_reg.addr), left);
    let (rows, _) = listed(&sb, &dst.addr);
    assert_eq!(rows, left);
    ok(&run(&sb, &dst.addr, &["index", "verify"]));
}

/// Pushes `n` different packs from `n` packreg processes started together, and checks that
/// every one of them is in the index.
fn concurrent_pushes(reg: &Registry, n: usize) {
    let proxy = catalog_refused(reg);
    let sb = Sandbox::new();
    // One pack first, so the racers all read the same index and race to move `latest`.
    ok(&run(
        &sb,
        &proxy.addr,
        &["push", s(&common::named_pack(&sb, "base", "1.0.0"))],
    ));
    let dirs: Vec<PathBuf> = (0..n)
        .map(|i| common::named_pack(&sb, &format!("racer{i}"), "1.0.0"))
        .collect();
    let children: Vec<std::process::Child> = dirs
        .iter()
        .map(|dir| {
            sb.command()
                .args(["-r", &proxy.addr, "--plain-http", "push", s(dir)])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        assert!(!err.contains("warning"), "{err}");
    }
    let mut want = vec![("base".to_string(), "1.0.0".to_string())];
    want.extend((0..n).map(|i| (format!("racer{i}"), "1.0.0".to_string())));
    want.sort();
    let (rows, _) = listed(&sb, &proxy.addr);
    assert_eq!(rows, want, "a concurrent push lost its index entry");
    ok(&run(&sb, &proxy.addr, &["index", "verify"]));
    // A later write merges whatever `latest` lacked, so `latest` alone then lists them all.
    ok(&run(
        &sb,
        &proxy.addr,
        &["push", s(&common::named_pack(&sb, "late", "1.0.0"))],
    ));
    want.push(("late".to_string(), "1.0.0".to_string()));
    want.sort();
    assert_eq!(index_entries(&sb, &reg.addr), want);
}

#[test]
fn concurrent_pushes_of_different_packs_all_appear() {
    require_peers!("docker-registry", "skopeo");
    concurrent_pushes(&Registry::start(Tls::None, None), 6);
}

#[test]
fn concurrent_pushes_all_appear_on_a_registry_that_does_not_delete() {
    require_peers!("docker-registry", "skopeo");
    concurrent_pushes(&Registry::start_without_deletes(), 4);
}

#[test]
fn verify_finds_a_tag_deleted_behind_packregs_back_and_rebuild_repairs_it() {
    require_peers!("docker-registry", "skopeo");
    let reg = Registry::start(Tls::None, None);
    let proxy = catalog_refused(&reg);
    let sb = Sandbox::new();
    for version in ["1.0.0", "1.1.0"] {
        ok(&run(
            &sb,
            &proxy.addr,
            &["push", s(&common::named_pack(&sb, "alpha", version))],
        ));
    }
    ok(&run(&sb, &proxy.addr, &["index", "verify"]));
    let out = std::process::Command::new("skopeo")
        .args(["delete", "--tls-verify=false"])
        .arg(format!(
            "docker://{}/spectro-packs/archive/alpha:1.0.0",
            reg.addr
        ))
        .env("HOME", sb.home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo delete: {}", stderr(&out));

    let out = run(&sb, &proxy.addr, &["--json", "index", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let drift = report["drift"].as_array().unwrap();
    assert_eq!(drift.len(), 1, "{report}");
    assert_eq!(drift[0]["name"], "alpha");
    assert_eq!(drift[0]["tag"], "1.0.0");
    assert_eq!(drift[0]["kind"], "stale");
    let text = run(&sb, &proxy.addr, &["index", "verify"]);
    assert_eq!(text.status.code(), Some(1));
    assert!(stdout(&text).contains("alpha:1.0.0: in the index, gone from the registry"));

    ok(&run(&sb, &proxy.addr, &["index", "rebuild"]));
    ok(&run(&sb, &proxy.addr, &["index", "verify"]));
    assert_eq!(index_entries(&sb, &reg.addr), pairs(&[("alpha", "1.1.0")]));
}

#[test]
fn rebuild_with_names_creates_the_index_for_packs_pushed_by_other_tools() {
    require_peers!("docker-registry", "skopeo");
    let reg = Registry::start(Tls::None, None);
    let proxy = catalog_refused(&reg);
    let sb = Sandbox::new();
    // Pushed where the index cannot be written (its repository refused), as another tool
    // would leave it: the push succeeds and warns.
    proxy.inject(Inject {
        method: "PUT",
        path_contains: "/packreg-index/".into(),
        status: Some(403),
        headers: Vec::new(),
        times: usize::MAX,
    });
    proxy.inject(Inject {
        method: "POST",
        path_contains: "/packreg-index/".into(),
        status: Some(403),
        headers: Vec::new(),
        times: usize::MAX,
    });
    let pushed = run(
        &sb,
        &proxy.addr,
        &["push", s(&common::named_pack(&sb, "gamma", "3.0.0"))],
    );
    ok(&pushed);
    assert!(
        stderr(&pushed).contains("warning: the pack index"),
        "{}",
        stderr(&pushed)
    );
    let direct = reg.addr.clone();
    ok(&run(
        &sb,
        &direct,
        &["pull", "gamma:3.0.0", "-o", s(&sb.path("g"))],
    ));
    // No index: ls cannot list, verify cannot guess names, rebuild with a name creates it.
    assert_eq!(run(&sb, &proxy.addr, &["ls"]).status.code(), Some(1));
    let fixed = catalog_refused(&reg);
    ok(&run(&sb, &fixed.addr, &["index", "rebuild", "gamma"]));
    let (rows, _) = listed(&sb, &fixed.addr);
    assert_eq!(rows, pairs(&[("gamma", "3.0.0")]));
}

#[test]
fn a_local_store_keeps_an_index_skopeo_reads() {
    require_peers!("skopeo");
    let sb = Sandbox::new();
    let store = format!("oci:{}", sb.path("store").display());
    for (name, version) in [("alpha", "1.0.0"), ("alpha", "1.1.0"), ("beta", "2.0.0")] {
        ok(&sb.run(&[
            "-r",
            &store,
            "push",
            s(&common::named_pack(&sb, name, version)),
        ]));
    }
    ok(&sb.run(&["-r", &store, "rm", "alpha:1.0.0"]));
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw"])
        .arg(format!("{store}/spectro-packs/packreg-index:latest"))
        .env("HOME", sb.home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo: {}", stderr(&out));
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest["artifactType"], "application/vnd.packreg.index.v1");
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    ok(&sb.run(&["-r", &store, "index", "verify"]));
    let report: Value =
        serde_json::from_str(&ok(&sb.run(&["-r", &store, "--json", "index", "verify"]))).unwrap();
    assert_eq!(report["catalog"], true);
    assert_eq!(report["packs"], serde_json::json!(["alpha", "beta"]));
    // Old documents do not pile up: `latest` and the one pending tag that holds it.
    let index: Value = serde_json::from_slice(
        &std::fs::read(sb.path("store/spectro-packs/packreg-index/index.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2, "{index}");
}

#[test]
fn an_imported_bundle_is_listable_where_catalog_is_refused() {
    require_peers!("docker-registry");
    let sb = Sandbox::new();
    let store = format!("oci:{}", sb.path("store").display());
    for (name, version) in [("alpha", "1.0.0"), ("beta", "2.0.0")] {
        ok(&sb.run(&[
            "-r",
            &store,
            "push",
            s(&common::named_pack(&sb, name, version)),
        ]));
    }
    let bundle = sb.path("packs.tar");
    ok(&sb.run(&["-r", &store, "export", "--all", "-o", s(&bundle)]));
    let reg = Registry::start(Tls::None, None);
    let proxy = catalog_refused(&reg);
    ok(&run(&sb, &proxy.addr, &["import", s(&bundle)]));
    let (rows, err) = listed(&sb, &proxy.addr);
    assert_eq!(rows, pairs(&[("alpha", "1.0.0"), ("beta", "2.0.0")]));
    assert!(
        err.contains("the pack names come from the pack index"),
        "{err}"
    );
}

/// Catalog refused the way token registries refuse it (GHCR, Docker Hub): the token service
/// does not grant `registry:catalog:*` to the account. The index is written and read through
/// the same token flow as the packs.
#[test]
fn a_token_registry_that_grants_no_catalog_is_listed_from_the_index() {
    require_peers!("docker-registry", "openssl", "python3");
    use common::registry::TokenUser;
    const PW: &str = "bob-token-pw-4e1";
    let reg = Registry::start_with_tokens(&[TokenUser {
        name: "bob",
        password: PW,
        actions: &["pull", "push", "delete"],
        refresh_token: None,
    }]);
    let sb = Sandbox::new();
    ok(&sb.run_with_stdin(
        &["login", &reg.addr, "-u", "bob", "--password-stdin"],
        Some(PW),
    ));
    for (name, version) in [("alpha", "1.0.0"), ("beta", "2.0.0")] {
        let out = sb.run(&[
            "-r",
            &reg.addr,
            "push",
            s(&common::named_pack(&sb, name, version)),
        ]);
        ok(&out);
        assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    }
    let out = sb.run(&["-r", &reg.addr, "--json", "ls"]);
    let rows: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    assert!(
        stderr(&out).contains("the pack names come from the pack index"),
        "{}",
        stderr(&out)
    );
    ok(&sb.run(&["-r", &reg.addr, "rm", "beta:2.0.0"]));
    ok(&sb.run(&["-r", &reg.addr, "index", "verify"]));
}
