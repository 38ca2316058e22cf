//! A dry run is the real copy against a destination that keeps its writes in memory: every
//! read goes to the real destination, seeing what this run "wrote" over it, and nothing is
//! sent. So a dry run counts the same packs, tags, manifests, blobs, referrers and images as
//! the real run that follows, by running the same code (a planner beside the copier would
//! drift from it). Blob content is never read; a mount is assumed to succeed, as it does
//! within one registry.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::digest::Digest;
use crate::store::{BlobOrigin, BlobReader, RawManifest, RepoLock, Store, StoreError};

/// What a dry run wrote.
#[derive(Default)]
struct Writes {
    manifests: BTreeMap<(String, Digest), RawManifest>,
    tags: BTreeMap<(String, String), Digest>,
    removed_tags: BTreeSet<(String, String)>,
    blobs: BTreeSet<(String, Digest)>,
}

/// `inner` as a dry run sees it.
pub(crate) struct DryRunStore<'a> {
    inner: &'a dyn Store,
    writes: Mutex<Writes>,
}

impl<'a> DryRunStore<'a> {
    pub(crate) fn new(inner: &'a dyn Store) -> Self {
        DryRunStore {
            inner,
            writes: Mutex::new(Writes::default()),
        }
    }

    fn writes(&self) -> std::sync::MutexGuard<'_, Writes> {
        // A panic while the lock was held leaves plain data behind: still usable.
        self.writes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What this run made of `reference`: Some(Some(digest)) when it wrote it, Some(None) when
    /// it removed the tag, None when the real store answers.
    fn written(&self, repo: &str, reference: &str) -> Option<Option<Digest>> {
        let writes = self.writes();
        if let Ok(digest) = reference.parse::<Digest>() {
            let key = (repo.to_string(), digest);
            return writes.manifests.contains_key(&key).then_some(Some(key.1));
        }
        let key = (repo.to_string(), reference.to_string());
        if let Some(digest) = writes.tags.get(&key) {
            return Some(Some(digest.clone()));
        }
        writes.removed_tags.contains(&key).then_some(None)
    }

    fn not_found(&self, repo: &str, reference: &str) -> StoreError {
        StoreError::NotFound {
            what: format!("{reference} of {repo}"),
            location: self.inner.location(),
        }
    }
}

#[async_trait]
impl Store for DryRunStore<'_> {
    fn location(&self) -> String {
        self.inner.location()
    }

    fn reference(&self, repo: &str, tag_or_digest: &str) -> String {
        self.inner.reference(repo, tag_or_digest)
    }

    async fn repositories(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut repos: BTreeSet<String> =
            self.inner.repositories(prefix).await?.into_iter().collect();
        let writes = self.writes();
        repos.extend(
            writes
                .tags
                .keys()
                .map(|(repo, _)| repo.clone())
                .filter(|repo| repo.starts_with(prefix)),
        );
        Ok(repos.into_iter().collect())
    }

    async fn tags(&self, repo: &str) -> Result<Vec<String>, StoreError> {
        let mut tags: BTreeSet<String> = match self.inner.tags(repo).await {
            Ok(tags) => tags.into_iter().collect(),
            Err(e) if e.is_not_found() => BTreeSet::new(),
            Err(e) => return Err(e),
        };
        let writes = self.writes();
        for (r, tag) in writes.tags.keys() {
            if r == repo {
                tags.insert(tag.clone());
            }
        }
        for (r, tag) in &writes.removed_tags {
            if r == repo {
                tags.remove(tag);
            }
        }
        Ok(tags.into_iter().collect())
    }

    async fn get_manifest(&self, repo: &str, reference: &str) -> Result<RawManifest, StoreError> {
        match self.written(repo, reference) {
            None => self.inner.get_manifest(repo, reference).await,
            Some(None) => Err(self.not_found(repo, reference)),
            Some(Some(digest)) => {
                let recorded = self
                    .writes()
                    .manifests
                    .get(&(repo.to_string(), digest.clone()))
                    .cloned();
                match recorded {
                    Some(raw) => Ok(raw),
                    None => self.inner.get_manifest(repo, digest.as_str()).await,
                }
            }
        }
    }

    async fn resolve(&self, repo: &str, reference: &str) -> Result<Option<Digest>, StoreError> {
        match self.written(repo, reference) {
            None => self.inner.resolve(repo, reference).await,
            Some(found) => Ok(found),
        }
    }

    async fn put_manifest(
        &self,
        repo: &str,
        tag: Option<&str>,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, StoreError> {
        let digest = Digest::of(bytes);
        let mut writes = self.writes();
        writes.manifests.insert(
            (repo.to_string(), digest.clone()),
            RawManifest {
                bytes: bytes.to_vec(),
                media_type: media_type.to_string(),
                digest: digest.clone(),
            },
        );
        if let Some(tag) = tag {
            let key = (repo.to_string(), tag.to_string());
            writes.removed_tags.remove(&key);
            writes.tags.insert(key, digest.clone());
        }
        Ok(digest)
    }

    async fn has_blob(&self, repo: &str, digest: &Digest) -> Result<bool, StoreError> {
        let recorded = self
            .writes()
            .blobs
            .contains(&(repo.to_string(), digest.clone()));
        Ok(recorded || self.inner.has_blob(repo, digest).await?)
    }

    async fn get_blob(&self, repo: &str, digest: &Digest) -> Result<BlobReader, StoreError> {
        self.inner.get_blob(repo, digest).await
    }

    async fn put_blob(
        &self,
        repo: &str,
        digest: &Digest,
        _size: u64,
        _reader: BlobReader,
    ) -> Result<(), StoreError> {
        self.writes()
            .blobs
            .insert((repo.to_string(), digest.clone()));
        Ok(())
    }

    async fn put_blob_from(
        &self,
        repo: &str,
        digest: &Digest,
        _size: u64,
        _origin: &dyn BlobOrigin,
    ) -> Result<(), StoreError> {
        self.writes()
            .blobs
            .insert((repo.to_string(), digest.clone()));
        Ok(())
    }

    async fn delete_manifest(&self, repo: &str, digest: &Digest) -> Result<(), StoreError> {
        let mut writes = self.writes();
        writes.manifests.remove(&(repo.to_string(), digest.clone()));
        writes.tags.retain(|(r, _), d| !(r == repo && d == digest));
        Ok(())
    }

    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), StoreError> {
        let mut writes = self.writes();
        let key = (repo.to_string(), tag.to_string());
        writes.tags.remove(&key);
        writes.removed_tags.insert(key);
        Ok(())
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
        _from_full: &str,
        digest: &Digest,
    ) -> Result<bool, StoreError> {
        self.writes()
            .blobs
            .insert((repo.to_string(), digest.clone()));
        Ok(true)
    }

    async fn referrers(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<Vec<crate::oci::Descriptor>>, StoreError> {
        self.inner.referrers(repo, digest).await
    }

    async fn lock(&self, _repo: &str) -> Result<RepoLock, StoreError> {
        // Nothing is written: nothing to serialise.
        Ok(Box::new(()))
    }

    async fn collect_garbage(&self, _repo: &str) -> Result<(), StoreError> {
        Ok(())
    }
}
