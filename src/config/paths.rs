//! The folders packreg uses, from HOME and the XDG and docker variables: the settings file,
//! the cache, the data folder (the embedded store) and docker's config and `certs.d`.

use std::path::PathBuf;

use super::defaults::{
    DOCKER_CONFIG_ENV, HOME_ENV, XDG_CACHE_HOME_ENV, XDG_CONFIG_HOME_ENV, XDG_DATA_HOME_ENV,
};
use super::resolver::Resolver;
use super::setting::{Setting, Source};

/// The folders in force, each None when neither its variable nor HOME is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paths {
    /// `$XDG_CONFIG_HOME/packreg/config.toml`, else `~/.config/packreg/config.toml`.
    pub config_file: Option<PathBuf>,
    /// `$XDG_CACHE_HOME/packreg`, else `~/.cache/packreg`.
    pub cache: Option<PathBuf>,
    /// The embedded store: `$XDG_DATA_HOME/packreg/store` (an absolute XDG_DATA_HOME only),
    /// else `~/.local/share/packreg/store`.
    pub data: Option<PathBuf>,
    /// docker's `config.json`: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
    /// Folders of docker's per-host trust: `/etc/docker/certs.d`, and `~/.docker/certs.d`.
    pub cert_dirs: Vec<PathBuf>,
}

/// The system-wide folder of docker's per-host trust.
const SYSTEM_CERTS_DIR: &str = "/etc/docker/certs.d";

impl Resolver<'_> {
    /// A folder variable: set and not empty.
    fn dir_var(&self, var: &'static str) -> Option<PathBuf> {
        (self.env)(var).filter(|v| !v.is_empty()).map(PathBuf::from)
    }

    /// `$var/<rest>`, else `$HOME/<home_rest>/<rest>`, with where it came from.
    fn folder(
        &self,
        var: &'static str,
        accept: impl Fn(&PathBuf) -> bool,
        home_rest: &[&str],
        rest: &[&str],
    ) -> Setting<Option<PathBuf>> {
        let join = |mut base: PathBuf, parts: &[&str]| {
            base.extend(parts);
            base
        };
        if let Some(dir) = self.dir_var(var).filter(|d| accept(d)) {
            return Setting {
                value: Some(join(dir, rest)),
                source: Source::Env(var),
            };
        }
        match self.dir_var(HOME_ENV) {
            Some(home) => Setting {
                value: Some(join(join(home, home_rest), rest)),
                source: Source::Env(HOME_ENV),
            },
            None => Setting {
                value: None,
                source: Source::Default,
            },
        }
    }

    /// The settings file.
    pub fn config_file_path(&self) -> Setting<Option<PathBuf>> {
        self.folder(
            XDG_CONFIG_HOME_ENV,
            |_| true,
            &[".config"],
            &["packreg", "config.toml"],
        )
    }

    /// The cache folder.
    pub fn cache_dir(&self) -> Setting<Option<PathBuf>> {
        self.folder(XDG_CACHE_HOME_ENV, |_| true, &[".cache"], &["packreg"])
    }

    /// The embedded store (a relative XDG_DATA_HOME is ignored, as the XDG spec says).
    pub fn data_dir(&self) -> Setting<Option<PathBuf>> {
        self.folder(
            XDG_DATA_HOME_ENV,
            |d| d.is_absolute(),
            &[".local", "share"],
            &["packreg", "store"],
        )
    }

    /// docker's config.json: `flag` (`--registry-config`), else from DOCKER_CONFIG or HOME.
    pub fn docker_config(&self, flag: Option<&std::path::Path>) -> Setting<Option<PathBuf>> {
        if let Some(file) = flag {
            return Setting {
                value: Some(file.to_path_buf()),
                source: Source::Flag,
            };
        }
        self.folder(DOCKER_CONFIG_ENV, |_| true, &[".docker"], &["config.json"])
    }

    /// Every folder, `--registry-config` given as `docker_config`.
    pub fn paths(&self, docker_config: Option<&std::path::Path>) -> Paths {
        let mut cert_dirs = vec![PathBuf::from(SYSTEM_CERTS_DIR)];
        // HOME as docker reads it for certs.d: set, even empty.
        if let Some(home) = (self.env)(HOME_ENV) {
            cert_dirs.push(PathBuf::from(home).join(".docker/certs.d"));
        }
        Paths {
            config_file: self.config_file_path().value,
            cache: self.cache_dir().value,
            data: self.data_dir().value,
            docker_config: self.docker_config(docker_config).value,
            cert_dirs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::file::ConfigFile;
    use super::*;

    #[test]
    fn home_gives_every_folder() {
        let f = ConfigFile::default();
        let p = Resolver::with_vars(&f, &[("HOME", "/h")]).paths(None);
        assert_eq!(
            p.config_file.as_deref(),
            Some("/h/.config/packreg/config.toml".as_ref())
        );
        assert_eq!(p.cache.as_deref(), Some("/h/.cache/packreg".as_ref()));
        assert_eq!(
            p.data.as_deref(),
            Some("/h/.local/share/packreg/store".as_ref())
        );
        assert_eq!(
            p.docker_config.as_deref(),
            Some("/h/.docker/config.json".as_ref())
        );
        assert_eq!(
            p.cert_dirs,
            [
                PathBuf::from("/etc/docker/certs.d"),
                PathBuf::from("/h/.docker/certs.d")
            ]
        );
    }

    #[test]
    fn variables_over_home_and_a_flag_over_both() {
        let f = ConfigFile::default();
        let vars = [
            ("HOME", "/h"),
            ("XDG_CONFIG_HOME", "/c"),
            ("XDG_CACHE_HOME", "/k"),
            ("XDG_DATA_HOME", "/d"),
            ("DOCKER_CONFIG", "/dc"),
        ];
        let r = Resolver::with_vars(&f, &vars);
        let p = r.paths(None);
        assert_eq!(
            p.config_file.as_deref(),
            Some("/c/packreg/config.toml".as_ref())
        );
        assert_eq!(p.cache.as_deref(), Some("/k/packreg".as_ref()));
        assert_eq!(p.data.as_deref(), Some("/d/packreg/store".as_ref()));
        assert_eq!(p.docker_config.as_deref(), Some("/dc/config.json".as_ref()));
        assert_eq!(r.cache_dir().source, Source::Env("XDG_CACHE_HOME"));
        let flagged = r.docker_config(Some("/x.json".as_ref()));
        assert_eq!(flagged.source, Source::Flag);
    }

    #[test]
    fn nothing_set_means_no_folders_and_a_relative_data_home_is_ignored() {
        let f = ConfigFile::default();
        let p = Resolver::with_vars(&f, &[("HOME", ""), ("XDG_DATA_HOME", "rel")]).paths(None);
        assert_eq!(p.config_file, None);
        assert_eq!(p.cache, None);
        assert_eq!(p.data, None);
        assert_eq!(p.docker_config, None);
        let p = Resolver::with_vars(&f, &[("HOME", "/h"), ("XDG_DATA_HOME", "rel")]).paths(None);
        assert_eq!(
            p.data.as_deref(),
            Some("/h/.local/share/packreg/store".as_ref())
        );
    }
}
