//! Small file-system helpers shared by the stores and the configuration files.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The file a write to `path` must replace: `path` itself, or, when it is a symbolic link (as
/// dotfile managers make `~/.docker/config.json`), the file it leads to, so the write goes
/// through the link instead of replacing it with a regular file.
pub fn resolve_link(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(md) if md.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(target) => target,
            // A dangling link: its target does not exist yet; create it there.
            Err(_) => match std::fs::read_link(path) {
                Ok(target) => path.parent().unwrap_or(Path::new(".")).join(target),
                Err(_) => path.to_path_buf(),
            },
        },
        _ => path.to_path_buf(),
    }
}

/// An exclusive advisory lock on a file, released when dropped.
#[derive(Debug)]
pub struct FileLock(#[allow(dead_code)] std::fs::File);

/// Locks `path` for a read-modify-write: takes an exclusive lock on a `.NAME.lock` file beside
/// the file `path` leads to (see [`resolve_link`]), waiting for other holders. The file itself
/// cannot carry the lock, since each write replaces it with a new one.
pub fn lock_for_update(path: &Path) -> std::io::Result<FileLock> {
    let target = resolve_link(path);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    lock_file(&target.with_file_name(format!(".{name}.lock")))
}

/// Takes an exclusive lock on the file `path` (created, with its folder, as needed), waiting
/// for other holders: the one lock of the settings files, the blob cache and local stores.
pub fn lock_file(path: &Path) -> std::io::Result<FileLock> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    file.lock()?;
    Ok(FileLock(file))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder (created as
/// needed), synced, then renamed over `path` (over the file it leads to when it is a symbolic
/// link, see [`resolve_link`]). Readers see the old content or the new, never a part.
/// `private` makes the file readable by its owner only (0600), for credentials.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    let path = &resolve_link(path);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = temp_file_in(dir, ".packreg-tmp-", private)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A temporary file in `dir`, to be renamed into place. Created with the modes `oras` and
/// `skopeo` give their files: read-write for everyone the umask lets through (0644 under the
/// usual 022), so a store shared with another account stays readable by it; `private`: the
/// owner only (0600), for credentials. tempfile's own default is 0600 for every file.
pub fn temp_file_in(
    dir: &Path,
    prefix: &str,
    private: bool,
) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if private { 0o600 } else { 0o666 };
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = private;
    builder.tempfile_in(dir)
}

/// Staging folders of operations in flight. An interrupted operation is dropped without
/// running to its end, and a blocking transfer may still hold its folder open: the command
/// line removes what is left here before it exits.
static STAGING: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Records `dir` as the staging folder of an operation in flight.
pub fn track_staging(dir: &Path) {
    if let Ok(mut dirs) = STAGING.lock() {
        dirs.push(dir.to_path_buf());
    }
}

/// Forgets `dir`: its operation ended (its own clean-up removes it).
pub fn untrack_staging(dir: &Path) {
    if let Ok(mut dirs) = STAGING.lock() {
        dirs.retain(|d| d != dir);
    }
}

/// Removes the staging folders of operations that never ended (interrupted).
pub fn remove_tracked_staging() {
    let dirs = match STAGING.lock() {
        Ok(mut dirs) => std::mem::take(&mut *dirs),
        Err(_) => return,
    };
    for dir in dirs {
        // A transfer still stopping may add a file meanwhile: try a few times.
        for _ in 0..5 {
            if std::fs::remove_dir_all(&dir).is_ok() || !dir.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}
