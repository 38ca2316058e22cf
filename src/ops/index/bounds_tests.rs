//! What a registry can plant in the pack index's repository costs a bounded amount: documents
//! under `pending-` names that are not their digest are skipped (and listed as merged, so no
//! later reader fetches them), and a document over the bounds is refused.

use super::doc::manifest_for;
use super::update::{read_doc, Doc};
use super::{read_state, update, Change, IndexEntry, IndexFile, INDEX_REPO, LATEST};
use crate::digest::Digest;
use crate::limits::{MAX_PACK_INDEX_BYTES, MAX_PACK_INDEX_ENTRIES};
use crate::oci::{EMPTY_JSON, MEDIA_TYPE_MANIFEST};
use crate::ops::OpError;
use crate::store::layout::LayoutStore;
use crate::store::Store;

fn entry(name: &str) -> IndexEntry {
    IndexEntry {
        name: name.into(),
        version: "1.0.0".into(),
        tag: "1.0.0".into(),
        digest: Digest::of(name.as_bytes()),
        layer: None,
        display_name: None,
        updated: 1,
    }
}

async fn put_blob(store: &dyn Store, bytes: &[u8]) {
    let reader = Box::pin(std::io::Cursor::new(bytes.to_vec()));
    store
        .put_blob(INDEX_REPO, &Digest::of(bytes), bytes.len() as u64, reader)
        .await
        .unwrap();
}

/// Stores `doc` as an index document under `tag`; returns its manifest digest.
async fn plant(store: &dyn Store, tag: &str, doc: &[u8]) -> Digest {
    put_blob(store, EMPTY_JSON).await;
    put_blob(store, doc).await;
    let manifest = manifest_for(Digest::of(doc), doc.len() as u64);
    store
        .put_manifest(INDEX_REPO, Some(tag), &manifest, MEDIA_TYPE_MANIFEST)
        .await
        .unwrap()
}

fn doc_with(names: &[&str]) -> Vec<u8> {
    let file = IndexFile {
        schema_version: 1,
        packs: names.iter().map(|n| entry(n)).collect(),
        ..IndexFile::default()
    };
    serde_json::to_vec(&file).unwrap()
}

#[tokio::test]
async fn pending_tags_not_named_for_their_digest_are_skipped_and_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(dir.path());
    update(&store, &[Change::Put(entry("real"))]).await.unwrap();
    // Many names, one planted document: each name would be fetched and merged on every read.
    let mut names = Vec::new();
    for i in 0..5 {
        let name = Digest::of(format!("not a document {i}").as_bytes());
        plant(
            &store,
            &format!("pending-{}", name.hex()),
            &doc_with(&["fake"]),
        )
        .await;
        names.push(name);
    }
    assert_eq!(read_state(&store).await.unwrap().names(), ["real"]);

    update(&store, &[Change::Put(entry("next"))]).await.unwrap();
    assert_eq!(read_state(&store).await.unwrap().names(), ["next", "real"]);
    let Doc::Read(_, latest) = read_doc(&store, LATEST, None).await.unwrap() else {
        panic!("no latest");
    };
    for name in &names {
        assert!(
            latest.merged.contains(name),
            "{name} is not listed as merged"
        );
    }
}

#[tokio::test]
async fn an_index_document_over_the_size_bound_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(dir.path());
    // Valid JSON (unknown fields are kept out), larger than the bound.
    let padding = "x".repeat(MAX_PACK_INDEX_BYTES as usize);
    let doc = format!(r#"{{"schemaVersion":1,"packs":[],"padding":"{padding}"}}"#);
    plant(&store, LATEST, doc.as_bytes()).await;
    let err = read_state(&store).await.unwrap_err();
    assert!(matches!(err, OpError::BadIndex(_)), "{err:?}");
}

#[tokio::test]
async fn an_index_document_with_too_many_entries_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(dir.path());
    let names: Vec<String> = (0..=MAX_PACK_INDEX_ENTRIES)
        .map(|i| format!("p{i}"))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    plant(&store, LATEST, &doc_with(&names)).await;
    let err = read_state(&store).await.unwrap_err();
    assert!(matches!(err, OpError::BadIndex(_)), "{err:?}");
}
