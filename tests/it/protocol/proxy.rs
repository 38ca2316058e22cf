//! HTTP_PROXY, HTTPS_PROXY and NO_PROXY, through a loopback forward proxy of the tests', in
//! front of a real docker-registry, plain and with TLS.

use crate::support as common;
use crate::support::connect_proxy;

use std::process::{Command, Output};

use common::registry::{Registry, Tls};
use common::{pack, stderr};
use connect_proxy::ConnectProxy;

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// Runs packreg in a private HOME with `env` set and every other proxy variable removed.
fn run(home: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_packreg"));
    cmd.args(args)
        .env("HOME", home)
        .env("DOCKER_CONFIG", home.join(".docker"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env_remove("PACKREG_REGISTRY");
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"] {
        cmd.env_remove(var).env_remove(var.to_ascii_lowercase());
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn plain_http_goes_through_http_proxy_unless_no_proxy() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let proxy = ConnectProxy::start();
    let home = tempfile::tempdir().unwrap();
    let env = [("HTTP_PROXY", proxy.url.as_str())];
    let pushed = run(
        home.path(),
        &env,
        &["-r", &reg.addr, "--plain-http", "push", s(&pack("probe"))],
    );
    assert!(pushed.status.success(), "{}", stderr(&pushed));
    let out = home.path().join("out");
    let pulled = run(
        home.path(),
        &env,
        &[
            "-r",
            &reg.addr,
            "--plain-http",
            "pull",
            "probe",
            "-o",
            s(&out),
        ],
    );
    assert!(pulled.status.success(), "{}", stderr(&pulled));
    let seen = proxy.log();
    let absolute = format!("http://{}/v2/", reg.addr);
    assert!(
        seen.iter()
            .any(|l| l.starts_with("PUT ") && l.contains(&absolute)),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|l| l.starts_with("GET ") && l.contains("/blobs/sha256:")),
        "{seen:?}"
    );

    let before = proxy.log().len();
    let bypass = [
        ("HTTP_PROXY", proxy.url.as_str()),
        ("NO_PROXY", "127.0.0.1"),
    ];
    let listed = run(
        home.path(),
        &bypass,
        &["-r", &reg.addr, "--plain-http", "ls", "probe"],
    );
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert_eq!(proxy.log().len(), before, "NO_PROXY was not honoured");
}

#[test]
fn https_goes_through_a_connect_tunnel() {
    require_peers!("docker-registry", "openssl");
    let reg = Registry::start(Tls::SelfSigned, None);
    let ca = reg.ca.clone().unwrap();
    let proxy = ConnectProxy::start();
    let home = tempfile::tempdir().unwrap();
    let env = [("HTTPS_PROXY", proxy.url.as_str())];
    let pushed = run(
        home.path(),
        &env,
        &[
            "-r",
            &reg.addr,
            "--ca-file",
            s(&ca),
            "push",
            s(&pack("probe")),
        ],
    );
    assert!(pushed.status.success(), "{}", stderr(&pushed));
    let seen = proxy.log();
    assert!(
        seen.iter()
            .any(|l| l == &format!("CONNECT {} HTTP/1.1", reg.addr)),
        "{seen:?}"
    );
    // Nothing but tunnels: the registry traffic itself is inside TLS.
    assert!(seen.iter().all(|l| l.starts_with("CONNECT ")), "{seen:?}");
}
