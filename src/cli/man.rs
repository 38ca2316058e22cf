//! `packreg man [-o DIR]`: a man page per command (`packreg.1`, `packreg-push.1`,
//! `packreg-tag-add.1`, ...).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;

use super::{Cli, Failure, Output};

/// Arguments of `man`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder to write the pages into (created if needed).
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
}

pub fn run(args: &Args, out: &Output) -> Result<ExitCode, Failure> {
    let dir = &args.output;
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::new(format!("{}: cannot create the folder: {e}", dir.display())))?;
    // Building the command names each subcommand `packreg-<name>`, the pages' names.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_pages(cmd, dir, &mut written)?;
    if out.json {
        out.print_json(&written);
    } else {
        for path in &written {
            out.status(path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_pages(cmd: clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<(), Failure> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir, written)?;
    }
    let page = clap_mangen::Man::new(cmd);
    let path = page
        .generate_to(dir)
        .map_err(|e| Failure::new(format!("{}: cannot write a man page: {e}", dir.display())))?;
    written.push(path);
    Ok(())
}
