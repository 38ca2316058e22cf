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

#[cfg(test)]
mod tests {
    use super::*;

    fn script(shell: clap_complete::Shell) -> String {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "packreg", &mut out);
        String::from_utf8(out).unwrap()
    }

    /// An enumerated flag's values are completed (`push --format native|palette`).
    #[test]
    fn completions_offer_the_values_of_enumerated_flags() {
        assert!(script(clap_complete::Shell::Bash).contains("\"native palette\""));
        let fish = script(clap_complete::Shell::Fish);
        assert!(
            fish.contains("-l format") && fish.contains("native") && fish.contains("palette"),
            "{fish}"
        );
    }
}
