//! `packreg sign` and `packreg verify`, checked against an independent implementation of the
//! three formats written from their specifications (`support/signer.py`, Python
//! `cryptography` and PyNaCl): packreg's signatures verify there, its signatures verify in
//! packreg, on a local layout and on distribution 2.8 (no Referrers API: the fallback tag),
//! and through the protocol-test server's Referrers API; every refusal has its test.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support as common;

use common::fake_registry::{FakeRegistry, Rule};
use common::{ok, s, stderr, stdout, Backend, Sandbox, TestStore};

const REPO: &str = "spectro-packs/archive/hello-manifests";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn signer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/signer.py")
}

/// Runs the independent signer.
fn signer(args: &[&str]) -> Output {
    std::process::Command::new("python3")
        .arg(signer_script())
        .args(args)
        .env("COSIGN_PASSWORD", "correct horse")
        .output()
        .expect("python3 runs")
}

fn signer_ok(args: &[&str]) {
    let out = signer(args);
    assert!(out.status.success(), "signer {args:?}: {}", stderr(&out));
}

/// A key pair of `kind` in `dir` (key.pem, pub.pem, cosign.key) with a certificate chain
/// (chain.pem, leaf first) from its own CA (ca.pem).
fn keys(sb: &Sandbox, name: &str, kind: &str, expired: bool) -> PathBuf {
    let dir = sb.path(name);
    signer_ok(&[
        "keygen",
        "--kind",
        kind,
        "--out",
        s(&dir),
        "--password",
        "correct horse",
    ]);
    let key = dir.join("key.pem");
    let mut cert = vec!["cert", "--key", s(&key), "--out", s(&dir)];
    if expired {
        cert.push("--expired");
    }
    signer_ok(&cert);
    dir
}

/// A trust store holding `ca` as `ca:test`, and a strict-by-default policy for every
/// repository trusting the signer's subject.
fn trust_policy(sb: &Sandbox, ca: &Path, level: &str, identity: &str) -> (PathBuf, PathBuf) {
    let store = sb.path("truststore");
    let dir = store.join("x509/ca/test");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(ca, dir.join("ca.pem")).unwrap();
    let policy = sb.path(&format!("trustpolicy-{level}.json"));
    let doc = serde_json::json!({
        "version": "1.0",
        "trustPolicies": [{
            "name": "packs",
            "registryScopes": ["*"],
            "signatureVerification": {"level": level},
            "trustStores": ["ca:test"],
            "trustedIdentities": [identity],
        }]
    });
    std::fs::write(&policy, doc.to_string()).unwrap();
    (policy, store)
}

const SIGNER_IDENTITY: &str = "x509.subject: C=US, ST=WA, O=Packreg Test, CN=packreg signer";

/// Pushes the test pack; returns its digest.
fn push_pack(sb: &Sandbox, r: &str) -> String {
    ok(&sb.run(&["-r", r, "push", s(&common::pack("hello-manifests"))]));
    sb.json(&["-r", r, "inspect", "hello-manifests:1.0.0"])["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `packreg --json verify` with `trust` flags: the exit code and the report.
fn verify(sb: &Sandbox, r: &str, trust: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["--json", "-r", r, "verify", "hello-manifests:1.0.0"];
    args.extend_from_slice(trust);
    let out = sb.run(&args);
    let report = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("verify printed no report ({e}): {}", stderr(&out)));
    (out.status.code().unwrap(), report)
}

fn independent_verify(r: &str, digest: &str, format: &str, trust: &[&str]) -> Output {
    let mut args = vec![
        "verify", "--store", r, "--repo", REPO, "--digest", digest, "--format", format,
    ];
    args.extend_from_slice(trust);
    signer(&args)
}

over_backends!(packreg_signatures_verify_with_the_independent_implementation);

/// Each format packreg writes (cosign's .sig tag with a key from cosign's encrypted key file,
/// a second cosign signature as a second layer, a sigstore bundle referrer, a notation
/// referrer with its chain) verifies with the independent implementation, which finds the
/// referrers in the fallback index on a layout and on distribution 2.8.
fn packreg_signatures_verify_with_the_independent_implementation(backend: Backend) {
    require_peers!("python3:cryptography", "python3:nacl");
    let sb = Sandbox::new();
    let store = TestStore::start(backend, &sb);
    let r = store.at("");
    let digest = push_pack(&sb, &r);
    let ec = keys(&sb, "ec", "p256", false);
    let rsa = keys(&sb, "rsa", "rsa", false);
    let sign = |key: &Path, format: &str, extra: &[&str]| {
        let mut args = vec![
            "sign",
            "hello-manifests:1.0.0",
            "--key",
            s(key),
            "--format",
            format,
        ];
        args.extend_from_slice(extra);
        ok(&sb.run_at(
            sb.home.path(),
            &r,
            &[("COSIGN_PASSWORD", "correct horse")],
            &args,
        ))
    };
    sign(&ec.join("cosign.key"), "cosign", &[]);
    sign(&rsa.join("key.pem"), "cosign", &[]);
    sign(&ec.join("key.pem"), "bundle", &[]);
    sign(
        &rsa.join("key.pem"),
        "notation",
        &["--cert", s(&rsa.join("chain.pem"))],
    );

    for (format, trust) in [
        ("cosign", ["--pub", s(&ec.join("pub.pem"))]),
        ("cosign", ["--pub", s(&rsa.join("pub.pem"))]),
        ("bundle", ["--pub", s(&ec.join("pub.pem"))]),
        ("notation", ["--ca", s(&rsa.join("ca.pem"))]),
    ] {
        let out = independent_verify(&r, &digest, format, &trust);
        assert!(out.status.success(), "{format} {trust:?}: {}", stderr(&out));
    }
    // The wrong key verifies nothing there either.
    let out = independent_verify(&r, &digest, "bundle", &["--pub", s(&rsa.join("pub.pem"))]);
    assert!(!out.status.success());

    // packreg agrees, and lists all four.
    let (code, report) = verify(
        &sb,
        &r,
        &[
            "--key",
            s(&ec.join("pub.pem")),
            "--key",
            s(&rsa.join("pub.pem")),
        ],
    );
    assert_eq!(code, 0, "{report}");
    let formats: Vec<&str> = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["verified"] == true)
        .map(|s| s["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["cosign", "cosign", "bundle"], "{report}");
}

over_backends!(independent_signatures_verify_with_packreg);

/// Signatures the independent implementation writes (cosign with Ed25519, a bundle with
/// P-384, notation with ECDSA P-256) verify with packreg against the keys and against a trust
/// policy and trust store; nothing verifies against a key or CA that did not sign.
fn independent_signatures_verify_with_packreg(backend: Backend) {
    require_peers!("python3:cryptography", "python3:nacl");
    let sb = Sandbox::new();
    let store = TestStore::start(backend, &sb);
    let r = store.at("");
    let digest = push_pack(&sb, &r);
    let ed = keys(&sb, "ed", "ed25519", false);
    let p384 = keys(&sb, "p384", "p384", false);
    let ec = keys(&sb, "ec", "p256", false);
    let other = keys(&sb, "other", "p256", false);
    let sign = |format: &str, key: &Path, cert: Option<&Path>| {
        let mut args = vec![
            "sign",
            "--store",
            &r,
            "--repo",
            REPO,
            "--digest",
            &digest,
            "--format",
            format,
            "--key",
            s(key),
        ];
        if let Some(cert) = cert {
            args.extend(["--cert", s(cert)]);
        }
        signer_ok(&args);
    };
    sign("cosign", &ed.join("key.pem"), None);
    sign("bundle", &p384.join("cosign.key"), None);
    sign("notation", &ec.join("key.pem"), Some(&ec.join("chain.pem")));

    let (code, report) = verify(&sb, &r, &["--key", s(&ed.join("pub.pem"))]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["signatures"][0]["format"], "cosign");
    assert_eq!(report["signatures"][0]["verified"], true);
    let (code, report) = verify(&sb, &r, &["--key", s(&p384.join("pub.pem"))]);
    assert_eq!(code, 0, "{report}");
    assert!(report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["format"] == "bundle" && s["verified"] == true));

    let (policy, truststore) = trust_policy(&sb, &ec.join("ca.pem"), "strict", SIGNER_IDENTITY);
    let (code, report) = verify(
        &sb,
        &r,
        &[
            "--trust-policy",
            s(&policy),
            "--trust-store",
            s(&truststore),
        ],
    );
    assert_eq!(code, 0, "{report}");
    let notation = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["format"] == "notation")
        .unwrap()
        .clone();
    assert_eq!(notation["verified"], true, "{report}");
    assert!(notation["signer"]
        .as_str()
        .unwrap()
        .contains("CN=packreg signer"));

    let (code, report) = verify(&sb, &r, &["--key", s(&other.join("pub.pem"))]);
    assert_eq!(code, 1, "{report}");
    assert!(report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["verified"] == false));
}

/// The refusal kind packreg reports for the one signature of `format`.
fn refusal_of(report: &serde_json::Value, format: &str) -> String {
    let sig = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["format"] == format)
        .unwrap_or_else(|| panic!("no {format} signature in {report}"));
    assert_eq!(sig["verified"], false, "{report}");
    sig["refusal"]["kind"].as_str().unwrap().to_string()
}

/// A pack in a fresh local store signed by the independent signer with `extra` arguments;
/// packreg's exit code and report against `trust`.
fn refused(
    format: &str,
    extra: &[&str],
    key: &str,
    trust: impl Fn(&Sandbox, &Path) -> Vec<String>,
) -> (i32, serde_json::Value) {
    let sb = Sandbox::new();
    let r = sb.registry();
    let digest = push_pack(&sb, &r);
    let dir = keys(&sb, "k", key, extra.contains(&"--expired-cert"));
    let (key_file, chain) = (dir.join("key.pem"), dir.join("chain.pem"));
    let mut args = vec![
        "sign",
        "--store",
        &r,
        "--repo",
        REPO,
        "--digest",
        &digest,
        "--format",
        format,
        "--key",
        s(&key_file),
        "--cert",
        s(&chain),
    ];
    args.extend(extra.iter().filter(|a| **a != "--expired-cert"));
    signer_ok(&args);
    let flags = trust(&sb, &dir);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    verify(&sb, &r, &flags)
}

fn own_key(_: &Sandbox, dir: &Path) -> Vec<String> {
    vec!["--key".into(), s(&dir.join("pub.pem")).into()]
}

fn own_ca(sb: &Sandbox, dir: &Path) -> Vec<String> {
    let (policy, store) = trust_policy(sb, &dir.join("ca.pem"), "strict", SIGNER_IDENTITY);
    vec![
        "--trust-policy".into(),
        s(&policy).into(),
        "--trust-store".into(),
        s(&store).into(),
    ]
}

const OTHER_DIGEST: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// A cosign signature whose payload names another digest is refused as such, though its
/// signature is good; one whose payload lost a byte after signing, or made with another key,
/// is refused as not verifying with the trusted key.
#[test]
fn cosign_refusals_another_digest_a_changed_byte_a_wrong_key() {
    require_peers!("python3:cryptography", "python3:nacl");
    let (code, report) = refused(
        "cosign",
        &["--signed-digest", OTHER_DIGEST],
        "p256",
        own_key,
    );
    assert_eq!(
        (code, refusal_of(&report, "cosign").as_str()),
        (1, "otherDigest"),
        "{report}"
    );
    assert_eq!(report["signatures"][0]["refusal"]["signed"], OTHER_DIGEST);
    let (code, report) = refused("cosign", &["--tamper"], "p256", own_key);
    assert_eq!(
        (code, refusal_of(&report, "cosign").as_str()),
        (1, "noTrustedKey"),
        "{report}"
    );
    let (code, report) = refused("cosign", &[], "p256", |sb, _| {
        let other = keys(sb, "other", "p256", false);
        own_key(sb, &other)
    });
    assert_eq!(
        (code, refusal_of(&report, "cosign").as_str()),
        (1, "noTrustedKey"),
        "{report}"
    );
}

/// A bundle whose statement names another subject is refused as such; one whose statement
/// changed after signing does not verify.
#[test]
fn bundle_refusals_another_subject_and_a_changed_byte() {
    require_peers!("python3:cryptography", "python3:nacl");
    let (code, report) = refused(
        "bundle",
        &["--signed-digest", OTHER_DIGEST],
        "p256",
        own_key,
    );
    assert_eq!(
        (code, refusal_of(&report, "bundle").as_str()),
        (1, "otherSubject"),
        "{report}"
    );
    let (code, report) = refused("bundle", &["--tamper"], "p256", own_key);
    assert_eq!(
        (code, refusal_of(&report, "bundle").as_str()),
        (1, "noTrustedKey"),
        "{report}"
    );
}

/// Notation signatures: a changed payload byte, another target digest, an unknown critical
/// header, an expired certificate, a chain from a CA the trust store does not hold and a
/// signer the policy does not name are each refused with their reason.
#[test]
fn notation_refusals_each_with_its_reason() {
    require_peers!("python3:cryptography", "python3:nacl");
    let cases: Vec<(&[&str], &str)> = vec![
        (&["--tamper"], "badSignature"),
        (&["--signed-digest", OTHER_DIGEST], "otherDigest"),
        (&["--crit", "io.example.mustUnderstand"], "unknownCritical"),
        (&["--expired-cert"], "certificateExpired"),
    ];
    for (extra, kind) in cases {
        let (code, report) = refused("notation", extra, "p256", own_ca);
        assert_eq!(
            (code, refusal_of(&report, "notation").as_str()),
            (1, kind),
            "{extra:?}: {report}"
        );
    }
    let (code, report) = refused("notation", &[], "p256", |sb, _| {
        let stranger = keys(sb, "stranger", "p256", false);
        own_ca(sb, &stranger)
    });
    assert_eq!(
        (code, refusal_of(&report, "notation").as_str()),
        (1, "certificateUntrusted"),
        "{report}"
    );
    let (code, report) = refused("notation", &[], "rsa", |sb, dir| {
        let (policy, store) = trust_policy(
            sb,
            &dir.join("ca.pem"),
            "strict",
            "x509.subject: C=US, O=Someone Else",
        );
        vec![
            "--trust-policy".into(),
            s(&policy).into(),
            "--trust-store".into(),
            s(&store).into(),
        ]
    });
    assert_eq!(
        (code, refusal_of(&report, "notation").as_str()),
        (1, "identityNotTrusted"),
        "{report}"
    );
}

/// Under a permissive policy an expired certificate is reported, not enforced.
#[test]
fn a_permissive_policy_reports_an_expired_certificate_without_refusing() {
    require_peers!("python3:cryptography", "python3:nacl");
    let (code, report) = refused("notation", &["--expired-cert"], "p256", |sb, dir| {
        let (policy, store) = trust_policy(sb, &dir.join("ca.pem"), "permissive", SIGNER_IDENTITY);
        vec![
            "--trust-policy".into(),
            s(&policy).into(),
            "--trust-store".into(),
            s(&store).into(),
        ]
    });
    assert_eq!(code, 0, "{report}");
    assert!(
        report["signatures"][0]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{report}"
    );
}

/// Signing adds: a referrer another tool listed in the fallback index stays listed beside
/// packreg's, and signing the same version twice with the same key adds one cosign layer per
/// distinct signature.
#[test]
fn signing_adds_to_the_fallback_index_and_the_sig_manifest() {
    require_peers!("python3:cryptography", "python3:nacl");
    let sb = Sandbox::new();
    let r = sb.registry();
    let digest = push_pack(&sb, &r);
    let ec = keys(&sb, "ec", "p256", false);
    signer_ok(&[
        "sign",
        "--store",
        &r,
        "--repo",
        REPO,
        "--digest",
        &digest,
        "--format",
        "bundle",
        "--key",
        s(&ec.join("key.pem")),
    ]);
    ok(&sb.run(&[
        "-r",
        &r,
        "sign",
        "hello-manifests:1.0.0",
        "--key",
        s(&ec.join("key.pem")),
        "--format",
        "notation",
        "--cert",
        s(&ec.join("chain.pem")),
    ]));
    ok(&sb.run(&[
        "-r",
        &r,
        "sign",
        "hello-manifests:1.0.0",
        "--key",
        s(&ec.join("key.pem")),
    ]));
    ok(&sb.run(&[
        "-r",
        &r,
        "sign",
        "hello-manifests:1.0.0",
        "--key",
        s(&ec.join("key.pem")),
    ]));
    let inspected = sb.json(&["-r", &r, "inspect", "hello-manifests:1.0.0"]);
    assert_eq!(
        inspected["signatures"],
        serde_json::json!(["cosign", "cosign", "bundle", "notation"])
    );
    let (code, report) = verify(&sb, &r, &["--key", s(&ec.join("pub.pem"))]);
    assert_eq!(code, 0, "{report}");
    let formats: Vec<&str> = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["format"].as_str().unwrap())
        .collect();
    // ECDSA signatures differ each time: two cosign layers; the bundle and notation
    // referrers both listed.
    assert_eq!(
        formats,
        ["cosign", "cosign", "bundle", "notation"],
        "{report}"
    );
}

/// What a layout repository folder holds: every blob (manifests among them) by digest.
fn layout_blobs(repo_dir: &Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(repo_dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                format!("sha256:{}", e.file_name().to_string_lossy()),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Signatures found through a Referrers API: the independent signer signs in a local store,
/// whose content the protocol-test server then serves with a Referrers API and no fallback
/// tag; packreg verifies every format there.
#[test]
fn signatures_are_found_through_the_referrers_api() {
    require_peers!("python3:cryptography", "python3:nacl");
    let sb = Sandbox::new();
    let local = sb.registry();
    let digest = push_pack(&sb, &local);
    let ec = keys(&sb, "ec", "p256", false);
    for format in ["bundle", "notation"] {
        signer_ok(&[
            "sign",
            "--store",
            &local,
            "--repo",
            REPO,
            "--digest",
            &digest,
            "--format",
            format,
            "--key",
            s(&ec.join("key.pem")),
            "--cert",
            s(&ec.join("chain.pem")),
        ]);
    }
    let repo_dir = sb.store().join(REPO);
    let fallback = format!("sha256-{}", &digest["sha256:".len()..]);
    let index_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo_dir.join("index.json")).unwrap()).unwrap();
    let fallback_digest = index_json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == fallback.as_str())
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let mut rules = vec![
        Rule::new("GET", "/v2/", 200).body("{}"),
        Rule::new("GET", &format!("/v2/{REPO}/manifests/{fallback}"), 404)
            .body(r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}"#),
        Rule::new(
            "GET",
            &format!("/v2/{REPO}/manifests/{}.sig", fallback),
            404,
        )
        .body(r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}"#),
    ];
    for (d, bytes) in layout_blobs(&repo_dir) {
        let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["mediaType"].as_str().map(str::to_string));
        if d == fallback_digest {
            // The same index, served by the API.
            rules.push(
                Rule::new("GET", &format!("/v2/{REPO}/referrers/{digest}"), 200)
                    .header("content-type", INDEX)
                    .body(bytes.clone()),
            );
            continue;
        }
        if let Some(mt) = media_type.filter(|m| m == MANIFEST || m == INDEX) {
            rules.push(
                Rule::new("GET", &format!("/v2/{REPO}/manifests/{d}"), 200)
                    .header("content-type", &mt)
                    .body(bytes.clone()),
            );
            if d == digest {
                rules.push(
                    Rule::new("GET", &format!("/v2/{REPO}/manifests/1.0.0"), 200)
                        .header("content-type", &mt)
                        .body(bytes.clone()),
                );
            }
        }
        rules.push(Rule::new("GET", &format!("/v2/{REPO}/blobs/{d}"), 200).body(bytes));
    }
    let server = FakeRegistry::start(rules);
    let (policy, truststore) = trust_policy(&sb, &ec.join("ca.pem"), "strict", SIGNER_IDENTITY);
    let (code, report) = verify(&sb, &server.addr, &["--key", s(&ec.join("pub.pem"))]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["signatures"][0]["format"], "bundle", "{report}");
    let (code, report) = verify(
        &sb,
        &server.addr,
        &[
            "--trust-policy",
            s(&policy),
            "--trust-store",
            s(&truststore),
        ],
    );
    assert_eq!(code, 0, "{report}");
    assert!(
        server
            .requests("GET", &format!("/v2/{REPO}/referrers/"))
            .len()
            >= 2
    );
}

/// Signing where the registry has a Referrers API writes the referrer and leaves the
/// fallback tag alone (the registry indexes referrers itself).
#[test]
fn signing_with_a_referrers_api_writes_no_fallback_tag() {
    require_peers!("python3:cryptography", "python3:nacl");
    let sb = Sandbox::new();
    let ec = keys(&sb, "ec", "p256", false);
    let empty = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    let subject = format!(
        r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{empty}","size":2}},"layers":[]}}"#
    );
    let digest = format!("sha256:{}", sha256_hex(subject.as_bytes()));
    let server = FakeRegistry::start(vec![
        Rule::new("GET", "/v2/", 200).body("{}"),
        Rule::new("GET", &format!("/v2/{REPO}/manifests/1.0.0"), 200)
            .header("content-type", MANIFEST)
            .body(subject.clone()),
        Rule::new("HEAD", &format!("/v2/{REPO}/blobs/*"), 404),
        Rule::new("POST", &format!("/v2/{REPO}/blobs/uploads/*"), 202)
            .header("location", &format!("/v2/{REPO}/blobs/uploads/session")),
        Rule::new("PUT", &format!("/v2/{REPO}/blobs/uploads/session*"), 201),
        Rule::new("PUT", &format!("/v2/{REPO}/manifests/sha256:*"), 201)
            .header("oci-subject", &digest),
        Rule::new("GET", &format!("/v2/{REPO}/referrers/{digest}"), 200)
            .header("content-type", INDEX)
            .body(format!(
                r#"{{"schemaVersion":2,"mediaType":"{INDEX}","manifests":[]}}"#
            )),
    ]);
    let out = sb.run(&[
        "--json",
        "-r",
        &server.addr,
        "sign",
        "hello-manifests:1.0.0",
        "--key",
        s(&ec.join("key.pem")),
        "--format",
        "bundle",
    ]);
    let done: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(done["digest"], digest.as_str());
    assert!(done.get("tag").is_none(), "{done}");
    assert_eq!(
        server
            .requests("PUT", &format!("/v2/{REPO}/manifests/sha256:"))
            .len(),
        1
    );
    assert!(server
        .requests("PUT", &format!("/v2/{REPO}/manifests/sha256-"))
        .is_empty());
}

fn sha256_hex(bytes: &[u8]) -> String {
    packreg::digest::Digest::of(bytes).hex().to_string()
}

/// A `.sig` manifest of thousands of layers is read with a bound: packreg looks at its first
/// signatures, counts the rest as omitted, and says so.
#[test]
fn thousands_of_signature_layers_are_bounded_and_reported() {
    require_peers!("python3:cryptography", "python3:nacl");
    let sb = Sandbox::new();
    let r = sb.registry();
    let digest = push_pack(&sb, &r);
    let ec = keys(&sb, "ec", "p256", false);
    signer_ok(&[
        "sign",
        "--store",
        &r,
        "--repo",
        REPO,
        "--digest",
        &digest,
        "--format",
        "cosign",
        "--key",
        s(&ec.join("key.pem")),
        "--count",
        "3000",
    ]);
    let (code, report) = verify(&sb, &r, &["--key", s(&ec.join("pub.pem"))]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["signatures"].as_array().unwrap().len(), 64);
    assert_eq!(report["omitted"], 3000 - 64);
    let out = sb.run(&[
        "-r",
        &r,
        "verify",
        "hello-manifests:1.0.0",
        "--key",
        s(&ec.join("pub.pem")),
    ]);
    assert!(
        stdout(&out).contains("2936 more signatures or referrers not looked at"),
        "{}",
        stdout(&out)
    );
}

over_backends!(rm_removes_a_versions_signatures);

/// `rm` of a signed version removes its signatures too: the `.sig` manifest, the referrers
/// and the fallback index; nothing is left for a verifier to find.
fn rm_removes_a_versions_signatures(backend: Backend) {
    require_peers!("python3:cryptography", "python3:nacl");
    let sb = Sandbox::new();
    let store = TestStore::start(backend, &sb);
    let r = store.at("");
    let digest = push_pack(&sb, &r);
    let ec = keys(&sb, "ec", "p256", false);
    for format in ["cosign", "bundle", "notation"] {
        ok(&sb.run(&[
            "-r",
            &r,
            "sign",
            "hello-manifests:1.0.0",
            "--key",
            s(&ec.join("key.pem")),
            "--format",
            format,
            "--cert",
            s(&ec.join("chain.pem")),
        ]));
    }
    let pubkey = ec.join("pub.pem");
    let ca = ec.join("ca.pem");
    let trust = |format: &str| {
        if format == "notation" {
            ["--ca", s(&ca)]
        } else {
            ["--pub", s(&pubkey)]
        }
    };
    for format in ["cosign", "bundle", "notation"] {
        assert!(independent_verify(&r, &digest, format, &trust(format))
            .status
            .success());
    }
    ok(&sb.run(&["-r", &r, "rm", "hello-manifests:1.0.0"]));
    for format in ["cosign", "bundle", "notation"] {
        let out = independent_verify(&r, &digest, format, &trust(format));
        assert!(!out.status.success(), "{format} signature left after rm");
    }
    if backend == Backend::Local {
        let index = std::fs::read_to_string(sb.store().join(REPO).join("index.json")).unwrap();
        assert!(!index.contains("sha256-"), "{index}");
    }
}

/// Signatures travel: a pack signed in all three formats in a local store, exported and
/// imported into distribution 2.8, verifies at the destination with packreg and with the
/// independent implementation.
#[test]
fn export_and_import_keep_signatures_verifiable() {
    require_peers!("python3:cryptography", "python3:nacl", "docker-registry");
    let sb = Sandbox::new();
    let local = sb.registry();
    let digest = push_pack(&sb, &local);
    let ec = keys(&sb, "ec", "p256", false);
    for format in ["cosign", "bundle", "notation"] {
        ok(&sb.run(&[
            "-r",
            &local,
            "sign",
            "hello-manifests:1.0.0",
            "--key",
            s(&ec.join("key.pem")),
            "--format",
            format,
            "--cert",
            s(&ec.join("chain.pem")),
        ]));
    }
    let bundle = sb.path("site.tar");
    ok(&sb.run(&[
        "-r",
        &local,
        "export",
        "hello-manifests:1.0.0",
        "-o",
        s(&bundle),
    ]));
    let site = TestStore::start(Backend::Registry, &sb);
    let r = site.at("");
    ok(&sb.run(&["-r", &r, "import", s(&bundle)]));
    let (policy, truststore) = trust_policy(&sb, &ec.join("ca.pem"), "strict", SIGNER_IDENTITY);
    for trust in [
        vec!["--key", s(&ec.join("pub.pem"))],
        vec![
            "--trust-policy",
            s(&policy),
            "--trust-store",
            s(&truststore),
        ],
    ] {
        let (code, report) = verify(&sb, &r, &trust);
        assert_eq!(code, 0, "{report}");
        assert_eq!(report["digest"], digest.as_str());
    }
    let (pubkey, ca) = (ec.join("pub.pem"), ec.join("ca.pem"));
    for (format, trust) in [
        ("cosign", ["--pub", s(&pubkey)]),
        ("bundle", ["--pub", s(&pubkey)]),
        ("notation", ["--ca", s(&ca)]),
    ] {
        let out = independent_verify(&r, &digest, format, &trust);
        assert!(
            out.status.success(),
            "{format} at the site: {}",
            stderr(&out)
        );
    }
}

/// The gates: `pull --verify-key` takes a signed version and refuses one signed by no trusted
/// key (exit 1, kind untrusted, nothing written); `mirror` and `import` with the gate copy the
/// signed pack, refuse the unsigned one, list it with its reason and exit 1; `export` with the
/// gate writes no bundle holding an unsigned pack.
#[test]
fn pull_mirror_export_and_import_take_only_verified_packs() {
    require_peers!("python3:cryptography", "python3:nacl", "docker-registry");
    let sb = Sandbox::new();
    let local = sb.registry();
    push_pack(&sb, &local);
    ok(&sb.run(&["-r", &local, "push", s(&common::pack("shop"))]));
    let ec = keys(&sb, "ec", "p256", false);
    let other = keys(&sb, "other", "p256", false);
    ok(&sb.run(&[
        "-r",
        &local,
        "sign",
        "hello-manifests:1.0.0",
        "--key",
        s(&ec.join("key.pem")),
    ]));
    let trusted = ec.join("pub.pem");
    let gate = ["--verify-key", s(&trusted)];

    let pulled = sb.path("pulled");
    let mut args = vec![
        "-r",
        &local,
        "pull",
        "hello-manifests:1.0.0",
        "-o",
        s(&pulled),
    ];
    args.extend(gate);
    ok(&sb.run(&args));
    assert!(pulled.join("pack.json").is_file());
    let refused = sb.path("refused");
    let out = sb.run(&[
        "--json",
        "-r",
        &local,
        "pull",
        "hello-manifests:1.0.0",
        "-o",
        s(&refused),
        "--verify-key",
        s(&other.join("pub.pem")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("\"kind\":\"untrusted\""),
        "{}",
        stderr(&out)
    );
    assert!(!refused.exists());

    let site = TestStore::start(Backend::Registry, &sb);
    let r = site.at("");
    let mut args = vec!["mirror", &local, &r];
    args.extend(gate);
    let out = sb.run(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("shop"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no signature verifies"),
        "{}",
        stderr(&out)
    );
    ok(&sb.run(&["-r", &r, "inspect", "hello-manifests:1.0.0"]));
    assert_eq!(
        sb.run(&["-r", &r, "inspect", "shop"]).status.code(),
        Some(1)
    );

    let bundle = sb.path("all.tar");
    ok(&sb.run(&["-r", &local, "export", "--all", "-o", s(&bundle)]));
    let second = TestStore::start(Backend::Registry, &sb);
    let r2 = second.at("");
    let mut args = vec!["-r", &r2, "import", s(&bundle)];
    args.extend(gate);
    let out = sb.run(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("shop"), "{}", stderr(&out));
    ok(&sb.run(&["-r", &r2, "inspect", "hello-manifests:1.0.0"]));
    assert_eq!(
        sb.run(&["-r", &r2, "inspect", "shop"]).status.code(),
        Some(1)
    );
    let (code, report) = verify(&sb, &r2, &["--key", s(&ec.join("pub.pem"))]);
    assert_eq!(code, 0, "{report}");

    let gated_bundle = sb.path("gated.tar");
    let mut args = vec!["-r", &local, "export", "--all", "-o", s(&gated_bundle)];
    args.extend(gate);
    let out = sb.run(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!gated_bundle.exists());
}

/// The settings file can require verification per registry (`verify_keys`), so it cannot be
/// forgotten: an import into that registry, and a pull from it, without any flag take only
/// what those keys signed.
#[test]
fn a_registrys_verify_keys_in_the_settings_file_gate_import_and_pull() {
    require_peers!("python3:cryptography", "python3:nacl", "docker-registry");
    let sb = Sandbox::new();
    let local = sb.registry();
    push_pack(&sb, &local);
    ok(&sb.run(&["-r", &local, "push", s(&common::pack("shop"))]));
    let ec = keys(&sb, "ec", "p256", false);
    ok(&sb.run(&[
        "-r",
        &local,
        "sign",
        "hello-manifests:1.0.0",
        "--key",
        s(&ec.join("key.pem")),
    ]));
    let bundle = sb.path("all.tar");
    ok(&sb.run(&["-r", &local, "export", "--all", "-o", s(&bundle)]));
    let site = TestStore::start(Backend::Registry, &sb);
    let r = site.at("");
    let config = sb.path(".config/packreg/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::copy(ec.join("pub.pem"), sb.path(".config/packreg/ci.pub")).unwrap();
    std::fs::write(
        &config,
        format!("[registries.\"{r}\"]\nverify_keys = [\"ci.pub\"]\n"),
    )
    .unwrap();
    let out = sb.run(&["-r", &r, "import", s(&bundle)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no signature verifies"),
        "{}",
        stderr(&out)
    );
    ok(&sb.run(&["-r", &r, "inspect", "hello-manifests:1.0.0"]));
    assert_eq!(
        sb.run(&["-r", &r, "inspect", "shop"]).status.code(),
        Some(1)
    );
    ok(&sb.run(&[
        "-r",
        &r,
        "pull",
        "hello-manifests:1.0.0",
        "-o",
        s(&sb.path("pulled")),
    ]));
}

/// A real verifier: sigstore-js (`@sigstore/verify`, the library of the `sigstore` npm
/// package) verifies packreg's bundle with the public key chosen through its key finder
/// (keySelector) and the transparency-log thresholds at zero, and refuses it with another key.
#[test]
fn a_packreg_bundle_verifies_with_sigstore_js() {
    require_peers!("node", "python3:cryptography", "python3:nacl");
    let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/sigstore-js");
    assert!(
        peer.join("node_modules/@sigstore/verify").is_dir(),
        "sigstore-js is not installed: run scripts/setup.sh"
    );
    let sb = Sandbox::new();
    let r = sb.registry();
    let digest = push_pack(&sb, &r);
    let ec = keys(&sb, "ec", "p256", false);
    let other = keys(&sb, "other", "p256", false);
    ok(&sb.run(&[
        "-r",
        &r,
        "sign",
        "hello-manifests:1.0.0",
        "--key",
        s(&ec.join("key.pem")),
        "--format",
        "bundle",
    ]));
    let repo_dir = sb.store().join(REPO);
    let blob = |d: &str| repo_dir.join("blobs/sha256").join(&d["sha256:".len()..]);
    let read = |d: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(blob(d)).unwrap()).unwrap()
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo_dir.join("index.json")).unwrap()).unwrap();
    let fallback = format!("sha256-{}", &digest["sha256:".len()..]);
    let fallback_digest = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == fallback.as_str())
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let referrer = read(
        read(&fallback_digest)["manifests"][0]["digest"]
            .as_str()
            .unwrap(),
    );
    let bundle = blob(referrer["layers"][0]["digest"].as_str().unwrap());
    let node = |key: &Path| {
        std::process::Command::new("node")
            .arg(peer.join("verify-bundle.js"))
            .args([s(&bundle), s(key), &digest])
            .output()
            .unwrap()
    };
    let out = node(&ec.join("pub.pem"));
    assert!(out.status.success(), "sigstore-js: {}", stderr(&out));
    assert!(!node(&other.join("pub.pem")).status.success());
}

over_backends!(ls_shows_which_versions_carry_signatures_when_asked);

/// `ls --signatures` names each version's signature formats (`-` for none), in the table and
/// in `--json`; a plain `ls` does not look for them. With a key, `ls --signatures` and
/// `inspect` also say whether a signature verifies with it.
fn ls_shows_which_versions_carry_signatures_when_asked(backend: Backend) {
    require_peers!("python3:cryptography", "python3:nacl");
    let sb = Sandbox::new();
    let store = TestStore::start(backend, &sb);
    let r = store.at("");
    push_pack(&sb, &r);
    let newer = common::pack_with_version(&sb.path("newer"), "hello-manifests", "1.1.0");
    ok(&sb.run(&["-r", &r, "push", s(&newer)]));
    let ec = keys(&sb, "ec", "p256", false);
    ok(&sb.run(&[
        "-r",
        &r,
        "sign",
        "hello-manifests:1.0.0",
        "--key",
        s(&ec.join("key.pem")),
    ]));
    let rows = sb.json(&["-r", &r, "ls", "hello-manifests", "--signatures"]);
    assert_eq!(rows[0]["version"], "1.0.0", "{rows}");
    assert_eq!(
        rows[0]["signatures"],
        serde_json::json!(["cosign"]),
        "{rows}"
    );
    assert_eq!(rows[1]["signatures"], serde_json::json!([]), "{rows}");
    let plain = sb.json(&["-r", &r, "ls", "hello-manifests"]);
    assert!(plain[0].get("signatures").is_none(), "{plain}");
    let table = ok(&sb.run(&["-r", &r, "ls", "hello-manifests", "--signatures"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].contains("SIGNATURES"), "{table}");
    assert!(lines[1].contains(" cosign "), "{table}");
    assert!(lines[2].contains(" - "), "{table}");

    // With trust given, whether a signature verifies, per version and in inspect.
    let public = ec.join("pub.pem");
    let checked = sb.json(&[
        "-r",
        &r,
        "ls",
        "hello-manifests",
        "--signatures",
        "--verify-key",
        s(&public),
    ]);
    assert_eq!(checked[0]["signaturesVerified"], true, "{checked}");
    assert_eq!(checked[1]["signaturesVerified"], false, "{checked}");
    let stranger = keys(&sb, "stranger", "p256", false);
    let inspected = |key: &Path| {
        sb.json(&[
            "-r",
            &r,
            "inspect",
            "hello-manifests:1.0.0",
            "--verify-key",
            s(&key.join("pub.pem")),
        ])["signaturesVerified"]
            .clone()
    };
    assert_eq!(inspected(&ec), true);
    assert_eq!(inspected(&stranger), false);
    let text = ok(&sb.run(&[
        "-r",
        &r,
        "inspect",
        "hello-manifests:1.0.0",
        "--verify-key",
        s(&public),
    ]));
    assert!(text.contains("one verifies with the trust given"), "{text}");
    let alone = sb.run(&["-r", &r, "ls", "--verify-key", s(&public)]);
    assert_eq!(alone.status.code(), Some(2), "{}", stderr(&alone));
}

/// A registry's section can require a Notary Project trust policy instead of keys
/// (`trust_policy` and `trust_store`, relative to the settings file): a pull without flags
/// takes the version a notation signature verifies under it and refuses the unsigned one.
#[test]
fn a_registrys_trust_policy_in_the_settings_file_gates_pull() {
    require_peers!("python3:cryptography", "python3:nacl", "docker-registry");
    let sb = Sandbox::new();
    let store = TestStore::start(Backend::Registry, &sb);
    let r = store.at("");
    push_pack(&sb, &r);
    ok(&sb.run(&["-r", &r, "push", s(&common::pack("shop"))]));
    let ec = keys(&sb, "ec", "p256", false);
    ok(&sb.run(&[
        "-r",
        &r,
        "sign",
        "hello-manifests:1.0.0",
        "--key",
        s(&ec.join("key.pem")),
        "--cert",
        s(&ec.join("chain.pem")),
        "--format",
        "notation",
    ]));
    let (policy, store) = trust_policy(&sb, &ec.join("ca.pem"), "strict", SIGNER_IDENTITY);
    let settings = sb.path(".config/packreg");
    std::fs::create_dir_all(&settings).unwrap();
    std::fs::rename(&policy, settings.join("policy.json")).unwrap();
    std::fs::rename(&store, settings.join("truststore")).unwrap();
    std::fs::write(
        settings.join("config.toml"),
        format!(
            "[registries.\"{r}\"]\ntrust_policy = \"policy.json\"\ntrust_store = \"truststore\"\n"
        ),
    )
    .unwrap();
    ok(&sb.run(&[
        "-r",
        &r,
        "pull",
        "hello-manifests:1.0.0",
        "-o",
        s(&sb.path("pulled")),
    ]));
    let refused = sb.run(&["--json", "-r", &r, "pull", "shop", "-o", s(&sb.path("no"))]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    let error: serde_json::Value = serde_json::from_str(stderr(&refused).trim()).unwrap();
    assert_eq!(error["kind"], "untrusted", "{error}");
    assert!(!sb.path("no").exists());
}
