//! One registry's connection settings, resolved into the plain values the stores take: the
//! flags first, then the environment, the registry's `[registries."host"]` section, the file's
//! top level and the defaults. `mirror` and `diff` resolve their two sides with two calls.

use std::path::PathBuf;
use std::time::Duration;

use super::error::ConfigError;
use super::file::RegistrySection;
use super::resolver::Resolver;
use super::setting::{Setting, Source};
use crate::name::Scheme;
use crate::store::{Connection, StoreOptions};

/// The connection flags of a command (or of one side of a copy).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionFlags {
    /// `--plain-http`.
    pub plain_http: bool,
    /// `--insecure`.
    pub insecure: bool,
    /// `--ca-file`.
    pub ca_file: Option<PathBuf>,
    /// `--registry-config`: docker's config.json.
    pub registry_config: Option<PathBuf>,
    /// `--timeout`, in seconds.
    pub timeout: Option<u64>,
    /// `--chunk-size`, in MiB.
    pub chunk_size: Option<u64>,
    /// `--min-rate`, in KiB a second.
    pub min_rate: Option<u64>,
    /// `--retry-budget`, in seconds.
    pub retry_budget: Option<u64>,
    /// `--refresh-capabilities`.
    pub refresh_capabilities: bool,
}

impl ConnectionFlags {
    /// Whether a TLS flag is given: then the flags replace a section's TLS settings entirely.
    pub fn has_tls_flags(&self) -> bool {
        self.plain_http || self.insecure || self.ca_file.is_some()
    }
}

/// The TLS settings of one host: the flags when any is given, else the host's section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsChoice {
    /// HTTP or HTTPS; None: HTTPS, but a loopback host is probed for plain HTTP.
    pub scheme: Setting<Option<Scheme>>,
    /// Skip certificate verification.
    pub insecure: Setting<bool>,
    /// An extra root certificate.
    pub ca_file: Setting<Option<PathBuf>>,
}

impl Resolver<'_> {
    fn section_source(&self, host: &str) -> Source {
        Source::Registry {
            path: self.file().path.clone().unwrap_or_default(),
            host: host.to_ascii_lowercase(),
        }
    }

    /// The TLS settings of `host` (None: a registry without a section).
    pub fn tls(&self, flags: &ConnectionFlags, host: Option<&str>) -> TlsChoice {
        if flags.has_tls_flags() {
            let flag = |set: bool| if set { Source::Flag } else { Source::Default };
            let scheme = if flags.plain_http {
                Scheme::Http
            } else {
                Scheme::Https
            };
            return TlsChoice {
                scheme: Setting {
                    value: Some(scheme),
                    source: Source::Flag,
                },
                insecure: Setting {
                    value: flags.insecure,
                    source: flag(flags.insecure),
                },
                ca_file: Setting {
                    value: flags.ca_file.clone(),
                    source: flag(flags.ca_file.is_some()),
                },
            };
        }
        let found = host.and_then(|h| Some((h, self.file().registry_section(h)?)));
        let section = found.map(|(_, s)| s.clone()).unwrap_or_default();
        let source = |set: bool| match found {
            Some((host, _)) if set => self.section_source(host),
            _ => Source::Default,
        };
        let RegistrySection {
            plain_http,
            insecure,
            ca_file,
            ..
        } = section;
        TlsChoice {
            scheme: Setting {
                value: plain_http.map(|p| if p { Scheme::Http } else { Scheme::Https }),
                source: source(plain_http.is_some()),
            },
            insecure: Setting {
                value: insecure == Some(true),
                source: source(insecure.is_some()),
            },
            ca_file: Setting {
                source: source(ca_file.is_some()),
                value: ca_file,
            },
        }
    }

    /// The connection of `host` (None: a registry without a section of its own).
    pub fn connection(
        &self,
        flags: &ConnectionFlags,
        host: Option<&str>,
    ) -> Result<Connection, ConfigError> {
        let tls = self.tls(flags, host);
        let timeout = self.timeout(flags.timeout)?.value;
        let chunk_mib = self.chunk_size(flags.chunk_size, host)?.value;
        let min_rate_kib = self.min_rate(flags.min_rate)?.value;
        let retry_budget = self.retry_budget(flags.retry_budget)?.value;
        Ok(Connection {
            scheme: tls.scheme.value,
            insecure: tls.insecure.value,
            ca_file: tls.ca_file.value,
            idle_timeout: Duration::from_secs(timeout),
            min_rate: min_rate_kib.saturating_mul(1024),
            retry_budget: Duration::from_secs(retry_budget),
            chunk_size: chunk_mib.saturating_mul(1024 * 1024),
            page_size: self.page_size().value,
            credential_file: self.docker_config(flags.registry_config.as_deref()).value,
            refresh_capabilities: flags.refresh_capabilities,
        })
    }

    /// What opening stores takes with `flags`: the connection of any registry and of each
    /// registry with a section, and the folders.
    pub fn store_options(&self, flags: &ConnectionFlags) -> Result<StoreOptions, ConfigError> {
        let paths = self.paths(flags.registry_config.as_deref());
        let mut registries = std::collections::BTreeMap::new();
        for host in self.file().registries.keys() {
            registries.insert(host.clone(), self.connection(flags, Some(host))?);
        }
        Ok(StoreOptions {
            connection: self.connection(flags, None)?,
            registries,
            cache_dir: paths.cache,
            cert_dirs: paths.cert_dirs,
            default_store: paths.data,
        })
    }
}

impl Resolver<'_> {
    /// What reaching the image registries a pack names takes (`mirror --with-images`,
    /// `export --with-images`, `images --resolve`). Pack content chooses those registries, so
    /// the TLS flags given for the command's own registries (`plain_http`, `insecure`,
    /// `ca_file`, and the sides' ones) never apply to them: each gets its own
    /// `[registries."host"]` section, docker's `certs.d`, and else verified HTTPS (a loopback
    /// registry is probed for plain HTTP). The rest of `flags` (timeout, docker config, ...)
    /// applies.
    pub fn image_store_options(
        &self,
        flags: &ConnectionFlags,
    ) -> Result<StoreOptions, ConfigError> {
        self.store_options(&ConnectionFlags {
            plain_http: false,
            insecure: false,
            ca_file: None,
            ..flags.clone()
        })
    }
}

/// `flags` over the built-in settings alone (no variable, no file): no credentials unless
/// `--registry-config` is given, no cache folder, no embedded store. For library callers and
/// tests that set what they need themselves.
pub fn builtin_store_options(flags: &ConnectionFlags) -> StoreOptions {
    let file = super::file::ConfigFile::default();
    let resolver = Resolver::with_env(&file, |_| None);
    // Without variables or a file nothing can be invalid: every value is a flag or a default.
    resolver
        .store_options(flags)
        .unwrap_or_else(|_| unreachable!("the built-in settings are valid"))
}

#[cfg(test)]
mod tests {
    use super::super::file::ConfigFile;
    use super::*;
    use std::path::Path;

    const FILE: &str = r#"
timeout = 30
chunk_size = 32

[registries."lab:5000"]
plain_http = true
chunk_size = 0

[registries."tls.example"]
insecure = true
ca_file = "/etc/ca.pem"
"#;

    fn file() -> ConfigFile {
        ConfigFile::parse(Path::new("/cfg/config.toml"), FILE).unwrap()
    }

    #[test]
    fn each_section_is_merged_into_its_host_only() {
        let f = file();
        let vars = [("HOME", "/h"), ("PACKREG_PAGE_SIZE", "2")];
        let opts = Resolver::with_vars(&f, &vars)
            .store_options(&ConnectionFlags::default())
            .unwrap();
        let lab = opts.for_host("LAB:5000");
        assert_eq!(lab.scheme, Some(Scheme::Http));
        assert_eq!(lab.chunk_size, 0);
        assert_eq!(lab.idle_timeout, Duration::from_secs(30));
        assert_eq!(lab.page_size, 2);
        let tls = opts.for_host("tls.example");
        assert_eq!((tls.scheme, tls.insecure), (None, true));
        assert_eq!(tls.ca_file.as_deref(), Some(Path::new("/etc/ca.pem")));
        let other = opts.for_host("other.example");
        assert_eq!((other.scheme, other.insecure), (None, false));
        assert_eq!(other.chunk_size, 32 << 20);
        assert_eq!(
            other.credential_file.as_deref(),
            Some(Path::new("/h/.docker/config.json"))
        );
        assert_eq!(
            opts.cache_dir.as_deref(),
            Some(Path::new("/h/.cache/packreg"))
        );
    }

    #[test]
    fn tls_flags_replace_every_section_tls_setting() {
        let f = file();
        let flags = ConnectionFlags {
            insecure: true,
            chunk_size: Some(1),
            registry_config: Some("/d.json".into()),
            ..ConnectionFlags::default()
        };
        let opts = Resolver::with_vars(&f, &[]).store_options(&flags).unwrap();
        let lab = opts.for_host("lab:5000");
        assert_eq!((lab.scheme, lab.insecure), (Some(Scheme::Https), true));
        assert_eq!(lab.chunk_size, 1 << 20);
        assert_eq!(lab.credential_file.as_deref(), Some(Path::new("/d.json")));
        let tls = opts.for_host("tls.example");
        assert_eq!(tls.ca_file, None);
        assert_eq!(opts.cache_dir, None);
        assert_eq!(opts.default_store, None);
    }

    /// As docker keys credentials: `localhost:5000` and `127.0.0.1:5000` are two registries.
    #[test]
    fn a_section_is_keyed_by_host_and_port_as_typed() {
        let f = ConfigFile::parse(
            Path::new("/cfg/config.toml"),
            "[registries.\"localhost:5000\"]\nplain_http = true\n",
        )
        .unwrap();
        let opts = Resolver::with_vars(&f, &[])
            .store_options(&ConnectionFlags::default())
            .unwrap();
        assert_eq!(opts.for_host("LocalHost:5000").scheme, Some(Scheme::Http));
        for other in ["127.0.0.1:5000", "localhost", "localhost:5001"] {
            assert_eq!(opts.for_host(other).scheme, None, "{other}");
        }
    }

    #[test]
    fn image_registries_take_their_sections_never_the_tls_flags() {
        let f = file();
        let flags = ConnectionFlags {
            plain_http: true,
            insecure: true,
            ca_file: Some("/flag-ca.pem".into()),
            timeout: Some(7),
            ..ConnectionFlags::default()
        };
        let opts = Resolver::with_vars(&f, &[])
            .image_store_options(&flags)
            .unwrap();
        let other = opts.for_host("images.example");
        assert_eq!(
            (other.scheme, other.insecure, &other.ca_file),
            (None, false, &None)
        );
        assert_eq!(other.idle_timeout, Duration::from_secs(7));
        assert_eq!(opts.for_host("lab:5000").scheme, Some(Scheme::Http));
        let tls = opts.for_host("tls.example");
        assert_eq!((tls.scheme, tls.insecure), (None, true));
    }

    #[test]
    fn a_section_setting_names_its_section_as_source() {
        let f = file();
        let r = Resolver::with_vars(&f, &[]);
        let tls = r.tls(&ConnectionFlags::default(), Some("lab:5000"));
        assert_eq!(
            tls.scheme.source.to_string(),
            "file /cfg/config.toml [registries.\"lab:5000\"]"
        );
        assert_eq!(tls.insecure.source, Source::Default);
        let flagged = ConnectionFlags {
            plain_http: true,
            ..ConnectionFlags::default()
        };
        assert_eq!(
            r.tls(&flagged, Some("lab:5000")).scheme.source,
            Source::Flag
        );
    }
}
