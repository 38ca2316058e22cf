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
