//! One side of a diff: its manifest, the files of the pack it holds, and the downloads that
//! make those files readable. Layer digests decide what is read: a layer whose title and
//! digest the other side has too is never downloaded, and a file stored as a layer of its own
//! is known by its digest until its content is really needed.
//!
//! A side can also be a pack folder, not pushed: it is built as a native push would build it
//! (in a staging folder, nothing is uploaded), so its layers have the digests the pushed pack
//! would have, and the other side downloads only what differs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use super::DiffError;
use crate::artifact::media::ANNOTATION_FILE_MODE;
use crate::artifact::unpack::{
    extract_dir_layer, extract_tarball, find_pack_root, write_file_layer,
};
use crate::artifact::{build_artifact, classify, Artifact, ArtifactError, BlobSource, Format};
use crate::digest::{hash_file, Digest};
use crate::oci::{Descriptor, Manifest, ANNOTATION_UNPACK};
use crate::ops::resolve::resolve_ref;
use crate::ops::transfer::{parse_manifest, read_blob};
use crate::pack::Pack;
use crate::reference::PackRef;
use crate::store::Store;

/// One side of a diff, as the caller names it.
#[derive(Clone, Copy)]
pub enum DiffSide<'a> {
    /// A pack in a store.
    Stored(&'a dyn Store, &'a PackRef),
    /// A pack folder on this machine, compared as a native push would store it.
    Folder(&'a Path),
}

/// Where a side's blobs are read.
enum Source<'a> {
    Store {
        store: &'a dyn Store,
        repo: String,
    },
    /// The artifact built from a pack folder: its blobs are the folder's files and the
    /// layers generated in the artifact's staging folder.
    Folder(Box<Artifact>),
}

/// What identifies one side of a diff in the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SideInfo {
    /// Full reference (store location, repository, tag or digest).
    pub reference: String,
    /// Manifest digest.
    pub digest: Digest,
    /// Artifact format (a folder: native, as it would be pushed).
    pub format: Format,
    /// Whether the side is a pack folder, not a pack in a store.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub folder: bool,
}

/// A file of one side: its content digest and size, and where its bytes are.
#[derive(Debug, Clone)]
pub(crate) struct FileEntry {
    pub digest: Digest,
    pub size: u64,
    /// The layer holding exactly this file, until it is downloaded.
    pub layer: Option<Descriptor>,
}

/// A layer that holds several files (an ORAS folder layer or a Palette tarball): it is
/// downloaded whole unless the other side has the same one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Bundle {
    pub title: String,
    pub digest: Digest,
}

/// One resolved side.
pub(crate) struct Side<'a> {
    source: Source<'a>,
    pub info: SideInfo,
    pub manifest: Manifest,
    /// Where downloaded content lands, shaped as the pack folder.
    root: PathBuf,
    staging: PathBuf,
    /// Every known file of the pack, by slash-separated path, except those inside bundles
    /// both sides share.
    pub files: BTreeMap<String, FileEntry>,
    /// Blobs downloaded so far (the same digest is never read twice).
    fetched: Arc<Mutex<BTreeMap<Digest, u64>>>,
}

impl<'a> Side<'a> {
    /// Opens `side`: a pack in a store (its manifest read, no blob yet) or a pack folder.
    pub async fn open(side: DiffSide<'a>, staging: PathBuf) -> Result<Side<'a>, DiffError> {
        match side {
            DiffSide::Stored(store, pack_ref) => Side::open_stored(store, pack_ref, staging).await,
            DiffSide::Folder(dir) => {
                let dir = dir.to_path_buf();
                // Building hashes and compresses the folder: off the async threads.
                let artifact = tokio::task::spawn_blocking(move || -> Result<_, DiffError> {
                    let pack = Pack::load(&dir).map_err(crate::ops::OpError::from)?;
                    let artifact = build_artifact(&pack, Format::Native, None)?;
                    Ok((dir, artifact))
                })
                .await
                .map_err(|e| ArtifactError::io(&staging, std::io::Error::other(e)))?;
                let (dir, artifact) = artifact?;
                let info = SideInfo {
                    reference: dir.display().to_string(),
                    digest: artifact.digest.clone(),
                    format: Format::Native,
                    folder: true,
                };
                let manifest = artifact.manifest.clone();
                Side::new(Source::Folder(Box::new(artifact)), info, manifest, staging)
            }
        }
    }

    async fn open_stored(
        store: &'a dyn Store,
        pack_ref: &PackRef,
        staging: PathBuf,
    ) -> Result<Side<'a>, DiffError> {
        let repo = pack_ref.repository();
        let (reference, raw) = resolve_ref(store, pack_ref).await?;
        let manifest = parse_manifest(store, &repo, &raw)?;
        let format = classify(&manifest).map_err(crate::ops::OpError::from)?;
        let info = SideInfo {
            reference: store.reference(&repo, &reference),
            digest: raw.digest,
            format,
            folder: false,
        };
        Side::new(Source::Store { store, repo }, info, manifest, staging)
    }

    fn new(
        source: Source<'a>,
        info: SideInfo,
        manifest: Manifest,
        staging: PathBuf,
    ) -> Result<Side<'a>, DiffError> {
        let root = staging.join("pack");
        std::fs::create_dir_all(&root).map_err(|e| ArtifactError::io(&root, e))?;
        Ok(Side {
            source,
            info,
            manifest,
            root,
            staging,
            files: BTreeMap::new(),
            fetched: Arc::new(Mutex::new(BTreeMap::new())),
        })
    }

    /// The layers that hold several files.
    pub fn bundles(&self) -> BTreeSet<Bundle> {
        self.manifest
            .layers
            .iter()
            .filter(|l| self.is_bundle(l))
            .map(|l| Bundle {
                title: l.title().unwrap_or_default().to_string(),
                digest: l.digest.clone(),
            })
            .collect()
    }

    fn is_bundle(&self, layer: &Descriptor) -> bool {
        self.info.format == Format::Palette
            || layer.annotations.get(ANNOTATION_UNPACK).map(String::as_str) == Some("true")
    }

    /// Lists the pack's files: file layers from the manifest alone, bundles by downloading
    /// those not in `shared` (bundles the other side has too, whose files are left out).
    pub async fn load(
        &mut self,
        shared: &BTreeSet<Bundle>,
        concurrency: usize,
    ) -> Result<(), DiffError> {
        let mut wanted = Vec::new();
        for layer in &self.manifest.layers {
            // As ORAS does: layers without a title are not files of the pack.
            let Some(title) = layer.title() else { continue };
            if self.is_bundle(layer) {
                let bundle = Bundle {
                    title: title.to_string(),
                    digest: layer.digest.clone(),
                };
                if !shared.contains(&bundle) {
                    wanted.push(layer.clone());
                }
                continue;
            }
            self.files.insert(
                title.to_string(),
                FileEntry {
                    digest: layer.digest.clone(),
                    size: layer.size,
                    layer: Some(layer.clone()),
                },
            );
        }
        let palette = self.info.format == Format::Palette;
        let tarballs = self.staging.join("tarball");
        // Extraction opens its destination folder, which must exist.
        let dest = if palette { &tarballs } else { &self.root };
        std::fs::create_dir_all(dest).map_err(|e| crate::artifact::ArtifactError::io(dest, e))?;
        let this = &*self;
        stream::iter(wanted)
            .map(|layer| {
                let dest = if palette {
                    tarballs.clone()
                } else {
                    this.root.clone()
                };
                async move {
                    let title = layer.title().unwrap_or_default().to_string();
                    let size = layer.size;
                    this.fetch(&layer, move |r| {
                        if palette {
                            extract_tarball(&dest, &title, size, r)
                        } else {
                            extract_dir_layer(&dest, &title, size, r)
                        }
                    })
                    .await
                }
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        let scan_root = if palette {
            match self.manifest.layers.first() {
                Some(layer) if tarballs.exists() => {
                    find_pack_root(&tarballs, layer.title().unwrap_or("layer"))?
                }
                _ => return Ok(()),
            }
        } else {
            self.root.clone()
        };
        if palette {
            self.root = scan_root.clone();
        }
        for (rel, path) in walk_files(&scan_root)? {
            if self.files.contains_key(&rel) {
                continue;
            }
            let (digest, size) = hash_file(&path).map_err(|e| ArtifactError::io(&path, e))?;
            self.files.insert(
                rel,
                FileEntry {
                    digest,
                    size,
                    layer: None,
                },
            );
        }
        Ok(())
    }

    /// Downloads `layer` into `consume`, verified, and remembers it was read (a folder's
    /// layers are read from the folder and staging, which is no download).
    async fn fetch<F>(&self, layer: &Descriptor, consume: F) -> Result<(), DiffError>
    where
        F: FnOnce(&mut dyn std::io::Read) -> Result<(), ArtifactError> + Send + 'static,
    {
        let (store, repo) = match &self.source {
            Source::Store { store, repo } => (*store, repo),
            Source::Folder(artifact) => return read_local(artifact, layer, consume).await,
        };
        read_blob(store, repo, layer, true, consume).await?;
        if let Ok(mut fetched) = self.fetched.lock() {
            fetched.insert(layer.digest.clone(), layer.size);
        }
        Ok(())
    }

    /// Makes the files at `paths` readable on disk, downloading the layers that hold them.
    pub async fn make_local(
        &mut self,
        paths: &[String],
        concurrency: usize,
    ) -> Result<(), DiffError> {
        let mut layers: BTreeMap<Digest, (Descriptor, Vec<String>)> = BTreeMap::new();
        for path in paths {
            if let Some(FileEntry {
                layer: Some(layer), ..
            }) = self.files.get(path)
            {
                layers
                    .entry(layer.digest.clone())
                    .or_insert_with(|| (layer.clone(), Vec::new()))
                    .1
                    .push(path.clone());
            }
        }
        let this = &*self;
        stream::iter(layers.values())
            .map(|(layer, titles)| {
                let root = this.root.clone();
                let titles = titles.clone();
                let executable = layer
                    .annotations
                    .get(ANNOTATION_FILE_MODE)
                    .map(String::as_str)
                    == Some("0755");
                async move {
                    // A blob under several titles is read once and copied.
                    this.fetch(layer, move |r| {
                        write_file_layer(&root, &titles[0], r, executable)?;
                        let first = root.join(&titles[0]);
                        for other in &titles[1..] {
                            let target = root.join(other);
                            if let Some(parent) = target.parent() {
                                std::fs::create_dir_all(parent)
                                    .map_err(|e| ArtifactError::io(parent, e))?;
                            }
                            std::fs::copy(&first, &target)
                                .map_err(|e| ArtifactError::io(&target, e))?;
                        }
                        Ok(())
                    })
                    .await
                }
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        for (_, titles) in layers.values() {
            for title in titles {
                if let Some(entry) = self.files.get_mut(title) {
                    entry.layer = None;
                }
            }
        }
        Ok(())
    }

    /// Where the file at `rel` is on disk, once [`Side::make_local`] has fetched it.
    pub fn local_path(&self, rel: &str) -> Option<PathBuf> {
        match self.files.get(rel) {
            Some(FileEntry { layer: None, .. }) => Some(
                rel.split('/')
                    .fold(self.root.clone(), |path, part| path.join(part)),
            ),
            _ => None,
        }
    }

    /// Reads the file at `rel` (after [`Side::make_local`]), at most `limit` bytes.
    pub fn read(&self, rel: &str, limit: u64) -> Result<Option<Vec<u8>>, DiffError> {
        let Some(path) = self.local_path(rel) else {
            return Ok(None);
        };
        let size = self.files.get(rel).map(|f| f.size).unwrap_or(0);
        if size > limit {
            return Ok(None);
        }
        std::fs::read(&path)
            .map(Some)
            .map_err(|e| ArtifactError::io(&path, e).into())
    }

    /// The blobs this side downloaded, with their sizes.
    pub fn fetched(&self) -> BTreeMap<Digest, u64> {
        self.fetched.lock().map(|f| f.clone()).unwrap_or_default()
    }

    /// A staging folder of this side for derived content (extracted charts).
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.staging.join(name)
    }
}

/// Reads the blob of a folder's artifact that `layer` names into `consume`.
async fn read_local<F>(artifact: &Artifact, layer: &Descriptor, consume: F) -> Result<(), DiffError>
where
    F: FnOnce(&mut dyn std::io::Read) -> Result<(), ArtifactError> + Send + 'static,
{
    let blob = artifact
        .blobs
        .iter()
        .find(|b| b.descriptor.digest == layer.digest)
        .ok_or_else(|| ArtifactError::NotAPack(format!("no blob {}", layer.digest)))?;
    let source = blob.source.clone();
    tokio::task::spawn_blocking(move || match source {
        BlobSource::Bytes(bytes) => consume(&mut bytes.as_slice()),
        BlobSource::File(path) => {
            let mut file = std::fs::File::open(&path).map_err(|e| ArtifactError::io(&path, e))?;
            consume(&mut file)
        }
    })
    .await
    .map_err(|e| ArtifactError::io("diff", std::io::Error::other(e)))??;
    Ok(())
}

/// Every regular file under `root` as (slash-separated relative path, path on disk). A
/// symbolic link (extraction keeps only those pointing inside) counts as the file it names.
pub(crate) fn walk_files(root: &Path) -> Result<Vec<(String, PathBuf)>, DiffError> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            ArtifactError::io(path, std::io::Error::other(e.to_string()))
        })?;
        if entry.file_type().is_dir() || entry.path().is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        files.push((rel, entry.path().to_path_buf()));
    }
    Ok(files)
}
