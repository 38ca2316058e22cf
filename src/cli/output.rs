//! How commands print: plain text for people, JSON with `--json`, nothing extra with `--quiet`.

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

pub use super::failure::Failure;

/// Whether `c` can drive a terminal: C0 and C1 controls, DEL, and the bidirectional
/// overrides and isolates that reorder what is shown.
fn is_hazard(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character that could drive the terminal escaped (`\u{1b}`, `\r`), so
/// text from a registry (annotations, display names, layer titles, error messages) cannot move
/// the cursor, retitle or clear the window, or hide what follows. `keep_newlines` leaves `\n`
/// for output that is several lines on purpose.
pub fn escape_controls(text: &str, keep_newlines: bool) -> std::borrow::Cow<'_, str> {
    let hazard = |c: char| is_hazard(c) && !(keep_newlines && c == '\n');
    if !text.chars().any(hazard) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !hazard(c) => out.push(c),
            '\n' | '\r' | '\t' => out.extend(c.escape_default()),
            c => out.extend(c.escape_unicode()),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// JSON text with the hazards serde_json leaves raw (DEL, C1 controls, bidirectional
/// overrides; it escapes C0 itself) written as `\uXXXX` escapes: the same JSON value, safe on a
/// terminal. They can only occur inside strings, where such escapes are valid.
fn escape_json(text: &str) -> std::borrow::Cow<'_, str> {
    // C0 inside strings is escaped by serde_json already; raw, it is the layout's whitespace.
    let hazard = |c: char| is_hazard(c) && c >= ' ';
    if !text.chars().any(hazard) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hazard(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
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
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        let _ = writeln!(std::io::stdout().lock(), "{}", escape_json(&text));
    }

    /// Prints a line of data on stdout (always, even with `--quiet`).
    pub fn data(&self, line: impl std::fmt::Display) {
        let line = line.to_string();
        let _ = writeln!(std::io::stdout().lock(), "{}", escape_controls(&line, true));
    }

    /// Prints a status line on stderr unless `--quiet` or `--json`.
    pub fn status(&self, line: impl std::fmt::Display) {
        if !self.quiet && !self.json {
            let line = line.to_string();
            let _ = writeln!(std::io::stderr().lock(), "{}", escape_controls(&line, true));
        }
    }

    /// Prints warnings on stderr unless `--json` (where they are part of the data).
    pub fn warnings<W: std::fmt::Display>(&self, warnings: &[W]) {
        if self.json {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        for warning in warnings {
            let warning = warning.to_string();
            let _ = writeln!(stderr, "warning: {}", escape_controls(&warning, false));
        }
    }

    /// Reports a failure on stderr (as JSON with `--json`) and returns its exit code.
    pub fn fail(&self, failure: &Failure) -> ExitCode {
        let mut stderr = std::io::stderr().lock();
        if self.json {
            let obj = serde_json::json!({
                "kind": failure.kind,
                "message": failure.message,
                "code": failure.code,
            });
            let _ = writeln!(stderr, "{}", escape_json(&obj.to_string()));
        } else {
            let _ = writeln!(stderr, "error: {}", escape_controls(&failure.message, true));
        }
        ExitCode::from(failure.code)
    }
}
