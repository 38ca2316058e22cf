//! Protocol-level tests of the registry transport against an in-process server driven by
//! request/response tables: what CNCF distribution 2.8 cannot be made to do.

mod proxy;

use crate::support::fake_registry as fake;

use std::time::{Duration, Instant};

use fake::{Body, FakeRegistry, Rule};
use packreg::config::{builtin_store_options, ConnectionFlags};
use packreg::digest::Digest;
use packreg::store::remote::RemoteStore;
use packreg::store::{Store, StoreError, StoreOptions};

const REPO: &str = "spectro-packs/archive/app";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// The HTTP client's proxy matcher is the one part of packreg that reads the environment
/// itself (HTTP_PROXY and friends): none may send this binary's loopback requests elsewhere.
/// Every other setting is given to the store explicitly (see [`store_options`]).
fn isolate() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for var in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            std::env::remove_var(var);
        }
    });
}

/// A private cache folder (capabilities, upload sessions) for the whole test binary.
fn cache_dir() -> std::path::PathBuf {
    static CACHE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    CACHE
        .get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .to_path_buf()
}

/// Plain HTTP and an idle timeout of `timeout_secs`.
fn flags(timeout_secs: u64) -> ConnectionFlags {
    ConnectionFlags {
        plain_http: true,
        timeout: Some(timeout_secs),
        ..ConnectionFlags::default()
    }
}

/// `flags` over the built-in settings, with this binary's cache folder; no docker config but
/// the one the flags name, no settings file, no variables.
fn store_options(flags: ConnectionFlags) -> StoreOptions {
    isolate();
    StoreOptions {
        cache_dir: Some(cache_dir()),
        ..builtin_store_options(&flags)
    }
}

/// A docker config in `dir` holding `user:secret` for `addr`.
fn basic_credentials(dir: &std::path::Path, addr: &str) -> std::path::PathBuf {
    let config = dir.join("config.json");
    let auth = format!(r#"{{"auths":{{"{addr}":{{"auth":"dXNlcjpzZWNyZXQ="}}}}}}"#);
    std::fs::write(&config, auth).unwrap();
    config
}

fn options(timeout_secs: u64) -> StoreOptions {
    store_options(flags(timeout_secs))
}

async fn connect(server: &FakeRegistry) -> RemoteStore {
    RemoteStore::connect(&server.addr, &options(5))
        .await
        .unwrap()
}

fn open_v2() -> Rule {
    Rule::new("GET", "/v2/", 200).body("{}")
}

fn manifest_bytes() -> Vec<u8> {
    let empty = Digest::of(b"{}");
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{empty}","size":2}},"layers":[]}}"#
    )
    .into_bytes()
}

fn manifest_rule(status: u16) -> Rule {
    Rule::new("GET", &format!("/v2/{REPO}/manifests/1.0.0"), status)
}

fn ok_manifest() -> Rule {
    manifest_rule(200)
        .header("content-type", MANIFEST)
        .body(manifest_bytes())
}

#[tokio::test]
async fn a_429_waits_as_long_as_retry_after_says() {
    let server = FakeRegistry::start(vec![
        open_v2(),
        manifest_rule(429)
            .times(1)
            .header("retry-after", "2")
            .body(r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#),
        ok_manifest(),
    ]);
    let store = connect(&server).await;
    let got = store.get_manifest(REPO, "1.0.0").await.unwrap();
    assert_eq!(got.digest, Digest::of(&manifest_bytes()));
    let tries = server.requests("GET", &format!("/v2/{REPO}/manifests/"));
    assert_eq!(tries.len(), 2);
    let waited = tries[1].at - tries[0].at;
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}");
}

#[tokio::test]
async fn two_503s_then_success() {
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("HEAD", &format!("/v2/{REPO}/blobs/*"), 503).times(2),
        Rule::new("HEAD", &format!("/v2/{REPO}/blobs/*"), 200),
    ]);
    let store = connect(&server).await;
    assert!(store.has_blob(REPO, &Digest::of(b"x")).await.unwrap());
    assert_eq!(
        server.requests("HEAD", &format!("/v2/{REPO}/blobs/")).len(),
        3
    );
}

#[tokio::test]
async fn a_400_is_final_and_keeps_the_registry_code() {
    let server = FakeRegistry::start(vec![
        open_v2(),
        manifest_rule(400)
            .body(r#"{"errors":[{"code":"NAME_INVALID","message":"invalid repository name"}]}"#),
    ]);
    let store = connect(&server).await;
    let err = store.get_manifest(REPO, "1.0.0").await.unwrap_err();
    assert!(!err.is_retryable());
    match &err {
        StoreError::Registry(e) => {
            assert_eq!(e.status, 400);
            assert_eq!(e.code.as_deref(), Some("NAME_INVALID"));
        }
        other => panic!("expected a registry error, got {other:?}"),
    }
    assert!(err.to_string().contains("NAME_INVALID"), "{err}");
    assert_eq!(
        server
            .requests("GET", &format!("/v2/{REPO}/manifests/"))
            .len(),
        1
    );
}

#[tokio::test]
async fn a_manifest_put_by_digest_needs_no_location() {
    let bytes = manifest_bytes();
    let digest = Digest::of(&bytes);
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("PUT", &format!("/v2/{REPO}/manifests/{digest}"), 201),
    ]);
    let store = connect(&server).await;
    let pushed = store
        .put_manifest(REPO, None, &bytes, MANIFEST)
        .await
        .unwrap();
    assert_eq!(pushed, digest);
    let put = &server.requests("PUT", "/v2/")[0];
    assert_eq!(put.header("content-type"), Some(MANIFEST));
}

#[tokio::test]
async fn a_202_mount_is_cancelled_and_reported_as_not_mounted() {
    let digest = Digest::of(b"chart");
    let session = format!("/v2/{REPO}/blobs/uploads/abc");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("POST", &format!("/v2/{REPO}/blobs/uploads/?mount=*"), 202)
            .header("location", &session),
        Rule::new("DELETE", &session, 204),
    ]);
    let store = connect(&server).await;
    let mounted = store
        .mount_blob(REPO, "spectro-packs/archive/other", &digest)
        .await
        .unwrap();
    assert!(!mounted);
    let post = &server.requests("POST", "/v2/")[0];
    assert!(
        post.path.contains("from=spectro-packs%2Farchive%2Fother"),
        "{}",
        post.path
    );
    assert_eq!(server.requests("DELETE", &session).len(), 1);
}

#[tokio::test]
async fn the_referrers_api_is_used_and_its_pages_followed() {
    let subject = Digest::of(b"subject");
    let a = Digest::of(b"a");
    let b = Digest::of(b"b");
    let page = |d: &Digest| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{INDEX}","manifests":[{{"mediaType":"{MANIFEST}","digest":"{d}","size":10,"artifactType":"application/example"}}]}}"#
        )
    };
    let first = format!("/v2/{REPO}/referrers/{subject}");
    let second = format!("{first}?next=2");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &second, 200)
            .header("content-type", INDEX)
            .body(page(&b)),
        Rule::new("GET", &first, 200)
            .header("content-type", INDEX)
            .header("link", &format!("<{second}>; rel=\"next\""))
            .body(page(&a)),
    ]);
    let store = connect(&server).await;
    let referrers = store.referrers(REPO, &subject).await.unwrap().unwrap();
    let digests: Vec<_> = referrers.iter().map(|d| d.digest.clone()).collect();
    assert_eq!(digests, vec![a, b]);
}

#[tokio::test]
async fn referrers_fall_back_on_404_but_not_on_a_missing_repository() {
    let subject = Digest::of(b"subject");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &format!("/v2/{REPO}/referrers/*"), 404).body("404 page not found"),
        Rule::new("GET", "/v2/spectro-packs/archive/gone/referrers/*", 404)
            .body(r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}"#),
        Rule::new("GET", "/v2/spectro-packs/archive/broken/referrers/*", 500),
    ]);
    // A store per question: once a registry showed it has no Referrers API, a store asks no
    // more.
    let store = connect(&server).await;
    let gone = store
        .referrers("spectro-packs/archive/gone", &subject)
        .await
        .unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");
    // A failing registry is an error, not "no Referrers API".
    assert!(store
        .referrers("spectro-packs/archive/broken", &subject)
        .await
        .is_err());
    assert!(store.referrers(REPO, &subject).await.unwrap().is_none());
    let asked = server.requests("GET", "/v2/").len();
    assert!(store.referrers(REPO, &subject).await.unwrap().is_none());
    assert_eq!(server.requests("GET", "/v2/").len(), asked, "asked again");
}

#[tokio::test]
async fn a_link_loop_is_an_error_not_a_short_list() {
    let first = format!("/v2/{REPO}/tags/list?n=1000");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &first, 200)
            .header("link", &format!("<{first}>; rel=\"next\""))
            .body(r#"{"name":"x","tags":["1.0.0"]}"#),
    ]);
    let store = connect(&server).await;
    let err = store.tags(REPO).await.unwrap_err();
    assert!(err.to_string().contains("loop"), "{err}");
}

#[tokio::test]
async fn the_catalog_refused_with_401_or_404_says_so_and_a_500_is_an_error() {
    for (status, refused) in [(401, true), (404, true), (500, false)] {
        let server =
            FakeRegistry::start(vec![open_v2(), Rule::new("GET", "/v2/_catalog*", status)]);
        let store = connect(&server).await;
        let err = store
            .repositories("spectro-packs/archive")
            .await
            .unwrap_err();
        assert_eq!(
            matches!(err, StoreError::Unsupported(_)),
            refused,
            "HTTP {status}: {err:?}"
        );
        if refused {
            assert!(err.to_string().contains("packreg ls NAME"), "{err}");
        }
    }
}

#[tokio::test]
async fn a_stalled_blob_download_resumes_then_fails_within_bounded_time() {
    let digest = Digest::of(b"big");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &format!("/v2/{REPO}/blobs/{digest}"), 200).raw(Body::Stall {
            first: vec![1; 100],
            len: 1_000_000,
        }),
    ]);
    let store = RemoteStore::connect(&server.addr, &options(1))
        .await
        .unwrap();
    let start = Instant::now();
    let mut reader = store.get_blob(REPO, &digest).await.unwrap();
    let mut sink = Vec::new();
    let err = tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut sink)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert_eq!(sink.len(), 100);
    // Each stall is given up after the idle timeout and resumed from byte 100, three times.
    let gets = server.requests("GET", &format!("/v2/{REPO}/blobs/"));
    assert_eq!(gets.len(), 4);
    assert!(gets[1..]
        .iter()
        .all(|g| g.header("range") == Some("bytes=100-")));
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_cut_blob_download_resumes_with_a_range_request() {
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let digest = Digest::of(&content);
    let path = format!("/v2/{REPO}/blobs/{digest}");
    let half = content.len() / 2;
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &path, 200).times(1).raw(Body::Cut {
            first: content[..half].to_vec(),
            len: content.len() as u64,
        }),
        Rule::new("GET", &path, 206)
            .header(
                "content-range",
                &format!("bytes {half}-{}/{}", content.len() - 1, content.len()),
            )
            .body(content[half..].to_vec()),
    ]);
    let store = connect(&server).await;
    let mut reader = store.get_blob(REPO, &digest).await.unwrap();
    let mut got = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut got)
        .await
        .unwrap();
    assert!(
        got == content,
        "resumed content differs: {} bytes of {}: {:?}",
        got.len(),
        content.len(),
        server
            .log()
            .iter()
            .map(|l| (
                l.method.clone(),
                l.path.clone(),
                l.header("range").map(str::to_string)
            ))
            .collect::<Vec<_>>()
    );
    let gets = server.requests("GET", &path);
    assert_eq!(gets.len(), 2);
    assert_eq!(
        gets[1].header("range"),
        Some(format!("bytes={half}-").as_str())
    );
}

#[tokio::test]
async fn a_registry_ignoring_range_sends_all_and_the_delivered_part_is_skipped() {
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let digest = Digest::of(&content);
    let path = format!("/v2/{REPO}/blobs/{digest}");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &path, 200).times(1).raw(Body::Cut {
            first: content[..30_000].to_vec(),
            len: content.len() as u64,
        }),
        Rule::new("GET", &path, 200).body(content.clone()),
    ]);
    let store = connect(&server).await;
    let mut reader = store.get_blob(REPO, &digest).await.unwrap();
    let mut got = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut got)
        .await
        .unwrap();
    assert!(got == content, "restarted content differs");
}

#[tokio::test]
async fn a_registry_that_never_answers_fails_within_the_idle_timeout() {
    let server = FakeRegistry::start(vec![
        open_v2(),
        manifest_rule(200).raw(Body::Stall {
            first: Vec::new(),
            len: 10,
        }),
    ]);
    let store = RemoteStore::connect(&server.addr, &options(1))
        .await
        .unwrap();
    let err = store.get_manifest(REPO, "1.0.0").await.unwrap_err();
    assert!(matches!(err, StoreError::Network { .. }), "{err:?}");
    assert!(err.to_string().contains("--timeout"), "{err}");
}

#[tokio::test]
async fn a_huge_manifest_is_refused_naming_the_limit() {
    let server = FakeRegistry::start(vec![
        open_v2(),
        manifest_rule(200)
            .header("content-type", MANIFEST)
            .raw(Body::Zeros { len: 50 << 20 }),
    ]);
    let store = connect(&server).await;
    let err = store.get_manifest(REPO, "1.0.0").await.unwrap_err();
    assert!(err.to_string().contains("4 MiB"), "{err}");
}

#[test]
fn a_huge_manifest_keeps_packreg_memory_bounded() {
    isolate();
    let server = FakeRegistry::start(vec![
        open_v2(),
        manifest_rule(200)
            .header("content-type", MANIFEST)
            .raw(Body::Zeros { len: 50 << 20 }),
    ]);
    // GNU time forks packreg from a small process of its own, so the peak it reports is
    // packreg's, not this test process's (which a vfork-style spawn would count).
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("rss");
    let out = std::process::Command::new("/usr/bin/time")
        .arg("-o")
        .arg(&report)
        .args(["-f", "%M", env!("CARGO_BIN_EXE_packreg")])
        .args(["inspect", "app:1.0.0", "--plain-http", "-r", &server.addr])
        .output()
        .expect("GNU time (Debian package time) is installed");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("larger than 4 MiB"), "{stderr}");
    // The last line; a line before it notes the non-zero exit.
    let report = std::fs::read_to_string(&report).unwrap();
    let peak_kib: u64 = report.lines().last().unwrap().trim().parse().unwrap();
    assert!(peak_kib < 64 * 1024, "peak RSS {} MiB", peak_kib / 1024);
}

#[tokio::test]
async fn an_expired_token_is_renewed_once() {
    let token_path = "/token*";
    let server = FakeRegistry::start(vec![]);
    let realm = format!("http://{}/token", server.addr);
    let challenge =
        format!(r#"Bearer realm="{realm}",service="fake",scope="repository:{REPO}:pull""#);
    server.add(vec![
        Rule::new("GET", "/v2/", 401).header("www-authenticate", &challenge),
        Rule::new("GET", token_path, 200)
            .times(1)
            .body(r#"{"token":"first","expires_in":3600}"#),
        Rule::new("GET", token_path, 200).body(r#"{"token":"second","expires_in":3600}"#),
        manifest_rule(200)
            .auth("Bearer first")
            .times(1)
            .header("content-type", MANIFEST)
            .body(manifest_bytes()),
        manifest_rule(200)
            .auth("Bearer second")
            .header("content-type", MANIFEST)
            .body(manifest_bytes()),
        manifest_rule(401).header("www-authenticate", &challenge),
    ]);
    let store = connect(&server).await;
    store.get_manifest(REPO, "1.0.0").await.unwrap();
    // The registry now refuses the first token: one renewal, and the run goes on.
    store.get_manifest(REPO, "1.0.0").await.unwrap();
    let tokens = server.requests("GET", "/token");
    assert_eq!(tokens.len(), 2);
    assert!(
        tokens[0].path.contains(&format!(
            "scope=repository%3A{}%3Apull",
            REPO.replace('/', "%2F")
        )),
        "{}",
        tokens[0].path
    );
    let gets = server.requests("GET", &format!("/v2/{REPO}/manifests/"));
    assert_eq!(gets.len(), 3);
}

#[tokio::test]
async fn an_http_token_realm_for_an_https_registry_gets_no_credentials() {
    isolate();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success());
    let token_server = FakeRegistry::start(vec![
        Rule::new("GET", "/token*", 200).body(r#"{"token":"t"}"#)
    ]);
    let challenge = format!(
        r#"Bearer realm="http://{}/token",service="fake""#,
        token_server.addr
    );
    let server = FakeRegistry::start_tls(
        vec![Rule::new("GET", "/v2/", 401).header("www-authenticate", &challenge)],
        &std::fs::read(&cert).unwrap(),
        &std::fs::read(&key).unwrap(),
    );
    let config = basic_credentials(dir.path(), &server.addr);
    let opts = store_options(ConnectionFlags {
        ca_file: Some(cert.clone()),
        registry_config: Some(config),
        timeout: Some(5),
        ..ConnectionFlags::default()
    });
    let store = RemoteStore::connect(&server.addr, &opts).await.unwrap();
    let err = store.get_manifest(REPO, "1.0.0").await.unwrap_err();
    assert!(matches!(err, StoreError::Unauthorized { .. }), "{err:?}");
    assert!(
        err.to_string().contains("plain-HTTP token service"),
        "{err}"
    );
    assert!(
        token_server.log().is_empty(),
        "the http realm was contacted"
    );
    assert!(!err.to_string().contains("secret"));
}

#[tokio::test]
async fn a_blob_redirected_to_another_origin_gets_no_authorization() {
    let digest = Digest::of(b"blob");
    let storage = FakeRegistry::start(vec![Rule::new("GET", "/storage/*", 200).body("blob")]);
    let server = FakeRegistry::start(vec![
        Rule::new("GET", "/v2/", 401).header("www-authenticate", r#"Basic realm="fake""#),
        Rule::new("GET", &format!("/v2/{REPO}/blobs/{digest}"), 307).header(
            "location",
            &format!("http://{}/storage/{}", storage.addr, digest.hex()),
        ),
    ]);
    isolate();
    let dir = tempfile::tempdir().unwrap();
    let config = basic_credentials(dir.path(), &server.addr);
    let opts = store_options(ConnectionFlags {
        registry_config: Some(config),
        ..flags(5)
    });
    let store = RemoteStore::connect(&server.addr, &opts).await.unwrap();
    let mut reader = store.get_blob(REPO, &digest).await.unwrap();
    let mut body = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut body)
        .await
        .unwrap();
    assert_eq!(body, b"blob");
    let at_registry = &server.requests("GET", &format!("/v2/{REPO}/blobs/"))[0];
    assert_eq!(
        at_registry.header("authorization"),
        Some("Basic dXNlcjpzZWNyZXQ=")
    );
    let at_storage = &storage.requests("GET", "/storage/")[0];
    assert_eq!(at_storage.header("authorization"), None);
    // A Range goes along to the other origin (which here ignores it: the first bytes are
    // skipped).
    let mut reader = store.get_blob_at(REPO, &digest, 2).await.unwrap();
    let mut rest = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut rest)
        .await
        .unwrap();
    assert_eq!(rest, b"ob");
    let ranged = &storage.requests("GET", "/storage/")[1];
    assert_eq!(ranged.header("range"), Some("bytes=2-"));
    assert_eq!(ranged.header("authorization"), None);
}

#[tokio::test]
async fn a_refused_connection_advises_plain_http_only_when_it_is_not_in_use() {
    isolate();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let plain = RemoteStore::connect(&addr, &options(5)).await.unwrap();
    let err = plain.tags(REPO).await.unwrap_err();
    assert!(matches!(err, StoreError::Network { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("cannot connect"), "{err}");
    assert!(!err.to_string().contains("--plain-http"), "{err}");
    let https = store_options(ConnectionFlags {
        insecure: true,
        plain_http: false,
        ..flags(5)
    });
    let tls = RemoteStore::connect(&addr, &https).await.unwrap();
    let err = tls.tags(REPO).await.unwrap_err();
    assert!(err.to_string().contains("add --plain-http"), "{err}");
}

/// A blob in memory, readable from any offset.
struct Memory(Vec<u8>);

#[async_trait::async_trait]
impl packreg::store::BlobOrigin for Memory {
    async fn open_at(&self, offset: u64) -> Result<packreg::store::BlobReader, StoreError> {
        Ok(Box::pin(std::io::Cursor::new(
            self.0[offset as usize..].to_vec(),
        )))
    }
}

/// Uploads `content` through a store with 1 MiB chunks; returns the store for more.
async fn upload_in_chunks(server: &FakeRegistry, digest: &Digest, content: &[u8]) -> RemoteStore {
    let store = RemoteStore::connect(&server.addr, &chunked(1))
        .await
        .unwrap();
    store
        .put_blob_from(
            REPO,
            digest,
            content.len() as u64,
            &Memory(content.to_vec()),
        )
        .await
        .unwrap();
    store
}

fn chunked(chunk_mib: u64) -> StoreOptions {
    store_options(ConnectionFlags {
        chunk_size: Some(chunk_mib),
        ..flags(5)
    })
}

#[tokio::test]
async fn chunks_resume_from_the_offset_the_registry_confirms() {
    let content: Vec<u8> = (0..(3u32 << 20)).map(|i| (i % 249) as u8).collect();
    let digest = Digest::of(&content);
    let session = format!("/v2/{REPO}/blobs/uploads/s1");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("POST", &format!("/v2/{REPO}/blobs/uploads/"), 202).header("location", &session),
        Rule::new("PATCH", &session, 202)
            .times(1)
            .header("location", &session)
            .header("range", "0-1048575"),
        // The second chunk fails; the status says the first is held.
        Rule::new("PATCH", &session, 503).times(1),
        Rule::new("GET", &session, 204).header("range", "bytes=0-1048575"),
        Rule::new("PATCH", &session, 202)
            .times(1)
            .header("location", &session)
            .header("range", "0-2097151"),
        Rule::new("PATCH", &session, 202)
            .times(1)
            .header("location", &session)
            .header("range", "0-3145727"),
        Rule::new("PUT", &format!("{session}?digest={digest}"), 201),
    ]);
    upload_in_chunks(&server, &digest, &content).await;
    let patches = server.requests("PATCH", &session);
    let ranges: Vec<_> = patches
        .iter()
        .map(|p| p.header("content-range").unwrap_or(""))
        .collect();
    assert_eq!(
        ranges,
        [
            "0-1048575",
            "1048576-2097151",
            "1048576-2097151",
            "2097152-3145727"
        ]
    );
    assert!(patches.iter().all(|p| p.body_len == 1 << 20));
    assert_eq!(server.requests("PUT", &session).len(), 1);
}

#[tokio::test]
async fn a_registry_refusing_chunks_gets_the_blob_whole() {
    let content = vec![7u8; 3 << 20];
    let digest = Digest::of(&content);
    let (first, second) = (
        format!("/v2/{REPO}/blobs/uploads/s1"),
        format!("/v2/{REPO}/blobs/uploads/s2"),
    );
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("POST", &format!("/v2/{REPO}/blobs/uploads/"), 202)
            .times(1)
            .header("location", &first),
        Rule::new("POST", &format!("/v2/{REPO}/blobs/uploads/"), 202).header("location", &second),
        Rule::new("PATCH", &first, 416),
        Rule::new("DELETE", &first, 204),
        Rule::new("PUT", &format!("{second}?digest={digest}"), 201),
    ]);
    let store = upload_in_chunks(&server, &digest, &content).await;
    assert_eq!(server.requests("PATCH", "/v2/").len(), 1);
    assert_eq!(server.requests("DELETE", &first).len(), 1);
    let put = &server.requests("PUT", &second)[0];
    assert_eq!(put.body_len, content.len());
    // Remembered: the next blob goes whole at once.
    let other = vec![9u8; 2 << 20];
    let other_digest = Digest::of(&other);
    server.add(vec![Rule::new(
        "PUT",
        &format!("{second}?digest={other_digest}"),
        201,
    )]);
    store
        .put_blob_from(REPO, &other_digest, other.len() as u64, &Memory(other))
        .await
        .unwrap();
    assert_eq!(server.requests("PATCH", "/v2/").len(), 1);
}

#[tokio::test]
async fn a_repository_that_must_exist_first_is_named_with_how_to_create_it() {
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("POST", &format!("/v2/{REPO}/blobs/uploads/"), 404)
            .body(r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository does not exist"}]}"#),
    ]);
    let store = connect(&server).await;
    let content = b"blob".to_vec();
    let err = store
        .put_blob(
            REPO,
            &Digest::of(&content),
            4,
            Box::pin(std::io::Cursor::new(content)),
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "aws ecr create-repository --repository-name {REPO}"
        )),
        "{text}"
    );
    assert!(text.contains("project spectro-packs on Harbor"), "{text}");
}

#[tokio::test]
async fn a_mount_refused_with_401_falls_back_to_an_upload() {
    let digest = Digest::of(b"chart");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("POST", &format!("/v2/{REPO}/blobs/uploads/?mount=*"), 401),
    ]);
    let store = connect(&server).await;
    let mounted = store
        .mount_blob(REPO, "spectro-packs/archive/other", &digest)
        .await
        .unwrap();
    assert!(!mounted);
}

#[tokio::test]
async fn an_image_copy_takes_its_referrers_from_the_referrers_api() {
    use packreg::ops::copy::{CopyOptions, CopyStats, GraphCopier, Side};
    let repo = "team/app";
    let (config, layer, sig_layer) = (b"{}".to_vec(), b"layer".to_vec(), b"signature".to_vec());
    let blob = |b: &[u8]| {
        format!(
            r#"{{"mediaType":"application/octet-stream","digest":"{}","size":{}}}"#,
            Digest::of(b),
            b.len()
        )
    };
    let image = format!(
        r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{},"layers":[{}]}}"#,
        blob(&config),
        blob(&layer)
    );
    let image_digest = Digest::of(image.as_bytes());
    let signature = format!(
        r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","artifactType":"application/vnd.example.sig","config":{},"layers":[{}],"subject":{{"mediaType":"{MANIFEST}","digest":"{image_digest}","size":{}}}}}"#,
        blob(&config),
        blob(&sig_layer),
        image.len()
    );
    let sig_digest = Digest::of(signature.as_bytes());
    let referrers = format!(
        r#"{{"schemaVersion":2,"mediaType":"{INDEX}","manifests":[{{"mediaType":"{MANIFEST}","digest":"{sig_digest}","size":{},"artifactType":"application/vnd.example.sig"}}]}}"#,
        signature.len()
    );
    let mut rules = vec![
        open_v2(),
        Rule::new("GET", &format!("/v2/{repo}/manifests/1.0"), 200)
            .header("content-type", MANIFEST)
            .body(image.clone()),
        Rule::new("GET", &format!("/v2/{repo}/manifests/{sig_digest}"), 200)
            .header("content-type", MANIFEST)
            .body(signature.clone()),
        Rule::new("GET", &format!("/v2/{repo}/referrers/{image_digest}"), 200)
            .header("content-type", INDEX)
            .body(referrers),
        Rule::new("GET", &format!("/v2/{repo}/tags/list*"), 200).body(r#"{"tags":["1.0"]}"#),
    ];
    for b in [&config, &layer, &sig_layer] {
        rules.push(
            Rule::new("GET", &format!("/v2/{repo}/blobs/{}", Digest::of(b)), 200).body(b.clone()),
        );
    }
    let server = FakeRegistry::start(rules);
    let src = connect(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let dst = packreg::store::layout::LayoutStore::new(dir.path());
    let opts = CopyOptions::default();
    let copier = GraphCopier::new(
        Side { store: &src, repo },
        Side {
            store: &dst,
            repo: "mirror/team/app",
        },
        &opts,
    );
    let mut stats = CopyStats::default();
    let copied = copier
        .copy_reference("1.0", Some("1.0"), &mut stats)
        .await
        .unwrap();
    let subjects = [copied.digest.clone()].into_iter().collect();
    copier
        .copy_referrers(&subjects, None, &mut stats)
        .await
        .unwrap();
    assert_eq!(stats.referrers_copied, 1);
    assert_eq!(copied.digest, image_digest);
    assert_eq!(
        dst.resolve("mirror/team/app", "1.0").await.unwrap(),
        Some(image_digest.clone())
    );
    assert_eq!(
        dst.resolve("mirror/team/app", sig_digest.as_str())
            .await
            .unwrap(),
        Some(sig_digest.clone()),
        "the signature did not come along"
    );
    // A layout has no Referrers API: the signature is found there through the fallback tag.
    let fallback = format!("sha256-{}", image_digest.hex());
    let index = dst
        .get_manifest("mirror/team/app", &fallback)
        .await
        .unwrap();
    let index: packreg::oci::Index = serde_json::from_slice(&index.bytes).unwrap();
    assert_eq!(index.manifests.len(), 1);
    assert_eq!(index.manifests[0].digest, sig_digest);
}

#[tokio::test]
async fn the_first_contact_is_retried_like_any_request() {
    let server = FakeRegistry::start(vec![
        Rule::new("GET", "/v2/", 503).times(1),
        Rule::new("GET", "/v2/", 401).header("www-authenticate", r#"Basic realm="fake""#),
        manifest_rule(200)
            .auth("Basic dXNlcjpzZWNyZXQ=")
            .header("content-type", MANIFEST)
            .body(manifest_bytes()),
    ]);
    isolate();
    let dir = tempfile::tempdir().unwrap();
    let opts = store_options(ConnectionFlags {
        registry_config: Some(basic_credentials(dir.path(), &server.addr)),
        ..flags(5)
    });
    let store = RemoteStore::connect(&server.addr, &opts).await.unwrap();
    store.get_manifest(REPO, "1.0.0").await.unwrap();
    assert_eq!(
        server.requests("GET", "/v2/").len(),
        3,
        "ping twice, then the manifest"
    );
}

#[tokio::test]
async fn a_whole_upload_refused_with_503_is_sent_again_from_its_origin() {
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let digest = Digest::of(&content);
    let session = format!("/v2/{REPO}/blobs/uploads/s1");
    let put = format!("{session}?digest={digest}");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("POST", &format!("/v2/{REPO}/blobs/uploads/"), 202).header("location", &session),
        Rule::new("PUT", &put, 503).times(1),
        Rule::new("PUT", &put, 201),
    ]);
    let store = connect(&server).await;
    store
        .put_blob_from(
            REPO,
            &digest,
            content.len() as u64,
            &Memory(content.clone()),
        )
        .await
        .unwrap();
    let puts = server.requests("PUT", &session);
    assert_eq!(puts.len(), 2, "the streamed PUT was not sent again");
    assert!(puts.iter().all(|p| p.body_len == content.len()));
    assert_eq!(server.requests("POST", "/v2/").len(), 1, "a second session");
}

#[tokio::test]
async fn a_chunk_refused_with_503_is_sent_again_from_its_offset() {
    let content: Vec<u8> = (0..(2u32 << 20)).map(|i| (i % 241) as u8).collect();
    let digest = Digest::of(&content);
    let session = format!("/v2/{REPO}/blobs/uploads/s1");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("POST", &format!("/v2/{REPO}/blobs/uploads/"), 202).header("location", &session),
        Rule::new("PATCH", &session, 202)
            .times(1)
            .header("location", &session)
            .header("range", "0-1048575"),
        Rule::new("PATCH", &session, 503).times(1),
        Rule::new("PATCH", &session, 202)
            .times(1)
            .header("location", &session)
            .header("range", "0-2097151"),
        Rule::new("PUT", &format!("{session}?digest={digest}"), 201),
    ]);
    upload_in_chunks(&server, &digest, &content).await;
    let ranges: Vec<_> = server
        .requests("PATCH", &session)
        .iter()
        .map(|p| {
            (
                p.header("content-range").unwrap_or("").to_string(),
                p.body_len,
            )
        })
        .collect();
    let second = ("1048576-2097151".to_string(), 1 << 20);
    assert_eq!(
        ranges,
        [("0-1048575".to_string(), 1 << 20), second.clone(), second]
    );
    // The transport sent the chunk again itself: no need to ask where the session stands.
    assert!(server.requests("GET", &session).is_empty());
}
