//! Upload sessions kept across runs go back only to the registry's own origin: a session a
//! registry sent to another host is used in its run, never resumed in the next.

use super::*;

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

async fn upload(registry: &FakeRegistry, content: &[u8]) -> Result<(), StoreError> {
    let opts = store_options(ConnectionFlags {
        chunk_size: Some(1),
        ..flags(5)
    });
    let store = RemoteStore::connect(&registry.addr, &opts).await.unwrap();
    let digest = Digest::of(content);
    let origin = Memory(content.to_vec());
    store
        .put_blob_from(REPO, &digest, content.len() as u64, &origin)
        .await
}

#[tokio::test]
async fn a_session_on_another_host_is_not_resumed_by_the_next_run() {
    let content: Vec<u8> = (0..(2u32 << 20)).map(|i| (i % 233) as u8).collect();
    let digest = Digest::of(&content);
    let elsewhere = format!("/v2/{REPO}/blobs/uploads/foreign");
    // The other host takes the first chunk, refuses the second, and would take the rest.
    let other = FakeRegistry::start(vec![
        Rule::new("PATCH", &elsewhere, 202)
            .times(1)
            .header("location", &elsewhere)
            .header("range", "0-1048575"),
        Rule::new("PATCH", &elsewhere, 403).times(1),
        Rule::new("GET", &elsewhere, 204).header("range", "0-1048575"),
        Rule::new("PATCH", &elsewhere, 202)
            .header("location", &elsewhere)
            .header("range", "0-2097151"),
        Rule::new("PUT", &format!("{elsewhere}?digest={digest}"), 201),
    ]);
    let own = format!("/v2/{REPO}/blobs/uploads/own");
    let registry = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("POST", &format!("/v2/{REPO}/blobs/uploads/"), 202)
            .times(1)
            .header("location", &format!("http://{}{elsewhere}", other.addr)),
    ]);
    assert!(upload(&registry, &content).await.is_err());
    let before = other.log().len();

    // The registry, genuine now, opens sessions of its own.
    registry.add(vec![
        Rule::new("POST", &format!("/v2/{REPO}/blobs/uploads/"), 202).header("location", &own),
        Rule::new("PATCH", &own, 202)
            .times(1)
            .header("location", &own)
            .header("range", "0-1048575"),
        Rule::new("PATCH", &own, 202)
            .header("location", &own)
            .header("range", "0-2097151"),
        Rule::new("PUT", &format!("{own}?digest={digest}"), 201),
    ]);
    upload(&registry, &content).await.unwrap();
    assert_eq!(
        other.log().len(),
        before,
        "the next run went to the other host"
    );
    assert_eq!(registry.requests("PUT", &own).len(), 1);
}
