//! The one-time move of `hosts.json` (the per-host settings `login` wrote before the settings
//! file existed) into `[registries."host"]` sections of `config.toml`. The old file is then
//! renamed `hosts.json.migrated`, so it is never read again and still there to look at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::ConfigError;
use super::file::{edit_locked, set_section, RegistrySection};
use crate::limits::MAX_FILE_SIZE;

/// One host of the old file, as the old code wrote it (camelCase, false and None left out).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyHost {
    #[serde(default)]
    plain_http: bool,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    ca_file: Option<PathBuf>,
}

/// The old file beside `config`.
pub fn legacy_path(config: &Path) -> PathBuf {
    config.with_file_name("hosts.json")
}

/// Where the old file goes once moved.
pub fn migrated_path(config: &Path) -> PathBuf {
    config.with_file_name("hosts.json.migrated")
}

/// The old file's hosts; an unreadable or malformed one (the old code treated it as empty)
/// gives none and the reason.
fn read_legacy(path: &Path) -> (BTreeMap<String, LegacyHost>, Option<String>) {
    let bytes = match std::fs::read(path) {
        Ok(b) if b.len() as u64 <= MAX_FILE_SIZE => b,
        Ok(_) => return (BTreeMap::new(), Some("it is too large".into())),
        Err(e) => return (BTreeMap::new(), Some(e.to_string())),
    };
    match serde_json::from_slice(&bytes) {
        Ok(hosts) => (hosts, None),
        Err(e) => (BTreeMap::new(), Some(format!("not the expected JSON: {e}"))),
    }
}

/// Moves the old hosts file beside `config` into it, when there is one. Returns the sentence
/// to tell the user, once. Hosts the settings file already has a section for keep it.
pub fn migrate_hosts_file(config: &Path) -> Result<Option<String>, ConfigError> {
    let legacy = legacy_path(config);
    if std::fs::symlink_metadata(&legacy).is_err() {
        return Ok(None);
    }
    let _lock = crate::fsutil::lock_for_update(config).map_err(|e| ConfigError::Io {
        path: config.to_path_buf(),
        message: format!("cannot lock it for writing: {e}"),
    })?;
    // Another packreg may have moved it while this one waited for the lock.
    if std::fs::symlink_metadata(&legacy).is_err() {
        return Ok(None);
    }
    let (hosts, unreadable) = read_legacy(&legacy);
    let mut moved = 0usize;
    if !hosts.is_empty() {
        let known = super::file::ConfigFile::read(config)?.registries;
        edit_locked(config, |doc| {
            for (host, old) in &hosts {
                let Ok((host, base)) = crate::name::split_registry(host) else {
                    continue;
                };
                if !base.is_empty() || known.contains_key(&host) {
                    continue;
                }
                let section = RegistrySection {
                    // Written even when false: the old entry meant "HTTPS, known", which
                    // spared a loopback host the plain-HTTP probe.
                    plain_http: Some(old.plain_http),
                    insecure: old.insecure.then_some(true),
                    ca_file: old.ca_file.clone(),
                    chunk_size: None,
                    ..RegistrySection::default()
                };
                set_section(doc, &host, &section, &[]);
                moved += 1;
            }
            moved > 0
        })?;
    }
    let migrated = migrated_path(config);
    std::fs::rename(&legacy, &migrated).map_err(|e| ConfigError::Io {
        path: legacy.clone(),
        message: format!(
            "cannot rename it to {} after moving its hosts: {e}",
            migrated.display()
        ),
    })?;
    let what = match unreadable {
        Some(why) => format!("could not be read ({why}), so nothing was moved"),
        None => format!(
            "had its {moved} host setting(s) moved into {}",
            config.display()
        ),
    };
    Ok(Some(format!(
        "{} {what}; it is now {} and no longer read",
        legacy.display(),
        migrated.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_hosts_once_and_keeps_existing_sections() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            "# mine\n[registries.\"b.example\"]\nplain_http = false\nchunk_size = 0\n",
        )
        .unwrap();
        std::fs::write(
            legacy_path(&config),
            r#"{"a.example:5000":{"plainHttp":true},"b.example":{"plainHttp":true},"c.example":{"insecure":true,"caFile":"/etc/ca.pem"}}"#,
        )
        .unwrap();
        let note = migrate_hosts_file(&config).unwrap().unwrap();
        assert!(note.contains("2 host setting(s)"), "{note}");
        assert!(!legacy_path(&config).exists());
        assert!(migrated_path(&config).exists());
        let f = super::super::file::ConfigFile::read(&config).unwrap();
        assert_eq!(
            f.registry_section("a.example:5000").unwrap().plain_http,
            Some(true)
        );
        // The user's own section wins over the old file.
        assert_eq!(
            f.registry_section("b.example").unwrap().plain_http,
            Some(false)
        );
        let c = f.registry_section("c.example").unwrap();
        assert_eq!((c.plain_http, c.insecure), (Some(false), Some(true)));
        assert_eq!(c.ca_file.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert!(std::fs::read_to_string(&config)
            .unwrap()
            .starts_with("# mine\n"));
        assert_eq!(migrate_hosts_file(&config).unwrap(), None);
    }

    #[test]
    fn a_malformed_old_file_is_set_aside_without_touching_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(legacy_path(&config), "{not json").unwrap();
        let note = migrate_hosts_file(&config).unwrap().unwrap();
        assert!(note.contains("nothing was moved"), "{note}");
        assert!(!config.exists());
        assert!(migrated_path(&config).exists());
    }
}
