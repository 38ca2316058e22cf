//! `packreg doctor` against real docker-registry set-ups and, for what distribution 2.8 cannot
//! show, the fake registry.

use crate::support as common;
use crate::support::fake_registry as fake;

use common::registry::{Registry, Tls};
use common::{ok, pack, Sandbox};
use fake::{FakeRegistry, Rule};
use serde_json::Value;

fn finding<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"].as_str().unwrap().starts_with(check))
        .unwrap_or_else(|| panic!("no {check} in {report}"))
}

fn result(report: &Value, check: &str) -> String {
    finding(report, check)["result"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn doctor_on_a_plain_registry_reads_and_writes_only_scratch_repositories() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    ok(&sb.run(&[
        "-r",
        &reg.addr,
        "--plain-http",
        "push",
        pack("probe").to_str().unwrap(),
    ]));
    let before = reg.log().len();
    let report = sb.json(&["--plain-http", "doctor", &reg.addr, "--write"]);
    assert!(report["requests"].as_u64().unwrap() <= 40, "{report}");
    assert_eq!(result(&report, "authentication"), "none");
    assert_eq!(result(&report, "_catalog"), "allowed");
    assert_eq!(
        result(&report, "_catalog page size"),
        "pages over 1000 refused"
    );
    assert_eq!(result(&report, "Referrers API"), "absent (HTTP 404)");
    assert_eq!(result(&report, "Range on blob GETs"), "honoured (206)");
    assert_eq!(result(&report, "blob upload"), "HTTP 201");
    assert!(result(&report, "chunked upload").starts_with("HTTP 201"));
    assert!(result(&report, "cross-repository mount").starts_with("mounted (201)"));
    assert_eq!(result(&report, "native pack manifest"), "HTTP 201");
    assert_eq!(result(&report, "Palette-format manifest"), "HTTP 201");
    assert_eq!(result(&report, "largest manifest"), "4088 KiB accepted");
    assert!(result(&report, "tag DELETE").starts_with("by digest only"));
    assert_eq!(result(&report, "manifest DELETE"), "HTTP 202");
    // Nothing was written where packs live, and the probe left its manifests deleted.
    let listed = sb.json(&["-r", &reg.addr, "--plain-http", "ls"]);
    let names: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, vec![Value::from("probe")]);
    let log = reg.log();
    for line in log[before..].lines().filter(|l| {
        l.contains("\"PUT ")
            || l.contains("\"POST ")
            || l.contains("\"PATCH ")
            || l.contains("\"DELETE ")
    }) {
        assert!(
            line.contains("/v2/packreg-doctor-"),
            "a write outside the scratch repositories: {line}"
        );
    }
    // What was learned is kept for later runs.
    let record = std::fs::read_dir(sb.path(".cache/packreg/capabilities"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let record: Value = serde_json::from_slice(&std::fs::read(record).unwrap()).unwrap();
    assert_eq!(record["referrers_api"], false);
    assert_eq!(record["chunked_uploads"], true);
    assert_eq!(record["deletes"], true);
    assert_eq!(record["scheme"], "http");
    assert_eq!(record["auth"], "none");
    assert_eq!(record["range"], true);
    assert_eq!(record["catalog"], true);
    assert_eq!(record["catalog_page_max"], 1000);
}

#[test]
fn doctor_says_deletes_are_disabled_and_basic_auth_is_used() {
    require_peers!("docker-registry", "htpasswd");
    let reg = Registry::start_without_deletes();
    let sb = Sandbox::new();
    let report = sb.json(&["--plain-http", "doctor", &reg.addr, "--write"]);
    assert_eq!(result(&report, "tag DELETE"), "disabled (405)");
    assert_eq!(finding(&report, "manifest DELETE")["ok"], false);
    assert!(finding(&report, "manifest DELETE")["action"]
        .as_str()
        .unwrap()
        .contains("storage.delete.enabled"));

    let authed = Registry::start(Tls::None, Some(("doc", "doc-pass-31")));
    let sb = Sandbox::new();
    ok(&sb.run_with_stdin(
        &[
            "login",
            &authed.addr,
            "--plain-http",
            "-u",
            "doc",
            "--password-stdin",
        ],
        Some("doc-pass-31"),
    ));
    let report = sb.json(&["--plain-http", "doctor", &authed.addr]);
    assert_eq!(result(&report, "authentication"), "basic");
}

#[test]
fn doctor_reports_what_distribution_cannot_show() {
    let repo = "spectro-packs/archive/app";
    let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
    let index = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    let server = FakeRegistry::start(vec![
        Rule::new("GET", "/v2/", 200),
        Rule::new("GET", "/v2/_catalog?n=1000", 200)
            .body(format!(r#"{{"repositories":["{repo}"]}}"#)),
        Rule::new("GET", "/v2/_catalog?n=10000", 200).body(r#"{"repositories":[]}"#),
        Rule::new("GET", &format!("/v2/{repo}/tags/list?n=1"), 200)
            .header(
                "link",
                &format!("</v2/{repo}/tags/list?n=1&last=1.0.0>; rel=\"next\""),
            )
            .body(r#"{"tags":["1.0.0"]}"#),
        Rule::new("GET", &format!("/v2/{repo}/manifests/1.0.0"), 200)
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(manifest.to_vec()),
        Rule::new("GET", &format!("/v2/{repo}/referrers/*"), 200)
            .header("content-type", "application/vnd.oci.image.index.v1+json")
            .body(index),
        Rule::new("GET", &format!("/v2/{repo}/blobs/*"), 200).body("{}"),
    ]);
    let sb = Sandbox::new();
    let report = sb.json(&["--plain-http", "doctor", &server.addr]);
    assert_eq!(result(&report, "Referrers API"), "present");
    assert_eq!(
        result(&report, "_catalog page size"),
        "pages of 10000 accepted"
    );
    assert_eq!(result(&report, "tag-list paging"), "Link header sent");
    assert_eq!(result(&report, "Range on blob GETs"), "ignored (HTTP 200)");

    let refused = FakeRegistry::start(vec![
        Rule::new("GET", "/v2/", 200),
        Rule::new("GET", "/v2/_catalog*", 401),
    ]);
    let report = sb.json(&["--plain-http", "doctor", &refused.addr]);
    assert_eq!(result(&report, "_catalog"), "refused (HTTP 401)");
    assert!(finding(&report, "_catalog")["action"]
        .as_str()
        .unwrap()
        .contains("`ls` needs a pack name"));
}

#[test]
fn doctor_names_the_token_service_of_a_bearer_registry() {
    require_peers!("docker-registry", "openssl", "python3");
    use common::registry::TokenUser;
    let reg = Registry::start_with_tokens(&[TokenUser {
        name: "dora",
        password: "dora-token-pw-5e1",
        actions: &["pull", "push", "catalog", "delete"],
        refresh_token: None,
    }]);
    let sb = Sandbox::new();
    ok(&sb.run_with_stdin(
        &["login", &reg.addr, "-u", "dora", "--password-stdin"],
        Some("dora-token-pw-5e1"),
    ));
    ok(&sb.run(&["-r", &reg.addr, "push", pack("probe").to_str().unwrap()]));
    let report = sb.json(&["doctor", &reg.addr, "--write"]);
    let auth = result(&report, "authentication");
    assert!(
        auth.starts_with("bearer (realm http://127.0.0.1:"),
        "{auth}"
    );
    assert_eq!(result(&report, "_catalog"), "allowed");
    assert_eq!(result(&report, "blob upload"), "HTTP 201");
    assert!(result(&report, "cross-repository mount").starts_with("mounted (201)"));
    assert_eq!(result(&report, "manifest DELETE"), "HTTP 202");
    assert!(!report.to_string().contains("dora-token-pw-5e1"));
}

#[test]
fn doctor_writes_against_a_registry_refusing_chunks_and_mounts() {
    let session = "/v2/s/1";
    let server = FakeRegistry::start(vec![
        Rule::new("GET", "/v2/", 200),
        Rule::new("GET", "/v2/_catalog*", 404),
        Rule::new("POST", "/v2/packreg-doctor-*?mount=*", 202).header("location", session),
        Rule::new("POST", "/v2/packreg-doctor-*", 202)
            .header("location", session)
            .header("oci-chunk-min-length", "1048576"),
        Rule::new("PATCH", session, 416),
        Rule::new("PUT", &format!("{session}?digest=*"), 201),
        Rule::new("DELETE", session, 204),
        Rule::new("PUT", "/v2/packreg-doctor-*", 201),
        Rule::new("DELETE", "/v2/packreg-doctor-*", 202),
    ]);
    let sb = Sandbox::new();
    let report = sb.json(&["--plain-http", "doctor", &server.addr, "--write"]);
    assert_eq!(result(&report, "_catalog"), "refused (HTTP 404)");
    assert_eq!(
        result(&report, "chunked upload"),
        "HTTP 416, OCI-Chunk-Min-Length 1048576"
    );
    assert_eq!(finding(&report, "chunked upload")["ok"], false);
    assert_eq!(
        result(&report, "cross-repository mount"),
        "not mounted, upload session instead (202), HTTP 202"
    );
    assert_eq!(result(&report, "tag DELETE"), "allowed");
    assert!(report["requests"].as_u64().unwrap() <= 40, "{report}");
    // Nothing but the scratch repositories was written.
    for request in server.log() {
        if request.method != "GET" {
            assert!(
                request.path.starts_with("/v2/packreg-doctor-")
                    || request.path.starts_with(session),
                "{} {}",
                request.method,
                request.path
            );
        }
    }
}

/// doctor takes its registry as every command does (`-r`, `PACKREG_REGISTRY`, config.toml),
/// and says whether it spoke HTTPS or plain HTTP.
#[test]
fn doctor_takes_the_registry_from_r_or_the_settings_and_names_the_scheme() {
    require_peers!("docker-registry");
    let plain = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let report = sb.json(&["-r", &plain.addr, "doctor"]);
    assert_eq!(report["scheme"], "http", "{report}");
    assert_eq!(result(&report, "connection"), "plain HTTP (no TLS)");
    assert_eq!(result(&report, "authentication"), "none");

    let tls = Registry::start(Tls::SelfSigned, None);
    let config = sb.path(".config/packreg/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "registry = \"{a}\"\n[registries.\"{a}\"]\ninsecure = true\n",
            a = tls.addr
        ),
    )
    .unwrap();
    let report = sb.json(&["doctor"]);
    assert_eq!(report["scheme"], "https", "{report}");
    assert_eq!(result(&report, "connection"), "HTTPS");
    let text = common::stdout(&sb.run(&["doctor"]));
    assert!(
        text.contains("connection") && text.contains("HTTPS"),
        "{text}"
    );

    let two = sb.run(&["-r", &plain.addr, "doctor", &tls.addr]);
    assert_eq!(two.status.code(), Some(2), "{}", common::stderr(&two));
    let local = sb.run(&["-r", "oci:/tmp/x", "doctor"]);
    assert_eq!(local.status.code(), Some(2), "{}", common::stderr(&local));
}

/// The tags left in doctor's scratch repositories of `registry` (repository, tag), read with
/// curl from the registry's own API.
fn scratch_tags(registry: &str) -> Vec<(String, String)> {
    let get = |path: &str| -> Value {
        let out = std::process::Command::new("curl")
            .args(["-sS", &format!("http://{registry}{path}")])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    };
    let catalog = get("/v2/_catalog?n=1000");
    let mut left = Vec::new();
    for repo in catalog["repositories"].as_array().into_iter().flatten() {
        let repo = repo.as_str().unwrap();
        if !repo.starts_with("packreg-doctor-") {
            continue;
        }
        let tags = get(&format!("/v2/{repo}/tags/list"));
        for tag in tags["tags"].as_array().into_iter().flatten() {
            left.push((repo.to_string(), tag.as_str().unwrap().to_string()));
        }
    }
    left
}

/// Runs `doctor --write` through `proxy`, which makes the largest-manifest probe wait (503
/// with a long Retry-After, after the native and Palette manifests are tagged), and stops it
/// there with `signal`.
fn doctor_stopped_while_writing(
    sb: &Sandbox,
    proxy: &common::fault_proxy::FaultProxy,
    signal: &str,
) -> std::process::Output {
    use common::fault_proxy::Inject;
    proxy.inject(Inject {
        method: "PUT",
        path_contains: "/manifests/large".into(),
        status: Some(503),
        headers: vec![("Retry-After".into(), "30".into())],
        times: 1,
    });
    let waited = |log: &[(String, String, u16)]| {
        log.iter()
            .filter(|(m, p, s)| m == "PUT" && p.contains("/manifests/large") && *s == 503)
            .count()
    };
    let before = waited(&proxy.log());
    let child = sb
        .command()
        .args(["--plain-http", "doctor", &proxy.addr, "--write"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while waited(&proxy.log()) == before {
        assert!(
            std::time::Instant::now() < deadline,
            "doctor never reached the probe"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let killed = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    child.wait_with_output().unwrap()
}

/// `doctor --write` stopped while its probe manifests are tagged: on SIGTERM it removes them
/// before it exits and says so; killed outright, the next `doctor --write` removes them.
#[test]
fn a_stopped_doctor_write_leaves_no_probe_manifest_behind() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let proxy = common::fault_proxy::FaultProxy::start(&reg.addr);
    let sb = Sandbox::new();

    let out = doctor_stopped_while_writing(&sb, &proxy, "-TERM");
    assert_eq!(out.status.code(), Some(143), "{}", common::stderr(&out));
    let said = common::stderr(&out);
    assert!(!said.contains("nothing half-written"), "{said}");
    assert!(said.contains("were removed"), "{said}");
    assert_eq!(scratch_tags(&reg.addr), Vec::new());

    let out = doctor_stopped_while_writing(&sb, &proxy, "-KILL");
    assert_eq!(out.status.code(), None);
    assert!(
        !scratch_tags(&reg.addr).is_empty(),
        "the killed run left its manifests"
    );
    let report = sb.json(&["--plain-http", "doctor", &proxy.addr, "--write"]);
    let cleaned = finding(&report, "scratch repositories of a stopped run");
    assert_eq!(cleaned["ok"], true, "{report}");
    assert_eq!(scratch_tags(&reg.addr), Vec::new());
}
