//! The scratch repositories of `doctor --write`, recorded before anything is written to them,
//! so that what a stopped run left (tagged probe manifests, one of 4 MiB) is removed: right
//! after a cancelled run, else by the next run. Each run keeps its record in a file of its own
//! under the cache folder, locked while the run lives: a record no process holds is a stopped
//! run's.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

/// Folder of the records, in the cache folder.
const FOLDER: &str = "doctor-scratch";

/// One run's scratch repositories.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    /// The registry (its [`Store::registry_id`]).
    registry: String,
    /// The scratch repositories, as the store names them.
    repos: Vec<String>,
}

/// A live run's record: the file stays locked until the run ends or is dropped; the run
/// removes it once its own clean-up is done ([`Recorded::done`]).
pub(super) struct Recorded {
    path: PathBuf,
    _file: fs::File,
}

impl Recorded {
    /// The run ended and cleaned up what it could: the record goes.
    pub(super) fn done(self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Records `repos` of `store` before they are written; None when the store keeps no cache
/// folder or the record cannot be written (the run goes on; its leftovers are only not
/// found again).
pub(super) fn remember(store: &dyn Store, nonce: &str, repos: &[&str]) -> Option<Recorded> {
    let dir = store.cache_dir()?.join(FOLDER);
    let record = Record {
        registry: store.registry_id(),
        repos: repos.iter().map(|r| r.to_string()).collect(),
    };
    let path = dir.join(format!("{nonce}.json"));
    let written = (|| -> std::io::Result<fs::File> {
        fs::create_dir_all(&dir)?;
        let file = fs::File::create(&path)?;
        file.lock()?;
        serde_json::to_writer(&file, &record)?;
        file.sync_data()?;
        Ok(file)
    })();
    match written {
        Ok(file) => Some(Recorded { path, _file: file }),
        Err(e) => {
            tracing::debug!("{}: not recorded: {e}", path.display());
            None
        }
    }
}

/// What [`clean_left_scratch`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScratchCleaning {
    /// Scratch repositories of stopped runs found.
    pub repositories: Vec<String>,
    /// Manifests deleted from them.
    pub removed: usize,
    /// Those that still hold manifests (the registry refused a delete, or failed).
    pub kept: Vec<String>,
}

/// Removes the tagged manifests of the scratch repositories that stopped `doctor --write`
/// runs left in `store`'s registry (records no live run holds). A repository whose manifests
/// could not all be deleted stays recorded for the next run, unless the registry refuses
/// deletes outright.
pub async fn clean_left_scratch(store: &dyn Store) -> ScratchCleaning {
    let mut cleaning = ScratchCleaning::default();
    let Some(dir) = store.cache_dir().map(|d| d.join(FOLDER)) else {
        return cleaning;
    };
    let registry = store.registry_id();
    for (path, file, record) in left_records(&dir) {
        if record.registry != registry {
            continue;
        }
        let mut retry = false;
        for repo in &record.repos {
            cleaning.repositories.push(store.full_name(repo));
            match delete_tagged(store, repo).await {
                Ok(n) => cleaning.removed += n,
                Err(e) => {
                    tracing::debug!("{}: {e}", store.full_name(repo));
                    cleaning.kept.push(store.full_name(repo));
                    retry |= !refuses_deletes(&e);
                }
            }
        }
        if !retry {
            let _ = fs::remove_file(&path);
        }
        drop(file);
    }
    cleaning
}

/// The records in `dir` that no live run holds, each locked by this process while returned.
fn left_records(dir: &Path) -> Vec<(PathBuf, fs::File, Record)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut left = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Ok(file) = fs::File::options().read(true).write(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_err() {
            continue;
        }
        // A record is a few hundred bytes; anything else is not one.
        let record = crate::limits::read_bounded(&file, 64 * 1024, "a doctor record")
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok());
        match record {
            Some(record) => left.push((path, file, record)),
            None => {
                let _ = fs::remove_file(&path);
            }
        }
    }
    left
}

/// Deletes every tagged manifest of `repo`; returns how many.
async fn delete_tagged(store: &dyn Store, repo: &str) -> Result<usize, StoreError> {
    let tags = match store.tags(repo).await {
        Ok(tags) => tags,
        Err(e) if e.is_not_found() => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for tag in tags {
        let Some(digest) = store.resolve(repo, &tag).await? else {
            continue;
        };
        match store.delete_manifest(repo, &digest).await {
            Ok(()) => removed += 1,
            // Another tag of the same manifest went with it.
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// Whether `err` says the registry does not delete at all (trying again will not help).
fn refuses_deletes(err: &StoreError) -> bool {
    match err {
        StoreError::Registry(e) => e.status == 405,
        StoreError::Unsupported(_) | StoreError::Denied { .. } => true,
        _ => false,
    }
}
