//! Helpers of the hostile-content tests: hand-made tar files and artifacts written straight
//! into a local store, bypassing every check push makes.
#![allow(dead_code)]

use std::path::Path;

use packreg::digest::Digest;
use packreg::oci::{
    Descriptor, Manifest, ANNOTATION_TITLE, ANNOTATION_UNPACK, MEDIA_TYPE_MANIFEST,
};
use packreg::store::{layout::LayoutStore, Store};

/// The config `oras push` writes when given none.
pub const ORAS_CONFIG: &str = "application/vnd.unknown.config.v1+json";
/// Palette's documented tarball layer type.
pub const PALETTE_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// A gzip tar layer (ORAS folders).
pub const TAR_GZ_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// One entry of a hand-made tar: name (written raw), type, data, link target.
pub type RawEntry<'a> = (&'a str, tar::EntryType, &'a [u8], Option<&'a str>);

/// A tar whose names reach the reader unchanged (no normalisation by the tar crate).
pub fn raw_tar(entries: &[RawEntry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, kind, data, link) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(*kind);
        header.set_size(data.len() as u64);
        header.set_mode(if *kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        let bytes = name.as_bytes();
        header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        if let Some(link) = link {
            let bytes = link.as_bytes();
            header.as_old_mut().linkname[..bytes.len()].copy_from_slice(bytes);
        }
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// gzip of `bytes`.
pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, bytes).unwrap();
    enc.finish().unwrap()
}

/// A layer to store: descriptor fields and bytes.
pub struct Layer {
    pub media_type: String,
    pub title: Option<String>,
    pub unpack: bool,
    pub bytes: Vec<u8>,
    /// Declared size, when it should differ from the bytes' length.
    pub declared_size: Option<u64>,
}

impl Layer {
    /// An ORAS file layer.
    pub fn file(title: &str, bytes: &[u8]) -> Layer {
        Layer {
            media_type: "application/octet-stream".into(),
            title: Some(title.into()),
            unpack: false,
            bytes: bytes.to_vec(),
            declared_size: None,
        }
    }

    /// An ORAS folder layer (gzip tar with the unpack annotation).
    pub fn dir(title: &str, targz: &[u8]) -> Layer {
        Layer {
            media_type: TAR_GZ_LAYER.into(),
            title: Some(title.into()),
            unpack: true,
            bytes: targz.to_vec(),
            declared_size: None,
        }
    }

    /// Palette's one tarball layer.
    pub fn palette(title: &str, tarball: &[u8]) -> Layer {
        Layer {
            media_type: PALETTE_LAYER.into(),
            title: Some(title.into()),
            unpack: false,
            bytes: tarball.to_vec(),
            declared_size: None,
        }
    }
}

/// Writes an artifact straight into the local store at `root` as `<name>:<tag>` and returns
/// its manifest digest. Blobs whose declared size differs from their bytes are written under
/// the digest of their bytes, so the store holds them; reading them fails the size check.
pub fn put_artifact(
    root: &Path,
    name: &str,
    tag: &str,
    config_type: &str,
    config: &[u8],
    layers: &[Layer],
) -> Digest {
    let store = LayoutStore::new(root);
    let repo = format!("spectro-packs/archive/{name}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let put = |bytes: Vec<u8>| {
            let store = store.clone();
            let repo = repo.clone();
            async move {
                let digest = Digest::of(&bytes);
                store
                    .put_blob(
                        &repo,
                        &digest,
                        bytes.len() as u64,
                        Box::pin(std::io::Cursor::new(bytes)),
                    )
                    .await
                    .unwrap();
                digest
            }
        };
        let config_digest = put(config.to_vec()).await;
        let mut descs = Vec::new();
        for layer in layers {
            let digest = put(layer.bytes.clone()).await;
            let size = layer.declared_size.unwrap_or(layer.bytes.len() as u64);
            let mut desc = Descriptor::new(layer.media_type.clone(), digest, size);
            if let Some(title) = &layer.title {
                desc.annotations
                    .insert(ANNOTATION_TITLE.into(), title.clone());
            }
            if layer.unpack {
                desc.annotations
                    .insert(ANNOTATION_UNPACK.into(), "true".into());
            }
            descs.push(desc);
        }
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_MANIFEST.into()),
            artifact_type: None,
            config: Descriptor::new(config_type, config_digest, config.len() as u64),
            layers: descs,
            subject: None,
            annotations: Default::default(),
            extra: Default::default(),
        };
        store
            .put_manifest(&repo, Some(tag), &manifest.to_bytes(), MEDIA_TYPE_MANIFEST)
            .await
            .unwrap()
    })
}

/// A gzip tar stream written entry by entry, so large hostile entries (runs of zeros) never
/// sit in memory: header blocks are written raw, data comes from a reader.
pub struct GzTar {
    enc: flate2::write::GzEncoder<Vec<u8>>,
}

impl Default for GzTar {
    fn default() -> Self {
        Self::new()
    }
}

impl GzTar {
    pub fn new() -> GzTar {
        GzTar {
            enc: flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()),
        }
    }

    /// Appends a header declaring `size` bytes of type `kind`, then `size` bytes of zeros.
    pub fn zeros(&mut self, name: &str, kind: tar::EntryType, size: u64) -> &mut Self {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(0o644);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        std::io::Write::write_all(&mut self.enc, header.as_bytes()).unwrap();
        let padded = size.div_ceil(512) * 512;
        std::io::copy(
            &mut std::io::Read::take(std::io::repeat(0), padded),
            &mut self.enc,
        )
        .unwrap();
        self
    }

    /// Appends a regular file with `data`.
    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        let tar = raw_tar(&[(name, tar::EntryType::Regular, data, None)]);
        // raw_tar ends with two zero blocks: keep the entry only.
        let len = 512 + data.len().div_ceil(512) * 512;
        std::io::Write::write_all(&mut self.enc, &tar[..len]).unwrap();
        self
    }

    /// The gzip bytes, with the end-of-archive blocks.
    pub fn finish(mut self) -> Vec<u8> {
        std::io::Write::write_all(&mut self.enc, &[0u8; 1024]).unwrap();
        self.enc.finish().unwrap()
    }
}

/// Stores manifest `bytes` as `<name>:<tag>` in the local store at `root`, unchecked.
pub fn put_manifest_bytes(root: &Path, name: &str, tag: &str, bytes: &[u8]) -> Digest {
    let store = LayoutStore::new(root);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(store.put_manifest(
        &format!("spectro-packs/archive/{name}"),
        Some(tag),
        bytes,
        MEDIA_TYPE_MANIFEST,
    ))
    .unwrap()
}

/// A plain tar of every file and folder under `dir`, names relative to it.
pub fn tar_of_dir(dir: &Path) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder.append_dir_all(".", dir).unwrap();
    builder.into_inner().unwrap()
}
