//! Staging folders in the temporary folder (`packreg-push-…`, `packreg-import-…`,
//! `packreg-diff-…`, `packreg-bundle-…`): each holds a lock file its run keeps locked, so a
//! folder whose lock no process holds is what a killed run left, and [`sweep_stale`] removes
//! it. A leaf: it knows
//! nothing of stores or operations.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// The staging folders packreg makes in the temporary folder start with one of these.
pub const PREFIXES: [&str; 4] = [
    "packreg-push-",
    "packreg-import-",
    "packreg-diff-",
    "packreg-bundle-",
];
/// The lock file inside a staging folder.
const LOCK: &str = ".packreg-staging.lock";
/// The lock file while it is being made and locked, before it is renamed to [`LOCK`].
const LOCK_PENDING: &str = ".packreg-staging.lock.new";
/// A staging folder without its lock file (one made by an older packreg, or caught between
/// its creation and its lock) is a leftover only after this long.
const UNLOCKED_STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The temporary folder of this process, as the command line resolved it.
static ROOT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Makes `root` the folder staging folders are made in, for this process (the first call
/// wins), as the command line resolved it: the library then reads no variable for it.
pub fn set_root(root: std::path::PathBuf) {
    let _ = ROOT.set(root);
}

/// A staging folder, removed when dropped; its lock file is held meanwhile.
#[derive(Debug)]
pub struct Staging {
    // Dropped first: the lock is released, then the folder goes.
    _lock: fs::File,
    dir: tempfile::TempDir,
}

impl Staging {
    /// Makes a staging folder `PREFIX…` in `root` and locks it for this run.
    pub fn create_in(root: &Path, prefix: &str) -> std::io::Result<Staging> {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir_in(root)?;
        // The lock file appears already locked: made under another name, locked, then
        // renamed. A sweep that found it created but not yet locked would take the run's
        // folder for a killed one's (concurrent pushes lost their staging folder so).
        let pending = dir.path().join(LOCK_PENDING);
        let lock = fs::File::create(&pending)?;
        lock.lock()?;
        fs::rename(&pending, dir.path().join(LOCK))?;
        Ok(Staging { _lock: lock, dir })
    }

    /// Makes a staging folder in the temporary folder the command line set ([`set_root`]),
    /// else the system's.
    pub fn create(prefix: &str) -> std::io::Result<Staging> {
        match ROOT.get() {
            Some(root) => Staging::create_in(root, prefix),
            None => Staging::create_in(&std::env::temp_dir(), prefix),
        }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Removes from `root` (the temporary folder, as the caller resolved it) the staging folders
/// of runs that ended without removing them: their lock is held by no process (or, without a
/// lock file, they are over a day old). Returns how many went; failures are only logged.
pub fn sweep_stale(root: &Path) -> usize {
    let Ok(entries) = fs::read_dir(root) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        // Never follow a link: only a real folder of ours is looked into.
        let Ok(meta) = fs::symlink_metadata(entry.path()) else {
            continue;
        };
        // Another user's folder cannot be looked into nor removed (a sticky /tmp): it is
        // skipped below, its lock unopenable and its removal refused.
        if !meta.is_dir() {
            continue;
        }
        if !left_over(&entry.path(), &meta) {
            continue;
        }
        match fs::remove_dir_all(entry.path()) {
            Ok(()) => removed += 1,
            Err(e) => tracing::debug!("{}: left in place: {e}", entry.path().display()),
        }
    }
    if removed > 0 {
        tracing::info!("removed {removed} staging folder(s) interrupted runs left");
    }
    removed
}

/// Whether the staging folder at `dir` belongs to no live run.
fn left_over(dir: &Path, meta: &fs::Metadata) -> bool {
    match fs::File::options().write(true).open(dir.join(LOCK)) {
        Ok(lock) => lock.try_lock().is_ok(),
        Err(_) => meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age > UNLOCKED_STALE_AFTER),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_runs_staging_is_swept_and_a_live_one_is_not() {
        let root = tempfile::tempdir().unwrap();
        let live = Staging::create_in(root.path(), "packreg-push-").unwrap();
        // A killed run: its folder stays, its lock is released with the process.
        let dead = Staging::create_in(root.path(), "packreg-import-").unwrap();
        let dead_path = dead.path().to_path_buf();
        std::mem::forget(dead.dir);
        drop(dead._lock);
        std::fs::write(dead_path.join("bundle.tar"), b"x").unwrap();
        // Not packreg's.
        let other = root.path().join("packreg-other");
        std::fs::create_dir(&other).unwrap();
        // An old packreg's, without a lock file, recent: kept.
        let recent = root.path().join("packreg-diff-recent");
        std::fs::create_dir(&recent).unwrap();

        assert_eq!(sweep_stale(root.path()), 1);
        assert!(!dead_path.exists());
        assert!(live.path().exists() && other.exists() && recent.exists());
        drop(live);
        assert_eq!(sweep_stale(root.path()), 0);
    }

    /// Runs making their staging folders while another sweeps: no live folder is taken.
    #[test]
    fn a_sweep_never_takes_a_folder_being_made() {
        let root = tempfile::tempdir().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sweeper = {
            let (root, stop) = (root.path().to_path_buf(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    sweep_stale(&root);
                }
            })
        };
        for _ in 0..2000 {
            let staging = Staging::create_in(root.path(), "packreg-push-").unwrap();
            std::fs::write(staging.path().join("layer"), b"x")
                .expect("the staging folder was swept while in use");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        sweeper.join().unwrap();
    }
}
