//! How commands print: plain text for people, JSON with `--json`, nothing extra with `--quiet`.

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

/// A command's failure: one sentence, and the exit code to leave with.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong and what to do.
    pub message: String,
    /// Process exit code.
    pub code: u8,
}

impl Failure {
    /// A failure with exit code 1.
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 1,
        }
    }
}

impl From<packreg::ops::OpError> for Failure {
    fn from(err: packreg::ops::OpError) -> Self {
        Failure::new(err.to_string())
    }
}

impl From<packreg::reference::BadReference> for Failure {
    fn from(err: packreg::reference::BadReference) -> Self {
        Failure {
            message: err.to_string(),
            code: 2,
        }
    }
}

impl From<packreg::PackError> for Failure {
    fn from(err: packreg::PackError) -> Self {
        Failure::new(err.to_string())
    }
}

/// Output settings shared by every command.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// `--json` was given.
    pub json: bool,
    /// `--quiet` was given.
    pub quiet: bool,
}

impl Output {
    /// Settings from the global flags.
    pub fn new(json: bool, quiet: bool) -> Self {
        Output { json, quiet }
    }

    /// Prints a value as pretty JSON on stdout.
    pub fn print_json<T: Serialize>(&self, value: &T) {
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut stdout, value);
        let _ = writeln!(stdout);
    }

    /// Prints a line of data on stdout (always, even with `--quiet`).
    pub fn data(&self, line: impl std::fmt::Display) {
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }

    /// Prints a status line on stderr unless `--quiet` or `--json`.
    pub fn status(&self, line: impl std::fmt::Display) {
        if !self.quiet && !self.json {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }

    /// Prints warnings on stderr unless `--json` (where they are part of the data).
    pub fn warnings(&self, warnings: &[String]) {
        if self.json {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        for warning in warnings {
            let _ = writeln!(stderr, "warning: {warning}");
        }
    }

    /// Reports a failure on stderr (as JSON with `--json`) and returns its exit code.
    pub fn fail(&self, failure: &Failure) -> ExitCode {
        let mut stderr = std::io::stderr().lock();
        if self.json {
            let obj = serde_json::json!({ "error": failure.message, "code": failure.code });
            let _ = writeln!(stderr, "{obj}");
        } else {
            let _ = writeln!(stderr, "error: {}", failure.message);
        }
        ExitCode::from(failure.code)
    }
}
