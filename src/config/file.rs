//! The settings file: read bounded, every key checked and reported with its line, and its
//! `[registries."host:port"]` sections written back through toml_edit, which keeps the user's
//! comments, layout and keys this version does not know.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Key, Table};

use super::defaults::MAX_CONCURRENCY;
use super::error::ConfigError;
use crate::limits::MAX_FILE_SIZE;

/// The settings of one registry host (`[registries."host:port"]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrySection {
    /// Talk plain HTTP (false: HTTPS, known, so a loopback host is not probed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plain_http: Option<bool>,
    /// Skip certificate verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// An extra root certificate (relative paths are taken from the file's folder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Upload chunk size in MiB for this host (0: never chunk).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_size: Option<u64>,
    /// Public keys (PEM files; relative paths from the file's folder) a pack taken from or
    /// into this registry must be signed with, when the command names none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verify_keys: Vec<PathBuf>,
    /// A Notary Project trust policy (relative paths from the file's folder) a pack taken from
    /// or into this registry must satisfy, when the command names no trust; with
    /// `trust_store`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_policy: Option<PathBuf>,
    /// The trust store folder of `trust_policy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_store: Option<PathBuf>,
}

/// A key of a registry section, for [`update_registry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryKey {
    /// `plain_http`.
    PlainHttp,
    /// `insecure`.
    Insecure,
    /// `ca_file`.
    CaFile,
    /// `chunk_size`.
    ChunkSize,
}

impl RegistryKey {
    /// The key as written in the file.
    pub fn name(self) -> &'static str {
        match self {
            RegistryKey::PlainHttp => "plain_http",
            RegistryKey::Insecure => "insecure",
            RegistryKey::CaFile => "ca_file",
            RegistryKey::ChunkSize => "chunk_size",
        }
    }
}

/// The settings file as read.
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    /// Where it is (None: neither XDG_CONFIG_HOME nor HOME is set, so there is none).
    pub path: Option<PathBuf>,
    /// Whether the file exists.
    pub exists: bool,
    /// `registry`: the default registry.
    pub registry: Option<String>,
    /// `timeout`: the idle timeout in seconds.
    pub timeout: Option<u64>,
    /// `concurrency`: blobs moved at once.
    pub concurrency: Option<u16>,
    /// `chunk_size`: upload chunk size in MiB (0: never).
    pub chunk_size: Option<u64>,
    /// `min_rate`: the minimum transfer rate in KiB a second (0: none).
    pub min_rate: Option<u64>,
    /// `retry_budget`: the seconds a command's retries may wait in all, per registry.
    pub retry_budget: Option<u64>,
    /// `[registries."host:port"]`, by lowercase host.
    pub registries: BTreeMap<String, RegistrySection>,
    /// What the user should hear once: ignored keys, a migration done.
    pub notices: Vec<String>,
}

fn io_error(path: &Path, message: impl std::fmt::Display) -> ConfigError {
    ConfigError::Io {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// The file's text, None when it does not exist; at most [`MAX_FILE_SIZE`] bytes of UTF-8.
pub(crate) fn read_text(path: &Path) -> Result<Option<String>, ConfigError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, format!("cannot read it: {e}"))),
    };
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, format!("cannot read it: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(io_error(
            path,
            format!("larger than {MAX_FILE_SIZE} bytes; this is not a packreg settings file"),
        ));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| io_error(path, "not UTF-8 text; a settings file is TOML"))
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Checks values against what each key takes, naming the file, line and key.
struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Checker<'_> {
    fn line(&self, key: Option<&Key>, item: &Item) -> usize {
        let span = key.and_then(Key::span).or_else(|| item.span());
        span.map(|s| line_of(self.text, s.start)).unwrap_or(1)
    }

    fn bad(&self, key: &str, line: usize, message: impl Into<String>) -> ConfigError {
        ConfigError::Value {
            path: self.path.to_path_buf(),
            line,
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn integer(
        &self,
        name: &str,
        line: usize,
        item: &Item,
        range: std::ops::RangeInclusive<i64>,
        what: &str,
    ) -> Result<i64, ConfigError> {
        match item.as_integer() {
            Some(n) if range.contains(&n) => Ok(n),
            Some(n) => Err(self.bad(name, line, format!("{n} is out of range; expected {what}"))),
            None => Err(self.bad(
                name,
                line,
                format!("expected {what}, found {}", item.type_name()),
            )),
        }
    }

    fn boolean(&self, name: &str, line: usize, item: &Item) -> Result<bool, ConfigError> {
        item.as_bool().ok_or_else(|| {
            let found = item.type_name();
            self.bad(name, line, format!("expected true or false, found {found}"))
        })
    }

    fn string(&self, name: &str, line: usize, item: &Item) -> Result<String, ConfigError> {
        match item.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Some(_) => Err(self.bad(name, line, "is empty")),
            None => Err(self.bad(
                name,
                line,
                format!("expected a quoted string, found {}", item.type_name()),
            )),
        }
    }
}

impl ConfigFile {
    /// Reads the file at `path`; a missing file is an empty one.
    pub fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
        match read_text(path)? {
            Some(text) => Self::parse(path, &text),
            None => Ok(ConfigFile {
                path: Some(path.to_path_buf()),
                ..ConfigFile::default()
            }),
        }
    }

    /// Parses `text`, the content of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
        let doc = toml_edit::Document::parse(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
            message: e.message().trim().replace('\n', " "),
        })?;
        let check = Checker { path, text };
        let root = doc.as_table();
        let mut file = ConfigFile {
            path: Some(path.to_path_buf()),
            exists: true,
            ..ConfigFile::default()
        };
        for (name, item) in root.iter() {
            let line = check.line(root.key(name), item);
            match name {
                "registry" => file.registry = Some(check.string(name, line, item)?),
                "timeout" => {
                    let what = super::duration::TIMEOUT_EXPECTED;
                    file.timeout = Some(match item.as_str() {
                        // A duration as the flag takes it ("2m"); else a number of seconds.
                        Some(text) => super::duration::parse_timeout_secs(text).map_err(|e| {
                            check.bad(name, line, format!("expected {what}, found {text:?} ({e})"))
                        })?,
                        None => check.integer(name, line, item, 1..=i64::MAX, what)? as u64,
                    })
                }
                "concurrency" => {
                    let max = i64::from(MAX_CONCURRENCY);
                    let what = format!("a number from 1 to {max}");
                    let n = check.integer(name, line, item, 1..=max, &what)?;
                    file.concurrency = Some(n as u16);
                }
                "chunk_size" => {
                    let what = "a number of MiB (0: never chunk)";
                    file.chunk_size = Some(check.integer(name, line, item, 0..=i64::MAX, what)? as u64)
                }
                "min_rate" => {
                    let what = "a number of KiB a second (0: no minimum)";
                    file.min_rate = Some(check.integer(name, line, item, 0..=i64::MAX, what)? as u64)
                }
                "retry_budget" => {
                    let what = super::duration::BUDGET_EXPECTED;
                    file.retry_budget = Some(match item.as_str() {
                        Some(text) => super::duration::parse_budget_secs(text).map_err(|e| {
                            check.bad(name, line, format!("expected {what}, found {text:?} ({e})"))
                        })?,
                        None => check.integer(name, line, item, 0..=i64::MAX, what)? as u64,
                    })
                }
                "registries" => file.registries = check.registries(item, line)?,
                // Kept for the decompression limits (the PACKREG_MAX_* variables), which
                // this version does not take from the file yet.
                "limits" => file.notices.push(format!(
                    "{}:{line}: [limits] is reserved for the decompression limits, which this version of packreg does not read from the file; ignored",
                    path.display()
                )),
                other => file.notices.push(format!(
                    "{}:{line}: unknown key {other:?}, ignored",
                    path.display()
                )),
            }
        }
        Ok(file)
    }

    /// The section of `host` (any case).
    pub fn registry_section(&self, host: &str) -> Option<&RegistrySection> {
        self.registries.get(&host.to_ascii_lowercase())
    }
}

impl Checker<'_> {
    fn registries(
        &self,
        item: &Item,
        line: usize,
    ) -> Result<BTreeMap<String, RegistrySection>, ConfigError> {
        let table = item.as_table_like().ok_or_else(|| {
            self.bad(
                "registries",
                line,
                "expected tables such as [registries.\"host:port\"]",
            )
        })?;
        let mut out = BTreeMap::new();
        for (host, section) in table.iter() {
            let line = self.line(table.key(host), section);
            let name = format!("registries.{host:?}");
            let normal = match crate::name::split_registry(host) {
                Ok((h, base)) if base.is_empty() => h,
                _ => return Err(self.bad(&name, line, "expected a registry host[:port]")),
            };
            let section = self.section(&name, section, line)?;
            if out.insert(normal, section).is_some() {
                return Err(self.bad(&name, line, "this host has another section already"));
            }
        }
        Ok(out)
    }

    fn section(
        &self,
        name: &str,
        item: &Item,
        line: usize,
    ) -> Result<RegistrySection, ConfigError> {
        let table = item
            .as_table_like()
            .ok_or_else(|| self.bad(name, line, "expected a table of settings"))?;
        let mut section = RegistrySection::default();
        for (key, value) in table.iter() {
            let line = self.line(table.key(key), value);
            let full = format!("{name}.{key}");
            match key {
                "plain_http" => section.plain_http = Some(self.boolean(&full, line, value)?),
                "insecure" => section.insecure = Some(self.boolean(&full, line, value)?),
                "ca_file" => {
                    let file = PathBuf::from(self.string(&full, line, value)?);
                    let dir = self.path.parent().unwrap_or(Path::new("."));
                    section.ca_file = Some(dir.join(file));
                }
                "chunk_size" => {
                    let what = "a number of MiB (0: never chunk)";
                    let n = self.integer(&full, line, value, 0..=i64::MAX, what)?;
                    section.chunk_size = Some(n as u64);
                }
                "verify_keys" => {
                    let dir = self.path.parent().unwrap_or(Path::new("."));
                    let keys = value
                        .as_array()
                        .ok_or_else(|| self.bad(&full, line, "expected a list of key files"))?;
                    for key in keys {
                        let file = key.as_str().filter(|k| !k.trim().is_empty()).ok_or_else(|| {
                            self.bad(&full, line, "expected quoted key file paths")
                        })?;
                        section.verify_keys.push(dir.join(file.trim()));
                    }
                }
                "trust_policy" | "trust_store" => {
                    let file = PathBuf::from(self.string(&full, line, value)?);
                    let path = Some(self.path.parent().unwrap_or(Path::new(".")).join(file));
                    match key {
                        "trust_policy" => section.trust_policy = path,
                        _ => section.trust_store = path,
                    }
                }
                _ => {
                    return Err(self.bad(
                        &full,
                        line,
                        "unknown key; a registry section takes plain_http, insecure, ca_file, chunk_size, verify_keys, trust_policy and trust_store",
                    ))
                }
            }
        }
        match (&section.trust_policy, &section.trust_store) {
            (Some(_), None) | (None, Some(_)) => {
                return Err(self.bad(
                    name,
                    line,
                    "trust_policy and trust_store go together: give both, or neither",
                ))
            }
            (Some(_), Some(_)) if !section.verify_keys.is_empty() => {
                return Err(self.bad(
                    name,
                    line,
                    "give either verify_keys or trust_policy with trust_store, not both",
                ))
            }
            _ => {}
        }
        Ok(section)
    }
}

/// Changes the section of `host` in the file at `path` under its lock: sets what `set` holds,
/// removes the keys in `remove`, keeps everything else. A file that does not parse is left
/// alone (the error says where it is wrong).
pub fn update_registry(
    path: &Path,
    host: &str,
    set: &RegistrySection,
    remove: &[RegistryKey],
) -> Result<(), ConfigError> {
    let _lock = crate::fsutil::lock_for_update(path)
        .map_err(|e| io_error(path, format!("cannot lock it for writing: {e}")))?;
    edit_locked(path, |doc| {
        set_section(doc, host, set, remove);
        true
    })
}

/// Reads, checks, changes (when `change` says it changed something) and atomically rewrites the
/// file; the caller holds its lock.
pub(crate) fn edit_locked(
    path: &Path,
    change: impl FnOnce(&mut DocumentMut) -> bool,
) -> Result<(), ConfigError> {
    let text = read_text(path)?.unwrap_or_default();
    ConfigFile::parse(path, &text)?;
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        io_error(path, format!("not valid TOML: {}", e.message()))
    })?;
    if change(&mut doc) {
        crate::fsutil::write_atomic(path, doc.to_string().as_bytes(), false)
            .map_err(|e| io_error(path, format!("cannot write it: {e}")))?;
    }
    Ok(())
}

/// Sets keys of the section of `host`, creating `[registries."host"]` as needed. An existing
/// section spelled in another case is the one changed.
pub(crate) fn set_section(
    doc: &mut DocumentMut,
    host: &str,
    set: &RegistrySection,
    remove: &[RegistryKey],
) {
    let root = doc.as_table_mut();
    if !root.get("registries").is_some_and(Item::is_table_like) {
        let mut table = Table::new();
        // No bare `[registries]` header: the sections stand alone.
        table.set_implicit(true);
        root.insert("registries", Item::Table(table));
    }
    let Some(registries) = root.get_mut("registries").and_then(Item::as_table_like_mut) else {
        return;
    };
    let existing = registries
        .iter()
        .map(|(k, _)| k.to_string())
        .find(|k| k.eq_ignore_ascii_case(host));
    let key = existing.unwrap_or_else(|| host.to_ascii_lowercase());
    let section = registries
        .entry(&key)
        .or_insert_with(|| Item::Table(Table::new()));
    let Some(section) = section.as_table_like_mut() else {
        return;
    };
    for key in remove {
        section.remove(key.name());
    }
    if let Some(v) = set.plain_http {
        section.insert("plain_http", toml_edit::value(v));
    }
    if let Some(v) = set.insecure {
        section.insert("insecure", toml_edit::value(v));
    }
    if let Some(v) = &set.ca_file {
        section.insert(
            "ca_file",
            toml_edit::value(v.to_string_lossy().into_owned()),
        );
    }
    if let Some(v) = set.chunk_size {
        section.insert(
            "chunk_size",
            toml_edit::value(i64::try_from(v).unwrap_or(i64::MAX)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
        ConfigFile::parse(Path::new("/c/config.toml"), text)
    }

    #[test]
    fn reads_every_key() {
        let f = parse(
            "registry = \"r.example\"\ntimeout = 5\nconcurrency = 2\nchunk_size = 0\n\
             [registries.\"Reg.Example:5000\"]\nplain_http = true\ninsecure = false\n\
             ca_file = \"ca.pem\"\nchunk_size = 8\n",
        )
        .unwrap();
        assert_eq!(f.registry.as_deref(), Some("r.example"));
        assert_eq!(
            (f.timeout, f.concurrency, f.chunk_size),
            (Some(5), Some(2), Some(0))
        );
        let s = f.registry_section("reg.example:5000").unwrap();
        assert_eq!(s.plain_http, Some(true));
        assert_eq!(s.ca_file.as_deref(), Some(Path::new("/c/ca.pem")));
        assert_eq!(s.chunk_size, Some(8));
        assert!(f.notices.is_empty());
    }

    #[test]
    fn a_timeout_is_seconds_or_a_duration() {
        assert_eq!(parse("timeout = 45\n").unwrap().timeout, Some(45));
        assert_eq!(parse("timeout = \"1m30s\"\n").unwrap().timeout, Some(90));
        let err = parse("timeout = \"0s\"\n").unwrap_err().to_string();
        assert!(err.contains("such as 30s, 2m"), "{err}");
    }

    #[test]
    fn bad_values_name_file_line_and_key() {
        let err = parse("# settings\n\ntimeout = \"soon\"\n").unwrap_err();
        assert!(matches!(err, ConfigError::Value { line: 3, .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with("/c/config.toml:3: timeout: expected"),
            "{text}"
        );

        let err = parse("concurrency = 0\n").unwrap_err().to_string();
        assert!(err.contains("out of range"), "{err}");
        let err = parse("[registries.\"h:1\"]\n\nplain_http = 1\n").unwrap_err();
        assert!(
            matches!(err, ConfigError::Value { line: 3, ref key, .. } if key == "registries.\"h:1\".plain_http"),
            "{err:?}"
        );
        let err = parse("[registries.\"not a host\"]\n").unwrap_err();
        assert!(matches!(err, ConfigError::Value { line: 1, .. }), "{err:?}");
        let err = parse("[registries.h]\ntimeout = 3\n").unwrap_err();
        assert!(err.to_string().contains("unknown key"), "{err}");
        let err = parse("timeout = 1\ntimeout = 2\n").unwrap_err();
        assert!(
            matches!(err, ConfigError::Syntax { line: 2, .. }),
            "{err:?}"
        );
        let err = parse("[registries.\"a:1\"]\n[registries.\"A:1\"]\n").unwrap_err();
        assert!(err.to_string().contains("another section"), "{err}");
    }

    #[test]
    fn unknown_keys_and_limits_are_notices_not_errors() {
        let f = parse("images_prefix = \"x\"\n[limits]\nmax = 1\n").unwrap();
        assert_eq!(f.notices.len(), 2, "{:?}", f.notices);
        assert!(f.notices[0].contains(":1: unknown key \"images_prefix\""));
        assert!(f.notices[1].contains("reserved for the decompression limits"));
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        for text in [
            "\u{0}",
            "a = [",
            "[[registries]]\n",
            "registries = 3",
            "x = \"\\u{110000}\"",
        ] {
            let _ = parse(text);
        }
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("config.toml");
        std::fs::write(&big, vec![b'#'; MAX_FILE_SIZE as usize + 1]).unwrap();
        let err = ConfigFile::read(&big).unwrap_err().to_string();
        assert!(err.contains("larger than"), "{err}");
        std::fs::write(&big, [0xff, 0xfe]).unwrap();
        assert!(ConfigFile::read(&big).is_err());
    }

    #[test]
    fn verify_keys_are_read_relative_to_the_file() {
        let f = ConfigFile::parse(
            Path::new("/c/config.toml"),
            "[registries.\"site.lan\"]\nverify_keys = [\"keys/ci.pub\", \"/abs/other.pub\"]\n",
        )
        .unwrap();
        let s = f.registry_section("site.lan").unwrap();
        assert_eq!(
            s.verify_keys,
            [
                PathBuf::from("/c/keys/ci.pub"),
                PathBuf::from("/abs/other.pub")
            ]
        );
        let bad = ConfigFile::parse(
            Path::new("/c/config.toml"),
            "[registries.\"site.lan\"]\nverify_keys = \"one.pub\"\n",
        );
        assert!(bad.is_err());
    }

    #[test]
    fn a_trust_policy_and_its_store_are_read_together_relative_to_the_file() {
        let f = ConfigFile::parse(
            Path::new("/c/config.toml"),
            "[registries.\"site.lan\"]\ntrust_policy = \"trust/policy.json\"\ntrust_store = \"/t/store\"\n",
        )
        .unwrap();
        let s = f.registry_section("site.lan").unwrap();
        assert_eq!(s.trust_policy, Some(PathBuf::from("/c/trust/policy.json")));
        assert_eq!(s.trust_store, Some(PathBuf::from("/t/store")));
        for bad in [
            "[registries.\"a\"]\ntrust_policy = \"p.json\"\n",
            "[registries.\"a\"]\ntrust_store = \"s\"\n",
            "[registries.\"a\"]\ntrust_policy = \"p\"\ntrust_store = \"s\"\nverify_keys = [\"k.pub\"]\n",
        ] {
            let err = ConfigFile::parse(Path::new("/c/config.toml"), bad).unwrap_err();
            assert!(err.to_string().contains("registries.\"a\""), "{err}");
        }
    }

    #[test]
    fn update_keeps_comments_and_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let original = "# my settings\ntimeout = 30 # slow link\nfuture_key = 1\n\n\
                        [registries.\"H:1\"] # the lab\nchunk_size = 0\n";
        std::fs::write(&path, original).unwrap();
        let set = RegistrySection {
            plain_http: Some(true),
            ..RegistrySection::default()
        };
        update_registry(&path, "h:1", &set, &[]).unwrap();
        update_registry(&path, "other:2", &set, &[RegistryKey::CaFile]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        for kept in [
            "# my settings",
            "# slow link",
            "future_key = 1",
            "# the lab",
        ] {
            assert!(text.contains(kept), "{kept} lost:\n{text}");
        }
        assert!(!text.contains("[registries]\n"), "{text}");
        let f = ConfigFile::read(&path).unwrap();
        let h = f.registry_section("h:1").unwrap();
        assert_eq!((h.plain_http, h.chunk_size), (Some(true), Some(0)));
        assert_eq!(
            f.registry_section("other:2").unwrap().plain_http,
            Some(true)
        );
        assert_eq!(f.registries.len(), 2);
    }

    #[test]
    fn update_refuses_to_rewrite_a_broken_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "timeout = \"x\"\n").unwrap();
        let err = update_registry(&path, "h:1", &RegistrySection::default(), &[]).unwrap_err();
        assert!(matches!(err, ConfigError::Value { .. }), "{err:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "timeout = \"x\"\n");
    }
}
