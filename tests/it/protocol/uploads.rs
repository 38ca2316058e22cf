//! Uploads: manifests without Location, mounts, chunked sessions resumed from the confirmed offset, whole PUTs, retries from the blob's origin.

use super::*;

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
