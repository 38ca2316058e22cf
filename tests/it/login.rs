//! `packreg login`/`logout` and the ways of reaching a registry: basic auth, bearer tokens with
//! scopes and identity tokens, TLS with a CA file or `--insecure`, client certificates; no
//! credential ever printed.

use crate::support as common;

use common::registry::{Registry, Tls};
use common::{ok, pack, s, snapshot, stderr, stdout, Sandbox};

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
