//! Command-line parsing and dispatch.

mod build;
mod output;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use output::{Failure, Output};

/// Store Palette packs in OCI registries and local OCI image layouts.
#[derive(Debug, Parser)]
#[command(name = "packreg", version, about, long_about = None)]
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a pack folder against the rules Palette and its pack catalogue apply.
    Validate(validate::Args),
    /// Generate a pack from a Helm chart (.tgz or chart folder).
    Build(build::Args),
}

/// Parses the command line, runs the command and returns the process exit code
/// (0 success, 1 failure, 2 usage error).
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let out = Output::new(cli.json, cli.quiet);
    let result = match &cli.command {
        Command::Validate(args) => validate::run(args, &out),
        Command::Build(args) => build::run(args, &out),
    };
    match result {
        Ok(code) => code,
        Err(failure) => out.fail(&failure),
    }
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
