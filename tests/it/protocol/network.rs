//! Network failures carry their typed cause: a refused connection, an unknown host, TLS to a plain-HTTP registry.

use super::*;

#[tokio::test]
async fn a_refused_connection_says_whether_it_was_plain_http() {
    isolate();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let plain = RemoteStore::connect(&addr, &options(5)).await.unwrap();
    let err = plain.tags(REPO).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Network {
                cause: NetworkCause::Refused,
                plain_http: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(err.to_string().contains("cannot connect"), "{err}");
    let https = store_options(ConnectionFlags {
        insecure: true,
        plain_http: false,
        ..flags(5)
    });
    let tls = RemoteStore::connect(&addr, &https).await.unwrap();
    let err = tls.tags(REPO).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Network {
                cause: NetworkCause::Refused,
                plain_http: false,
                ..
            }
        ),
        "{err:?}"
    );
}

/// A host name that does not resolve is its own cause (`.invalid` never resolves, RFC 6761).
#[tokio::test]
async fn an_unknown_host_is_a_dns_failure() {
    isolate();
    let store = RemoteStore::connect("packreg-test.invalid:5000", &options(5))
        .await
        .unwrap();
    let err = store.tags(REPO).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Network {
                cause: NetworkCause::Dns,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not resolve"), "{err}");
}

/// HTTPS to a plain-HTTP registry fails in the handshake with that cause, so the CLI can
/// advise `--plain-http`; it is not retried.
#[tokio::test]
async fn https_to_a_plain_http_registry_is_a_tls_mismatch() {
    isolate();
    let server = FakeRegistry::start(vec![open_v2()]);
    let https = store_options(ConnectionFlags {
        insecure: true,
        plain_http: false,
        ..flags(5)
    });
    let store = RemoteStore::connect(&server.addr, &https).await.unwrap();
    let err = store.tags(REPO).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Network {
                cause: NetworkCause::NotTls,
                plain_http: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not speak TLS"), "{err}");
}

/// Plain HTTP to a TLS port: the server's 400 saying so is that cause, not a bare HTTP 400.
#[tokio::test]
async fn plain_http_to_a_tls_registry_is_its_own_cause() {
    use crate::support::registry::{Registry, Tls};
    isolate();
    let reg = Registry::start(Tls::SelfSigned, None);
    let store = RemoteStore::connect(&reg.addr, &options(5)).await.unwrap();
    let err = store.tags(REPO).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Network {
                cause: NetworkCause::PlainHttpToTls,
                plain_http: true,
                ..
            }
        ),
        "{err:?}"
    );
}
