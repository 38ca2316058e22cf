//! A bundle's tar structure checked before anything is extracted: every entry's header and
//! content inside the file, and the end marker (two zero blocks) after the last entry. The
//! file is read once through the same guard as extraction, so its limits bound what the tar
//! reader holds. A tar
//! cut at an entry boundary reads as a shorter, valid archive; only the missing end marker
//! tells, so it is required (`packreg export` has always written it).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::error::BundleError;
use crate::archive::TarGuard;
use crate::limits::UnpackLimits;

const BLOCK: u64 = 512;
/// The end of a tar archive: two zero blocks.
const END_MARKER: u64 = 2 * BLOCK;

/// What the scan found.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// The first entry's name.
    pub first: Option<String>,
    /// Entries read.
    pub entries: u64,
}

/// Reads every header of the tar `path` (passing over the contents) and checks that each
/// entry and the end marker lie inside the file.
pub(super) fn scan(path: &Path) -> Result<Scan, BundleError> {
    let file = File::open(path).map_err(|e| corrupt(path, 0, "no entry", e.to_string()))?;
    let len = file
        .metadata()
        .map_err(|e| corrupt(path, 0, "no entry", e.to_string()))?
        .len();
    // Through the unpacking guard, as extraction reads it: a header declaring more than the
    // limits allow is refused before the tar reader collects it.
    let guarded = TarGuard::new(BufReader::new(file), UnpackLimits::in_force(), len);
    let mut archive = tar::Archive::new(guarded);
    let mut out = Scan::default();
    let mut last = String::from("no entry");
    // Where the next header starts: the end of the last whole entry, padded to a block.
    let mut next: u64 = 0;
    let entries = archive
        .entries()
        .map_err(|e| corrupt(path, 0, &last, e.to_string()))?;
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                // A header cut off (or a long-name header whose entry is gone): what a
                // truncated file looks like, unless the file still ends as a tar does.
                let whole_end = File::open(path)
                    .map(|mut file| ends_with_marker(&mut file, len))
                    .unwrap_or(false);
                if next.saturating_add(BLOCK) > len || !whole_end {
                    return Err(BundleError::Truncated {
                        path: path.to_path_buf(),
                        entry: format!("(the one after {last})"),
                        at: len,
                        end: None,
                    });
                }
                return Err(corrupt(path, next, &last, e.to_string()));
            }
        };
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let start = entry.raw_file_position();
        let size = entry.size();
        let end = start.saturating_add(size);
        if end > len {
            return Err(BundleError::Truncated {
                path: path.to_path_buf(),
                entry: name,
                at: len,
                end: Some(end),
            });
        }
        next = end.div_ceil(BLOCK).saturating_mul(BLOCK);
        out.entries += 1;
        if out.first.is_none() {
            out.first = Some(name.clone());
        }
        last = name;
    }
    drop(archive);
    let whole = File::open(path).map(|mut file| end_marker_at(&mut file, next, len));
    if !whole.unwrap_or(false) {
        return Err(BundleError::NoEnd {
            path: path.to_path_buf(),
            last,
            at: len,
        });
    }
    Ok(out)
}

/// Whether the file's last two blocks are zero.
fn ends_with_marker(file: &mut File, len: u64) -> bool {
    len >= END_MARKER && end_marker_at(file, len - END_MARKER, len)
}

/// Whether two zero blocks start at `at`.
fn end_marker_at(file: &mut File, at: u64, len: u64) -> bool {
    if at.saturating_add(END_MARKER) > len || file.seek(SeekFrom::Start(at)).is_err() {
        return false;
    }
    let mut marker = [0u8; END_MARKER as usize];
    file.read_exact(&mut marker).is_ok() && marker.iter().all(|b| *b == 0)
}

fn corrupt(path: &Path, at: u64, after: &str, message: String) -> BundleError {
    BundleError::Corrupt {
        path: path.to_path_buf(),
        at,
        after: after.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{write_tar, TarEntry, TarEntryKind};

    fn bundle(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
        let entries = vec![
            TarEntry {
                name: "a".into(),
                kind: TarEntryKind::Dir,
            },
            TarEntry {
                name: "a/one".into(),
                kind: TarEntryKind::Bytes(vec![1; 1000]),
            },
            TarEntry {
                name: "a/two".into(),
                kind: TarEntryKind::Bytes(vec![2; 700]),
            },
        ];
        let bytes = write_tar(Vec::new(), &entries).unwrap();
        let path = dir.join("b.tar");
        std::fs::write(&path, &bytes).unwrap();
        (path, bytes)
    }

    #[test]
    fn a_whole_bundle_passes() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = bundle(dir.path());
        let scan = scan(&path).unwrap();
        assert_eq!(scan.first.as_deref(), Some("a/"));
        assert_eq!(scan.entries, 3);
    }

    #[test]
    fn a_bundle_cut_inside_an_entry_names_it_and_the_byte() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = bundle(dir.path());
        // a/ (512) + a/one header (512) + 1000 bytes padded to 1024 + a/two header: content
        // starts at 2560.
        std::fs::write(&path, &bytes[..2600]).unwrap();
        match scan(&path) {
            Err(BundleError::Truncated { entry, at, .. }) => {
                assert_eq!((entry.as_str(), at), ("a/two", 2600));
            }
            other => panic!("{other:?}"),
        }
        std::fs::write(&path, &bytes[..1200]).unwrap();
        assert!(
            matches!(scan(&path), Err(BundleError::Truncated { entry, .. }) if entry == "a/one")
        );
        // Inside the header after a/one.
        std::fs::write(&path, &bytes[..2100]).unwrap();
        assert!(
            matches!(scan(&path), Err(BundleError::Truncated { entry, .. }) if entry.contains("after a/one") && entry.starts_with("(the one"))
        );
    }

    #[test]
    fn a_bundle_cut_at_an_entry_boundary_lacks_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = bundle(dir.path());
        std::fs::write(&path, &bytes[..2048]).unwrap();
        match scan(&path) {
            Err(BundleError::NoEnd { last, at, .. }) => {
                assert_eq!((last.as_str(), at), ("a/one", 2048))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_damaged_header_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut bytes) = bundle(dir.path());
        bytes[2048 + 100] ^= 0x55;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            scan(&path),
            Err(BundleError::Corrupt { at: 2048, .. })
        ));
    }
}
