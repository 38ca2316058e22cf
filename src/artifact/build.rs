//! Building an artifact (config, layers, manifest) from a loaded pack, reproducibly.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::format::Format;
use super::media::*;
use super::ArtifactError;
use crate::archive::{gzip_writer, write_tar, TarEntry, TarEntryKind};
use crate::digest::{hash_file, Digest, HashWriter};
use crate::oci::{
    Descriptor, Manifest, ANNOTATION_CONTENT_DIGEST, ANNOTATION_TITLE, ANNOTATION_UNPACK,
    ANNOTATION_VERSION, EMPTY_JSON, MEDIA_TYPE_LAYER_TAR, MEDIA_TYPE_LAYER_TAR_GZIP,
    MEDIA_TYPE_MANIFEST, MEDIA_TYPE_UNKNOWN_CONFIG,
};
use crate::pack::{EntryKind, Pack, TreeEntry};

/// Where a blob's bytes come from.
#[derive(Debug, Clone)]
pub enum BlobSource {
    /// Small content held in memory (config, pack.json).
    Bytes(Vec<u8>),
    /// A file: a pack file read as is, or a generated layer in the staging folder.
    File(PathBuf),
}

/// A blob to push: its descriptor and its source.
#[derive(Debug, Clone)]
pub struct Blob {
    /// Descriptor as it appears in the manifest.
    pub descriptor: Descriptor,
    /// Where to read it.
    pub source: BlobSource,
}

/// A pack turned into an artifact, ready to push: generated layers live in a staging folder
/// removed when the artifact is dropped.
#[derive(Debug)]
pub struct Artifact {
    /// Native or Palette.
    pub format: Format,
    /// The manifest.
    pub manifest: Manifest,
    /// Its exact bytes.
    pub manifest_bytes: Vec<u8>,
    /// Digest of `manifest_bytes`.
    pub digest: Digest,
    /// Config and layers, config first, each blob once.
    pub blobs: Vec<Blob>,
    _staging: crate::staging::Staging,
}

impl Artifact {
    /// Sum of the sizes of config and layers.
    pub fn total_size(&self) -> u64 {
        self.blobs.iter().map(|b| b.descriptor.size).sum()
    }
}

/// Builds the artifact of `pack` in `format`; `message` becomes a manifest annotation. The
/// same folder always gives the same manifest digest.
pub fn build_artifact(
    pack: &Pack,
    format: Format,
    message: Option<&str>,
) -> Result<Artifact, ArtifactError> {
    let staging = crate::staging::Staging::create("packreg-push-")
        .map_err(|e| ArtifactError::io(std::env::temp_dir(), e))?;
    let (config, layers, artifact_type) = match format {
        Format::Native => native_layers(pack, staging.path())?,
        Format::Palette => palette_layers(pack, staging.path())?,
        Format::Oras => {
            return Err(ArtifactError::NotAPack(
                "packreg pushes the native or the palette format only".into(),
            ))
        }
    };
    let mut annotations = BTreeMap::new();
    annotations.insert(ANNOTATION_TITLE.to_string(), pack.name().to_string());
    annotations.insert(ANNOTATION_VERSION.to_string(), pack.version().to_string());
    annotations.insert(ANNOTATION_LAYER.to_string(), pack.meta.layer().to_string());
    annotations.insert(
        ANNOTATION_DISPLAY_NAME.to_string(),
        pack.meta.display_name().to_string(),
    );
    if let Some(message) = message {
        annotations.insert(ANNOTATION_MESSAGE.to_string(), message.to_string());
    }
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_MANIFEST.into()),
        artifact_type,
        config: config.descriptor.clone(),
        layers: layers.iter().map(|l| l.descriptor.clone()).collect(),
        subject: None,
        annotations,
        extra: Default::default(),
    };
    let manifest_bytes = manifest.to_bytes();
    let digest = Digest::of(&manifest_bytes);
    let mut blobs = vec![config];
    for layer in layers {
        if !blobs
            .iter()
            .any(|b| b.descriptor.digest == layer.descriptor.digest)
        {
            blobs.push(layer);
        }
    }
    Ok(Artifact {
        format,
        manifest,
        manifest_bytes,
        digest,
        blobs,
        _staging: staging,
    })
}

type Layers = (Blob, Vec<Blob>, Option<String>);

fn bytes_blob(media_type: &str, bytes: Vec<u8>, title: Option<&str>) -> Blob {
    let mut descriptor = Descriptor::new(media_type, Digest::of(&bytes), bytes.len() as u64);
    if let Some(title) = title {
        descriptor
            .annotations
            .insert(ANNOTATION_TITLE.into(), title.into());
    }
    Blob {
        descriptor,
        source: BlobSource::Bytes(bytes),
    }
}

fn file_blob(media_type: &str, entry: &TreeEntry) -> Result<Blob, ArtifactError> {
    let (digest, size) = hash_file(&entry.path).map_err(|e| ArtifactError::io(&entry.path, e))?;
    let mut descriptor = Descriptor::new(media_type, digest, size);
    descriptor
        .annotations
        .insert(ANNOTATION_TITLE.into(), entry.rel.clone());
    if matches!(
        entry.kind,
        EntryKind::File {
            executable: true,
            ..
        }
    ) {
        descriptor
            .annotations
            .insert(ANNOTATION_FILE_MODE.into(), "0755".into());
    }
    Ok(Blob {
        descriptor,
        source: BlobSource::File(entry.path.clone()),
    })
}

fn tar_entry(name: String, entry: &TreeEntry) -> TarEntry {
    let kind = match entry.kind {
        EntryKind::Dir => TarEntryKind::Dir,
        EntryKind::File { executable, .. } => TarEntryKind::File {
            source: entry.path.clone(),
            executable,
        },
    };
    TarEntry { name, kind }
}

/// Writes a gzip tar of `entries` into `staging` and returns the file, the compressed digest
/// and size, and the digest of the uncompressed tar.
fn write_gz_layer(
    staging: &Path,
    file_name: &str,
    entries: &[TarEntry],
) -> Result<(PathBuf, Digest, u64, Digest), ArtifactError> {
    let path = staging.join(file_name);
    let io_err = |e| ArtifactError::io(&path, e);
    let file = File::create(&path).map_err(io_err)?;
    let compressed = HashWriter::new(BufWriter::new(file));
    let uncompressed = HashWriter::new(gzip_writer(compressed));
    let uncompressed = write_tar(uncompressed, entries).map_err(io_err)?;
    let (gz, tar_digest, _) = uncompressed.finish();
    let compressed = gz.finish().map_err(io_err)?;
    let (mut out, digest, size) = compressed.finish();
    out.flush().map_err(io_err)?;
    Ok((path, digest, size, tar_digest))
}

fn native_layers(pack: &Pack, staging: &Path) -> Result<Layers, ArtifactError> {
    let config = bytes_blob(CONFIG, pack.pack_json.clone(), None);
    let mut first = vec![bytes_blob(
        METADATA,
        pack.pack_json.clone(),
        Some("pack.json"),
    )];
    let mut rest = Vec::new();
    // Files to hash: values.yaml goes right after pack.json, the others sort with the rest.
    let mut values = Vec::new();
    let mut files = Vec::new();
    let entries = &pack.tree.entries;
    for entry in entries.iter().filter(|e| !e.rel.contains('/')) {
        match (entry.rel.as_str(), entry.kind) {
            ("pack.json", _) => {}
            ("values.yaml", EntryKind::File { .. }) => values.push((VALUES, entry)),
            (name, EntryKind::File { .. }) => files.push((file_media_type(name), entry)),
            (dir, EntryKind::Dir) => {
                let prefix = format!("{dir}/");
                let is_chart_archive = |e: &TreeEntry| {
                    dir == "charts"
                        && matches!(e.kind, EntryKind::File { .. })
                        && e.rel.ends_with(".tgz")
                        && !e.rel[prefix.len()..].contains('/')
                };
                let mut tar_entries = vec![tar_entry(dir.to_string(), entry)];
                for inner in entries.iter().filter(|e| e.rel.starts_with(&prefix)) {
                    if is_chart_archive(inner) {
                        files.push((HELM_CHART, inner));
                    } else {
                        tar_entries.push(tar_entry(inner.rel.clone(), inner));
                    }
                }
                // charts/ holding only chart archives needs no folder layer.
                if dir == "charts" && tar_entries.len() == 1 {
                    continue;
                }
                let (path, digest, size, tar_digest) =
                    write_gz_layer(staging, &format!("dir-{dir}.tar.gz"), &tar_entries)?;
                let mut descriptor = Descriptor::new(MEDIA_TYPE_LAYER_TAR_GZIP, digest, size);
                let notes = &mut descriptor.annotations;
                notes.insert(ANNOTATION_TITLE.into(), dir.to_string());
                notes.insert(ANNOTATION_UNPACK.into(), "true".into());
                notes.insert(ANNOTATION_CONTENT_DIGEST.into(), tar_digest.to_string());
                rest.push(Blob {
                    descriptor,
                    source: BlobSource::File(path),
                });
            }
        }
    }
    first.extend(file_blobs(&values)?);
    rest.extend(file_blobs(&files)?);
    rest.sort_by(|a, b| a.descriptor.title().cmp(&b.descriptor.title()));
    first.extend(rest);
    Ok((config, first, Some(ARTIFACT_TYPE.into())))
}

/// [`file_blob`] for each file, hashed on as many threads as there are cores (a pack with
/// several large charts pushes sooner), in the order given.
fn file_blobs(files: &[(&str, &TreeEntry)]) -> Result<Vec<Blob>, ArtifactError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len());
    if workers <= 1 {
        return files.iter().map(|(mt, e)| file_blob(mt, e)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Result<Blob, ArtifactError>>> = Vec::new();
    results.resize_with(files.len(), || None);
    let slots = std::sync::Mutex::new(&mut results);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((media_type, entry)) = files.get(i) else {
                    break;
                };
                let blob = file_blob(media_type, entry);
                if let Ok(mut slots) = slots.lock() {
                    slots[i] = Some(blob);
                }
            });
        }
    });
    results
        .into_iter()
        .zip(files)
        .map(|(r, (media_type, entry))| r.unwrap_or_else(|| file_blob(media_type, entry)))
        .collect()
}

fn palette_layers(pack: &Pack, staging: &Path) -> Result<Layers, ArtifactError> {
    let top = format!("{}-{}", pack.name(), pack.version());
    // pack.json first, so inspect reads only the head of the layer.
    let mut entries = vec![
        TarEntry {
            name: top.clone(),
            kind: TarEntryKind::Dir,
        },
        TarEntry {
            name: format!("{top}/pack.json"),
            kind: TarEntryKind::Bytes(pack.pack_json.clone()),
        },
    ];
    for entry in pack.tree.entries.iter().filter(|e| e.rel != "pack.json") {
        entries.push(tar_entry(format!("{top}/{}", entry.rel), entry));
    }
    let title = format!("{top}.tar.gz");
    let (path, digest, size, tar_digest) = write_gz_layer(staging, "palette.tar.gz", &entries)?;
    // `oras push` 1.0 gives a file without an explicit type this media type.
    let mut descriptor = Descriptor::new(MEDIA_TYPE_LAYER_TAR, digest, size);
    descriptor
        .annotations
        .insert(ANNOTATION_TITLE.into(), title);
    descriptor
        .annotations
        .insert(ANNOTATION_TAR_DIGEST.into(), tar_digest.to_string());
    let layer = Blob {
        descriptor,
        source: BlobSource::File(path),
    };
    let config = bytes_blob(MEDIA_TYPE_UNKNOWN_CONFIG, EMPTY_JSON.to_vec(), None);
    Ok((config, vec![layer], None))
}
