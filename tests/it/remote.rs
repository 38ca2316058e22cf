//! Every command against a real registry: Debian's docker-registry (CNCF distribution 2.8)
//! started on a loopback port, plain, with htpasswd auth and with TLS.

use crate::support as common;

use common::registry::{Registry, Tls};
use common::{copy_dir, ok, pack, snapshot, stderr, stdout, Sandbox, GOOD_PACKS};
use serde_json::Value;

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn round_trips_every_pack_in_both_formats() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    for format in ["native", "palette"] {
        // A base path per format keeps the two sets of packs apart on one registry.
        let target = format!("{}/{format}", reg.addr);
        for name in GOOD_PACKS {
            let pushed = sb.json(&["-r", &target, "push", "--format", format, s(&pack(name))]);
            assert_eq!(pushed["status"], "pushed", "{name}");
            let info = sb.json(&["-r", &target, "inspect", name]);
            assert_eq!(info["digest"], pushed["digest"]);
            assert_eq!(info["format"], format);
            let out = sb.path(&format!("{format}-{name}"));
            ok(&sb.run(&["-r", &target, "pull", name, "-o", s(&out)]));
            assert_eq!(snapshot(&out), snapshot(&pack(name)), "{format} {name}");
        }
        let rows = sb.json(&["-r", &target, "ls"]);
        assert_eq!(rows.as_array().unwrap().len(), GOOD_PACKS.len(), "{rows}");

        // A second push of the same packs uploads nothing.
        let before = reg.upload_requests();
        for name in GOOD_PACKS {
            let again = sb.json(&["-r", &target, "push", "--format", format, s(&pack(name))]);
            assert_eq!(again["status"], "unchanged");
        }
        assert_eq!(
            reg.upload_requests(),
            before,
            "re-push opened upload sessions"
        );
    }
    // The same folder gives the same digest on a registry as in a local store.
    let local = sb.json(&[
        "-r",
        &format!("oci:{}", s(&sb.path("store"))),
        "push",
        s(&pack("shop")),
    ]);
    let remote = sb.json(&["-r", &format!("{}/native", reg.addr), "inspect", "shop"]);
    assert_eq!(local["digest"], remote["digest"]);
}

#[test]
fn versions_parent_tags_and_rm_on_a_registry() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        let dir = common::pack_with_version(&sb.path(&format!("src-{v}")), "hello-manifests", v);
        ok(&sb.run(&["-r", &reg.addr, "push", s(&dir)]));
    }
    let digest = |tag: &str| {
        sb.json(&[
            "-r",
            &reg.addr,
            "inspect",
            &format!("hello-manifests:{tag}"),
        ])["digest"]
            .clone()
    };
    assert_eq!(digest("1.x"), digest("1.2.0"));
    let removed = sb.json(&["-r", &reg.addr, "rm", "hello-manifests:1.2.0"]);
    assert!(removed["digest"].is_string());
    assert_eq!(digest("1.x"), digest("1.1.0"), "1.x re-pointed after rm");
    let gone = sb.run(&["-r", &reg.addr, "inspect", "hello-manifests:1.2.x"]);
    assert_eq!(gone.status.code(), Some(1), "1.2.x removed with its line");
    let rows = sb.json(&["-r", &reg.addr, "ls", "hello-manifests"]);
    let versions: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, vec!["1.0.0", "1.1.0"]);
    let latest = sb.json(&[
        "-r",
        &reg.addr,
        "pull",
        "hello-manifests",
        "-o",
        s(&sb.path("latest")),
    ]);
    assert_eq!(latest["version"], "1.1.0");
}

#[test]
fn basic_auth_login_logout_and_no_leaked_password() {
    require_peers!("docker-registry", "htpasswd");
    const PASSWORD: &str = "Pa55-word-that-must-not-leak";
    let reg = Registry::start(Tls::None, Some(("alice", PASSWORD)));
    let sb = Sandbox::new();
    let mut outputs = Vec::new();

    let anon = sb.run(&["-r", &reg.addr, "--plain-http", "push", s(&pack("probe"))]);
    assert_eq!(anon.status.code(), Some(1));
    assert!(stderr(&anon).contains("packreg login"), "{}", stderr(&anon));
    outputs.push(anon);

    let wrong = sb.run_with_stdin(
        &[
            "login",
            &reg.addr,
            "-u",
            "alice",
            "--password-stdin",
            "-vvv",
        ],
        Some("not-it\n"),
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(stderr(&wrong).contains("rejected"), "{}", stderr(&wrong));
    outputs.push(wrong);

    let login = sb.run_with_stdin(
        &[
            "login",
            &reg.addr,
            "-u",
            "alice",
            "--password-stdin",
            "-vvv",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(login.status.success(), "{}", stderr(&login));
    outputs.push(login);
    let config = std::fs::read_to_string(sb.path(".docker/config.json")).unwrap();
    assert!(config.contains(&reg.addr), "{config}");

    // login remembered that this loopback registry speaks plain HTTP.
    let push = sb.run(&["-r", &reg.addr, "-vvv", "push", s(&pack("probe"))]);
    assert!(push.status.success(), "{}", stderr(&push));
    outputs.push(push);
    let pull = sb.run(&[
        "-r",
        &reg.addr,
        "-vvv",
        "pull",
        "probe",
        "-o",
        s(&sb.path("p")),
    ]);
    assert!(pull.status.success(), "{}", stderr(&pull));
    outputs.push(pull);

    // -p works but warns.
    let with_p = sb.run(&["login", &reg.addr, "-u", "alice", "-p", PASSWORD]);
    assert!(with_p.status.success());
    assert!(stderr(&with_p).contains("insecure"), "{}", stderr(&with_p));

    ok(&sb.run(&["logout", &reg.addr]));
    let after = sb.run(&["-r", &reg.addr, "ls", "probe"]);
    assert_eq!(after.status.code(), Some(1), "logged out");
    outputs.push(after);

    // Credentials in a docker config file given with --registry-config.
    let other = Sandbox::new();
    let file = other.path("creds.json");
    let auth = base64_encode(&format!("alice:{PASSWORD}"));
    std::fs::write(
        &file,
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.addr),
    )
    .unwrap();
    let listed = other.run(&[
        "-r",
        &reg.addr,
        "--registry-config",
        s(&file),
        "-vvv",
        "ls",
        "probe",
    ]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(stdout(&listed).contains("probe"));
    outputs.push(listed);

    for out in &outputs {
        for text in [stdout(out), stderr(out)] {
            assert!(!text.contains(PASSWORD), "password leaked: {text}");
            assert!(!text.contains(&auth), "encoded credentials leaked: {text}");
        }
    }
}

fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn tls_with_ca_file_insecure_and_a_clear_error_without() {
    require_peers!("docker-registry", "openssl");
    for tls in [Tls::SelfSigned, Tls::CaSigned] {
        let reg = Registry::start(tls, None);
        let sb = Sandbox::new();
        let ca = reg.ca.clone().unwrap();

        let untrusted = sb.run(&["-r", &reg.addr, "push", s(&pack("probe"))]);
        assert_eq!(untrusted.status.code(), Some(1), "{tls:?}");
        let msg = stderr(&untrusted);
        assert!(
            msg.contains("certificate") && msg.contains("--ca-file"),
            "{tls:?}: {msg}"
        );

        let pushed = sb.json(&[
            "-r",
            &reg.addr,
            "--ca-file",
            s(&ca),
            "push",
            s(&pack("probe")),
        ]);
        assert_eq!(pushed["status"], "pushed");
        let out = sb.path("pulled");
        ok(&sb.run(&[
            "-r",
            &reg.addr,
            "--insecure",
            "pull",
            "probe",
            "-o",
            s(&out),
        ]));
        assert_eq!(snapshot(&out), snapshot(&pack("probe")));
        // Plain HTTP against a TLS registry fails rather than silently downgrading.
        let plain = sb.run(&["-r", &reg.addr, "--plain-http", "ls", "probe"]);
        assert_eq!(plain.status.code(), Some(1), "{tls:?}");
    }
}

#[test]
fn oras_sdk_and_skopeo_interoperate() {
    require_peers!(
        "docker-registry",
        "skopeo",
        "python3",
        "python3:oras.client"
    );
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();

    // A native pack pushed by packreg, pulled by the ORAS Python SDK into the pack's files.
    for name in ["shop", "hardened-os", "probe"] {
        let pushed = sb.json(&["-r", &reg.addr, "push", s(&pack(name))]);
        let out = sb.path(&format!("oras-{name}"));
        let target = format!(
            "{}/spectro-packs/archive/{name}:{}",
            reg.addr,
            pushed["tag"].as_str().unwrap()
        );
        let script = "import sys, oras.client\nc = oras.client.OrasClient(hostname=sys.argv[1], insecure=True)\nc.pull(target=sys.argv[2], outdir=sys.argv[3])\n";
        let py = std::process::Command::new("python3")
            .args(["-c", script, &reg.addr, &target, s(&out)])
            .output()
            .unwrap();
        assert!(
            py.status.success(),
            "oras pull {name}: {}",
            String::from_utf8_lossy(&py.stderr)
        );
        let got: Vec<(String, Vec<u8>)> = snapshot(&out)
            .into_iter()
            .filter_map(|(p, c)| c.map(|(bytes, _)| (p, bytes)))
            .collect();
        let want: Vec<(String, Vec<u8>)> = snapshot(&pack(name))
            .into_iter()
            .filter_map(|(p, c)| c.map(|(bytes, _)| (p, bytes)))
            .collect();
        assert_eq!(got, want, "ORAS SDK pull of {name} gives the pack's files");
    }

    // A pack pushed with the ORAS SDK as Palette's docs show, pulled by packreg.
    let work = sb.path("oras-push");
    std::fs::create_dir_all(&work).unwrap();
    copy_dir(
        &pack("hello-manifests"),
        &work.join("hello-manifests-1.0.0"),
    );
    let tar = std::process::Command::new("tar")
        .args([
            "-czf",
            "hello-manifests-1.0.0.tar.gz",
            "hello-manifests-1.0.0",
        ])
        .current_dir(&work)
        .status()
        .unwrap();
    assert!(tar.success());
    let target = format!("{}/spectro-packs/archive/hello-manifests:1.0.0", reg.addr);
    let script = "import sys, oras.client\nc = oras.client.OrasClient(hostname=sys.argv[1], insecure=True)\nc.push(target=sys.argv[2], files=['hello-manifests-1.0.0.tar.gz'])\n";
    let py = std::process::Command::new("python3")
        .args(["-c", script, &reg.addr, &target])
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "oras push: {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let info = sb.json(&["-r", &reg.addr, "inspect", "hello-manifests:1.0.0"]);
    assert_eq!(info["format"], "palette");
    assert_eq!(info["pack"]["name"], "hello-manifests");
    let rows = sb.json(&["-r", &reg.addr, "ls", "hello-manifests"]);
    assert_eq!(
        rows[0]["version"], "1.0.0",
        "a tag without annotations lists by its tag"
    );
    let out = sb.path("from-oras");
    ok(&sb.run(&[
        "-r",
        &reg.addr,
        "pull",
        "hello-manifests:1.0.0",
        "-o",
        s(&out),
    ]));
    assert_eq!(snapshot(&out), snapshot(&pack("hello-manifests")));

    // skopeo copy of a packreg pack to another repository: same digest, pulled unchanged.
    let source = format!("{}/src", reg.addr);
    let pushed = sb.json(&[
        "-r",
        &source,
        "push",
        "--format",
        "palette",
        s(&pack("probe")),
    ]);
    let src = format!("docker://{source}/spectro-packs/archive/probe:0.1.0");
    let dst = format!(
        "docker://{}/mirror/spectro-packs/archive/probe:0.1.0",
        reg.addr
    );
    let copy = std::process::Command::new("skopeo")
        .args([
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--preserve-digests",
            &src,
            &dst,
        ])
        .output()
        .unwrap();
    assert!(
        copy.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&copy.stderr)
    );
    let mirror = format!("{}/mirror", reg.addr);
    let copied = sb.json(&[
        "-r",
        &mirror,
        "pull",
        "probe:0.1.0",
        "-o",
        s(&sb.path("copied")),
    ]);
    assert_eq!(copied["digest"], pushed["digest"]);
    assert_eq!(snapshot(&sb.path("copied")), snapshot(&pack("probe")));
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

#[test]
fn bearer_tokens_scopes_and_identity_tokens() {
    require_peers!("docker-registry", "openssl", "python3");
    use common::registry::TokenUser;
    const ALICE_PW: &str = "alice-token-pw-9f3";
    const READER_PW: &str = "reader-token-pw-1c7";
    const REFRESH: &str = "refresh-token-for-alice-77aa";
    let reg = Registry::start_with_tokens(&[
        TokenUser {
            name: "alice",
            password: ALICE_PW,
            actions: &["pull", "push", "catalog", "delete"],
            refresh_token: Some(REFRESH),
        },
        TokenUser {
            name: "reader",
            password: READER_PW,
            actions: &["pull"],
            refresh_token: None,
        },
    ]);
    let mut outputs = Vec::new();

    let alice = Sandbox::new();
    let anon = alice.run(&["-r", &reg.addr, "push", s(&pack("probe"))]);
    assert_eq!(anon.status.code(), Some(1));
    outputs.push(anon);
    let login = alice.run_with_stdin(
        &["login", &reg.addr, "-u", "alice", "--password-stdin"],
        Some(ALICE_PW),
    );
    assert!(login.status.success(), "{}", stderr(&login));
    outputs.push(login);
    let pushed = alice.run(&["-r", &reg.addr, "-vv", "--json", "push", s(&pack("probe"))]);
    assert!(
        pushed.status.success(),
        "push through the token flow: {}\n{}",
        stderr(&pushed),
        reg.log()
    );
    outputs.push(pushed);
    let listed = alice.run(&["-r", &reg.addr, "--json", "ls"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    outputs.push(listed);

    // A DELETE asks the token service for the delete action (distribution requires it).
    let second = common::pack_with_version(&alice.path("v2"), "probe", "0.2.0");
    ok(&alice.run(&["-r", &reg.addr, "push", s(&second)]));
    let removed = alice.run(&["-r", &reg.addr, "rm", "probe:0.2.0"]);
    assert!(
        removed.status.success(),
        "rm through the token flow: {}\n{}",
        stderr(&removed),
        reg.log()
    );
    outputs.push(removed);
    let tags = alice.json(&["-r", &reg.addr, "ls", "probe"]);
    assert_eq!(tags.as_array().map(Vec::len), Some(1), "{tags}");

    // A token scoped to pull only cannot push.
    let reader = Sandbox::new();
    ok(&reader.run_with_stdin(
        &["login", &reg.addr, "-u", "reader", "--password-stdin"],
        Some(READER_PW),
    ));
    let pulled = reader.run(&["-r", &reg.addr, "pull", "probe", "-o", s(&reader.path("p"))]);
    assert!(pulled.status.success(), "{}", stderr(&pulled));
    assert_eq!(snapshot(&reader.path("p")), snapshot(&pack("probe")));
    let dir = common::pack_with_version(&reader.path("v2"), "probe", "0.2.0");
    let denied = reader.run(&["-r", &reg.addr, "push", s(&dir)]);
    assert_eq!(denied.status.code(), Some(1), "a pull-only token pushed");
    let msg = stderr(&denied);
    assert!(
        // distribution answers a token without push scope with 401 (insufficient_scope).
        msg.contains("(UNAUTHORIZED)")
            && msg.contains("spectro-packs/archive/probe")
            && !msg.contains(READER_PW),
        "{msg}"
    );
    outputs.push(denied);

    // An identity token in the docker config is exchanged for access tokens.
    let ident = Sandbox::new();
    std::fs::create_dir_all(ident.path(".docker")).unwrap();
    std::fs::write(
        ident.path(".docker/config.json"),
        format!(
            r#"{{"auths":{{"{}":{{"identitytoken":"{REFRESH}"}}}}}}"#,
            reg.addr
        ),
    )
    .unwrap();
    let via_identity = ident.run(&[
        "-r",
        &reg.addr,
        "--plain-http",
        "-vv",
        "pull",
        "probe",
        "-o",
        s(&ident.path("p")),
    ]);
    assert!(via_identity.status.success(), "{}", stderr(&via_identity));
    outputs.push(via_identity);

    for out in &outputs {
        for text in [stdout(out), stderr(out)] {
            for secret in [ALICE_PW, READER_PW, REFRESH] {
                assert!(!text.contains(secret), "secret leaked: {text}");
            }
        }
    }
}

#[test]
fn a_chart_known_in_another_pack_is_mounted_not_uploaded() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    // shop and probe carry the same web chart archive.
    let shop = sb.json(&["-r", &reg.addr, "push", s(&pack("shop"))]);
    assert_eq!(shop["status"], "pushed");
    let info = sb.json(&["-r", &reg.addr, "inspect", "shop"]);
    let web = info["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["title"] == "charts/web-1.2.0.tgz")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let probe = sb.json(&["-r", &reg.addr, "push", s(&pack("probe"))]);
    assert_eq!(probe["status"], "pushed");
    let log = reg.log();
    let mounted = log.lines().any(|l| {
        l.contains("\"POST /v2/spectro-packs/archive/probe/blobs/uploads/?")
            && l.contains("mount=")
            && l.contains(&web)
            && l.contains("\" 201 ")
    });
    assert!(
        mounted,
        "no 201 mount of the shared chart in the registry log:\n{log}"
    );
    let out = sb.path("probe");
    ok(&sb.run(&["-r", &reg.addr, "pull", "probe", "-o", s(&out)]));
    assert_eq!(snapshot(&out), snapshot(&pack("probe")));
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
fn redirected_blob_downloads_get_no_registry_credentials() {
    require_peers!("docker-registry", "htpasswd", "python3");
    const PASSWORD: &str = "redirect-pw-41d";
    let reg = Registry::start(Tls::None, Some(("alice", PASSWORD)));
    let sb = Sandbox::new();
    let ports = sb.path("ports");
    let record = sb.path("storage.log");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/redirect_proxy.py");
    let mut proxy = std::process::Command::new("python3")
        .arg(script)
        .args([reg.addr.as_str(), "alice", PASSWORD])
        .arg(&ports)
        .arg(&record)
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let front = loop {
        if let Ok(text) = std::fs::read_to_string(&ports) {
            break format!("127.0.0.1:{}", text.split_whitespace().next().unwrap());
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "proxy did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let login = sb.run_with_stdin(
        &["login", &front, "-u", "alice", "--password-stdin"],
        Some(PASSWORD),
    );
    let pushed = sb.run(&["-r", &front, "push", s(&pack("probe"))]);
    let pulled = sb.run(&["-r", &front, "pull", "probe", "-o", s(&sb.path("p"))]);
    let _ = proxy.kill();
    let _ = proxy.wait();
    assert!(login.status.success(), "{}", stderr(&login));
    assert!(pushed.status.success(), "{}", stderr(&pushed));
    assert!(pulled.status.success(), "{}", stderr(&pulled));
    assert_eq!(snapshot(&sb.path("p")), snapshot(&pack("probe")));
    let log = std::fs::read_to_string(&record).unwrap_or_default();
    assert!(
        log.contains("request"),
        "the blob downloads were redirected to storage"
    );
    assert!(
        !log.contains("authorization=yes"),
        "registry credentials went to another host:\n{log}"
    );
}

#[test]
fn client_certificates_from_docker_certs_d() {
    require_peers!("docker-registry", "openssl");
    let reg = Registry::start(Tls::Mutual, None);
    let ca = reg.ca.clone().unwrap();

    // Without a client certificate the registry refuses the TLS handshake.
    let without = Sandbox::new();
    let out = without.run(&["-r", &reg.addr, "--ca-file", s(&ca), "ls", "probe"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));

    // docker's layout: ~/.docker/certs.d/<host:port>/{ca.crt,client.cert,client.key}.
    let sb = Sandbox::new();
    let certs = sb.path(&format!(".docker/certs.d/{}", reg.addr));
    reg.client_certificate(&certs);
    std::fs::copy(&ca, certs.join("ca.crt")).unwrap();
    let pushed = sb.json(&["-r", &reg.addr, "push", s(&pack("probe"))]);
    assert_eq!(pushed["status"], "pushed");
    let rows = sb.json(&["-r", &reg.addr, "ls"]);
    assert_eq!(rows[0]["name"], "probe");
    let again = sb.json(&["-r", &reg.addr, "push", s(&pack("probe"))]);
    assert_eq!(again["status"], "unchanged");
    let out_dir = sb.path("p");
    ok(&sb.run(&["-r", &reg.addr, "pull", "probe", "-o", s(&out_dir)]));
    assert_eq!(snapshot(&out_dir), snapshot(&pack("probe")));
    ok(&sb.run(&["-r", &reg.addr, "tag", "add", "probe:0.1.0", "stable"]));
    ok(&sb.run(&["-r", &reg.addr, "tag", "rm", "probe:stable"]));
    ok(&sb.run(&["-r", &reg.addr, "rm", "probe:0.1.0"]));
}

#[test]
fn a_large_file_is_sent_while_hashed_and_skipped_when_the_registry_has_it() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    // Past the size from which push sends a file while it hashes the pack.
    let v1 = common::pack_with_version(&sb.path("v1"), "hello-manifests", "1.0.0");
    common::write_random(&v1.join("payload.bin"), 40 << 20);
    let first = sb.json(&["-r", &reg.addr, "push", s(&v1)]);
    assert_eq!(first["status"], "pushed");
    assert!(
        first["bytes_uploaded"].as_u64().unwrap() > 40 << 20,
        "{first}"
    );
    let out = sb.path("out1");
    ok(&sb.run(&[
        "-r",
        &reg.addr,
        "pull",
        "hello-manifests:1.0.0",
        "-o",
        s(&out),
    ]));
    assert_eq!(snapshot(&out), snapshot(&v1));

    // A new version with the same large file: the early upload is cancelled, the blob skipped.
    let v2 = sb.path("v2");
    common::copy_dir(&v1, &v2);
    common::set_pack_field(&v2, "version", "1.1.0");
    let second = sb.json(&["-r", &reg.addr, "push", s(&v2)]);
    assert_eq!(second["status"], "pushed");
    assert!(
        second["bytes_uploaded"].as_u64().unwrap() < 1 << 20,
        "{second}"
    );
    let cancelled = "DELETE /v2/spectro-packs/archive/hello-manifests/blobs/uploads/";
    assert!(
        reg.log().contains(cancelled),
        "no cancelled session: {}",
        reg.log()
    );
    let out = sb.path("out2");
    ok(&sb.run(&[
        "-r",
        &reg.addr,
        "pull",
        "hello-manifests:1.1.0",
        "-o",
        s(&out),
    ]));
    assert_eq!(snapshot(&out), snapshot(&v2));
    let info = sb.json(&["-r", &reg.addr, "inspect", "hello-manifests:1.1.0"]);
    let payload = info["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["title"] == "payload.bin")
        .unwrap();
    assert_eq!(payload["size"], 40 << 20);
}
