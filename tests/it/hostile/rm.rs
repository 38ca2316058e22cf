//! Item 9: an rm interrupted after each of its writes.

use packreg::digest::Digest;
use packreg::store::{BlobReader, RawManifest, RepoLock, Store, StoreError};

use super::common::ok;
use super::{tags_in, Env};

/// The local store, with every write after the first `allowed` failing: an rm interrupted at
/// each step in turn.
struct Interrupted {
    inner: packreg::store::layout::LayoutStore,
    allowed: std::sync::atomic::AtomicUsize,
}

impl Interrupted {
    fn write(&self) -> Result<(), packreg::store::StoreError> {
        use std::sync::atomic::Ordering;
        let left = self.allowed.load(Ordering::SeqCst);
        if left == 0 {
            return Err(packreg::store::StoreError::Remote {
                location: self.inner.location(),
                message: "interrupted here by the test".into(),
            });
        }
        self.allowed.store(left - 1, Ordering::SeqCst);
        Ok(())
    }
}

#[async_trait::async_trait]
impl Store for Interrupted {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn repositories(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.repositories(prefix).await
    }
    async fn tags(&self, repo: &str) -> Result<Vec<String>, StoreError> {
        self.inner.tags(repo).await
    }
    async fn get_manifest(&self, repo: &str, reference: &str) -> Result<RawManifest, StoreError> {
        self.inner.get_manifest(repo, reference).await
    }
    async fn put_manifest(
        &self,
        repo: &str,
        tag: Option<&str>,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, StoreError> {
        self.write()?;
        self.inner.put_manifest(repo, tag, bytes, media_type).await
    }
    async fn has_blob(&self, repo: &str, digest: &Digest) -> Result<bool, StoreError> {
        self.inner.has_blob(repo, digest).await
    }
    async fn get_blob(&self, repo: &str, digest: &Digest) -> Result<BlobReader, StoreError> {
        self.inner.get_blob(repo, digest).await
    }
    async fn put_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        reader: BlobReader,
    ) -> Result<(), StoreError> {
        self.write()?;
        self.inner.put_blob(repo, digest, size, reader).await
    }
    async fn delete_manifest(&self, repo: &str, digest: &Digest) -> Result<(), StoreError> {
        self.write()?;
        self.inner.delete_manifest(repo, digest).await
    }
    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), StoreError> {
        self.write()?;
        self.inner.delete_tag(repo, tag).await
    }
    fn registry_id(&self) -> String {
        self.inner.registry_id()
    }
    fn full_name(&self, repo: &str) -> String {
        self.inner.full_name(repo)
    }
    async fn lock(&self, repo: &str) -> Result<RepoLock, StoreError> {
        self.inner.lock(repo).await
    }
    async fn collect_garbage(&self, repo: &str) -> Result<(), StoreError> {
        self.write()?;
        self.inner.collect_garbage(repo).await
    }
}

/// Item 9: rm interrupted after any of its steps never loses a tag that should stay.
#[test]
fn an_interrupted_rm_never_loses_a_tag_that_should_stay() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let repo = "spectro-packs/archive/hello-manifests";
    for allowed in 0..12 {
        let env = Env::new();
        for v in ["1.0.0", "1.1.0", "1.2.0"] {
            env.push_version("hello-manifests", v);
        }
        // Another version tag and a label on the manifest of 1.2.0.
        let store = packreg::store::layout::LayoutStore::new(env.path("store"));
        let raw = rt.block_on(store.get_manifest(repo, "1.2.0")).unwrap();
        rt.block_on(store.put_manifest(repo, Some("1.2.0-copy"), &raw.bytes, &raw.media_type))
            .unwrap();
        ok(&env.run(&["tag", "add", "hello-manifests:1.2.0", "stable"]));
        let before: std::collections::BTreeMap<String, String> =
            tags_in(&env.path("store"), "hello-manifests")
                .into_iter()
                .map(|t| {
                    let d = rt
                        .block_on(store.resolve(repo, &t))
                        .unwrap()
                        .unwrap()
                        .to_string();
                    (t, d)
                })
                .collect();

        let faulty = Interrupted {
            inner: store.clone(),
            allowed: allowed.into(),
        };
        let result = rt.block_on(packreg::ops::remove(&faulty, "hello-manifests", "1.2.0"));
        for (tag, digest) in &before {
            if tag == "1.2.0" || tag == "stable" {
                continue;
            }
            let now = rt.block_on(store.resolve(repo, tag)).unwrap();
            assert_eq!(
                now.map(|d| d.to_string()).as_deref(),
                Some(digest.as_str()),
                "interrupted after {allowed} write(s) ({:?}): {tag} was lost or moved",
                result.as_ref().err().map(|e| e.to_string())
            );
        }
        if result.is_ok() {
            assert_eq!(
                tags_in(&env.path("store"), "hello-manifests"),
                vec![
                    "1.0.0",
                    "1.0.x",
                    "1.1.0",
                    "1.1.x",
                    "1.2.0-copy",
                    "1.2.x",
                    "1.x"
                ]
            );
            return;
        }
    }
    panic!("rm never completed");
}
