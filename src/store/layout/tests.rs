//! The local store: tags, manifests, garbage collection, refusals.

use super::*;
use crate::oci::{Manifest, MEDIA_TYPE_MANIFEST};

fn reader(bytes: &[u8]) -> BlobReader {
    Box::pin(std::io::Cursor::new(bytes.to_vec()))
}

async fn push_simple(store: &LayoutStore, repo: &str, tag: &str, content: &[u8]) -> Digest {
    let config = oci::EMPTY_JSON;
    let cd = Digest::of(config);
    let ld = Digest::of(content);
    store.put_blob(repo, &cd, 2, reader(config)).await.unwrap();
    store
        .put_blob(repo, &ld, content.len() as u64, reader(content))
        .await
        .unwrap();
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_MANIFEST.into()),
        artifact_type: Some("application/x-test".into()),
        config: Descriptor::new(oci::MEDIA_TYPE_EMPTY, cd, 2),
        layers: vec![Descriptor::new(
            "application/octet-stream",
            ld,
            content.len() as u64,
        )],
        subject: None,
        annotations: Default::default(),
        extra: Default::default(),
    };
    store
        .put_manifest(repo, Some(tag), &manifest.to_bytes(), MEDIA_TYPE_MANIFEST)
        .await
        .unwrap()
}

#[tokio::test]
async fn tags_manifests_and_garbage_collection() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(dir.path());
    let repo = "spectro-packs/archive/demo";
    let d1 = push_simple(&store, repo, "1.0.0", b"one").await;
    let d2 = push_simple(&store, repo, "2.0.0", b"two").await;
    store
        .put_manifest(
            repo,
            Some("latest"),
            &store.get_manifest(repo, "2.0.0").await.unwrap().bytes,
            MEDIA_TYPE_MANIFEST,
        )
        .await
        .unwrap();
    assert_eq!(
        store.tags(repo).await.unwrap(),
        vec!["1.0.0", "2.0.0", "latest"]
    );
    assert_eq!(
        store.repositories("spectro-packs/archive/").await.unwrap(),
        vec![repo]
    );
    assert_eq!(
        store.get_manifest(repo, d1.as_str()).await.unwrap().digest,
        d1
    );

    store.delete_manifest(repo, &d2).await.unwrap();
    assert_eq!(store.tags(repo).await.unwrap(), vec!["1.0.0"]);
    store.collect_garbage(repo).await.unwrap();
    let blobs: Vec<_> = fs::read_dir(dir.path().join(repo).join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        blobs.len(),
        3,
        "config, layer and manifest of 1.0.0 only: {blobs:?}"
    );
    assert!(!blobs.contains(&Digest::of(b"two").hex().to_string()));
}

#[tokio::test]
async fn refuses_bad_content_and_dangling_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(dir.path());
    let repo = "r";
    let err = store
        .put_blob(repo, &Digest::of(b"abc"), 3, reader(b"abd"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Integrity { .. }), "{err}");
    assert!(!store.has_blob(repo, &Digest::of(b"abc")).await.unwrap());

    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_MANIFEST.into()),
        artifact_type: None,
        config: Descriptor::new("application/json", Digest::of(b"{}"), 2),
        layers: vec![],
        subject: None,
        annotations: Default::default(),
        extra: Default::default(),
    };
    let err = store
        .put_manifest(repo, Some("t"), &manifest.to_bytes(), MEDIA_TYPE_MANIFEST)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not stored"), "{err}");
    assert!(store.tags(repo).await.unwrap().is_empty());
}

#[tokio::test]
async fn detects_a_corrupted_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(dir.path());
    let d = push_simple(&store, "r", "t", b"x").await;
    fs::write(LayoutStore::blob_path(&dir.path().join("r"), &d), b"{}").unwrap();
    let err = store.get_manifest("r", "t").await.unwrap_err();
    assert!(matches!(err, StoreError::Integrity { .. }), "{err}");
}

#[tokio::test]
async fn repository_paths_cannot_escape() {
    let store = LayoutStore::new("/tmp/none");
    assert!(store.tags("../etc").await.is_err());
    assert!(store.tags("a/../../b").await.is_err());
}

/// A temporary file named as a run names it, last written `age` ago.
fn leftover(dir: &std::path::Path, name: &str, age: std::time::Duration) -> std::path::PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    file.set_modified(std::time::SystemTime::now() - age)
        .unwrap();
    path
}

#[tokio::test]
async fn what_a_killed_run_left_is_swept_and_a_live_upload_is_not() {
    let root = tempfile::tempdir().unwrap();
    let repo = "spectro-packs/archive/p";
    let hour = std::time::Duration::from_secs(3600);
    {
        let earlier = LayoutStore::new(root.path());
        push_simple(&earlier, repo, "1.0.0", b"one").await;
    }
    let dir = root.path().join(repo);
    let dead_upload = leftover(&dir, ".packreg-upload-dead", hour);
    let dead_index = leftover(&dir, ".packreg-tmp-dead", hour);
    let dead_blob = leftover(&dir.join("blobs/sha256"), ".packreg-tmp-dead", hour);
    // An upload another process is writing: it holds its file locked.
    let live_upload = leftover(&dir, ".packreg-upload-live", hour);
    let held = std::fs::File::options()
        .write(true)
        .open(&live_upload)
        .unwrap();
    held.lock().unwrap();

    let store = LayoutStore::new(root.path());
    // A write session (push, rm, tag, mirror) sweeps.
    drop(store.lock(repo).await.unwrap());
    for path in [&dead_upload, &dead_index, &dead_blob] {
        assert!(!path.exists(), "{} survived", path.display());
    }
    assert!(live_upload.exists(), "a live upload was removed");
    // So does garbage collection, once the writer is gone.
    drop(held);
    let again = leftover(&dir, ".packreg-upload-again", hour);
    store.collect_garbage(repo).await.unwrap();
    assert!(!live_upload.exists() && !again.exists());
    // This run's own uploads are left alone, and still land.
    push_simple(&store, repo, "1.0.1", b"two").await;
    assert_eq!(store.tags(repo).await.unwrap(), ["1.0.0", "1.0.1"]);
}

#[tokio::test]
async fn a_fresh_atomic_write_file_is_not_swept() {
    let root = tempfile::tempdir().unwrap();
    let repo = "r";
    let store = LayoutStore::new(root.path());
    push_simple(&store, repo, "1", b"x").await;
    let dir = root.path().join(repo);
    let fresh = leftover(
        &dir,
        ".packreg-tmp-fresh",
        std::time::Duration::from_secs(1),
    );
    drop(store.lock(repo).await.unwrap());
    assert!(fresh.exists());
}
