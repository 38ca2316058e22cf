//! Writing pulled layers into a pack folder. Every function takes a plain reader: the caller
//! wraps it in a digest-verifying reader, and the destination is a staging folder that is
//! renamed into place only when everything succeeded.

use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use super::ArtifactError;
use crate::archive::{
    create_file, extract_tar_in, open_dirs, open_root, safe_components, set_file_mode,
    ExtractError, ExtractOptions, TarGuard,
};
use crate::limits::{read_bounded, UnpackLimits, MAX_PACK_JSON_BYTES};

fn layer_error(layer: &str, err: impl std::fmt::Display) -> ArtifactError {
    ArtifactError::Layer {
        layer: layer.to_string(),
        message: err.to_string(),
    }
}

fn extract_error(layer: &str, err: ExtractError) -> ArtifactError {
    match err {
        ExtractError::Limit(limit) => ArtifactError::Limit {
            layer: layer.to_string(),
            limit,
        },
        other => layer_error(layer, other),
    }
}

/// The components of a layer title; refuses titles that would leave the pack folder.
fn title_parts(title: &str) -> Result<Vec<String>, ArtifactError> {
    let parts = safe_components(title).map_err(|e| extract_error(title, e))?;
    if parts.is_empty() {
        return Err(layer_error(title, "empty title"));
    }
    Ok(parts)
}

/// Writes a file layer to `dest/<title>`; `executable` sets mode 0755. Neither the file nor
/// any folder on its way may be a symbolic link (a folder layer may have made one).
pub fn write_file_layer(
    dest: &Path,
    title: &str,
    reader: &mut dyn Read,
    executable: bool,
) -> Result<(), ArtifactError> {
    let parts = title_parts(title)?;
    let root = open_root(dest).map_err(|e| ArtifactError::io(dest, e))?;
    let file = create_file(&root, &parts, title).map_err(|e| extract_error(title, e))?;
    // A large buffered writer lets io::copy move big chunks instead of 8 KiB ones.
    let mut out = io::BufWriter::with_capacity(1 << 20, file);
    io::copy(reader, &mut out).map_err(|e| layer_error(title, e))?;
    // No fsync: the staging folder becomes visible by rename only when complete, which is
    // what readers rely on; forcing 256 MiB to disk would double the time of a pull.
    let file = out
        .into_inner()
        .map_err(|e| layer_error(title, e.into_error()))?;
    set_file_mode(&file, executable).map_err(|e| layer_error(title, e))?;
    Ok(())
}

/// Moves the verified file `from` to `dest/<title>` as a file layer (mode as in
/// [`write_file_layer`]): a rename, so its bytes are not written again; a copy only when the
/// two are on different file systems. Nothing on the way may be a symbolic link.
pub fn place_file_layer(
    dest: &Path,
    title: &str,
    from: &Path,
    executable: bool,
) -> Result<(), ArtifactError> {
    let parts = title_parts(title)?;
    let (name, folders) = parts
        .split_last()
        .ok_or_else(|| layer_error(title, "empty title"))?;
    let root = open_root(dest).map_err(|e| ArtifactError::io(dest, e))?;
    let parent = open_dirs(&root, folders, title).map_err(|e| extract_error(title, e))?;
    let file = std::fs::File::open(from).map_err(|e| ArtifactError::io(from, e))?;
    set_file_mode(&file, executable).map_err(|e| layer_error(title, e))?;
    drop(file);
    let (Some(from_dir), Some(from_name)) = (from.parent(), from.file_name()) else {
        return Err(ArtifactError::io(from, io::ErrorKind::InvalidInput.into()));
    };
    let source = open_root(from_dir).map_err(|e| ArtifactError::io(from_dir, e))?;
    match source.rename(from_name, &parent, name) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            let mut reader = std::fs::File::open(from).map_err(|e| ArtifactError::io(from, e))?;
            write_file_layer(dest, title, &mut reader, executable)
        }
        Err(e) => Err(layer_error(title, e)),
    }
}

/// Extracts an ORAS directory layer (a gzip tar of `declared` bytes whose entries sit under
/// `<title>/`) into `dest`.
pub fn extract_dir_layer(
    dest: &Path,
    title: &str,
    declared: u64,
    reader: &mut dyn Read,
) -> Result<(), ArtifactError> {
    let parts = title_parts(title)?;
    let root = open_root(dest).map_err(|e| ArtifactError::io(dest, e))?;
    // ORAS titles are one folder name; a nested title unpacks under its full path.
    let (top, parents) = parts.split_last().unwrap_or((&parts[0], &[]));
    let base = open_dirs(&root, parents, title).map_err(|e| extract_error(title, e))?;
    let opts = ExtractOptions {
        required_top: Some(top.clone()),
        ..ExtractOptions::new(Some(declared))
    };
    extract_tar_in(GzDecoder::new(reader), &base, &opts).map_err(|e| extract_error(title, e))?;
    Ok(())
}

/// Extracts a tarball layer of `declared` bytes, gzip-compressed or plain, into `dest`.
pub fn extract_tarball(
    dest: &Path,
    layer: &str,
    declared: u64,
    reader: &mut dyn Read,
) -> Result<(), ArtifactError> {
    let mut buffered = BufReader::new(reader);
    let head = buffered.fill_buf().map_err(|e| layer_error(layer, e))?;
    let gzipped = head.starts_with(&[0x1f, 0x8b]);
    let root = open_root(dest).map_err(|e| ArtifactError::io(dest, e))?;
    let opts = ExtractOptions::new(Some(declared));
    let result = if gzipped {
        extract_tar_in(GzDecoder::new(buffered), &root, &opts)
    } else {
        extract_tar_in(buffered, &root, &opts)
    };
    result.map_err(|e| extract_error(layer, e))?;
    Ok(())
}

/// The folder of an extracted tarball that holds the pack: `dir` itself when pack.json sits at
/// its root, else its one top folder holding pack.json.
pub fn find_pack_root(dir: &Path, layer: &str) -> Result<PathBuf, ArtifactError> {
    // symlink_metadata: a link named pack.json or a top folder that is a link is no pack.
    let is_file = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file());
    if is_file(&dir.join("pack.json")) {
        return Ok(dir.to_path_buf());
    }
    let entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| ArtifactError::io(dir, e))?
        .filter_map(Result::ok)
        .collect();
    if let [only] = entries.as_slice() {
        let path = only.path();
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if is_dir && is_file(&path.join("pack.json")) {
            return Ok(path);
        }
    }
    Err(ArtifactError::NotAPack(format!(
        "layer {layer} holds no pack.json at its root or under one top folder: not a pack"
    )))
}

/// Reads pack.json from the head of a tarball stream of `declared` bytes (at its root or under
/// one top folder), stopping as soon as it has it, within the unpacking limits.
pub fn read_pack_json_from_tarball(
    layer: &str,
    declared: u64,
    reader: &mut dyn Read,
) -> Result<Vec<u8>, ArtifactError> {
    read_file_from_tarball(layer, declared, reader, "pack.json")?.ok_or_else(|| {
        ArtifactError::NotAPack(format!("layer {layer} holds no pack.json: not a pack"))
    })
}

/// The top-level file `file` of the pack in a tarball layer (at the root or under one top
/// folder), read only as far as it, at most 4 MiB; None when the tarball has none.
pub fn read_file_from_tarball(
    layer: &str,
    declared: u64,
    reader: &mut dyn Read,
    file: &str,
) -> Result<Option<Vec<u8>>, ArtifactError> {
    let mut buffered = BufReader::new(reader);
    let head = buffered.fill_buf().map_err(|e| layer_error(layer, e))?;
    let source: Box<dyn Read + '_> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(GzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    let limits = UnpackLimits::in_force();
    let guard = TarGuard::new(source, limits, limits.unpacked_cap(Some(declared)));
    let mut archive = tar::Archive::new(guard);
    let tar_error = |e: io::Error| extract_error(layer, e.into());
    for entry in archive.entries().map_err(tar_error)? {
        let mut entry = entry.map_err(tar_error)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let parts: Vec<&str> = name
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        let wanted = matches!(parts.as_slice(), [f] | [_, f] if *f == file);
        if wanted && entry.header().entry_type().is_file() {
            return read_bounded(&mut entry, MAX_PACK_JSON_BYTES, file)
                .map(Some)
                .map_err(|e| layer_error(layer, e));
        }
    }
    Ok(None)
}
