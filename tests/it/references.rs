//! The pack references every command taking a pack reads (pull, inspect, images, ls, rm, tag,
//! export): `NAME[:TAG|@DIGEST]` with `-r`, the full registry reference and
//! `oci:PATH/spectro-packs/archive/NAME:TAG`, a full reference picking the store; and what a
//! pack or version that is not there is answered with.

use crate::support as common;

use common::registry::{Registry, Tls};
use common::{ok, pack, pack_with_version, s, stderr, stdout, Sandbox};
use serde_json::Value;

/// `webapp` 1.4.0 and 1.5.0 (the hello-manifests pack renamed) pushed to `registry`.
fn push_webapp(sb: &Sandbox, registry: &str) {
    for version in ["1.4.0", "1.5.0"] {
        let dir = pack_with_version(
            &sb.path(&format!("webapp-{version}")),
            "hello-manifests",
            version,
        );
        common::set_pack_field(&dir, "name", "webapp");
        ok(&sb.run(&["-r", registry, "push", s(&dir)]));
    }
}

/// Runs `args` with no -r: the reference alone names the store.
fn run_on_reference(sb: &Sandbox, args: &[&str]) -> String {
    ok(&sb.run(args))
}

/// Every command that reads a pack takes it as a full registry reference (a tag or a digest,
/// under a base path) and as `oci:PATH/spectro-packs/archive/NAME:TAG`, with no -r: the
/// reference picks the store. Commands that change a version (rm, tag) take its tag.
#[test]
fn every_command_taking_a_pack_takes_the_full_reference() {
    require_peers!("docker-registry");
    let registry = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let team = format!("{}/team", registry.addr);
    push_webapp(&sb, &team);
    let local = format!("oci:{}", sb.path("site").display());
    push_webapp(&sb, &local);

    for store in [team.as_str(), local.as_str()] {
        let inspected = sb.json(&["-r", store, "inspect", "webapp:1.5.0"]);
        let digest = inspected["digest"].as_str().unwrap().to_string();
        let base = format!("{store}/spectro-packs/archive/webapp");
        for reference in [format!("{base}:1.5.0"), format!("{base}@{digest}")] {
            let dest = sb.path(&format!("pulled-{}", reference.len()));
            let _ = std::fs::remove_dir_all(&dest);
            run_on_reference(&sb, &["pull", &reference, "-o", s(&dest)]);
            assert!(dest.join("pack.json").is_file(), "{reference}");
            let shown = sb.json(&["inspect", &reference]);
            assert_eq!(shown["digest"], digest.as_str(), "{reference}");
            assert!(
                shown["reference"].as_str().unwrap().starts_with(store),
                "{shown}"
            );
            let images = sb.json(&["images", &reference]);
            assert!(
                images["pack"].as_str().unwrap().starts_with(store),
                "{images}"
            );
        }
        let listed = run_on_reference(&sb, &["ls", &base]);
        assert!(
            listed.contains("1.4.0") && listed.contains("1.5.0"),
            "{listed}"
        );
        let bundle = sb.path("webapp.tar");
        let _ = std::fs::remove_file(&bundle);
        run_on_reference(&sb, &["export", &format!("{base}:1.4.0"), "-o", s(&bundle)]);
        assert!(bundle.is_file());
        run_on_reference(&sb, &["tag", "add", &format!("{base}:1.5.0"), "stable"]);
        let labelled = sb.json(&["inspect", &format!("{base}:stable")]);
        assert_eq!(labelled["digest"], digest.as_str());
        run_on_reference(&sb, &["tag", "rm", &format!("{base}:stable")]);
        run_on_reference(&sb, &["rm", &format!("{base}:1.4.0")]);
        let rows = sb.json(&["-r", store, "ls", "webapp"]);
        assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    }
    // The same store given by -r too is no conflict.
    let same = format!("{team}/spectro-packs/archive/webapp:1.5.0");
    ok(&sb.run(&["-r", &team, "inspect", &same]));
}

/// A full reference and a -r naming another store is a usage error (exit 2) that says so, for
/// every command taking a pack; nothing is read from either store.
#[test]
fn a_full_reference_and_another_registry_flag_is_a_usage_error() {
    let sb = Sandbox::new();
    let store = format!("oci:{}", sb.path("site").display());
    let other = format!("oci:{}", sb.path("other").display());
    let reference = format!("{store}/spectro-packs/archive/webapp:1.5.0");
    let bundle = sb.path("b.tar");
    let listing = format!("{store}/spectro-packs/archive/webapp");
    let commands: Vec<Vec<&str>> = vec![
        vec!["pull", &reference],
        vec!["inspect", &reference],
        vec!["images", &reference],
        vec!["ls", &listing],
        vec!["rm", &reference],
        vec!["tag", "add", &reference, "stable"],
        vec!["tag", "rm", &reference],
        vec!["export", &reference, "-o", s(&bundle)],
    ];
    for args in commands {
        let mut full = vec!["-r", other.as_str()];
        full.extend(&args);
        let out = sb.run(&full);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&store) && err.contains(&other) && err.contains("-r"),
            "{args:?}: {err}"
        );
        let json = sb.run(&[&["--json"][..], &full].concat());
        let error: Value = serde_json::from_str(stderr(&json).trim()).unwrap();
        assert_eq!(error["kind"], "invalid_input", "{error}");
    }
    assert!(!sb.path("site").exists() && !sb.path("other").exists());
}

/// A path that does not lead under spectro-packs/archive/ is refused as such, with the form
/// of a full reference, not read as a pack name with a tag `5000/...`.
#[test]
fn a_registry_path_without_the_packs_folder_names_the_full_form() {
    let sb = Sandbox::new();
    let out = sb.run(&["pull", "127.0.0.1:5000/team/netpol:1.0.0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("REGISTRY/spectro-packs/archive/NAME[:TAG|@DIGEST]"),
        "{err}"
    );
    assert!(!err.contains("is not a valid tag"), "{err}");
}

/// A pack that is not there names the nearest packs; a version that is not there names the
/// versions there (a leading `v` said as such); the commands that read a pack and those that
/// change one answer alike, with kind `not_found` and exit code 1.
#[test]
fn a_missing_pack_or_version_names_what_is_there() {
    require_peers!("docker-registry");
    let registry = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let reg = registry.addr.as_str();
    push_webapp(&sb, reg);
    ok(&sb.run(&["-r", reg, "push", s(&pack("probe"))]));
    let fails = |args: &[&str]| -> String {
        let mut full = vec!["-r", reg];
        full.extend(args);
        let out = sb.run(&full);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        stderr(&out)
    };
    for args in [
        &["pull", "webap"][..],
        &["inspect", "webap:1.5.0"],
        &["images", "webap"],
        &["rm", "webap:1.5.0"],
        &["tag", "add", "webap:1.5.0", "stable"],
    ] {
        let err = fails(args);
        assert!(err.contains("did you mean webapp?"), "{args:?}: {err}");
    }
    for args in [
        &["pull", "webapp:v1.5.0"][..],
        &["inspect", "webapp:v1.5.0"],
        &["rm", "webapp:v1.5.0"],
        &["tag", "add", "webapp:v1.5.0", "stable"],
    ] {
        let err = fails(args);
        assert!(
            err.contains("versions have no leading v: 1.5.0"),
            "{args:?}: {err}"
        );
    }
    let err = fails(&["pull", "webapp:2.0.0"]);
    assert!(err.contains("its versions: 1.4.0, 1.5.0"), "{err}");
    // A label mistyped: the labels near it.
    ok(&sb.run(&[
        "-r",
        reg,
        "tag",
        "add",
        "webapp:1.5.0",
        "stable",
        "-g",
        "prod",
    ]));
    for args in [
        &["pull", "webapp:prod__stabel"][..],
        &["tag", "rm", "webapp:prod__stabel"],
    ] {
        let err = fails(args);
        assert!(
            err.contains("did you mean webapp:prod__stable?"),
            "{args:?}: {err}"
        );
    }
    let json = sb.run(&["-r", reg, "--json", "inspect", "webapp:2.0.0"]);
    let error: Value = serde_json::from_str(stderr(&json).trim()).unwrap();
    assert_eq!(error["kind"], "not_found", "{error}");
    // Nothing near: say where to look.
    let err = fails(&["pull", "zzzzzzzz"]);
    assert!(err.contains("`packreg ls`"), "{err}");
    assert!(stdout(&sb.run(&["-r", reg, "ls"])).contains("probe"));
}

/// Forwards every connection to `[::1]:PORT` to `upstream`, for as long as the test runs:
/// the registry under test listens on IPv4 only.
fn ipv6_forwarder(upstream: &str) -> u16 {
    let listener = std::net::TcpListener::bind("[::1]:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let upstream = upstream.to_string();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                continue;
            };
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut s_read, mut c_write) = (server, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_read, &mut s_write);
                let _ = s_write.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s_read, &mut c_write);
                let _ = c_write.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    port
}

/// A full reference with an IPv6 host in brackets (`[::1]:PORT/...`) picks that registry, by
/// tag and by digest.
#[test]
fn a_full_reference_with_an_ipv6_host_picks_that_registry() {
    require_peers!("docker-registry");
    let registry = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    push_webapp(&sb, &registry.addr);
    let port = ipv6_forwarder(&registry.addr);
    let base = format!("[::1]:{port}/spectro-packs/archive/webapp");
    let shown = sb.json(&["inspect", &format!("{base}:1.5.0")]);
    let digest = shown["digest"].as_str().unwrap();
    assert!(
        shown["reference"]
            .as_str()
            .unwrap()
            .starts_with(&format!("[::1]:{port}/")),
        "{shown}"
    );
    let dest = sb.path("pulled");
    ok(&sb.run(&["pull", &format!("{base}@{digest}"), "-o", s(&dest)]));
    assert!(dest.join("pack.json").is_file());
}
