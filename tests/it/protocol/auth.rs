//! Credentials: a token renewed once, an http realm for an https registry, no Authorization on a redirect to another origin.

use super::*;

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
