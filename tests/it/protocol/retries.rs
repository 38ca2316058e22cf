//! What is retried (429 with its Retry-After, 5xx, the first contact), what is final (a 400), and the idle timeout of a registry that never answers.

use super::*;

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
    assert!(
        matches!(
            err,
            StoreError::Network {
                cause: NetworkCause::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("1 s"), "{err}");
}
