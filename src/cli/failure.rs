//! A command's failure: the sentence, the exit code and the stable class `--json` reports.

/// The stable class of a failure, the `kind` of a `--json` error object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// What was asked for does not exist.
    NotFound,
    /// The registry wants credentials, or refused the ones given.
    Unauthorized,
    /// The credentials lack permission, or the registry refuses the request.
    Denied,
    /// The registry could not be reached, or the connection broke.
    Network,
    /// The TLS handshake failed.
    Tls,
    /// The registry sent or accepted nothing for the idle timeout.
    Timeout,
    /// An argument, file or setting given is unusable.
    InvalidInput,
    /// Something is already there with other content.
    Conflict,
    /// A size or rate limit was reached.
    Limit,
    /// No signature verifies against the trust given.
    Untrusted,
    /// Anything else.
    Internal,
}

/// A command's failure: one sentence, the exit code to leave with, and its class for `--json`.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong and what to do.
    pub message: String,
    /// Process exit code.
    pub code: u8,
    /// The class of the failure (`kind` of the JSON error object).
    pub kind: Kind,
}

impl Failure {
    /// A failure with exit code 1, of kind `internal`.
    pub fn new(message: impl Into<String>) -> Self {
        Failure::with_kind(message, Kind::Internal)
    }

    /// A failure with exit code 1 and the given kind.
    pub fn with_kind(message: impl Into<String>, kind: Kind) -> Self {
        Failure {
            message: message.into(),
            code: 1,
            kind,
        }
    }

    /// A usage error: exit code 2, kind `invalid_input`.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 2,
            kind: Kind::InvalidInput,
        }
    }
}

/// The failure of a command line clap refused, for the JSON error object (kind
/// `invalid_input`, code 2). It is refused before the `--json` flag is parsed, so `--json` is
/// looked for in the raw arguments (before any `--`): without it, and for `--help` and
/// `--version`, clap prints and exits as it does.
pub fn refused_command_line(error: clap::Error) -> Failure {
    use clap::error::ErrorKind;
    let informational = matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    );
    if informational || !json_in(std::env::args_os().skip(1)) {
        error.exit();
    }
    let message = match error.kind() {
        // Clap's text for it is the whole help.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "a subcommand is missing (see --help)".to_string()
        }
        _ => clap_sentence(&error),
    };
    Failure::usage(message)
}

/// Whether `--json` is among the arguments, before any `--`.
fn json_in(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    args.into_iter()
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// Clap's refusal as one sentence: its first paragraph without the `error: ` prefix (with the
/// missing arguments it lists), and its tip when it gives one; the usage and the help hint
/// left out.
fn clap_sentence(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let mut paragraphs = text.split("\n\n").map(|p| {
        p.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let first = paragraphs.next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(&first).to_string();
    match paragraphs.find_map(|p| p.strip_prefix("tip: ").map(str::to_string)) {
        Some(tip) => format!("{first} ({tip})"),
        None => first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_before_the_double_dash_only() {
        let args = |list: &[&str]| {
            list.iter()
                .map(std::ffi::OsString::from)
                .collect::<Vec<_>>()
        };
        assert!(json_in(args(&["ls", "--json", "--bogus"])));
        assert!(!json_in(args(&["ls", "--bogus"])));
        assert!(!json_in(args(&["diff", "--", "--json"])));
    }
}
