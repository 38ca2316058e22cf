//! `packreg validate <PACK_DIR>`.

use std::path::PathBuf;
use std::process::ExitCode;

use packreg::pack::{validate, Severity};

use super::{Failure, Output};

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The pack folder to check.
    pub pack_dir: PathBuf,
}

pub fn run(args: &Args, out: &Output) -> Result<ExitCode, Failure> {
    let report = validate(&args.pack_dir);
    if out.json {
        out.print_json(&report);
    } else {
        for finding in &report.findings {
            if finding.severity == Severity::Error || !out.quiet {
                out.data(finding);
            }
        }
        let errors = report.errors().count();
        let warnings = report.warnings().count();
        let dir = args.pack_dir.display();
        if report.valid {
            out.status(format!("{dir}: valid ({warnings} warning(s))"));
        } else {
            out.status(format!(
                "{dir}: invalid: {errors} error(s), {warnings} warning(s)"
            ));
        }
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
