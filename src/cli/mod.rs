//! Command-line parsing and dispatch.

mod advice;
mod build;
mod catalog;
#[cfg(test)]
mod command_pages;
mod completions;
mod config;
mod diff;
mod doctor;
mod failure;
mod images;
mod index;
mod inspect;
mod interrupted;
mod login;
mod ls;
mod man;
mod mirror;
mod output;
mod pack_ref;
mod progress;
mod pull;
mod push;
mod rm;
mod sign;
mod tag;
mod trust;
mod validate;
mod verify;
mod version_filter;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use output::{Failure, Output};

/// The heading of the options every command takes, in `--help` and the man pages.
pub const GLOBAL_OPTIONS: &str = "Global options";

/// Store Palette packs in OCI registries and local OCI image layouts.
#[derive(Debug, Parser)]
#[command(name = "packreg", version = env!("PACKREG_VERSION"), about, long_about = None)]
// Every command takes these: `--help` shows them apart from the command's own options.
#[command(next_help_heading = GLOBAL_OPTIONS)]
pub struct Cli {
    /// Print data as JSON (and errors as a JSON object on stderr).
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing but errors and requested data.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG also works.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Registry: `oci:PATH` for a local store, else a registry host[:port][/base/path].
    /// Default: $PACKREG_REGISTRY, else `registry` in config.toml, else the local store in the
    /// user's data folder.
    #[arg(short, long, global = true, value_name = "REGISTRY")]
    pub registry: Option<String>,
    /// Talk plain HTTP to the registry (not to the image registries a pack names, which take
    /// their own settings).
    #[arg(long, global = true)]
    pub plain_http: bool,
    /// Do not verify the registry's TLS certificate (not the image registries a pack names).
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Trust this CA certificate (PEM) for the registry.
    #[arg(long, global = true, value_name = "PEM")]
    pub ca_file: Option<std::path::PathBuf>,
    /// Read registry credentials from this docker config.json.
    #[arg(long, global = true, value_name = "FILE")]
    pub registry_config: Option<std::path::PathBuf>,
    /// Fail a registry request when nothing is received or accepted for this long: a duration
    /// such as 30s, 2m or 1m30s, or seconds (default: $PACKREG_TIMEOUT, else `timeout` in
    /// config.toml, else 60s).
    #[arg(long, global = true, value_name = "DURATION",
          value_parser = packreg::config::timeout_flag)]
    pub timeout: Option<u64>,
    /// Fail a registry request that averages fewer KiB a second than this once the timeout has
    /// passed (0: no minimum; default: $PACKREG_MIN_RATE, else `min_rate` in config.toml,
    /// else 1).
    #[arg(long, global = true, value_name = "KIB")]
    pub min_rate: Option<u64>,
    /// Let the retries of a command wait at most this long in all, per registry: a duration
    /// such as 5m or 90s, or seconds (0: no retries; default: $PACKREG_RETRY_BUDGET, else
    /// `retry_budget` in config.toml, else 5m).
    #[arg(long, global = true, value_name = "DURATION",
          value_parser = packreg::config::budget_flag)]
    pub retry_budget: Option<u64>,
    /// Upload blobs of at least this many MiB in resumable chunks of that size (0: never;
    /// default: $PACKREG_CHUNK_SIZE, else config.toml, else 16).
    #[arg(long, global = true, value_name = "MIB")]
    pub chunk_size: Option<u64>,
    /// Forget what earlier runs learned of the registry's behaviour (Referrers API, chunked
    /// uploads, catalog) and learn it again.
    #[arg(long, global = true)]
    pub refresh_capabilities: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a pack folder against the rules Palette and its pack catalogue apply.
    Validate(validate::Args),
    /// Generate a pack from a Helm chart (.tgz or chart folder).
    Build(build::Args),
    /// Validate a pack folder and push it to spectro-packs/archive/<name>:<version>.
    Push(push::Args),
    /// Pull a pack into a folder.
    Pull(pull::Args),
    /// List packs and their versions.
    Ls(ls::Args),
    /// Show a pack artifact: digest, format, layers and pack.json.
    Inspect(inspect::Args),
    /// Delete one pack version.
    Rm(rm::Args),
    /// Check credentials against a registry and store them in the docker config.
    Login(login::LoginArgs),
    /// Remove a registry's credentials from the docker config.
    Logout(login::LogoutArgs),
    /// Add or remove a label tag.
    #[command(subcommand)]
    Tag(tag::TagCommand),
    /// Copy packs between registries and local stores, digest-preserving and incremental.
    Mirror(mirror::MirrorArgs),
    /// Show what a registry supports and what packreg does about it.
    Doctor(doctor::Args),
    /// List the container images a pack declares; check they are in a registry.
    Images(images::Args),
    /// Write packs into one tar holding an OCI image layout tree, for air-gapped sites.
    Export(mirror::ExportArgs),
    /// Push the packs of a bundle written by `export` into a registry.
    Import(mirror::ImportArgs),
    /// Write a static catalogue site (cards, README, versions) of a store's or bundle's packs.
    Catalog(catalog::Args),
    /// Show what changed between two packs (exit 0 identical, 1 different, 2 error).
    Diff(diff::Args),
    /// Show the settings in force (config.toml, environment, flags).
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Check or rebuild the pack index, which lists packs where `_catalog` is refused.
    #[command(subcommand)]
    Index(index::IndexCommand),
    /// Sign a pack version (cosign, sigstore bundle or notation signature).
    Sign(sign::Args),
    /// Check a pack version's signatures against keys or a trust policy.
    Verify(verify::Args),
    /// Print a shell completion script.
    Completions(completions::Args),
    /// Write a man page per command.
    Man(man::Args),
}

impl Cli {
    /// The connection settings the global flags give, with the settings file (read once) and
    /// the environment.
    pub fn store_options(&self, out: &Output) -> Result<packreg::store::StoreOptions, Failure> {
        config::store_options(self, &config::global_flags(self), out)
    }
}

/// Parses the command line, runs the command and returns the process exit code
/// (0 success, 1 failure, 2 usage error).
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(refused) => {
            return Output::new(true, false).fail(&failure::refused_command_line(refused))
        }
    };
    init_logging(cli.verbose);
    config::set_limits();
    let out = Output::new(cli.json, cli.quiet);
    // The temporary folder, resolved here at the edge: staging folders go there, and what
    // killed runs left there is swept.
    let temp_root = std::env::temp_dir();
    packreg::staging::sweep_stale(&temp_root);
    packreg::staging::set_root(temp_root);
    let result = match &cli.command {
        Command::Validate(args) => validate::run(args, &out),
        Command::Build(args) => build::run(args, &out),
        Command::Push(args) => with_store(&cli, &out, |rt, store| {
            run_interruptible(rt, Box::pin(push::run(args, store, &out)))
        }),
        Command::Pull(args) => {
            pack_ref::with_pack_store(&cli, &out, &[&args.reference], |rt, store, _, packs| {
                run_interruptible(rt, Box::pin(pull::run(args, &packs[0], store, &out)))
            })
        }
        Command::Ls(args) => {
            let texts: Vec<&str> = args.name.iter().map(String::as_str).collect();
            pack_ref::with_pack_store(&cli, &out, &texts, |rt, store, _, packs| {
                run_interruptible(rt, Box::pin(ls::run(args, packs.first(), store, &out)))
            })
        }
        Command::Inspect(args) => {
            pack_ref::with_pack_store(&cli, &out, &[&args.reference], |rt, store, _, packs| {
                run_interruptible(rt, Box::pin(inspect::run(args, &packs[0], store, &out)))
            })
        }
        Command::Rm(args) => {
            pack_ref::with_pack_store(&cli, &out, &[&args.reference], |rt, store, _, packs| {
                run_interruptible(rt, Box::pin(rm::run(&packs[0], store, &out)))
            })
        }
        Command::Login(args) => login::login(args, &cli, &out),
        Command::Logout(args) => login::logout(args, &cli, &out),
        Command::Tag(cmd) => {
            pack_ref::with_pack_store(&cli, &out, &[cmd.reference()], |rt, store, _, packs| {
                run_interruptible(rt, Box::pin(tag::run(cmd, &packs[0], store, &out)))
            })
        }
        Command::Mirror(args) => mirror::run_mirror(args, &cli, &out),
        Command::Doctor(args) => doctor::run(args, &cli, &out),
        Command::Images(args) => {
            pack_ref::with_pack_store(&cli, &out, &[&args.reference], |rt, store, opts, packs| {
                let image_opts = config::image_store_options(&cli, &out)?;
                run_interruptible(
                    rt,
                    Box::pin(images::run(args, &packs[0], store, opts, &image_opts, &out)),
                )
            })
        }
        Command::Export(args) => {
            let texts: Vec<&str> = args.packs.iter().map(String::as_str).collect();
            pack_ref::with_pack_store(&cli, &out, &texts, |rt, store, _, packs| {
                run_interruptible(
                    rt,
                    Box::pin(mirror::run_export(args, &packs, &cli, &out, store)),
                )
            })
        }
        Command::Import(args) => with_store(&cli, &out, |rt, store| {
            run_interruptible(rt, Box::pin(mirror::run_import(args, &cli, &out, store)))
        }),
        Command::Catalog(args) => catalog::run(args, &cli, &out),
        Command::Diff(args) => diff::run(args, &cli, &out),
        Command::Config(cmd) => config::run(cmd, &cli, &out),
        Command::Index(cmd) => with_store(&cli, &out, |rt, store| {
            run_interruptible(rt, Box::pin(index::run(cmd, store, &out)))
        }),
        Command::Sign(args) => {
            pack_ref::with_pack_store(&cli, &out, &[&args.reference], |rt, store, _, packs| {
                run_interruptible(rt, Box::pin(sign::run(args, &packs[0], store, &out)))
            })
        }
        Command::Verify(args) => {
            pack_ref::with_pack_store(&cli, &out, &[&args.reference], |rt, store, _, packs| {
                run_interruptible(rt, Box::pin(verify::run(args, &packs[0], store, &out)))
            })
        }
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args, &out),
    };
    match result {
        Ok(code) => code,
        Err(failure) => out.fail(&failure),
    }
}

/// A command's future, borrowing the store it runs on.
type CommandFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<ExitCode, Failure>> + 'a>>;

/// A multi-threaded tokio runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))
}

/// Runs `command` to its end, or until Ctrl-C or SIGTERM: then the command is dropped, which
/// removes its staging folders, and the process leaves with code 130 (Ctrl-C) or 143
/// (SIGTERM, what `kill`, systemd and CI runners send), as shells report those signals.
pub fn run_interruptible<'a>(
    runtime: tokio::runtime::Runtime,
    command: CommandFuture<'a>,
) -> Result<ExitCode, Failure> {
    let mut result = runtime.block_on(async {
        // The handlers are in place before the command first runs, so a signal that arrives
        // as soon as it has created its staging folder is caught, not fatal.
        let stop = stop_signal();
        tokio::select! {
            result = command => result,
            failure = stop => Err(failure),
        }
    });
    // Blocking transfers still running get a moment to stop; then what an interrupted
    // operation staged is removed.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    if let Err(failure) = &mut result {
        if failure.code == 130 || failure.code == 143 {
            packreg::fsutil::remove_tracked_staging();
            failure.message.push_str(&interrupted::reused());
        }
    }
    result
}

/// Installs the SIGINT and SIGTERM handlers now (inside the runtime), and returns a future
/// that resolves, with the failure to report, when one of them arrives.
#[cfg(unix)]
fn stop_signal() -> impl std::future::Future<Output = Failure> {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    async fn arrival(signal: Option<Signal>) {
        match signal {
            Some(mut signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    let interrupt = arrival(signal(SignalKind::interrupt()).ok());
    let terminate = arrival(signal(SignalKind::terminate()).ok());
    async move {
        tokio::select! {
            _ = interrupt => stopped("interrupted", 130),
            _ = terminate => stopped("terminated (SIGTERM)", 143),
        }
    }
}

#[cfg(not(unix))]
fn stop_signal() -> impl std::future::Future<Output = Failure> {
    async {
        let _ = tokio::signal::ctrl_c().await;
        stopped("interrupted", 130)
    }
}

fn stopped(what: &str, code: u8) -> Failure {
    Failure {
        message: format!("{what}; nothing half-written was left in place"),
        code,
        kind: failure::Kind::Internal,
    }
}

/// Opens the store the global flags name and runs `command` with the runtime and the store.
fn with_store<F>(cli: &Cli, out: &Output, command: F) -> Result<ExitCode, Failure>
where
    F: FnOnce(tokio::runtime::Runtime, &dyn packreg::store::Store) -> Result<ExitCode, Failure>,
{
    with_store_and_options(cli, out, |rt, store, _| command(rt, store))
}

/// [`with_store`] for a command that also needs the connection settings (to reach other
/// registries).
fn with_store_and_options<F>(cli: &Cli, out: &Output, command: F) -> Result<ExitCode, Failure>
where
    F: FnOnce(
        tokio::runtime::Runtime,
        &dyn packreg::store::Store,
        &packreg::store::StoreOptions,
    ) -> Result<ExitCode, Failure>,
{
    let registry = config::registry(cli.registry.as_deref(), out)?;
    with_store_at(cli, out, registry, command)
}

/// [`with_store_and_options`] on the store `registry` names (None: the embedded store), which
/// a command's full pack reference may have chosen over `-r`.
fn with_store_at<F>(
    cli: &Cli,
    out: &Output,
    registry: Option<String>,
    command: F,
) -> Result<ExitCode, Failure>
where
    F: FnOnce(
        tokio::runtime::Runtime,
        &dyn packreg::store::Store,
        &packreg::store::StoreOptions,
    ) -> Result<ExitCode, Failure>,
{
    let opts = cli.store_options(out)?;
    let runtime = runtime()?;
    let store = runtime
        .block_on(packreg::store::open_store(registry.as_deref(), &opts))
        .map_err(Failure::from)?;
    command(runtime, store.as_ref(), &opts)
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = if verbose == 0 {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level))
    } else {
        EnvFilter::new(format!("packreg={level},{level}"))
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
