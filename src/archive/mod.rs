//! Reproducible tar+gzip writing: the same files always give the same bytes. Safe extraction
//! lives in `extract` and the limits on what a tar may unpack to in `guard`.
//!
//! Entries carry zeroed mtime, uid and gid, no user or group names, folders 0755 and files 0644
//! or 0755 (the execute bit is kept). The gzip stream has no timestamp or file name and is made
//! by the deterministic parallel compressor in `pargz` (fixed block size, pinned deflate
//! implementation and level); golden-digest tests guard it. Digests are reproducible for a
//! given packreg version: a later version may compress differently.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

mod deflate_blocks;
mod extract;
mod guard;
mod pargz;

pub use extract::{
    check_links_within, create_file, extract_tar, extract_tar_in, open_dirs, open_root,
    resolve_link, safe_components, set_file_mode, ExtractError, ExtractOptions,
};
pub use guard::{limit_of, LimitExceeded, TarGuard};
pub use pargz::{ParGzEncoder, BLOCK_SIZE, MAX_THREADS};

/// Compression level used for every gzip stream packreg writes (deflate by libdeflate, see
/// `pargz`). Changing either changes artifact digests.
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

/// A gzip encoder with packreg's fixed header (no mtime, no name, OS 255) and level,
/// deflating on every core; [`ParGzEncoder::finish`] ends the stream.
pub fn gzip_writer<W: Write>(inner: W) -> ParGzEncoder<W> {
    ParGzEncoder::new(inner)
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
                // The header already says `size`: a file that shrinks or grows while it is
                // archived would give a corrupt tar or a silently cut file. Both fail.
                let mut exact = ExactSize {
                    inner: file,
                    left: size,
                    size,
                    path: source,
                };
                builder.append_data(&mut header, &entry.name, &mut exact)?;
                exact.check_end()?;
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

/// A file whose size changed while it was being archived.
#[derive(Debug, thiserror::Error)]
#[error("{}: changed while it was being archived (it had {size} bytes when archiving began, then {found}); nothing was pushed; try again once nothing writes to it", .path.display())]
pub struct ChangedWhileArchived {
    /// The file.
    pub path: PathBuf,
    /// Its size when archiving began.
    pub size: u64,
    /// What was found instead.
    pub found: &'static str,
}

/// Yields exactly `size` bytes of `inner`, failing if it ends sooner.
struct ExactSize<'a, R> {
    inner: R,
    left: u64,
    size: u64,
    path: &'a Path,
}

impl<R: Read> ExactSize<'_, R> {
    fn changed(&self, found: &'static str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            ChangedWhileArchived {
                path: self.path.to_path_buf(),
                size: self.size,
                found,
            },
        )
    }

    /// Fails if `inner` holds more than `size` bytes.
    fn check_end(&mut self) -> io::Result<()> {
        let mut probe = [0u8; 1];
        loop {
            match self.inner.read(&mut probe) {
                Ok(0) => return Ok(()),
                Ok(_) => return Err(self.changed("more")),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl<R: Read> Read for ExactSize<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(self.changed("fewer"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn with_path(err: io::Error, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{}: {err}", path.display()))
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
        // Guards the compressor (block size, deflate implementation, level): if this changes,
        // every artifact digest changes.
        let bytes = write_tar_gz(Vec::new(), &sample()).unwrap();
        let digest = hex::encode(Sha256::digest(&bytes));
        assert_eq!(digest, GOLDEN_SAMPLE_DIGEST, "compressed sample changed");
    }

    const GOLDEN_SAMPLE_DIGEST: &str =
        "3c9ac072fad2f62b6d290ac49ad3f4cc8a2e4e0f67db361a3eec9e3e12223994";

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

    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_longer_than_its_size_fails_the_archive() {
        // procfs files report size 0 and yield bytes: exactly a file that grew after its size
        // was read. `take(size)` used to archive it as empty, silently.
        let entries = vec![TarEntry {
            name: "status".into(),
            kind: TarEntryKind::File {
                source: "/proc/self/status".into(),
                executable: false,
            },
        }];
        let err = write_tar(Vec::new(), &entries).unwrap_err();
        let changed = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<ChangedWhileArchived>())
            .unwrap_or_else(|| panic!("{err}"));
        assert_eq!((changed.size, changed.found), (0, "more"));
    }

    #[test]
    fn a_file_shorter_than_its_size_fails_the_archive() {
        let path = Path::new("shrinking");
        let mut short = ExactSize {
            inner: &b"abc"[..],
            left: 5,
            size: 5,
            path,
        };
        let err = io::copy(&mut short, &mut io::sink()).unwrap_err();
        assert!(err.to_string().contains("then fewer"), "{err}");
        let mut exact = ExactSize {
            inner: &b"abcde"[..],
            left: 5,
            size: 5,
            path,
        };
        assert_eq!(io::copy(&mut exact, &mut io::sink()).unwrap(), 5);
        exact.check_end().unwrap();
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
            let err = extract_tar(
                raw_tar(&entries).as_slice(),
                &dest,
                &ExtractOptions::new(None),
            )
            .unwrap_err();
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
        let err = extract_tar(tar.as_slice(), &dest, &ExtractOptions::new(None)).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    fn top(name: &str) -> ExtractOptions {
        ExtractOptions {
            required_top: Some(name.into()),
            ..ExtractOptions::new(None)
        }
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
            extract_tar(tar.as_slice(), dir.path(), &top("top")).unwrap(),
            1
        );
        assert_eq!(std::fs::read(dir.path().join("top/b")).unwrap(), b"hello");
        let other = tempfile::tempdir().unwrap();
        assert!(extract_tar(tar.as_slice(), other.path(), &top("else")).is_err());
    }
}
