//! What a registry may cost a command in time: a transfer below the minimum rate fails even
//! when a byte arrives just inside every idle timeout, and the retries of a store share one
//! budget of waiting, however long a `Retry-After` asks.

use super::*;
use packreg::limits::RemoteLimit;
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn a_download_trickling_a_byte_inside_each_idle_timeout_fails_below_the_minimum_rate() {
    let digest = Digest::of(b"never");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &format!("/v2/{REPO}/blobs/{digest}"), 200).raw(Body::Trickle {
            len: 1 << 20,
            every: Duration::from_millis(300),
        }),
    ]);
    // An idle timeout of 1 s, and the built-in minimum of 1 KiB a second.
    let store = RemoteStore::connect(&server.addr, &options(1))
        .await
        .unwrap();
    let start = Instant::now();
    let read = async {
        let mut blob = store.get_blob(REPO, &digest).await?;
        let mut out = Vec::new();
        blob.read_to_end(&mut out)
            .await
            .map_err(|e| StoreError::Corrupt {
                location: "test".into(),
                message: e.to_string(),
            })
    };
    let err = tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("the trickle held the download for ever")
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(err.to_string().contains("per second"), "{err}");
    // A transfer too slow is not resumed into another trickle.
    assert_eq!(
        server.requests("GET", &format!("/v2/{REPO}/blobs/")).len(),
        1
    );
}

#[tokio::test]
async fn an_answer_trickling_a_byte_inside_each_idle_timeout_is_a_limit_error() {
    let server = FakeRegistry::start(vec![
        open_v2(),
        manifest_rule(200)
            .header("content-type", MANIFEST)
            .raw(Body::Trickle {
                len: 4096,
                every: Duration::from_millis(300),
            }),
    ]);
    let store = RemoteStore::connect(&server.addr, &options(1))
        .await
        .unwrap();
    let manifest = tokio::time::timeout(Duration::from_secs(30), store.get_manifest(REPO, "1.0.0"));
    let err = manifest.await.expect("never ended").unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Limit {
                limit: RemoteLimit::TransferRate { min_rate: 1024 },
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn retries_share_one_budget_whatever_retry_after_asks() {
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("HEAD", &format!("/v2/{REPO}/blobs/*"), 503).header("retry-after", "100000"),
    ]);
    let opts = store_options(ConnectionFlags {
        retry_budget: Some(2),
        ..flags(5)
    });
    let store = RemoteStore::connect(&server.addr, &opts).await.unwrap();
    let start = Instant::now();
    for n in 0..3u8 {
        let err = store.has_blob(REPO, &Digest::of(&[n])).await.unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Limit {
                    limit: RemoteLimit::RetryBudget { .. },
                    ..
                }
            ),
            "{err:?}"
        );
    }
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(server.requests("HEAD", "/v2/").len(), 4);
}
