//! A local store: a tree of OCI image layouts. Repository `a/b/c` is the layout at
//! `ROOT/a/b/c/` (`oci-layout`, `index.json`, `blobs/sha256/…`), tags are
//! `org.opencontainers.image.ref.name` annotations in `index.json`, so skopeo (`oci:`) and
//! `oras --oci-layout` read it. Writes are atomic (temporary file, then rename); `index.json`
//! updates and write sessions take file locks. `files.rs` holds the layout's files, `gc.rs`
//! the garbage collection, `sweep.rs` the leftovers of interrupted runs.

mod files;
mod gc;
mod sweep;
#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{BlobReader, RawManifest, RepoLock, Store, StoreError};
use crate::digest::{Digest, Hasher};
use crate::limits::MAX_MANIFEST_BYTES;
use crate::oci::{self, Descriptor, Index, ANNOTATION_REF_NAME};
use crate::reference::{is_repository_path, is_valid_tag};
use files::{
    ensure_layout, lock_file, read_index, read_verified, ref_name, update_index, write_atomic,
    INDEX_LOCK, LAYOUT_FILE, WRITE_LOCK,
};
use gc::reachable_blobs;

/// A tree of OCI image layouts on disk.
#[derive(Debug, Clone)]
pub struct LayoutStore {
    root: PathBuf,
    /// packreg's cache folder, for the blob locations transfers record (None: none kept).
    cache_dir: Option<PathBuf>,
    /// When the store was opened: temporary files last written before it and held by no
    /// writer are an interrupted run's (see `sweep.rs`).
    opened: std::time::SystemTime,
}

impl LayoutStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LayoutStore {
            root: root.into(),
            cache_dir: None,
            opened: std::time::SystemTime::now(),
        }
    }

    /// The store, with transfers keeping what helps the next run in `cache_dir`.
    pub fn with_cache_dir(mut self, cache_dir: Option<PathBuf>) -> Self {
        self.cache_dir = cache_dir;
        self
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The `index.json` of repository `repo` (empty when it has none).
    pub fn index(&self, repo: &str) -> Result<Index, StoreError> {
        read_index(&self.repo_dir(repo)?)
    }

    fn repo_dir(&self, repo: &str) -> Result<PathBuf, StoreError> {
        if !is_repository_path(repo) {
            return Err(StoreError::Config(format!(
                "{repo:?} is not a valid repository path"
            )));
        }
        Ok(self.root.join(repo))
    }

    fn blob_path(dir: &Path, digest: &Digest) -> PathBuf {
        dir.join("blobs").join("sha256").join(digest.hex())
    }

    fn not_found(&self, what: String) -> StoreError {
        StoreError::NotFound {
            what,
            location: self.location(),
        }
    }
}

#[async_trait]
impl Store for LayoutStore {
    fn location(&self) -> String {
        format!("oci:{}", self.root.display())
    }

    fn cache_dir(&self) -> Option<PathBuf> {
        self.cache_dir.clone()
    }

    fn registry_id(&self) -> String {
        let root = self
            .root
            .canonicalize()
            .unwrap_or_else(|_| self.root.clone());
        format!("oci:{}", root.display())
    }

    fn full_name(&self, repo: &str) -> String {
        repo.to_string()
    }

    async fn repositories(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let start = self.root.join(prefix.trim_end_matches('/'));
        if !start.is_dir() {
            return Ok(Vec::new());
        }
        let mut repos = Vec::new();
        let mut walker = walkdir::WalkDir::new(&start).into_iter();
        while let Some(entry) = walker.next() {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(&start).to_path_buf();
                StoreError::io(
                    &path,
                    e.into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("walk failed")),
                )
            })?;
            if !entry.file_type().is_dir() {
                continue;
            }
            if entry.file_name() == "blobs" {
                walker.skip_current_dir();
                continue;
            }
            if entry.path().join(LAYOUT_FILE).is_file() {
                if let Ok(rel) = entry.path().strip_prefix(&self.root) {
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    if is_repository_path(&rel) {
                        repos.push(rel);
                    }
                }
            }
        }
        repos.sort();
        Ok(repos)
    }

    async fn tags(&self, repo: &str) -> Result<Vec<String>, StoreError> {
        let dir = self.repo_dir(repo)?;
        let index = read_index(&dir)?;
        let mut tags: Vec<String> = index
            .manifests
            .iter()
            .filter_map(ref_name)
            .map(str::to_string)
            .collect();
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    async fn get_manifest(&self, repo: &str, reference: &str) -> Result<RawManifest, StoreError> {
        let dir = self.repo_dir(repo)?;
        let index = read_index(&dir)?;
        let (digest, listed_type) = if let Ok(digest) = reference.parse::<Digest>() {
            let listed = index.manifests.iter().find(|d| d.digest == digest);
            (digest, listed.map(|d| d.media_type.clone()))
        } else {
            let desc = index
                .manifests
                .iter()
                .rev()
                .find(|d| ref_name(d) == Some(reference))
                .ok_or_else(|| self.not_found(format!("tag {reference} of {repo}")))?;
            (desc.digest.clone(), Some(desc.media_type.clone()))
        };
        let path = Self::blob_path(&dir, &digest);
        if !path.is_file() {
            return Err(self.not_found(format!("manifest {digest} of {repo}")));
        }
        let bytes = read_verified(&path, &digest, MAX_MANIFEST_BYTES)?;
        let media_type = listed_type
            .or_else(|| oci::sniff_media_type(&bytes))
            .ok_or_else(|| StoreError::Corrupt {
                location: path.display().to_string(),
                message: "not a manifest".into(),
            })?;
        Ok(RawManifest {
            bytes,
            media_type,
            digest,
        })
    }

    async fn put_manifest(
        &self,
        repo: &str,
        tag: Option<&str>,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, StoreError> {
        if let Some(tag) = tag {
            if !is_valid_tag(tag) {
                return Err(StoreError::Config(format!("{tag:?} is not a valid tag")));
            }
        }
        let dir = self.repo_dir(repo)?;
        ensure_layout(&dir)?;
        let refs = oci::references(media_type, bytes).map_err(|e| StoreError::Corrupt {
            location: format!("manifest for {repo}"),
            message: format!("not a valid {media_type}: {e}"),
        })?;
        for blob in refs.blobs.iter().chain(refs.manifests.iter()) {
            if !Self::blob_path(&dir, &blob.digest).is_file() {
                return Err(StoreError::Integrity {
                    location: self.reference(repo, tag.unwrap_or("")),
                    message: format!(
                        "manifest references {} which is not stored; push it first",
                        blob.digest
                    ),
                });
            }
        }
        let digest = Digest::of(bytes);
        let path = Self::blob_path(&dir, &digest);
        if !path.is_file() {
            write_atomic(&path, bytes)?;
        }
        let artifact_type = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| {
                v.get("artifactType")
                    .and_then(|a| a.as_str())
                    .map(str::to_string)
            });
        let mut desc = Descriptor::new(media_type, digest.clone(), bytes.len() as u64);
        desc.artifact_type = artifact_type;
        let tag = tag.map(str::to_string);
        update_index(&dir, move |index| {
            match &tag {
                Some(tag) => {
                    index.manifests.retain(|d| {
                        ref_name(d) != Some(tag)
                            && !(d.digest == desc.digest && ref_name(d).is_none())
                    });
                    desc.annotations
                        .insert(ANNOTATION_REF_NAME.into(), tag.clone());
                    index.manifests.push(desc);
                }
                None => {
                    if !index.manifests.iter().any(|d| d.digest == desc.digest) {
                        index.manifests.push(desc);
                    }
                }
            }
            Ok(())
        })
        .await?;
        Ok(digest)
    }

    async fn has_blob(&self, repo: &str, digest: &Digest) -> Result<bool, StoreError> {
        Ok(Self::blob_path(&self.repo_dir(repo)?, digest).is_file())
    }

    async fn get_blob(&self, repo: &str, digest: &Digest) -> Result<BlobReader, StoreError> {
        let path = Self::blob_path(&self.repo_dir(repo)?, digest);
        match tokio::fs::File::open(&path).await {
            Ok(file) => Ok(Box::pin(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(self.not_found(format!("blob {digest} of {repo}")))
            }
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    async fn put_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        mut reader: BlobReader,
    ) -> Result<(), StoreError> {
        let dir = self.repo_dir(repo)?;
        ensure_layout(&dir)?;
        let target = Self::blob_path(&dir, digest);
        let tmp = crate::fsutil::temp_file_in(&dir, sweep::UPLOAD_PREFIX, false)
            .map_err(|e| StoreError::io(&dir, e))?;
        // Held while written: a file no process holds is a killed run's (see `sweep.rs`).
        tmp.as_file()
            .lock()
            .map_err(|e| StoreError::io(tmp.path(), e))?;
        let std_file = tmp
            .as_file()
            .try_clone()
            .map_err(|e| StoreError::io(tmp.path(), e))?;
        let mut out = tokio::io::BufWriter::new(tokio::fs::File::from_std(std_file));
        let mut hasher = Hasher::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader
                .read(&mut buf)
                .await
                .map_err(|e| StoreError::io(tmp.path(), e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            if hasher.len() > size {
                break;
            }
            out.write_all(&buf[..n])
                .await
                .map_err(|e| StoreError::io(tmp.path(), e))?;
        }
        out.flush()
            .await
            .map_err(|e| StoreError::io(tmp.path(), e))?;
        out.into_inner()
            .sync_data()
            .await
            .map_err(|e| StoreError::io(tmp.path(), e))?;
        let len = hasher.len();
        let got = hasher.finish();
        if len != size || &got != digest {
            return Err(StoreError::Integrity {
                location: self.reference(repo, digest.as_str()),
                message: format!(
                    "uploaded content does not match: expected {digest} ({size} bytes), got {got} ({len} bytes)"
                ),
            });
        }
        tmp.persist(&target)
            .map_err(|e| StoreError::io(&target, e.error))?;
        Ok(())
    }

    async fn mount_blob(
        &self,
        repo: &str,
        from_full: &str,
        digest: &Digest,
    ) -> Result<bool, StoreError> {
        let source = Self::blob_path(&self.repo_dir(from_full)?, digest);
        if !source.is_file() {
            return Ok(false);
        }
        let dir = self.repo_dir(repo)?;
        ensure_layout(&dir)?;
        let target = Self::blob_path(&dir, digest);
        // A hard link shares the bytes; where links are impossible, copy through a verified
        // upload.
        if fs::hard_link(&source, &target).is_ok() || target.is_file() {
            return Ok(true);
        }
        let file = tokio::fs::File::open(&source)
            .await
            .map_err(|e| StoreError::io(&source, e))?;
        let size = file
            .metadata()
            .await
            .map_err(|e| StoreError::io(&source, e))?
            .len();
        self.put_blob(repo, digest, size, Box::pin(file)).await?;
        Ok(true)
    }

    async fn delete_manifest(&self, repo: &str, digest: &Digest) -> Result<(), StoreError> {
        let dir = self.repo_dir(repo)?;
        let not_found = self.not_found(format!("manifest {digest} of {repo}"));
        let digest = digest.clone();
        update_index(&dir, move |index| {
            let before = index.manifests.len();
            index.manifests.retain(|d| d.digest != digest);
            if index.manifests.len() == before {
                return Err(not_found);
            }
            Ok(())
        })
        .await
    }

    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), StoreError> {
        let dir = self.repo_dir(repo)?;
        let not_found = self.not_found(format!("tag {tag} of {repo}"));
        let tag = tag.to_string();
        update_index(&dir, move |index| {
            let before = index.manifests.len();
            index
                .manifests
                .retain(|d| ref_name(d) != Some(tag.as_str()));
            if index.manifests.len() == before {
                return Err(not_found);
            }
            Ok(())
        })
        .await
    }

    async fn lock(&self, repo: &str) -> Result<RepoLock, StoreError> {
        let dir = self.repo_dir(repo)?;
        let lock = lock_file(dir.join(WRITE_LOCK)).await?;
        let _index = lock_file(dir.join(INDEX_LOCK)).await?;
        sweep::sweep_stale(&dir, self.opened);
        Ok(Box::new(lock))
    }

    async fn collect_garbage(&self, repo: &str) -> Result<(), StoreError> {
        let dir = self.repo_dir(repo)?;
        let _lock = lock_file(dir.join(INDEX_LOCK)).await?;
        sweep::sweep_stale(&dir, self.opened);
        let index = read_index(&dir)?;
        let keep = reachable_blobs(&dir, &index)?;
        let blobs = dir.join("blobs").join("sha256");
        let entries = match fs::read_dir(&blobs) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StoreError::io(&blobs, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(&blobs, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let referenced = format!("sha256:{name}")
                .parse::<Digest>()
                .is_ok_and(|d| keep.contains(&d));
            if !referenced {
                let path = entry.path();
                fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
            }
        }
        Ok(())
    }
}
