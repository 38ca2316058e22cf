//! Chunked uploads to a registry that accepts chunks without holding more: bounded by the
//! failures in a row and by the bytes sent for the blob, whatever the `Range` says.

use super::*;
use packreg::limits::RemoteLimit;

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

/// A registry whose every PATCH is answered 202 with `range`.
fn stuck_registry(range: &str) -> (FakeRegistry, String) {
    let session = format!("/v2/{REPO}/blobs/uploads/s1");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("POST", &format!("/v2/{REPO}/blobs/uploads/"), 202).header("location", &session),
        Rule::new("PATCH", &session, 202)
            .header("location", &session)
            .header("range", range),
        Rule::new("GET", &session, 204).header("range", range),
    ]);
    (server, session)
}

/// Uploads 2 MiB in 1 MiB chunks, failing the test when it does not end within 30 s.
async fn upload(server: &FakeRegistry) -> Result<(), StoreError> {
    let content: Vec<u8> = (0..(2u32 << 20)).map(|i| (i % 239) as u8).collect();
    let digest = Digest::of(&content);
    let opts = store_options(ConnectionFlags {
        chunk_size: Some(1),
        ..flags(5)
    });
    let store = RemoteStore::connect(&server.addr, &opts).await.unwrap();
    let size = content.len() as u64;
    let origin = Memory(content);
    let put = store.put_blob_from(REPO, &digest, size, &origin);
    tokio::time::timeout(Duration::from_secs(30), put)
        .await
        .expect("the upload never ended")
}

#[tokio::test]
async fn a_registry_that_accepts_chunks_but_never_advances_is_given_up_on() {
    let (server, session) = stuck_registry("0-0");
    let err = upload(&server).await.unwrap_err();
    let patches = server.requests("PATCH", &session);
    let sent: usize = patches.iter().map(|p| p.body_len).sum();
    assert!(patches.len() <= 8, "{} PATCHes", patches.len());
    assert!(sent <= 4 * (2 << 20), "{sent} bytes sent for a 2 MiB blob");
    assert!(!matches!(err, StoreError::Network { .. }), "{err:?}");
}

#[tokio::test]
async fn the_bytes_sent_for_one_blob_are_capped_at_a_multiple_of_its_size() {
    // Each 202 confirms the first chunk alone, so every PATCH of the second "advances" the
    // session back to where it was: only the byte count stops it.
    let session = format!("/v2/{REPO}/blobs/uploads/s1");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("POST", &format!("/v2/{REPO}/blobs/uploads/"), 202).header("location", &session),
        Rule::new("PATCH", &session, 202)
            .header("location", &session)
            .header("range", "0-1048575"),
        Rule::new("GET", &session, 204).header("range", "0-0"),
    ]);
    let err = upload(&server).await.unwrap_err();
    let sent: usize = server
        .requests("PATCH", &session)
        .iter()
        .map(|p| p.body_len)
        .sum();
    assert!(sent <= 4 * (2 << 20), "{sent} bytes sent for a 2 MiB blob");
    assert!(
        matches!(
            err,
            StoreError::Limit {
                limit: RemoteLimit::UploadBytes { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_range_at_the_top_of_u64_is_refused_not_wrapped() {
    let (server, session) = stuck_registry("0-18446744073709551615");
    let err = upload(&server).await.unwrap_err();
    assert_eq!(server.requests("PATCH", &session).len(), 1);
    assert!(matches!(err, StoreError::Remote { .. }), "{err:?}");
}
