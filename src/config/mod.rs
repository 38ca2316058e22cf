//! User settings: `$XDG_CONFIG_HOME/packreg/config.toml` (else `~/.config/packreg/config.toml`)
//! for what a user sets once, the environment over it, and flags over both.
//!
//! - [`file`]: reading the file (bounded, every key checked with its line) and writing its
//!   registry sections back with the user's comments and unknown keys kept;
//! - [`migrate`]: the one-time move of the old `hosts.json` that `login` used to write;
//! - [`defaults`]: every built-in default and every variable name;
//! - `paths`: the folders (settings, cache, data, docker's), from HOME and the XDG variables;
//! - `duration`: timeouts and the retry budget as durations (`30s`, `2m`, `1m30s`) or plain seconds;
//! - `connection`: one registry's connection settings, its `[registries."host"]` section merged,
//!   as the plain values the stores take;
//! - `limits`: the unpacking limits (the `PACKREG_MAX_*` variables);
//! - `resolver`: the precedence, per key: flag > environment > file > built-in default;
//! - `setting`: a value and its source, as `config show` prints them.
//!
//! The command line resolves everything here once, at the start of a command; the library
//! below it never reads the settings file or the environment.

mod connection;
pub mod defaults;
mod duration;
mod error;
pub mod file;
mod limits;
pub mod migrate;
mod paths;
mod resolver;
mod setting;

pub use connection::{builtin_store_options, ConnectionFlags, TlsChoice};
pub use defaults::*;
pub use duration::{
    budget_flag, parse_budget_secs, parse_timeout_secs, timeout_flag, BUDGET_EXPECTED,
    TIMEOUT_EXPECTED,
};
pub use error::ConfigError;
pub use file::{ConfigFile, RegistryKey, RegistrySection};
pub use limits::LimitSettings;
pub use paths::Paths;
pub use resolver::{process_env, EnvLookup, Resolver};
pub use setting::{Setting, Source};

/// Reads the settings file at `path`, first moving the old hosts file beside it into it once
/// (see [`migrate`]). None (neither HOME nor XDG_CONFIG_HOME is set): no file, all defaults.
pub fn load(path: Option<&std::path::Path>) -> Result<ConfigFile, ConfigError> {
    let Some(path) = path else {
        return Ok(ConfigFile::default());
    };
    let migrated = migrate::migrate_hosts_file(path)?;
    let mut file = ConfigFile::read(path)?;
    file.notices.splice(0..0, migrated);
    Ok(file)
}
