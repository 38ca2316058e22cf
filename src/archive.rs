//! Reproducible tar+gzip writing: the same files always give the same bytes.
//!
//! Entries carry zeroed mtime, uid and gid, no user or group names, folders 0755 and files 0644
//! or 0755 (the execute bit is kept). The gzip stream has no timestamp or file name and is made
//! by the pinned backend and level below; golden-digest tests guard both.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};

/// Compression level used for every gzip stream packreg writes (flate2's pure-Rust
/// miniz_oxide backend). Changing either changes artifact digests.
pub const GZIP_LEVEL: u32 = 6;

/// One entry to write into a tar stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    /// Slash-separated path inside the archive, without a trailing slash.
    pub name: String,
    /// What the entry is.
    pub kind: TarEntryKind,
}

/// The kind of a [`TarEntry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TarEntryKind {
    /// A folder.
    Dir,
    /// A regular file read from `source`.
    File {
        /// Where the bytes come from.
        source: PathBuf,
        /// Whether any execute bit is set.
        executable: bool,
    },
    /// A regular file with the given bytes (small generated content).
    Bytes(Vec<u8>),
}

/// A gzip encoder with packreg's fixed header (no mtime, no name) and level.
pub fn gzip_writer<W: Write>(inner: W) -> GzEncoder<W> {
    GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(inner, Compression::new(GZIP_LEVEL))
}

/// Writes `entries`, in the order given, as a tar stream into `out` and returns `out`.
pub fn write_tar<W: Write>(out: W, entries: &[TarEntry]) -> io::Result<W> {
    let mut builder = tar::Builder::new(out);
    builder.mode(tar::HeaderMode::Deterministic);
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        match &entry.kind {
            TarEntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder.append_data(&mut header, format!("{}/", entry.name), io::empty())?;
            }
            TarEntryKind::File { source, executable } => {
                let file = File::open(source).map_err(|e| with_path(e, source))?;
                let size = file.metadata().map_err(|e| with_path(e, source))?.len();
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(if *executable { 0o755 } else { 0o644 });
                header.set_size(size);
                // `take` guards against a file that grows while it is archived.
                builder.append_data(&mut header, &entry.name, file.take(size))?;
            }
            TarEntryKind::Bytes(bytes) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(bytes.len() as u64);
                builder.append_data(&mut header, &entry.name, bytes.as_slice())?;
            }
        }
    }
    builder.into_inner()
}

/// Writes `entries` as a gzip-compressed tar into `out` and returns `out`.
pub fn write_tar_gz<W: Write>(out: W, entries: &[TarEntry]) -> io::Result<W> {
    let gz = write_tar(gzip_writer(out), entries)?;
    gz.finish()
}

fn with_path(err: io::Error, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{}: {err}", path.display()))
}

/// A tar entry refused while extracting, or an I/O failure.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The entry would land outside the destination or is of a refused kind.
    #[error("archive entry {entry:?} refused: {reason}")]
    Unsafe {
        /// The entry's name in the archive.
        entry: String,
        /// Why.
        reason: String,
    },
    /// Reading the archive or writing a file failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

fn unsafe_entry(entry: &str, reason: &str) -> ExtractError {
    ExtractError::Unsafe {
        entry: entry.to_string(),
        reason: reason.to_string(),
    }
}

/// The normal components of a relative archive path or layer title; refuses absolute paths
/// and `..`.
pub fn safe_components(name: &str) -> Result<Vec<String>, ExtractError> {
    let mut parts = Vec::new();
    for comp in Path::new(name).components() {
        match comp {
            std::path::Component::Normal(p) => match p.to_str() {
                Some(s) => parts.push(s.to_string()),
                None => return Err(unsafe_entry(name, "name is not valid UTF-8")),
            },
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                return Err(unsafe_entry(name, "path contains '..'"))
            }
            _ => return Err(unsafe_entry(name, "absolute path")),
        }
    }
    Ok(parts)
}

/// Refuses to write through a symbolic link made by an earlier entry.
fn check_ancestors(dest: &Path, parts: &[String], entry: &str) -> Result<(), ExtractError> {
    let mut path = dest.to_path_buf();
    for part in parts {
        path.push(part);
        if let Ok(md) = std::fs::symlink_metadata(&path) {
            if md.file_type().is_symlink() {
                return Err(unsafe_entry(entry, "path goes through a symbolic link"));
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Extracts a tar stream into `dest`, refusing entries that would escape it: absolute paths,
/// `..`, links pointing outside, writes through links, device files. With `required_top`,
/// every entry must sit under that top folder (ORAS's directory convention). Folders get 0755,
/// files 0644 or 0755 (keeping the execute bit). Returns the number of files written.
pub fn extract_tar<R: Read>(
    reader: R,
    dest: &Path,
    required_top: Option<&str>,
) -> Result<u64, ExtractError> {
    let mut archive = tar::Archive::new(reader);
    let mut files = 0;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let parts = safe_components(&name)?;
        if parts.is_empty() {
            continue;
        }
        if let Some(top) = required_top {
            if parts[0] != top {
                return Err(unsafe_entry(
                    &name,
                    &format!("not under the layer's folder {top:?}"),
                ));
            }
        }
        check_ancestors(dest, &parts[..parts.len() - 1], &name)?;
        let target = parts.iter().fold(dest.to_path_buf(), |p, c| p.join(c));
        if let Ok(md) = std::fs::symlink_metadata(&target) {
            if md.file_type().is_symlink() {
                return Err(unsafe_entry(&name, "would overwrite a symbolic link"));
            }
        }
        let kind = entry.header().entry_type();
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match kind {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target)?;
                set_mode(&target, 0o755)?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let exec = entry.header().mode().unwrap_or(0o644) & 0o111 != 0;
                let mut file = io::BufWriter::with_capacity(1 << 20, File::create(&target)?);
                io::copy(&mut entry, &mut file)?;
                file.into_inner().map_err(|e| e.into_error())?;
                set_mode(&target, if exec { 0o755 } else { 0o644 })?;
                files += 1;
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name()?
                    .ok_or_else(|| unsafe_entry(&name, "symbolic link without a target"))?
                    .to_string_lossy()
                    .into_owned();
                if link.starts_with('/') {
                    return Err(unsafe_entry(&name, "symbolic link to an absolute path"));
                }
                // Resolve the link lexically from the entry's folder; it must stay inside.
                let mut depth: Vec<&str> = parts[..parts.len() - 1]
                    .iter()
                    .map(String::as_str)
                    .collect();
                for comp in link.split('/') {
                    match comp {
                        "" | "." => {}
                        ".." => {
                            if depth.pop().is_none() {
                                return Err(unsafe_entry(&name, "symbolic link points outside"));
                            }
                        }
                        c => depth.push(c),
                    }
                }
                make_symlink(&link, &target)?;
            }
            tar::EntryType::Link => {
                let link = entry
                    .link_name()?
                    .ok_or_else(|| unsafe_entry(&name, "hard link without a target"))?
                    .to_string_lossy()
                    .into_owned();
                let link_parts = safe_components(&link)?;
                if let Some(top) = required_top {
                    if link_parts.first().map(String::as_str) != Some(top) {
                        return Err(unsafe_entry(
                            &name,
                            "hard link points outside the layer's folder",
                        ));
                    }
                }
                check_ancestors(dest, &link_parts, &name)?;
                let source = link_parts.iter().fold(dest.to_path_buf(), |p, c| p.join(c));
                std::fs::hard_link(&source, &target)?;
                files += 1;
            }
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {}
            _ => return Err(unsafe_entry(&name, "not a file, folder or link")),
        }
    }
    Ok(files)
}

#[cfg(unix)]
fn make_symlink(link: &str, target: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(link, target)
}

#[cfg(not(unix))]
fn make_symlink(_link: &str, _target: &Path) -> io::Result<()> {
    Err(io::Error::other(
        "symbolic links are not supported on this system",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn sample() -> Vec<TarEntry> {
        vec![
            TarEntry {
                name: "top".into(),
                kind: TarEntryKind::Dir,
            },
            TarEntry {
                name: "top/a.txt".into(),
                kind: TarEntryKind::Bytes(b"hello\n".to_vec()),
            },
        ]
    }

    #[test]
    fn same_entries_give_same_bytes() {
        let a = write_tar_gz(Vec::new(), &sample()).unwrap();
        let b = write_tar_gz(Vec::new(), &sample()).unwrap();
        assert_eq!(a, b);
        // gzip header: no mtime, OS byte 255.
        assert_eq!(&a[4..8], &[0, 0, 0, 0]);
        assert_eq!(a[9], 255);
    }

    #[test]
    fn golden_digest_of_the_compressor() {
        // Guards the pinned backend and level: if this changes, every artifact digest changes.
        let bytes = write_tar_gz(Vec::new(), &sample()).unwrap();
        let digest = hex::encode(Sha256::digest(&bytes));
        assert_eq!(digest, GOLDEN_SAMPLE_DIGEST, "compressed sample changed");
    }

    const GOLDEN_SAMPLE_DIGEST: &str =
        "4eb91145d9409efce4be8abbe84fe7cf0a8856911a77d722858320a0c304ac9d";

    #[test]
    fn long_names_and_modes_survive() {
        let long = format!("top/{}", "d".repeat(150));
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("run.sh");
        std::fs::write(&exe, b"#!/bin/sh\n").unwrap();
        let entries = vec![
            TarEntry {
                name: long.clone(),
                kind: TarEntryKind::Bytes(b"x".to_vec()),
            },
            TarEntry {
                name: "top/run.sh".into(),
                kind: TarEntryKind::File {
                    source: exe,
                    executable: true,
                },
            },
        ];
        let bytes = write_tar(Vec::new(), &entries).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let got: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, vec![(long, 0o644), ("top/run.sh".into(), 0o755)]);
    }

    type RawEntry<'a> = (&'a str, tar::EntryType, &'a [u8], Option<&'a str>);

    fn raw_tar(entries: &[RawEntry]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, kind, data, link) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            // Write the raw name so that unsafe names reach the extractor unchanged.
            let bytes = name.as_bytes();
            header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            if let Some(link) = link {
                header.set_link_name(link).unwrap();
            }
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn extraction_refuses_escapes() {
        use tar::EntryType::*;
        let cases: Vec<Vec<RawEntry>> = vec![
            vec![("../evil", Regular, b"x", None)],
            vec![("/tmp/evil", Regular, b"x", None)],
            vec![("a/../../evil", Regular, b"x", None)],
            vec![("link", Symlink, b"", Some("../outside"))],
            vec![("link", Symlink, b"", Some("/etc"))],
            vec![("d/link", Symlink, b"", Some("../../x"))],
            vec![("hard", Link, b"", Some("../outside"))],
            vec![("dev", Char, b"", None)],
        ];
        for entries in cases {
            let dir = tempfile::tempdir().unwrap();
            let dest = dir.path().join("out");
            std::fs::create_dir(&dest).unwrap();
            let err = extract_tar(raw_tar(&entries).as_slice(), &dest, None).unwrap_err();
            assert!(
                matches!(err, ExtractError::Unsafe { .. }),
                "{:?}: {err}",
                entries[0].0
            );
            assert!(!dir.path().join("evil").exists());
        }
    }

    #[test]
    fn extraction_refuses_writing_through_a_link() {
        use tar::EntryType::*;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        let tar = raw_tar(&[
            ("sub", Directory, b"", None),
            ("l", Symlink, b"", Some("sub")),
            ("l/f", Regular, b"x", None),
        ]);
        let err = extract_tar(tar.as_slice(), &dest, None).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn extraction_keeps_inside_links_and_the_required_top() {
        use tar::EntryType::*;
        let dir = tempfile::tempdir().unwrap();
        let tar = raw_tar(&[
            ("top/", Directory, b"", None),
            ("top/a", Regular, b"hello", None),
            ("top/b", Symlink, b"", Some("a")),
        ]);
        assert_eq!(
            extract_tar(tar.as_slice(), dir.path(), Some("top")).unwrap(),
            1
        );
        assert_eq!(std::fs::read(dir.path().join("top/b")).unwrap(), b"hello");
        let other = tempfile::tempdir().unwrap();
        assert!(extract_tar(tar.as_slice(), other.path(), Some("else")).is_err());
    }
}
