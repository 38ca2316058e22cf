//! `packreg ls`: filters, one pack, paged registry listings, and clear errors when the registry
//! cannot be listed.

use crate::support as common;

use common::local::Env;
use common::registry::{Registry, Tls};
use common::{ok, pack, s, stderr, stdout, Sandbox, GOOD_PACKS};
use serde_json::Value;

#[test]
fn ls_filters_and_lists_one_pack() {
    let env = Env::new();
    for name in GOOD_PACKS {
        ok(&env.run(&["push", s(&pack(name))]));
    }
    let filtered = env.json(&["ls", "--name", "o"]);
    let names: Vec<&str> = filtered
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["hardened-os", "hello-manifests", "probe", "shop"]
    );
    let filtered = env.json(&["ls", "--name", "sh"]);
    assert_eq!(filtered.as_array().unwrap().len(), 1);
    let one = env.json(&["ls", "probe"]);
    assert_eq!(one.as_array().unwrap().len(), 1);
    let text = stdout(&env.run(&["ls"]));
    assert!(text.starts_with("NAME"), "{text}");
    assert!(text.contains("Shop (web and cache)"), "{text}");
}

#[test]
fn listings_follow_link_pages() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    for v in ["1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0"] {
        let dir = common::pack_with_version(&sb.path(&format!("h-{v}")), "hello-manifests", v);
        sb.json(&["-r", &reg.addr, "push", s(&dir)]);
    }
    for name in ["probe", "shop"] {
        sb.json(&["-r", &reg.addr, "push", s(&pack(name))]);
    }
    // Pages of two entries: the registry answers with Link headers that must be followed.
    let paged = |args: &[&str]| -> Value {
        let mut cmd = sb.command();
        cmd.args(["--json", "-r", &reg.addr])
            .args(args)
            .env("PACKREG_PAGE_SIZE", "2");
        serde_json::from_str(&ok(&cmd.output().unwrap())).unwrap()
    };
    let versions = paged(&["ls", "hello-manifests"]);
    assert_eq!(versions.as_array().unwrap().len(), 5, "{versions}");
    let all = paged(&["ls"]);
    let names: std::collections::BTreeSet<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        vec!["hello-manifests", "probe", "shop"]
    );
    assert!(
        reg.log().contains("last="),
        "the registry was asked for further pages"
    );
}

#[test]
fn unreachable_registry_and_catalog_errors_are_clear() {
    let sb = Sandbox::new();
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = sb.run(&["-r", &format!("127.0.0.1:{port}"), "ls"]);
    assert_eq!(out.status.code(), Some(1));
    let msg = stderr(&out);
    assert!(
        msg.contains(&format!("127.0.0.1:{port}")) && msg.contains("connect"),
        "{msg}"
    );
    let bad = sb.run(&["-r", "not a host", "ls"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("not a registry"), "{}", stderr(&bad));
}

/// `ls NAME` of a pack that is not there fails (exit 1, kind `not_found`) naming the nearest
/// pack, instead of an empty listing and success.
fn ls_of_a_missing_pack_fails_naming_the_nearest(backend: common::Backend) {
    let sb = Sandbox::new();
    let store = common::TestStore::start(backend, &sb);
    let reg = store.at("");
    ok(&sb.run(&["-r", &reg, "push", s(&pack("probe"))]));
    let out = sb.run(&["-r", &reg, "ls", "prob"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pack prob not found"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("did you mean probe?"),
        "{}",
        stderr(&out)
    );
    let json = sb.run(&["-r", &reg, "--json", "ls", "prob"]);
    assert_eq!(json.status.code(), Some(1));
    assert!(json.stdout.is_empty(), "{}", stdout(&json));
    let error: Value = serde_json::from_str(stderr(&json).trim()).unwrap();
    assert_eq!(error["kind"], "not_found", "{error}");
    let listed = ok(&sb.run(&["-r", &reg, "ls", "probe"]));
    assert!(listed.contains("0.1.0"), "{listed}");
}
over_backends!(ls_of_a_missing_pack_fails_naming_the_nearest);
