//! Writing pulled layers into a pack folder. Every function takes a plain reader: the caller
//! wraps it in a digest-verifying reader, and the destination is a staging folder that is
//! renamed into place only when everything succeeded.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use super::ArtifactError;
use crate::archive::{extract_tar, safe_components, ExtractError};

fn layer_error(layer: &str, err: impl std::fmt::Display) -> ArtifactError {
    ArtifactError::Layer {
        layer: layer.to_string(),
        message: err.to_string(),
    }
}

fn extract_error(layer: &str, err: ExtractError) -> ArtifactError {
    layer_error(layer, err)
}

/// The path a layer title names under `dest`; refuses titles that would leave it.
fn title_path(dest: &Path, title: &str) -> Result<PathBuf, ArtifactError> {
    let parts = safe_components(title).map_err(|e| extract_error(title, e))?;
    if parts.is_empty() {
        return Err(layer_error(title, "empty title"));
    }
    Ok(parts.iter().fold(dest.to_path_buf(), |p, c| p.join(c)))
}

/// Writes a file layer to `dest/<title>`; `executable` sets mode 0755.
pub fn write_file_layer(
    dest: &Path,
    title: &str,
    reader: &mut dyn Read,
    executable: bool,
) -> Result<(), ArtifactError> {
    let path = title_path(dest, title)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| ArtifactError::io(parent, e))?;
    }
    let file = File::create(&path).map_err(|e| ArtifactError::io(&path, e))?;
    // A large buffered writer lets io::copy move big chunks instead of 8 KiB ones.
    let mut out = io::BufWriter::with_capacity(1 << 20, file);
    io::copy(reader, &mut out).map_err(|e| layer_error(title, e))?;
    // No fsync: the staging folder becomes visible by rename only when complete, which is
    // what readers rely on; forcing 256 MiB to disk would double the time of a pull.
    out.into_inner()
        .map_err(|e| ArtifactError::io(&path, e.into_error()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| ArtifactError::io(&path, e))?;
    }
    #[cfg(not(unix))]
    let _ = executable;
    Ok(())
}

/// Extracts an ORAS directory layer (a gzip tar whose entries sit under `<title>/`) into
/// `dest`.
pub fn extract_dir_layer(
    dest: &Path,
    title: &str,
    reader: &mut dyn Read,
) -> Result<(), ArtifactError> {
    let parts = safe_components(title).map_err(|e| extract_error(title, e))?;
    let top = parts.join("/");
    // ORAS titles are one folder name; a nested title unpacks under its full path.
    let (base, top) = match top.rsplit_once('/') {
        Some((parent, last)) => (title_path(dest, parent)?, last.to_string()),
        None => (dest.to_path_buf(), top),
    };
    std::fs::create_dir_all(&base).map_err(|e| ArtifactError::io(&base, e))?;
    extract_tar(GzDecoder::new(reader), &base, Some(&top)).map_err(|e| extract_error(title, e))?;
    Ok(())
}

/// Extracts a tarball layer, gzip-compressed or plain, into `dest`.
pub fn extract_tarball(
    dest: &Path,
    layer: &str,
    reader: &mut dyn Read,
) -> Result<(), ArtifactError> {
    let mut buffered = BufReader::new(reader);
    let head = buffered.fill_buf().map_err(|e| layer_error(layer, e))?;
    let gzipped = head.starts_with(&[0x1f, 0x8b]);
    let result = if gzipped {
        extract_tar(GzDecoder::new(buffered), dest, None)
    } else {
        extract_tar(buffered, dest, None)
    };
    result.map_err(|e| extract_error(layer, e))?;
    Ok(())
}

/// The folder of an extracted tarball that holds the pack: `dir` itself when pack.json sits at
/// its root, else its one top folder holding pack.json.
pub fn find_pack_root(dir: &Path, layer: &str) -> Result<PathBuf, ArtifactError> {
    if dir.join("pack.json").is_file() {
        return Ok(dir.to_path_buf());
    }
    let entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| ArtifactError::io(dir, e))?
        .filter_map(Result::ok)
        .collect();
    if let [only] = entries.as_slice() {
        let path = only.path();
        if path.is_dir() && path.join("pack.json").is_file() {
            return Ok(path);
        }
    }
    Err(ArtifactError::NotAPack(format!(
        "layer {layer} holds no pack.json at its root or under one top folder: not a pack"
    )))
}

/// Reads pack.json from the head of a tarball stream (at its root or under one top folder),
/// stopping as soon as it has it.
pub fn read_pack_json_from_tarball(
    layer: &str,
    reader: &mut dyn Read,
) -> Result<Vec<u8>, ArtifactError> {
    let mut buffered = BufReader::new(reader);
    let head = buffered.fill_buf().map_err(|e| layer_error(layer, e))?;
    let source: Box<dyn Read + '_> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(GzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    let mut archive = tar::Archive::new(source);
    for entry in archive.entries().map_err(|e| layer_error(layer, e))? {
        let mut entry = entry.map_err(|e| layer_error(layer, e))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let parts: Vec<&str> = name
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        let is_pack_json = matches!(parts.as_slice(), ["pack.json"] | [_, "pack.json"]);
        if is_pack_json && entry.header().entry_type().is_file() {
            let mut bytes = Vec::new();
            (&mut entry)
                .take(4 * 1024 * 1024)
                .read_to_end(&mut bytes)
                .map_err(|e| layer_error(layer, e))?;
            return Ok(bytes);
        }
    }
    Err(ArtifactError::NotAPack(format!(
        "layer {layer} holds no pack.json: not a pack"
    )))
}
