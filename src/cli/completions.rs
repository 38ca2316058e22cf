//! `packreg completions <SHELL>`: a completion script for the shell, on stdout.

use std::process::ExitCode;

use clap::CommandFactory;

use super::{Cli, Failure};

/// Arguments of `completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(args: &Args) -> Result<ExitCode, Failure> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "packreg", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
