//! A local store: a tree of OCI image layouts. Repository `a/b/c` is the layout at
//! `ROOT/a/b/c/` (`oci-layout`, `index.json`, `blobs/sha256/…`), tags are
//! `org.opencontainers.image.ref.name` annotations in `index.json`, so skopeo (`oci:`) and
//! `oras --oci-layout` read it. Writes are atomic (temporary file, then rename); `index.json`
//! updates and write sessions take file locks.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{BlobReader, RawManifest, RepoLock, Store, StoreError};
use crate::digest::{Digest, Hasher};
use crate::fsutil::FileLock;
use crate::limits::{read_bounded, MAX_INDEX_BYTES, MAX_MANIFEST_BYTES};
use crate::oci::{self, Descriptor, Index, ANNOTATION_REF_NAME, MEDIA_TYPE_INDEX};
use crate::reference::{is_repository_path, is_valid_tag};

const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_CONTENT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
const INDEX_FILE: &str = "index.json";
const INDEX_LOCK: &str = ".packreg-index.lock";
const WRITE_LOCK: &str = ".packreg-write.lock";

/// A tree of OCI image layouts on disk.
#[derive(Debug, Clone)]
pub struct LayoutStore {
    root: PathBuf,
    /// packreg's cache folder, for the blob locations transfers record (None: none kept).
    cache_dir: Option<PathBuf>,
}

impl LayoutStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LayoutStore {
            root: root.into(),
            cache_dir: None,
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

/// Reads a file of a store (or of an unpacked bundle) of at most `limit` bytes.
fn read_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, StoreError> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    read_bounded(file, limit, what).map_err(|e| match e.get_ref() {
        Some(inner) if inner.is::<crate::limits::TooLarge>() => StoreError::Corrupt {
            location: path.display().to_string(),
            message: e.to_string(),
        },
        _ => StoreError::io(path, e),
    })
}

fn read_index(dir: &Path) -> Result<Index, StoreError> {
    let path = dir.join(INDEX_FILE);
    match read_limited(&path, MAX_INDEX_BYTES, INDEX_FILE) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            location: path.display().to_string(),
            message: format!("not a valid OCI index: {e}"),
        }),
        Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(Index {
                schema_version: 2,
                media_type: Some(MEDIA_TYPE_INDEX.into()),
                ..Index::default()
            })
        }
        Err(e) => Err(e),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, synced, renamed.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    crate::fsutil::write_atomic(path, bytes, false).map_err(|e| StoreError::io(path, e))
}

fn ensure_layout(dir: &Path) -> Result<(), StoreError> {
    let blobs = dir.join("blobs").join("sha256");
    fs::create_dir_all(&blobs).map_err(|e| StoreError::io(&blobs, e))?;
    let layout = dir.join(LAYOUT_FILE);
    if !layout.exists() {
        write_atomic(&layout, LAYOUT_CONTENT)?;
    }
    Ok(())
}

async fn lock_file(path: PathBuf) -> Result<FileLock, StoreError> {
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        }
        crate::fsutil::lock_file(&path).map_err(|e| StoreError::io(&path, e))
    })
    .await
    .map_err(|e| StoreError::Unsupported(format!("lock task failed: {e}")))?
}

/// Runs `change` on the repository's index under the index lock and writes the result.
async fn update_index<T>(
    dir: &Path,
    change: impl FnOnce(&mut Index) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let _lock = lock_file(dir.join(INDEX_LOCK)).await?;
    let mut index = read_index(dir)?;
    let out = change(&mut index)?;
    let bytes = serde_json::to_vec(&index).unwrap_or_default();
    write_atomic(&dir.join(INDEX_FILE), &bytes)?;
    Ok(out)
}

fn ref_name(desc: &Descriptor) -> Option<&str> {
    desc.annotations
        .get(ANNOTATION_REF_NAME)
        .map(String::as_str)
}

fn read_verified(path: &Path, digest: &Digest, limit: u64) -> Result<Vec<u8>, StoreError> {
    let bytes = read_limited(path, limit, "manifest")?;
    let got = Digest::of(&bytes);
    if &got != digest {
        return Err(StoreError::Integrity {
            location: path.display().to_string(),
            message: format!("content does not match its digest {digest} (it hashes to {got})"),
        });
    }
    Ok(bytes)
}

/// Every blob reachable from `index`. A reachable manifest that cannot be read, does not
/// verify, is too large or is not a manifest type packreg knows could reference any blob: then
/// nothing may be collected, and the error says which manifest and why.
fn reachable_blobs(dir: &Path, index: &Index) -> Result<HashSet<Digest>, StoreError> {
    let doubt = |digest: &Digest, why: String| {
        StoreError::Corrupt {
        location: dir.join(INDEX_FILE).display().to_string(),
        message: format!(
            "manifest {digest} {why}; garbage collection kept every blob, since that manifest may reference any of them (fix or remove its entry, then run the command again)"
        ),
    }
    };
    let mut keep: HashSet<Digest> = HashSet::new();
    let mut pending: Vec<Descriptor> = index.manifests.clone();
    while let Some(desc) = pending.pop() {
        if !keep.insert(desc.digest.clone()) {
            continue;
        }
        if !oci::is_manifest_media_type(&desc.media_type) {
            return Err(doubt(
                &desc.digest,
                format!(
                    "has media type {:?}, which packreg does not recognise",
                    desc.media_type
                ),
            ));
        }
        let path = LayoutStore::blob_path(dir, &desc.digest);
        let bytes = read_verified(&path, &desc.digest, MAX_MANIFEST_BYTES)
            .map_err(|e| doubt(&desc.digest, format!("cannot be read ({e})")))?;
        let refs = oci::references(&desc.media_type, &bytes)
            .map_err(|e| doubt(&desc.digest, format!("does not parse ({e})")))?;
        keep.extend(refs.blobs.into_iter().map(|b| b.digest));
        pending.extend(refs.manifests);
    }
    Ok(keep)
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
        let tmp = crate::fsutil::temp_file_in(&dir, ".packreg-upload-", false)
            .map_err(|e| StoreError::io(&dir, e))?;
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
        Ok(Box::new(lock_file(dir.join(WRITE_LOCK)).await?))
    }

    async fn collect_garbage(&self, repo: &str) -> Result<(), StoreError> {
        let dir = self.repo_dir(repo)?;
        let _lock = lock_file(dir.join(INDEX_LOCK)).await?;
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

#[cfg(test)]
mod tests {
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
}
