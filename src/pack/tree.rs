//! Scanning a pack folder: which files belong to the pack, in a stable order.
//!
//! `.git/`, `.DS_Store` and editor swap files are left out, as is whatever `.packregignore`
//! (gitignore syntax) names. Symbolic links are followed when they stay inside the folder and
//! refused when they point outside it.

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::error::PackError;

/// Name of the ignore file read at the root of a pack folder.
pub const IGNORE_FILE: &str = ".packregignore";

/// One file or folder of a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// Slash-separated path relative to the pack root.
    pub rel: String,
    /// Where to read it (a followed link resolves to its target).
    pub path: PathBuf,
    /// File or folder.
    pub kind: EntryKind,
}

/// Kind of a [`TreeEntry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A folder.
    Dir,
    /// A regular file.
    File {
        /// Size in bytes.
        size: u64,
        /// Whether any execute bit is set.
        executable: bool,
    },
}

/// The files of a folder, depth-first with names sorted bytewise, folders before their content.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// Root folder.
    pub root: PathBuf,
    /// Every kept entry below the root (the root itself excluded).
    pub entries: Vec<TreeEntry>,
}

impl Tree {
    /// Scans `root`, honouring the ignore file named `ignore_file` at its root, if any.
    pub fn scan(root: &Path, ignore_file: &str) -> Result<Tree, PackError> {
        let meta = std::fs::metadata(root).map_err(|_| PackError::NotADirectory(root.into()))?;
        if !meta.is_dir() {
            return Err(PackError::NotADirectory(root.into()));
        }
        let canonical_root = root.canonicalize().map_err(|e| PackError::io(root, e))?;
        let ignore = load_ignore(root, ignore_file)?;
        let mut entries = Vec::new();
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by(|a, b| {
                a.file_name()
                    .as_encoded_bytes()
                    .cmp(b.file_name().as_encoded_bytes())
            })
            .min_depth(1)
            .into_iter()
            .filter_entry(|e| !is_excluded(e, root, ignore_file, &ignore));
        for item in walker {
            let entry = item.map_err(|e| walk_error(root, e))?;
            let path = entry.path();
            if entry.path_is_symlink() {
                let target = path.canonicalize().map_err(|e| PackError::io(path, e))?;
                if !target.starts_with(&canonical_root) {
                    return Err(PackError::SymlinkOutside {
                        path: path.into(),
                        target,
                    });
                }
            }
            let rel = relative_name(root, path)?;
            let file_type = entry.file_type();
            let kind = if file_type.is_dir() {
                EntryKind::Dir
            } else if file_type.is_file() {
                let md = entry.metadata().map_err(|e| walk_error(root, e))?;
                EntryKind::File {
                    size: md.len(),
                    executable: is_executable(&md),
                }
            } else {
                return Err(PackError::io(
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "not a regular file or folder; remove it or list it in .packregignore",
                    ),
                ));
            };
            entries.push(TreeEntry {
                rel,
                path: path.to_path_buf(),
                kind,
            });
        }
        Ok(Tree {
            root: root.to_path_buf(),
            entries,
        })
    }

    /// The entry at `rel`, if the pack has it.
    pub fn get(&self, rel: &str) -> Option<&TreeEntry> {
        self.entries.iter().find(|e| e.rel == rel)
    }

    /// Whether `rel` is a regular file of the pack.
    pub fn has_file(&self, rel: &str) -> bool {
        matches!(self.get(rel), Some(e) if matches!(e.kind, EntryKind::File { .. }))
    }

    /// Total size of the regular files.
    pub fn total_size(&self) -> u64 {
        self.entries
            .iter()
            .map(|e| match e.kind {
                EntryKind::File { size, .. } => size,
                EntryKind::Dir => 0,
            })
            .sum()
    }
}

fn load_ignore(root: &Path, ignore_file: &str) -> Result<Gitignore, PackError> {
    let mut builder = GitignoreBuilder::new(root);
    let file = root.join(ignore_file);
    if file.is_file() {
        if let Some(err) = builder.add(&file) {
            return Err(PackError::Ignore {
                path: file,
                message: err.to_string(),
            });
        }
    }
    builder.build().map_err(|err| PackError::Ignore {
        path: file,
        message: err.to_string(),
    })
}

/// Names that never belong in an artifact: VCS data, Finder litter and editor swap files.
fn is_noise(name: &str) -> bool {
    name == ".git"
        || name == ".DS_Store"
        || name.ends_with(".swp")
        || name.ends_with(".swo")
        || name.ends_with(".swx")
        || name.ends_with('~')
        || name.starts_with(".#")
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
}

fn is_excluded(
    entry: &walkdir::DirEntry,
    root: &Path,
    ignore_file: &str,
    ignore: &Gitignore,
) -> bool {
    let name = entry.file_name().to_string_lossy();
    if is_noise(&name) || (entry.depth() == 1 && name == ignore_file) {
        return true;
    }
    let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
    ignore
        .matched_path_or_any_parents(rel, entry.file_type().is_dir())
        .is_ignore()
}

fn relative_name(root: &Path, path: &Path) -> Result<String, PackError> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut parts = Vec::new();
    for part in rel.components() {
        match part.as_os_str().to_str() {
            Some(s) => parts.push(s),
            None => {
                return Err(PackError::io(
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "file name is not valid UTF-8; rename it",
                    ),
                ))
            }
        }
    }
    Ok(parts.join("/"))
}

fn walk_error(root: &Path, err: walkdir::Error) -> PackError {
    let path = err.path().unwrap_or(root).to_path_buf();
    if err.loop_ancestor().is_some() {
        return PackError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, "symbolic link loop"),
        );
    }
    let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        return PackError::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "broken symbolic link: its target does not exist; fix or remove it",
            ),
        );
    }
    let io = err
        .into_io_error()
        .unwrap_or_else(|| std::io::Error::other("cannot read folder"));
    PackError::io(path, io)
}

#[cfg(unix)]
fn is_executable(md: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    md.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_md: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn names(tree: &Tree) -> Vec<&str> {
        tree.entries.iter().map(|e| e.rel.as_str()).collect()
    }

    #[test]
    fn leaves_out_noise_and_ignored_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join(".git/objects")).unwrap();
        fs::create_dir_all(root.join("manifests")).unwrap();
        fs::create_dir_all(root.join("build")).unwrap();
        for f in [
            "pack.json",
            ".DS_Store",
            "values.yaml.swp",
            "notes~",
            "manifests/a.yaml",
            "manifests/secret.key",
            "build/out",
            ".git/HEAD",
        ] {
            fs::write(root.join(f), b"x").unwrap();
        }
        fs::write(root.join(IGNORE_FILE), "*.key\nbuild/\n").unwrap();
        let tree = Tree::scan(root, IGNORE_FILE).unwrap();
        assert_eq!(
            names(&tree),
            vec!["manifests", "manifests/a.yaml", "pack.json"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_are_followed_outside_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("pack");
        fs::create_dir_all(root.join("docs")).unwrap();
        fs::write(root.join("docs/a.md"), b"a").unwrap();
        std::os::unix::fs::symlink("docs/a.md", root.join("README.md")).unwrap();
        let tree = Tree::scan(&root, IGNORE_FILE).unwrap();
        assert!(tree.has_file("README.md"));

        fs::write(dir.path().join("secret"), b"s").unwrap();
        std::os::unix::fs::symlink("../secret", root.join("leak")).unwrap();
        let err = Tree::scan(&root, IGNORE_FILE).unwrap_err();
        assert!(matches!(err, PackError::SymlinkOutside { .. }), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn execute_bit_is_seen() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("run.sh"), b"#!/bin/sh").unwrap();
        fs::set_permissions(dir.path().join("run.sh"), fs::Permissions::from_mode(0o750)).unwrap();
        let tree = Tree::scan(dir.path(), IGNORE_FILE).unwrap();
        assert_eq!(
            tree.entries[0].kind,
            EntryKind::File {
                size: 9,
                executable: true
            }
        );
    }
}
