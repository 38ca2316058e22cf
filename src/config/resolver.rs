//! The precedence, key by key: flag > environment > settings file > built-in default.

use std::ffi::OsString;

use super::defaults::*;
use super::error::ConfigError;
use super::file::ConfigFile;
use super::setting::{Setting, Source};

/// How the resolver reads an environment variable.
pub type EnvLookup<'a> = Box<dyn Fn(&str) -> Option<OsString> + 'a>;

/// The process environment: the one place packreg reads it (but for the proxy variables,
/// which the HTTP client's proxy matcher reads).
pub fn process_env(var: &str) -> Option<OsString> {
    std::env::var_os(var)
}

/// Resolves settings from flags, the environment and a settings file, key by key.
pub struct Resolver<'a> {
    file: &'a ConfigFile,
    pub(super) env: EnvLookup<'a>,
}

impl<'a> Resolver<'a> {
    /// A resolver reading the process environment.
    pub fn new(file: &'a ConfigFile) -> Resolver<'a> {
        Resolver {
            file,
            env: Box::new(process_env),
        }
    }

    /// A resolver whose environment is `vars` alone (for tests).
    #[cfg(test)]
    pub(crate) fn with_vars(file: &'a ConfigFile, vars: &'a [(&str, &str)]) -> Self {
        Self::with_env(file, move |k| {
            vars.iter()
                .find(|(var, _)| *var == k)
                .map(|(_, v)| v.to_string())
        })
    }

    /// A resolver reading the environment through `env` (tests give their own).
    pub fn with_env(file: &'a ConfigFile, env: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Resolver {
            file,
            env: Box::new(move |var| env(var).map(OsString::from)),
        }
    }

    /// The settings file resolved from.
    pub fn file(&self) -> &ConfigFile {
        self.file
    }

    /// An environment variable's value as text (unset, or not Unicode: None).
    pub(super) fn raw_var(&self, var: &str) -> Option<String> {
        (self.env)(var).and_then(|v| v.into_string().ok())
    }

    /// An environment variable's value, trimmed; empty counts as unset.
    fn var(&self, var: &'static str) -> Option<String> {
        self.raw_var(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// The number in `var`, unless a flag already decided (then the variable is not read,
    /// as clap does not read a flag's variable when the flag is given).
    fn unless<T: std::str::FromStr + PartialOrd>(
        &self,
        flagged: bool,
        var: &'static str,
        range: std::ops::RangeInclusive<T>,
        expected: &str,
    ) -> Result<Option<T>, ConfigError> {
        let Some(value) = self.var(var).filter(|_| !flagged) else {
            return Ok(None);
        };
        match value.parse::<T>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(ConfigError::Env {
                var,
                value,
                message: format!("expected {expected}"),
            }),
        }
    }

    pub(super) fn file_source(&self) -> Source {
        Source::File(self.file.path.clone().unwrap_or_default())
    }

    fn pick<T>(
        &self,
        flag: Option<T>,
        env: Option<(T, &'static str)>,
        file: Option<T>,
        default: T,
    ) -> Setting<T> {
        if let Some(value) = flag {
            return Setting {
                value,
                source: Source::Flag,
            };
        }
        if let Some((value, var)) = env {
            return Setting {
                value,
                source: Source::Env(var),
            };
        }
        match file {
            Some(value) => Setting {
                value,
                source: self.file_source(),
            },
            None => Setting {
                value: default,
                source: Source::Default,
            },
        }
    }

    /// The registry used without `-r`: None means the embedded local store.
    pub fn registry(&self, flag: Option<&str>) -> Setting<Option<String>> {
        let env = self.var(REGISTRY_ENV).map(|v| (Some(v), REGISTRY_ENV));
        let file = self.file.registry.clone().map(Some);
        self.pick(flag.map(|f| Some(f.to_string())), env, file, None)
    }

    /// The idle timeout of registry requests, in seconds.
    pub fn timeout(&self, flag: Option<u64>) -> Result<Setting<u64>, ConfigError> {
        let env =
            match self.var(TIMEOUT_ENV).filter(|_| flag.is_none()) {
                Some(value) => Some(super::duration::parse_timeout_secs(&value).map_err(|_| {
                    ConfigError::Env {
                        var: TIMEOUT_ENV,
                        value,
                        message: format!("expected {}", super::duration::TIMEOUT_EXPECTED),
                    }
                })?),
                None => None,
            };
        Ok(self.pick(
            flag,
            env.map(|v| (v, TIMEOUT_ENV)),
            self.file.timeout,
            DEFAULT_TIMEOUT_SECS,
        ))
    }

    /// The minimum transfer rate of registry requests, in KiB a second (0: none).
    pub fn min_rate(&self, flag: Option<u64>) -> Result<Setting<u64>, ConfigError> {
        let expected = "a number of KiB a second (0: no minimum)";
        let env = self.unless(flag.is_some(), MIN_RATE_ENV, 0..=u64::MAX, expected)?;
        Ok(self.pick(
            flag,
            env.map(|v| (v, MIN_RATE_ENV)),
            self.file.min_rate,
            DEFAULT_MIN_RATE_KIB,
        ))
    }

    /// The seconds a command's retries may wait in all, per registry (0: no retries).
    pub fn retry_budget(&self, flag: Option<u64>) -> Result<Setting<u64>, ConfigError> {
        let env =
            match self.var(RETRY_BUDGET_ENV).filter(|_| flag.is_none()) {
                Some(value) => Some(super::duration::parse_budget_secs(&value).map_err(|_| {
                    ConfigError::Env {
                        var: RETRY_BUDGET_ENV,
                        value,
                        message: format!("expected {}", super::duration::BUDGET_EXPECTED),
                    }
                })?),
                None => None,
            };
        Ok(self.pick(
            flag,
            env.map(|v| (v, RETRY_BUDGET_ENV)),
            self.file.retry_budget,
            DEFAULT_RETRY_BUDGET_SECS,
        ))
    }

    /// How many blobs move at once.
    pub fn concurrency(&self, flag: Option<u16>) -> Result<Setting<u16>, ConfigError> {
        let expected = format!("a number from 1 to {MAX_CONCURRENCY}");
        let env = self.unless(
            flag.is_some(),
            CONCURRENCY_ENV,
            1..=MAX_CONCURRENCY,
            &expected,
        )?;
        Ok(self.pick(
            flag,
            env.map(|v| (v, CONCURRENCY_ENV)),
            self.file.concurrency,
            DEFAULT_CONCURRENCY,
        ))
    }

    /// The upload chunk size in MiB (0: no chunking) for `host`: its registry section's
    /// `chunk_size` comes before the file's top-level one, after the flag and the environment.
    pub fn chunk_size(
        &self,
        flag: Option<u64>,
        host: Option<&str>,
    ) -> Result<Setting<u64>, ConfigError> {
        let expected = "a number of MiB (0: never)";
        let env = self.unless(flag.is_some(), CHUNK_SIZE_ENV, 0..=u64::MAX, expected)?;
        let section = host.and_then(|h| Some((h, self.file.registry_section(h)?.chunk_size?)));
        if let (None, None, Some((host, value))) = (flag, env, section) {
            return Ok(Setting {
                value,
                source: Source::Registry {
                    path: self.file.path.clone().unwrap_or_default(),
                    host: host.to_ascii_lowercase(),
                },
            });
        }
        Ok(self.pick(
            flag,
            env.map(|v| (v, CHUNK_SIZE_ENV)),
            self.file.chunk_size,
            DEFAULT_CHUNK_SIZE_MIB,
        ))
    }

    /// Entries asked per listing page. A value that is not a number above 0 is ignored, as it
    /// always was.
    pub fn page_size(&self) -> Setting<usize> {
        let env = self
            .raw_var(PAGE_SIZE_ENV)
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .map(|n| (n, PAGE_SIZE_ENV));
        self.pick(None, env, None, DEFAULT_PAGE_SIZE)
    }

    /// The format `push` writes by default (`--format` reads the variable itself).
    pub fn format(&self) -> Setting<String> {
        let env = self.raw_var(FORMAT_ENV).map(|v| (v, FORMAT_ENV));
        self.pick(None, env, None, DEFAULT_FORMAT.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::super::defaults::*;
    use super::*;
    use std::collections::HashMap;
    use std::path::Path;

    fn file(text: &str) -> ConfigFile {
        ConfigFile::parse(Path::new("/cfg/config.toml"), text).unwrap()
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    const FILE: &str = r#"
registry = "reg.example:5000/team"
timeout = 30
concurrency = 8
chunk_size = 32

[registries."127.0.0.1:5000"]
chunk_size = 0
"#;

    #[test]
    fn default_when_nothing_is_set() {
        let f = ConfigFile::default();
        let r = Resolver::with_env(&f, env(&[]));
        assert_eq!(r.timeout(None).unwrap().value, 60);
        assert_eq!(r.timeout(None).unwrap().source, Source::Default);
        assert_eq!(r.concurrency(None).unwrap().value, 4);
        assert_eq!(r.chunk_size(None, Some("h:1")).unwrap().value, 16);
        assert_eq!(r.registry(None).value, None);
    }

    #[test]
    fn file_over_default() {
        let f = file(FILE);
        let r = Resolver::with_env(&f, env(&[]));
        let file_src = Source::File("/cfg/config.toml".into());
        let t = r.timeout(None).unwrap();
        assert_eq!((t.value, t.source), (30, file_src.clone()));
        assert_eq!(r.concurrency(None).unwrap().value, 8);
        assert_eq!(
            r.registry(None).value.as_deref(),
            Some("reg.example:5000/team")
        );
        let c = r.chunk_size(None, Some("other:1")).unwrap();
        assert_eq!((c.value, c.source), (32, file_src));
    }

    #[test]
    fn registry_section_over_top_level_file_value() {
        let f = file(FILE);
        let r = Resolver::with_env(&f, env(&[]));
        let c = r.chunk_size(None, Some("127.0.0.1:5000")).unwrap();
        assert_eq!(c.value, 0);
        assert_eq!(
            c.source.to_string(),
            "file /cfg/config.toml [registries.\"127.0.0.1:5000\"]"
        );
    }

    #[test]
    fn env_over_file_and_section() {
        let f = file(FILE);
        let vars = [
            (TIMEOUT_ENV, "7"),
            (CONCURRENCY_ENV, "2"),
            (CHUNK_SIZE_ENV, "5"),
            (REGISTRY_ENV, "oci:/tmp/x"),
        ];
        let r = Resolver::with_env(&f, env(&vars));
        let t = r.timeout(None).unwrap();
        assert_eq!(
            (t.value, t.source.to_string()),
            (7, "env PACKREG_TIMEOUT".into())
        );
        assert_eq!(r.concurrency(None).unwrap().value, 2);
        assert_eq!(r.chunk_size(None, Some("127.0.0.1:5000")).unwrap().value, 5);
        assert_eq!(r.registry(None).value.as_deref(), Some("oci:/tmp/x"));
    }

    #[test]
    fn flag_over_env() {
        let f = file(FILE);
        let vars = [
            (TIMEOUT_ENV, "7"),
            (CHUNK_SIZE_ENV, "5"),
            (REGISTRY_ENV, "a"),
        ];
        let r = Resolver::with_env(&f, env(&vars));
        let t = r.timeout(Some(3)).unwrap();
        assert_eq!((t.value, t.source), (3, Source::Flag));
        assert_eq!(r.concurrency(Some(9)).unwrap().value, 9);
        let c = r.chunk_size(Some(1), Some("127.0.0.1:5000")).unwrap();
        assert_eq!((c.value, c.source), (1, Source::Flag));
        assert_eq!(r.registry(Some("b")).value.as_deref(), Some("b"));
    }

    #[test]
    fn the_minimum_rate_and_the_retry_budget_resolve_like_the_timeout() {
        let none = ConfigFile::default();
        let r = Resolver::with_env(&none, env(&[]));
        assert_eq!(r.min_rate(None).unwrap().value, DEFAULT_MIN_RATE_KIB);
        assert_eq!(
            r.retry_budget(None).unwrap().value,
            DEFAULT_RETRY_BUDGET_SECS
        );
        let f = file("min_rate = 8\nretry_budget = 30\n");
        let r = Resolver::with_env(&f, env(&[(RETRY_BUDGET_ENV, "10")]));
        let m = r.min_rate(None).unwrap();
        assert_eq!(
            (m.value, m.source),
            (8, Source::File("/cfg/config.toml".into()))
        );
        let b = r.retry_budget(None).unwrap();
        assert_eq!(
            (b.value, b.source.to_string()),
            (10, "env PACKREG_RETRY_BUDGET".into())
        );
        assert_eq!(r.retry_budget(Some(0)).unwrap().value, 0);
        let r = Resolver::with_env(&f, env(&[(MIN_RATE_ENV, "fast")]));
        assert!(r.min_rate(None).is_err());
    }

    #[test]
    fn empty_env_counts_as_unset_and_a_bad_one_is_named() {
        let f = file(FILE);
        let r = Resolver::with_env(&f, env(&[(TIMEOUT_ENV, "1m30s")]));
        assert_eq!(r.timeout(None).unwrap().value, 90);
        let r = Resolver::with_env(&f, env(&[(TIMEOUT_ENV, "0s")]));
        let err = r.timeout(None).unwrap_err().to_string();
        assert!(err.contains("PACKREG_TIMEOUT=\"0s\""), "{err}");
        let r = Resolver::with_env(&f, env(&[(TIMEOUT_ENV, " "), (CONCURRENCY_ENV, "0")]));
        assert_eq!(r.timeout(None).unwrap().value, 30);
        let err = r.concurrency(None).unwrap_err().to_string();
        assert!(err.contains("PACKREG_CONCURRENCY=\"0\""), "{err}");
        // A flag makes the variable irrelevant, as with clap's own env fallback.
        let r = Resolver::with_env(&f, env(&[(CHUNK_SIZE_ENV, "lots")]));
        assert!(r.chunk_size(None, None).is_err());
        assert_eq!(r.chunk_size(Some(2), None).unwrap().value, 2);
    }
}
