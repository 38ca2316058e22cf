//! `packreg config show`, and the settings file as the commands of this process read it.

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use std::path::PathBuf;

use packreg::config::{ConfigError, ConfigFile, ConnectionFlags, Resolver, Setting, Source};
use packreg::store::StoreOptions;
use serde::Serialize;

use super::{Cli, Failure, Output};

/// `packreg config ...`.
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Print the settings in force and where each comes from (flag, env, file, default).
    Show,
}

static LOADED: OnceLock<Arc<ConfigFile>> = OnceLock::new();

/// A bad setting is the user's to fix, like a bad flag: exit code 2.
fn failure(e: ConfigError) -> Failure {
    Failure {
        message: e.to_string(),
        code: 2,
        kind: super::failure::Kind::InvalidInput,
    }
}

/// The settings file, read (and the old hosts file moved into it) once per process; what it
/// has to say (ignored keys, the move) is printed then, once.
pub fn loaded(out: &Output) -> Result<Arc<ConfigFile>, Failure> {
    if let Some(file) = LOADED.get() {
        return Ok(file.clone());
    }
    let path = Resolver::new(&ConfigFile::default())
        .config_file_path()
        .value;
    let file = Arc::new(packreg::config::load(path.as_deref()).map_err(failure)?);
    for notice in &file.notices {
        out.status(format!("note: {notice}"));
    }
    Ok(LOADED.get_or_init(|| file).clone())
}

/// The settings file, with the variables of the global flags checked now, as clap checked
/// them when it read them itself: a bad `PACKREG_TIMEOUT` is a usage error of any command.
pub fn checked(cli: &Cli, out: &Output) -> Result<Arc<ConfigFile>, Failure> {
    let file = loaded(out)?;
    {
        let resolver = Resolver::new(&file);
        resolver.timeout(cli.timeout).map_err(failure)?;
        resolver.chunk_size(cli.chunk_size, None).map_err(failure)?;
        resolver.min_rate(cli.min_rate).map_err(failure)?;
        resolver.retry_budget(cli.retry_budget).map_err(failure)?;
    }
    Ok(file)
}

/// The connection flags the global flags give.
pub fn global_flags(cli: &Cli) -> ConnectionFlags {
    ConnectionFlags {
        plain_http: cli.plain_http,
        insecure: cli.insecure,
        ca_file: cli.ca_file.clone(),
        registry_config: cli.registry_config.clone(),
        timeout: cli.timeout,
        chunk_size: cli.chunk_size,
        min_rate: cli.min_rate,
        retry_budget: cli.retry_budget,
        refresh_capabilities: cli.refresh_capabilities,
    }
}

/// What opening stores takes with `flags`: the settings file, the environment and the flags,
/// resolved now.
pub fn store_options(
    cli: &Cli,
    flags: &ConnectionFlags,
    out: &Output,
) -> Result<StoreOptions, Failure> {
    let file = checked(cli, out)?;
    let options = Resolver::new(&file).store_options(flags).map_err(failure);
    options
}

/// What reaching the image registries a pack names takes: their own settings sections, never
/// the TLS flags of the command's own registries (see `Resolver::image_store_options`).
pub fn image_store_options(cli: &Cli, out: &Output) -> Result<StoreOptions, Failure> {
    let file = checked(cli, out)?;
    let options = Resolver::new(&file)
        .image_store_options(&global_flags(cli))
        .map_err(failure);
    options
}

/// The registry used: `-r`, else `PACKREG_REGISTRY`, else `registry` of the settings file;
/// None means the embedded store.
pub fn registry(flag: Option<&str>, out: &Output) -> Result<Option<String>, Failure> {
    let file = loaded(out)?;
    let registry = Resolver::new(&file).registry(flag).value;
    Ok(registry)
}

/// The settings file (None: neither XDG_CONFIG_HOME nor HOME is set).
pub fn file_path() -> Option<std::path::PathBuf> {
    Resolver::new(&ConfigFile::default())
        .config_file_path()
        .value
}

/// docker's config.json: `--registry-config`, else from DOCKER_CONFIG or HOME.
pub fn docker_config(cli: &Cli) -> Option<std::path::PathBuf> {
    Resolver::new(&ConfigFile::default())
        .docker_config(cli.registry_config.as_deref())
        .value
}

/// Sets the unpacking limits of this process from the environment (unusable values are
/// warned of when the limits are first used).
pub fn set_limits() {
    let limits = Resolver::new(&ConfigFile::default()).unpack_limits();
    packreg::limits::UnpackLimits::set_in_force(limits.limits, limits.warnings);
}

/// The number of blobs moved at once: `--concurrency`, else `PACKREG_CONCURRENCY`, else the
/// settings file, else 4.
pub fn concurrency(flag: Option<u16>, out: &Output) -> Result<usize, Failure> {
    let file = loaded(out)?;
    let setting = Resolver::new(&file).concurrency(flag).map_err(failure)?;
    Ok(setting.value.into())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown {
    file: Option<PathBuf>,
    exists: bool,
    registry: Setting<Option<String>>,
    timeout: Setting<u64>,
    concurrency: Setting<u16>,
    chunk_size: Setting<u64>,
    /// KiB a second.
    min_rate: Setting<u64>,
    /// Seconds.
    retry_budget: Setting<u64>,
    /// The connection of the registry in force (its section merged).
    scheme: Setting<String>,
    insecure: Setting<bool>,
    ca_file: Setting<Option<PathBuf>>,
    registry_config: Setting<Option<PathBuf>>,
    refresh_capabilities: Setting<bool>,
    page_size: Setting<usize>,
    format: Setting<String>,
    cache_dir: Setting<Option<PathBuf>>,
    data_dir: Setting<Option<PathBuf>>,
    /// The unpacking limits, by variable.
    limits: std::collections::BTreeMap<&'static str, Setting<u64>>,
    registries: std::collections::BTreeMap<String, packreg::config::RegistrySection>,
}

fn shown(cli: &Cli, file: &ConfigFile, resolver: &Resolver) -> Result<Shown, Failure> {
    let registry = resolver.registry(cli.registry.as_deref());
    // The connection of the registry in force, which its own section may set.
    let host = registry
        .value
        .as_deref()
        .filter(|r| !r.starts_with("oci:"))
        .and_then(|r| packreg::name::split_registry(r).ok())
        .map(|(host, _)| host);
    let flags = global_flags(cli);
    let tls = resolver.tls(&flags, host.as_deref());
    let scheme = Setting {
        value: match tls.scheme.value {
            Some(scheme) => scheme.as_str().to_string(),
            None => "https (http when a loopback host answers it)".into(),
        },
        source: tls.scheme.source,
    };
    let flag = |set: bool| Setting {
        value: set,
        source: if set { Source::Flag } else { Source::Default },
    };
    Ok(Shown {
        file: file.path.clone(),
        exists: file.exists,
        registry,
        timeout: resolver.timeout(cli.timeout).map_err(failure)?,
        concurrency: resolver.concurrency(None).map_err(failure)?,
        chunk_size: resolver
            .chunk_size(cli.chunk_size, host.as_deref())
            .map_err(failure)?,
        min_rate: resolver.min_rate(cli.min_rate).map_err(failure)?,
        retry_budget: resolver.retry_budget(cli.retry_budget).map_err(failure)?,
        scheme,
        insecure: tls.insecure,
        ca_file: tls.ca_file,
        registry_config: resolver.docker_config(cli.registry_config.as_deref()),
        refresh_capabilities: flag(cli.refresh_capabilities),
        page_size: resolver.page_size(),
        format: resolver.format(),
        cache_dir: resolver.cache_dir(),
        data_dir: resolver.data_dir(),
        limits: resolver.unpack_limits().settings.into_iter().collect(),
        registries: file.registries.clone(),
    })
}

fn path_text(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => p.display().to_string(),
        None => "none".into(),
    }
}

pub fn run(cmd: &ConfigCommand, cli: &Cli, out: &Output) -> Result<ExitCode, Failure> {
    let ConfigCommand::Show = cmd;
    let file = loaded(out)?;
    let resolver = Resolver::new(&file);
    let shown = shown(cli, &file, &resolver)?;
    if out.json {
        out.print_json(&shown);
        return Ok(ExitCode::SUCCESS);
    }
    let where_ = match (&shown.file, shown.exists) {
        (Some(p), true) => p.display().to_string(),
        (Some(p), false) => format!("{} (not written yet)", p.display()),
        (None, _) => "none (neither XDG_CONFIG_HOME nor HOME is set)".into(),
    };
    out.data(format!("settings file: {where_}"));
    let registry = match &shown.registry.value {
        Some(r) => r.clone(),
        None => match &shown.data_dir.value {
            Some(p) => format!("oci:{} (the embedded store)", p.display()),
            None => "the embedded store".into(),
        },
    };
    let mut rows = vec![
        ("registry", registry, &shown.registry.source),
        (
            "timeout",
            format!("{} s", shown.timeout.value),
            &shown.timeout.source,
        ),
        (
            "concurrency",
            shown.concurrency.value.to_string(),
            &shown.concurrency.source,
        ),
        (
            "chunk_size",
            chunk_text(shown.chunk_size.value),
            &shown.chunk_size.source,
        ),
        (
            "min_rate",
            match shown.min_rate.value {
                0 => "0 (no minimum)".into(),
                kib => format!("{kib} KiB/s"),
            },
            &shown.min_rate.source,
        ),
        (
            "retry_budget",
            format!("{} s", shown.retry_budget.value),
            &shown.retry_budget.source,
        ),
        ("scheme", shown.scheme.value.clone(), &shown.scheme.source),
        (
            "insecure",
            shown.insecure.value.to_string(),
            &shown.insecure.source,
        ),
        (
            "ca_file",
            path_text(&shown.ca_file.value),
            &shown.ca_file.source,
        ),
        (
            "registry_config",
            path_text(&shown.registry_config.value),
            &shown.registry_config.source,
        ),
        (
            "refresh_capabilities",
            shown.refresh_capabilities.value.to_string(),
            &shown.refresh_capabilities.source,
        ),
        (
            "page_size",
            shown.page_size.value.to_string(),
            &shown.page_size.source,
        ),
        ("format", shown.format.value.clone(), &shown.format.source),
        (
            "cache_dir",
            path_text(&shown.cache_dir.value),
            &shown.cache_dir.source,
        ),
        (
            "data_dir",
            path_text(&shown.data_dir.value),
            &shown.data_dir.source,
        ),
    ];
    for (var, setting) in &shown.limits {
        let key = var.trim_start_matches("PACKREG_");
        rows.push((key, setting.value.to_string(), &setting.source));
    }
    for (key, value, source) in rows {
        let key = key.to_ascii_lowercase();
        out.data(format!("{key:<12} {value:<40} {source}"));
    }
    for (host, section) in &shown.registries {
        out.data(format!("[registries.\"{host}\"]"));
        if let Some(v) = section.plain_http {
            out.data(format!("  plain_http = {v}"));
        }
        if let Some(v) = section.insecure {
            out.data(format!("  insecure = {v}"));
        }
        if let Some(v) = &section.ca_file {
            out.data(format!("  ca_file = {}", v.display()));
        }
        if let Some(v) = section.chunk_size {
            out.data(format!("  chunk_size = {}", chunk_text(v)));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn chunk_text(mib: u64) -> String {
    if mib == 0 {
        "0 (no chunked uploads)".into()
    } else {
        format!("{mib} MiB")
    }
}
