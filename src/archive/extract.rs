//! Safe extraction. Every path is opened one component at a time relative to a handle on the
//! destination folder (cap-std), never following a symbolic link, so no write goes through a
//! link even while another layer extracts into the same folder, and nothing is created
//! outside the destination. A link entry is created only when its target, resolved against
//! what is already on disk (earlier links included), stays inside the destination.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, OpenOptions};

use super::guard::{limit_of, LimitExceeded, TarGuard};
use crate::limits::UnpackLimits;

/// Symbolic links followed while resolving one link target, as Linux allows.
const MAX_LINK_HOPS: u32 = 40;

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
    /// The archive exceeds an unpacking limit.
    #[error("archive {0}")]
    Limit(LimitExceeded),
    /// Reading the archive or writing a file failed.
    #[error("{0}")]
    Io(io::Error),
}

impl From<io::Error> for ExtractError {
    fn from(err: io::Error) -> Self {
        match limit_of(&err) {
            Some(limit) => ExtractError::Limit(limit.clone()),
            None => ExtractError::Io(err),
        }
    }
}

pub(crate) fn unsafe_entry(entry: &str, reason: &str) -> ExtractError {
    ExtractError::Unsafe {
        entry: entry.to_string(),
        reason: reason.to_string(),
    }
}

/// How to extract.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// Every entry must sit under this top folder (ORAS's folder convention).
    pub required_top: Option<String>,
    /// Whether symbolic and hard links are created (bundles hold none: refused there).
    pub allow_links: bool,
    /// Unpacking limits.
    pub limits: UnpackLimits,
    /// Uncompressed bytes the archive may hold (see [`UnpackLimits::unpacked_cap`]).
    pub cap: u64,
}

impl ExtractOptions {
    /// Links allowed, no required top, limits from the environment, for a stream that is
    /// `declared` compressed bytes (None: not compressed).
    pub fn new(declared: Option<u64>) -> Self {
        let limits = UnpackLimits::in_force();
        ExtractOptions {
            required_top: None,
            allow_links: true,
            cap: limits.unpacked_cap(declared),
            limits,
        }
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

/// A handle on `dest`, the folder everything is extracted under.
pub fn open_root(dest: &Path) -> io::Result<Dir> {
    Dir::open_ambient_dir(dest, cap_std::ambient_authority())
}

/// Opens `name` in `dir` as a folder without following a link.
fn open_sub(dir: &Dir, name: &str, entry: &str) -> Result<Dir, ExtractError> {
    dir.open_dir_nofollow(name)
        .map_err(|err| match dir.symlink_metadata(name) {
            Ok(md) if md.file_type().is_symlink() => {
                unsafe_entry(entry, "path goes through a symbolic link")
            }
            Ok(md) if !md.is_dir() => unsafe_entry(entry, "path goes through a file"),
            _ => ExtractError::Io(err),
        })
}

/// Opens the folder `parts` under `root`, creating what is missing, never through a link.
pub fn open_dirs(root: &Dir, parts: &[String], entry: &str) -> Result<Dir, ExtractError> {
    let mut dir = root.try_clone()?;
    for part in parts {
        match dir.create_dir(part) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
        dir = open_sub(&dir, part, entry)?;
    }
    Ok(dir)
}

/// Opens the existing folder `parts` under `root`, never through a link.
fn find_dirs(root: &Dir, parts: &[String], entry: &str) -> Result<Dir, ExtractError> {
    let mut dir = root.try_clone()?;
    for part in parts {
        dir = open_sub(&dir, part, entry)?;
    }
    Ok(dir)
}

/// Creates (or truncates) the file `parts` under `root`, creating its folders; neither the
/// folders nor the file may be links.
pub fn create_file(root: &Dir, parts: &[String], entry: &str) -> Result<File, ExtractError> {
    let (name, folders) = parts
        .split_last()
        .ok_or_else(|| unsafe_entry(entry, "empty name"))?;
    let parent = open_dirs(root, folders, entry)?;
    let mut options = OpenOptions::new();
    options
        .write(true)
        .create(true)
        .truncate(true)
        .follow(FollowSymlinks::No);
    match parent.open_with(name, &options) {
        Ok(file) => Ok(file.into_std()),
        Err(err) => match parent.symlink_metadata(name) {
            Ok(md) if md.file_type().is_symlink() => {
                Err(unsafe_entry(entry, "would overwrite a symbolic link"))
            }
            _ => Err(err.into()),
        },
    }
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Sets mode 0755 (files: 0644, or 0755 with `executable`) on a file written by
/// [`create_file`], through its handle.
pub fn set_file_mode(file: &File, executable: bool) -> io::Result<()> {
    set_mode(file, if executable { 0o755 } else { 0o644 })
}

/// Where the link target `target` of a link in folder `at` leads, as components under `root`,
/// following links already on disk. Refuses targets that leave `root`, and `..` after a
/// component that does not exist yet (a link created there later could move it anywhere).
pub fn resolve_link(root: &Dir, at: &[String], target: &str) -> Result<Vec<String>, &'static str> {
    let mut hops = 0;
    resolve(root, at.to_vec(), target, &mut hops)
}

fn resolve(
    root: &Dir,
    mut cur: Vec<String>,
    target: &str,
    hops: &mut u32,
) -> Result<Vec<String>, &'static str> {
    if target.starts_with('/') {
        return Err("symbolic link to an absolute path");
    }
    let mut missing = false;
    for comp in target.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if missing {
                    return Err("symbolic link climbs out of a folder that does not exist");
                }
                if cur.pop().is_none() {
                    return Err("symbolic link points outside the folder");
                }
            }
            name => {
                cur.push(name.to_string());
                if missing {
                    continue;
                }
                let rel = cur.join("/");
                match root.symlink_metadata(&rel) {
                    Ok(md) if md.file_type().is_symlink() => {
                        *hops += 1;
                        if *hops > MAX_LINK_HOPS {
                            return Err("too many symbolic links in a chain");
                        }
                        let inner = read_link(root, &rel)?;
                        cur.pop();
                        cur = resolve(root, cur, &inner, hops)?;
                        missing = matches!(root.symlink_metadata(cur.join("/")),
                            Err(e) if e.kind() == io::ErrorKind::NotFound);
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => missing = true,
                    Err(_) => return Err("symbolic link goes through a file"),
                }
            }
        }
    }
    Ok(cur)
}

#[cfg(unix)]
fn read_link(root: &Dir, rel: &str) -> Result<String, &'static str> {
    let target = root
        .read_link_contents(rel)
        .map_err(|_| "unreadable symbolic link")?;
    target
        .to_str()
        .map(str::to_string)
        .ok_or("symbolic link target is not valid UTF-8")
}

#[cfg(not(unix))]
fn read_link(_root: &Dir, _rel: &str) -> Result<String, &'static str> {
    Err("symbolic links are not supported on this system")
}

/// Checks that every symbolic link under `root` resolves inside it: a pack folder taken out
/// of a larger extraction may hold links that were inside the extraction but not inside it.
pub fn check_links_within(root: &Path) -> Result<(), ExtractError> {
    let dir = open_root(root)?;
    check_links_in(&dir, &mut Vec::new())
}

fn check_links_in(root: &Dir, at: &mut Vec<String>) -> Result<(), ExtractError> {
    let here = find_dirs(root, at, &at.join("/"))?;
    for entry in here.entries()? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            return Err(unsafe_entry(
                &entry.file_name().to_string_lossy(),
                "name is not valid UTF-8",
            ));
        };
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            let rel = at
                .iter()
                .chain([&name])
                .cloned()
                .collect::<Vec<_>>()
                .join("/");
            let target = read_link(root, &rel).map_err(|why| unsafe_entry(&rel, why))?;
            resolve_link(root, at, &target).map_err(|why| unsafe_entry(&rel, why))?;
        } else if kind.is_dir() {
            at.push(name);
            check_links_in(root, at)?;
            at.pop();
        }
    }
    Ok(())
}

/// Extracts a tar stream into `dest`; see [`extract_tar_in`].
pub fn extract_tar<R: Read>(
    reader: R,
    dest: &Path,
    opts: &ExtractOptions,
) -> Result<u64, ExtractError> {
    extract_tar_in(reader, &open_root(dest)?, opts)
}

/// Extracts a tar stream under `root`, refusing entries that would escape it: absolute paths,
/// `..`, links whose target leaves it, writes through links, device files; and archives past
/// the unpacking limits. Folders get 0755, files 0644 or 0755 (keeping the execute bit).
/// Returns the number of files written.
pub fn extract_tar_in<R: Read>(
    reader: R,
    root: &Dir,
    opts: &ExtractOptions,
) -> Result<u64, ExtractError> {
    let guard = TarGuard::new(reader, opts.limits, opts.cap);
    let mut archive = tar::Archive::new(guard);
    let mut files = 0;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let parts = safe_components(&name)?;
        let Some((last, folders)) = parts.split_last() else {
            continue;
        };
        if let Some(top) = &opts.required_top {
            if &parts[0] != top {
                return Err(unsafe_entry(
                    &name,
                    &format!("not under the layer's folder {top:?}"),
                ));
            }
        }
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Directory => {
                let parent = open_dirs(root, folders, &name)?;
                open_dirs(&parent, std::slice::from_ref(last), &name)?;
                // Folder handles of cap-std may be O_PATH, which fchmod refuses: a plain
                // read-only handle, not following a link, carries the mode change.
                let mut options = OpenOptions::new();
                options.read(true).follow(FollowSymlinks::No);
                set_mode(&parent.open_with(last, &options)?.into_std(), 0o755)?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let exec = entry.header().mode().unwrap_or(0o644) & 0o111 != 0;
                let file = create_file(root, &parts, &name)?;
                let mut out = io::BufWriter::with_capacity(1 << 20, file);
                io::copy(&mut entry, &mut out)?;
                let file = out.into_inner().map_err(|e| e.into_error())?;
                set_file_mode(&file, exec)?;
                files += 1;
            }
            tar::EntryType::Symlink if opts.allow_links => {
                let link = entry
                    .link_name_bytes()
                    .ok_or_else(|| unsafe_entry(&name, "symbolic link without a target"))?;
                let link = String::from_utf8(link.into_owned())
                    .map_err(|_| unsafe_entry(&name, "link target is not valid UTF-8"))?;
                add_symlink(root, &parts, &link, &name)?;
            }
            tar::EntryType::Link if opts.allow_links => {
                let link = entry
                    .link_name_bytes()
                    .ok_or_else(|| unsafe_entry(&name, "hard link without a target"))?;
                add_hard_link(root, &parts, &String::from_utf8_lossy(&link), &name, opts)?;
                files += 1;
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                return Err(unsafe_entry(&name, "links are not allowed here"))
            }
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {}
            _ => return Err(unsafe_entry(&name, "not a file, folder or link")),
        }
    }
    Ok(files)
}

/// Creates the symbolic link `parts` → `link` once its target is known to stay inside.
fn add_symlink(root: &Dir, parts: &[String], link: &str, name: &str) -> Result<(), ExtractError> {
    let (last, folders) = parts
        .split_last()
        .ok_or_else(|| unsafe_entry(name, "empty name"))?;
    resolve_link(root, folders, link).map_err(|why| unsafe_entry(name, why))?;
    let parent = open_dirs(root, folders, name)?;
    make_symlink(&parent, link, last, name)
}

/// Creates the hard link `parts` to the regular file `link` (an archive path) under `root`.
fn add_hard_link(
    root: &Dir,
    parts: &[String],
    link: &str,
    name: &str,
    opts: &ExtractOptions,
) -> Result<(), ExtractError> {
    let (last, folders) = parts
        .split_last()
        .ok_or_else(|| unsafe_entry(name, "empty name"))?;
    let source = safe_components(link)?;
    let Some((source_name, source_dirs)) = source.split_last() else {
        return Err(unsafe_entry(name, "hard link without a target"));
    };
    if let Some(top) = &opts.required_top {
        if source.first() != Some(top) {
            return Err(unsafe_entry(
                name,
                "hard link points outside the layer's folder",
            ));
        }
    }
    let from = find_dirs(root, source_dirs, name)?;
    // A hard link to a symbolic link would copy the link's text to another folder, where it
    // may point elsewhere: only regular files.
    if !from.symlink_metadata(source_name)?.is_file() {
        return Err(unsafe_entry(name, "hard link to something not a file"));
    }
    let parent = open_dirs(root, folders, name)?;
    from.hard_link(source_name, &parent, last)?;
    Ok(())
}

#[cfg(unix)]
fn make_symlink(parent: &Dir, link: &str, name: &str, entry: &str) -> Result<(), ExtractError> {
    match parent.symlink(link, name) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Err(unsafe_entry(entry, "something already exists at this path"))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(unix))]
fn make_symlink(_parent: &Dir, _link: &str, _name: &str, entry: &str) -> Result<(), ExtractError> {
    Err(unsafe_entry(
        entry,
        "symbolic links are not supported on this system",
    ))
}
