//! Every built-in default and every environment variable packreg reads, in one place (the
//! unpacking limits' variables are [`crate::limits`]'s, beside the bounds they raise).

/// The registry used when `-r` is not given.
pub const REGISTRY_ENV: &str = "PACKREG_REGISTRY";
/// The idle timeout, in seconds.
pub const TIMEOUT_ENV: &str = "PACKREG_TIMEOUT";
/// The number of blobs moved at once.
pub const CONCURRENCY_ENV: &str = "PACKREG_CONCURRENCY";
/// The chunk size, in MiB.
pub const CHUNK_SIZE_ENV: &str = "PACKREG_CHUNK_SIZE";
/// Entries asked per listing page.
pub const PAGE_SIZE_ENV: &str = "PACKREG_PAGE_SIZE";
/// The minimum transfer rate, in KiB a second.
pub const MIN_RATE_ENV: &str = "PACKREG_MIN_RATE";
/// The time a command's retries may wait in all, per registry, in seconds.
pub const RETRY_BUDGET_ENV: &str = "PACKREG_RETRY_BUDGET";
/// The format `push` writes (read by the command line's `--format`).
pub const FORMAT_ENV: &str = "PACKREG_FORMAT";

/// The password of cosign's encrypted key file (`sign --key`), as cosign reads it.
pub const COSIGN_PASSWORD_ENV: &str = "COSIGN_PASSWORD";

/// The user's home folder.
pub const HOME_ENV: &str = "HOME";
/// The base of the settings folder.
pub const XDG_CONFIG_HOME_ENV: &str = "XDG_CONFIG_HOME";
/// The base of the cache folder.
pub const XDG_CACHE_HOME_ENV: &str = "XDG_CACHE_HOME";
/// The base of the data folder (the embedded store).
pub const XDG_DATA_HOME_ENV: &str = "XDG_DATA_HOME";
/// docker's folder, holding `config.json` with the credentials.
pub const DOCKER_CONFIG_ENV: &str = "DOCKER_CONFIG";

/// Built-in idle timeout, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;
/// Built-in minimum transfer rate, in KiB a second: far below any working link, far above a
/// registry sending a byte just inside the idle timeout.
pub const DEFAULT_MIN_RATE_KIB: u64 = 1;
/// Built-in retry budget, in seconds.
pub const DEFAULT_RETRY_BUDGET_SECS: u64 = 300;
/// Built-in number of blobs moved at once.
pub const DEFAULT_CONCURRENCY: u16 = 4;
/// The highest concurrency accepted (the flags' limit too).
pub const MAX_CONCURRENCY: u16 = 64;
/// Built-in chunk size, in MiB: blobs at least this large go up in chunks of this size.
pub const DEFAULT_CHUNK_SIZE_MIB: u64 = 16;
/// Built-in listing page size (registries cap it: distribution refuses more than 1000).
pub const DEFAULT_PAGE_SIZE: usize = 1000;
/// The built-in `push` format.
pub const DEFAULT_FORMAT: &str = "native";
