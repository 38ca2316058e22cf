//! One wrapper around a [`Store`] for tests that watch or break a store's calls: it forwards
//! every method of the trait, those with default implementations included, so a wrapped store
//! behaves as the store it wraps, and calls the test's hook first.

use std::sync::Arc;

use async_trait::async_trait;
use packreg::digest::Digest;
use packreg::oci::Descriptor;
use packreg::store::{
    BlobOrigin, BlobReader, BlobUpload, RawManifest, RepoLock, Store, StoreError,
};

/// A call the wrapped store is about to make, with what names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call<'a> {
    Repositories {
        prefix: &'a str,
    },
    Tags {
        repo: &'a str,
    },
    GetManifest {
        repo: &'a str,
        reference: &'a str,
    },
    Resolve {
        repo: &'a str,
        reference: &'a str,
    },
    PutManifest {
        repo: &'a str,
        tag: Option<&'a str>,
    },
    HasBlob {
        repo: &'a str,
        digest: &'a Digest,
    },
    GetBlob {
        repo: &'a str,
        digest: &'a Digest,
    },
    GetBlobAt {
        repo: &'a str,
        digest: &'a Digest,
        offset: u64,
    },
    PutBlob {
        repo: &'a str,
        digest: &'a Digest,
    },
    PutBlobFrom {
        repo: &'a str,
        digest: &'a Digest,
    },
    StartBlobUpload {
        repo: &'a str,
    },
    /// The commit of an upload session [`Call::StartBlobUpload`] opened.
    CommitBlobUpload {
        digest: &'a Digest,
    },
    DeleteManifest {
        repo: &'a str,
        digest: &'a Digest,
    },
    DeleteTag {
        repo: &'a str,
        tag: &'a str,
    },
    MountBlob {
        repo: &'a str,
        from_full: &'a str,
        digest: &'a Digest,
    },
    Referrers {
        repo: &'a str,
        digest: &'a Digest,
    },
    Lock {
        repo: &'a str,
    },
    CollectGarbage {
        repo: &'a str,
    },
}

impl Call<'_> {
    /// Whether the call changes what the store holds.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Call::PutManifest { .. }
                | Call::PutBlob { .. }
                | Call::PutBlobFrom { .. }
                | Call::CommitBlobUpload { .. }
                | Call::DeleteManifest { .. }
                | Call::DeleteTag { .. }
                | Call::MountBlob { .. }
                | Call::CollectGarbage { .. }
        )
    }

    /// The blob whose bytes the call reads, if it reads one.
    pub fn blob_read(&self) -> Option<&Digest> {
        match self {
            Call::GetBlob { digest, .. } | Call::GetBlobAt { digest, .. } => Some(digest),
            _ => None,
        }
    }
}

/// What a test runs before each call: an error stops the call with that error.
pub type Hook = dyn Fn(&Call) -> Result<(), StoreError> + Send + Sync;

/// `inner`, with `hook` called before every asynchronous call (the ones that reach storage).
pub struct HookedStore<S> {
    inner: S,
    hook: Arc<Hook>,
}

impl<S: Store> HookedStore<S> {
    /// Wraps `inner`.
    pub fn new(
        inner: S,
        hook: impl Fn(&Call) -> Result<(), StoreError> + Send + Sync + 'static,
    ) -> Self {
        HookedStore {
            inner,
            hook: Arc::new(hook),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

/// An upload session of the wrapped store whose commit goes through the hook.
struct HookedUpload<'a> {
    inner: Arc<dyn BlobUpload + 'a>,
    hook: Arc<Hook>,
}

#[async_trait]
impl BlobUpload for HookedUpload<'_> {
    async fn send(&self, size: u64, origin: &dyn BlobOrigin) -> Result<(), StoreError> {
        self.inner.send(size, origin).await
    }
    async fn commit(&self, digest: &Digest) -> Result<(), StoreError> {
        (self.hook)(&Call::CommitBlobUpload { digest })?;
        self.inner.commit(digest).await
    }
    async fn cancel(&self) {
        self.inner.cancel().await
    }
}

#[async_trait]
impl<S: Store> Store for HookedStore<S> {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn reference(&self, repo: &str, tag_or_digest: &str) -> String {
        self.inner.reference(repo, tag_or_digest)
    }
    async fn repositories(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        (self.hook)(&Call::Repositories { prefix })?;
        self.inner.repositories(prefix).await
    }
    async fn tags(&self, repo: &str) -> Result<Vec<String>, StoreError> {
        (self.hook)(&Call::Tags { repo })?;
        self.inner.tags(repo).await
    }
    async fn get_manifest(&self, repo: &str, reference: &str) -> Result<RawManifest, StoreError> {
        (self.hook)(&Call::GetManifest { repo, reference })?;
        self.inner.get_manifest(repo, reference).await
    }
    async fn resolve(&self, repo: &str, reference: &str) -> Result<Option<Digest>, StoreError> {
        (self.hook)(&Call::Resolve { repo, reference })?;
        self.inner.resolve(repo, reference).await
    }
    async fn put_manifest(
        &self,
        repo: &str,
        tag: Option<&str>,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, StoreError> {
        (self.hook)(&Call::PutManifest { repo, tag })?;
        self.inner.put_manifest(repo, tag, bytes, media_type).await
    }
    async fn has_blob(&self, repo: &str, digest: &Digest) -> Result<bool, StoreError> {
        (self.hook)(&Call::HasBlob { repo, digest })?;
        self.inner.has_blob(repo, digest).await
    }
    async fn get_blob(&self, repo: &str, digest: &Digest) -> Result<BlobReader, StoreError> {
        (self.hook)(&Call::GetBlob { repo, digest })?;
        self.inner.get_blob(repo, digest).await
    }
    async fn put_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        reader: BlobReader,
    ) -> Result<(), StoreError> {
        (self.hook)(&Call::PutBlob { repo, digest })?;
        self.inner.put_blob(repo, digest, size, reader).await
    }
    async fn put_blob_from(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        origin: &dyn BlobOrigin,
    ) -> Result<(), StoreError> {
        (self.hook)(&Call::PutBlobFrom { repo, digest })?;
        self.inner.put_blob_from(repo, digest, size, origin).await
    }
    async fn get_blob_at(
        &self,
        repo: &str,
        digest: &Digest,
        offset: u64,
    ) -> Result<BlobReader, StoreError> {
        (self.hook)(&Call::GetBlobAt {
            repo,
            digest,
            offset,
        })?;
        self.inner.get_blob_at(repo, digest, offset).await
    }
    fn keeps_partial_downloads(&self) -> bool {
        self.inner.keeps_partial_downloads()
    }
    fn cache_dir(&self) -> Option<std::path::PathBuf> {
        self.inner.cache_dir()
    }
    async fn start_blob_upload<'a>(
        &'a self,
        repo: &'a str,
        key: &str,
    ) -> Result<Option<Arc<dyn BlobUpload + 'a>>, StoreError> {
        (self.hook)(&Call::StartBlobUpload { repo })?;
        let Some(inner) = self.inner.start_blob_upload(repo, key).await? else {
            return Ok(None);
        };
        Ok(Some(Arc::new(HookedUpload {
            inner,
            hook: self.hook.clone(),
        })))
    }
    async fn delete_manifest(&self, repo: &str, digest: &Digest) -> Result<(), StoreError> {
        (self.hook)(&Call::DeleteManifest { repo, digest })?;
        self.inner.delete_manifest(repo, digest).await
    }
    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), StoreError> {
        (self.hook)(&Call::DeleteTag { repo, tag })?;
        self.inner.delete_tag(repo, tag).await
    }
    fn registry_id(&self) -> String {
        self.inner.registry_id()
    }
    fn full_name(&self, repo: &str) -> String {
        self.inner.full_name(repo)
    }
    async fn mount_blob(
        &self,
        repo: &str,
        from_full: &str,
        digest: &Digest,
    ) -> Result<bool, StoreError> {
        (self.hook)(&Call::MountBlob {
            repo,
            from_full,
            digest,
        })?;
        self.inner.mount_blob(repo, from_full, digest).await
    }
    async fn referrers(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<Vec<Descriptor>>, StoreError> {
        (self.hook)(&Call::Referrers { repo, digest })?;
        self.inner.referrers(repo, digest).await
    }
    async fn lock(&self, repo: &str) -> Result<RepoLock, StoreError> {
        (self.hook)(&Call::Lock { repo })?;
        self.inner.lock(repo).await
    }
    async fn collect_garbage(&self, repo: &str) -> Result<(), StoreError> {
        (self.hook)(&Call::CollectGarbage { repo })?;
        self.inner.collect_garbage(repo).await
    }
}

/// A blob in memory, readable from any offset.
struct Memory(Vec<u8>);

#[async_trait]
impl BlobOrigin for Memory {
    async fn open_at(&self, offset: u64) -> Result<BlobReader, StoreError> {
        Ok(Box::pin(std::io::Cursor::new(
            self.0[offset as usize..].to_vec(),
        )))
    }
}

/// Every asynchronous call through the wrapper reaches the hook, those the trait gives a
/// default included, and the wrapper answers as the store it wraps.
#[tokio::test]
async fn every_call_reaches_the_hook_and_answers_as_the_wrapped_store() {
    use packreg::oci::{Manifest, MEDIA_TYPE_MANIFEST};
    use packreg::store::layout::LayoutStore;
    use std::sync::Mutex;
    use tokio::io::AsyncReadExt;

    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
    let store = {
        let seen = seen.clone();
        HookedStore::new(
            LayoutStore::new(dir.path()).with_cache_dir(Some(dir.path().join("cache"))),
            move |call| {
                let name = format!("{call:?}");
                let variant = name.split([' ', '{']).next().unwrap().to_string();
                seen.lock().unwrap().insert(variant);
                Ok(())
            },
        )
    };
    let (repo, other) = ("spectro-packs/archive/a", "spectro-packs/archive/b");
    let layer = b"layer bytes".to_vec();
    let config = b"{}".to_vec();
    let (layer_digest, config_digest) = (Digest::of(&layer), Digest::of(&config));
    let size = layer.len() as u64;

    store
        .put_blob(
            repo,
            &config_digest,
            2,
            Box::pin(std::io::Cursor::new(config)),
        )
        .await
        .unwrap();
    store
        .put_blob_from(repo, &layer_digest, size, &Memory(layer.clone()))
        .await
        .unwrap();
    assert!(store.has_blob(repo, &layer_digest).await.unwrap());
    let mut whole = Vec::new();
    let mut reader = store.get_blob(repo, &layer_digest).await.unwrap();
    reader.read_to_end(&mut whole).await.unwrap();
    assert_eq!(whole, layer);
    let mut tail = Vec::new();
    let mut reader = store.get_blob_at(repo, &layer_digest, 6).await.unwrap();
    reader.read_to_end(&mut tail).await.unwrap();
    assert_eq!(tail, b"bytes");

    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_MANIFEST.into()),
        artifact_type: None,
        config: Descriptor::new("application/vnd.unknown.config.v1+json", config_digest, 2),
        layers: vec![Descriptor::new(
            "application/octet-stream",
            layer_digest.clone(),
            size,
        )],
        subject: None,
        annotations: Default::default(),
        extra: Default::default(),
    };
    let digest = store
        .put_manifest(
            repo,
            Some("1.0.0"),
            &manifest.to_bytes(),
            MEDIA_TYPE_MANIFEST,
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_manifest(repo, "1.0.0").await.unwrap().digest,
        digest
    );
    assert_eq!(
        store.resolve(repo, "1.0.0").await.unwrap(),
        store.inner().resolve(repo, "1.0.0").await.unwrap()
    );
    assert_eq!(store.tags(repo).await.unwrap(), vec!["1.0.0"]);
    assert_eq!(
        store.repositories("spectro-packs/archive/").await.unwrap(),
        vec![repo]
    );
    assert_eq!(
        store.referrers(repo, &digest).await.unwrap().is_some(),
        store
            .inner()
            .referrers(repo, &digest)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .start_blob_upload(repo, "key")
            .await
            .unwrap()
            .is_some(),
        store
            .inner()
            .start_blob_upload(repo, "key")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .mount_blob(other, &store.full_name(repo), &layer_digest)
            .await
            .unwrap(),
        store.inner().has_blob(other, &layer_digest).await.unwrap()
    );
    assert_eq!(store.location(), store.inner().location());
    assert_eq!(store.registry_id(), store.inner().registry_id());
    assert_eq!(
        store.reference(repo, "1.0.0"),
        store.inner().reference(repo, "1.0.0")
    );
    assert_eq!(
        store.keeps_partial_downloads(),
        store.inner().keeps_partial_downloads()
    );
    assert_eq!(store.cache_dir(), Some(dir.path().join("cache")));

    let lock = store.lock(repo).await.unwrap();
    store.delete_tag(repo, "1.0.0").await.unwrap();
    store
        .put_manifest(
            repo,
            Some("1.0.1"),
            &manifest.to_bytes(),
            MEDIA_TYPE_MANIFEST,
        )
        .await
        .unwrap();
    store.delete_manifest(repo, &digest).await.unwrap();
    store.collect_garbage(repo).await.unwrap();
    drop(lock);
    assert!(!store.inner().has_blob(repo, &layer_digest).await.unwrap());

    let seen = seen.lock().unwrap().clone();
    let every: std::collections::BTreeSet<String> = [
        "Repositories",
        "Tags",
        "GetManifest",
        "Resolve",
        "PutManifest",
        "HasBlob",
        "GetBlob",
        "GetBlobAt",
        "PutBlob",
        "PutBlobFrom",
        "StartBlobUpload",
        "DeleteManifest",
        "DeleteTag",
        "MountBlob",
        "Referrers",
        "Lock",
        "CollectGarbage",
    ]
    .map(String::from)
    .into();
    assert_eq!(seen, every);
}
