//! Connection settings `login` remembers per host (plain HTTP, skip verification, CA file),
//! in `$XDG_CONFIG_HOME/packreg/hosts.json` (else `~/.config/packreg/hosts.json`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Connection settings of one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostSettings {
    /// Talk plain HTTP.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plain_http: bool,
    /// Skip certificate verification.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Extra root certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

/// The remembered settings of every host.
#[derive(Debug, Clone, Default)]
pub struct HostsFile {
    path: Option<PathBuf>,
    hosts: BTreeMap<String, HostSettings>,
}

fn default_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir).join("packreg").join("hosts.json"));
    }
    std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| {
        PathBuf::from(h)
            .join(".config")
            .join("packreg")
            .join("hosts.json")
    })
}

fn read_hosts(path: Option<&Path>) -> BTreeMap<String, HostSettings> {
    path.and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

impl HostsFile {
    /// Reads the file (a missing or unreadable one is empty).
    pub fn load() -> HostsFile {
        Self::at(default_path())
    }

    /// Reads the hosts file at `path` (None: there is none, and nothing is saved).
    pub fn at(path: Option<PathBuf>) -> HostsFile {
        let hosts = read_hosts(path.as_deref());
        HostsFile { path, hosts }
    }

    /// Settings of `host`, if remembered.
    pub fn get(&self, host: &str) -> Option<&HostSettings> {
        self.hosts.get(host)
    }

    /// Remembers `settings` for `host` and writes the file.
    pub fn remember(&mut self, host: &str, settings: HostSettings) -> std::io::Result<()> {
        self.update(|hosts| hosts.insert(host.to_string(), settings.clone()) != Some(settings))
    }

    /// Forgets `host` and writes the file.
    pub fn forget(&mut self, host: &str) -> std::io::Result<()> {
        self.update(|hosts| hosts.remove(host).is_some())
    }

    /// Applies `change` to the file as it is now, under its lock, so that concurrent logins
    /// keep each other's hosts; writes it when `change` says it changed.
    fn update(
        &mut self,
        change: impl FnOnce(&mut BTreeMap<String, HostSettings>) -> bool,
    ) -> std::io::Result<()> {
        let Some(path) = self.path.clone() else {
            change(&mut self.hosts);
            return Ok(());
        };
        let _lock = crate::fsutil::lock_for_update(&path)?;
        self.hosts = read_hosts(Some(&path));
        if change(&mut self.hosts) {
            let bytes = serde_json::to_vec_pretty(&self.hosts).unwrap_or_default();
            crate::fsutil::write_atomic(&path, &bytes, false)?;
        }
        Ok(())
    }
}
