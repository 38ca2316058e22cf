//! Registry errors: the JSON error body parsed in one place, and the facts of a failure (host,
//! status, registry code, what the request was, why the connection failed) kept typed, so the
//! command line can say what to do.

use http::StatusCode;

use crate::store::{AuthFailure, StoreError};

/// What the registry answered to a request that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reference}: {}", self.sentence())]
pub struct RegistryError {
    /// The HTTP status.
    pub status: u16,
    /// The first error code of the body (`MANIFEST_UNKNOWN`, `DENIED`, ...), if any.
    pub code: Option<String>,
    /// The registry's message for it (control characters removed, at most 300 characters).
    pub message: String,
    /// The reference or registry the request was about.
    pub reference: String,
    /// The host the request went to.
    pub host: String,
    /// What the request was.
    pub action: Action,
}

/// What a request to a registry was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Opening a blob upload session.
    UploadStart,
    /// Sending or committing a blob upload.
    Upload,
    /// Sending one chunk of a blob upload.
    ChunkUpload,
    /// Asking a token service for a token.
    TokenRequest,
    /// Fetching a manifest.
    ManifestDownload,
    /// Asking for a manifest's digest.
    ManifestLookup,
    /// Storing a manifest.
    ManifestUpload,
    /// Deleting a manifest or a tag.
    Delete,
    /// Listing the referrers of a manifest.
    ReferrersListing,
    /// Asking whether a blob is stored.
    BlobLookup,
    /// Fetching a blob.
    BlobDownload,
    /// Listing repositories or tags.
    Listing,
    /// Asking `/v2/` whether the registry speaks the API (and takes the credentials).
    ApiCheck,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Action::UploadStart => "an upload",
            Action::Upload => "the upload",
            Action::ChunkUpload => "a chunk upload",
            Action::TokenRequest => "a token request",
            Action::ManifestDownload => "a manifest download",
            Action::ManifestLookup => "a manifest lookup",
            Action::ManifestUpload => "the manifest upload",
            Action::Delete => "deletes",
            Action::ReferrersListing => "the referrers list",
            Action::BlobLookup => "a blob lookup",
            Action::BlobDownload => "a blob download",
            Action::Listing => "a listing",
            Action::ApiCheck => "the API check",
        })
    }
}

/// Why a registry could not be reached, or the connection broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkCause {
    /// A TLS handshake met a server that does not speak TLS on that port.
    NotTls,
    /// Plain HTTP went to a port that speaks TLS (the server answered 400 saying so).
    PlainHttpToTls,
    /// The registry's TLS certificate is not trusted.
    Certificate,
    /// Another TLS failure.
    Tls,
    /// Nothing listens on the port.
    Refused,
    /// The host name does not resolve.
    Dns,
    /// The registry sent or accepted nothing for the idle timeout.
    Timeout,
    /// The connection was reset or closed part-way.
    Reset,
    /// Any other failure of the connection.
    Other,
}

impl RegistryError {
    /// Builds the error from a status and a (bounded) error body.
    pub fn new(
        status: StatusCode,
        body: &[u8],
        reference: &str,
        host: &str,
        action: Action,
    ) -> Self {
        let (code, message) = parse_body(body);
        RegistryError {
            status: status.as_u16(),
            code,
            message,
            reference: reference.to_string(),
            host: host.to_string(),
            action,
        }
    }

    /// Whether the same request may succeed later (408, 429, 500, 502, 503, 504).
    pub fn is_retryable(&self) -> bool {
        is_retryable_status(self.status)
    }

    /// Whether this is a TLS server's answer to a plain-HTTP request: Go's servers (CNCF
    /// distribution, zot, Harbor's core) answer it with a bare 400 and this text, nginx with an
    /// HTML page naming it.
    pub(super) fn is_plain_http_to_tls(&self) -> bool {
        const TEXTS: [&str; 2] = [
            "Client sent an HTTP request to an HTTPS server",
            "The plain HTTP request was sent to HTTPS port",
        ];
        self.status == 400 && self.code.is_none() && TEXTS.iter().any(|t| self.message.contains(t))
    }

    fn code_is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    fn detail(&self) -> String {
        match (&self.code, self.message.is_empty()) {
            (Some(code), false) => format!("{code}: {}", self.message),
            (Some(code), true) => code.clone(),
            (None, false) => self.message.clone(),
            (None, true) => String::new(),
        }
    }

    fn sentence(&self) -> String {
        let detail = self.detail();
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(" ({detail})")
        };
        match self.status {
            429 => format!("the registry is rate limiting{detail}; wait and try again"),
            s if s >= 500 => format!(
                "the registry failed on {} with HTTP {s}{detail}; try again later",
                self.action
            ),
            s => format!("the registry refused {} with HTTP {s}{detail}", self.action),
        }
    }

    /// The store error this maps to: not found, unauthorized, denied, unsupported and integrity
    /// failures get their own kinds.
    pub fn into_store_error(self) -> StoreError {
        if self.is_plain_http_to_tls() {
            return StoreError::Network {
                message: format!(
                    "the registry speaks HTTPS on this port, and the request went in plain HTTP (HTTP {}: {})",
                    self.status, self.message
                ),
                location: self.host,
                cause: NetworkCause::PlainHttpToTls,
                plain_http: true,
            };
        }
        let location = self.reference.clone();
        match self.status {
            401 => StoreError::Unauthorized {
                location,
                host: self.host,
                reason: AuthFailure::Rejected,
            },
            403 => StoreError::Denied { location },
            404 if !self.code_is("BLOB_UPLOAD_INVALID") && !self.code_is("BLOB_UPLOAD_UNKNOWN") => {
                StoreError::NotFound {
                    what: location,
                    location: self.host.clone(),
                }
            }
            405 => StoreError::Unsupported(format!(
                "{location}: the registry does not allow {}{}",
                self.action,
                if self.action == Action::Delete {
                    " (CNCF distribution needs storage.delete.enabled: true for deletes)"
                } else {
                    ""
                }
            )),
            _ if self.code_is("UNSUPPORTED") => StoreError::Unsupported(format!(
                "{location}: the registry does not support {} ({})",
                self.action, self.message
            )),
            _ if self.code_is("DIGEST_INVALID") || self.code_is("SIZE_INVALID") => {
                StoreError::Integrity {
                    location,
                    message: format!("the registry refused the content: {}", self.detail()),
                }
            }
            _ => StoreError::Registry(Box::new(self)),
        }
    }
}

/// Statuses worth retrying.
pub(super) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// The first `{code, message}` of a distribution error body.
fn parse_body(body: &[u8]) -> (Option<String>, String) {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(default)]
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(env) => match env.errors.into_iter().next() {
            Some(e) => (
                e.code.map(|c| clean(&c, 64)),
                clean(&e.message.unwrap_or_default(), 300),
            ),
            None => (None, String::new()),
        },
        // Not JSON: a proxy's page or plain text; a short excerpt helps.
        Err(_) => (None, clean(&String::from_utf8_lossy(body), 200)),
    }
}

/// Text from the registry with control characters dropped and its length capped, so it cannot
/// drive the terminal or flood the output.
pub(super) fn clean(text: &str, max_chars: usize) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max_chars)
        .collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The full text of an error and its causes.
pub(super) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// A failure to talk to the registry at all (connection, TLS, timeout), with its cause typed.
pub(super) fn network_error(
    host: &str,
    plain_http: bool,
    err: &(dyn std::error::Error + 'static),
) -> StoreError {
    let detail = chain(err);
    let cause = classify(err);
    let message = match cause {
        NetworkCause::NotTls => format!("the registry does not speak TLS on this port ({detail})"),
        NetworkCause::Certificate => {
            format!("the registry's TLS certificate is not trusted ({detail})")
        }
        NetworkCause::Tls => format!("the TLS handshake failed ({detail})"),
        NetworkCause::Refused => {
            format!("cannot connect: nothing accepts connections on that port ({detail})")
        }
        NetworkCause::Dns => format!("cannot connect: the host name does not resolve ({detail})"),
        NetworkCause::Timeout => format!("the connection timed out ({detail})"),
        NetworkCause::Reset => format!("the connection broke off ({detail})"),
        NetworkCause::PlainHttpToTls | NetworkCause::Other => {
            format!("the connection failed ({detail})")
        }
    };
    StoreError::Network {
        location: host.to_string(),
        cause,
        plain_http,
        message,
    }
}

/// The cause of a failed connection, from the typed errors of its chain.
fn classify(err: &(dyn std::error::Error + 'static)) -> NetworkCause {
    let mut current = Some(err);
    while let Some(e) = current {
        if e.is::<native_tls::Error>() {
            return tls_cause(e);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind;
            match io.kind() {
                ErrorKind::ConnectionRefused => return NetworkCause::Refused,
                ErrorKind::TimedOut => return NetworkCause::Timeout,
                ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof => return NetworkCause::Reset,
                _ => {}
            }
        }
        if e.is::<super::client::UnresolvedHost>() {
            return NetworkCause::Dns;
        }
        current = e.source();
    }
    NetworkCause::Other
}

/// Why a TLS handshake failed, from the reason codes of OpenSSL's error stack.
#[cfg(not(any(target_os = "windows", target_vendor = "apple")))]
fn tls_cause(err: &(dyn std::error::Error + 'static)) -> NetworkCause {
    // ssl/sslerr.h; the numbers are part of OpenSSL's ABI, the same in 1.1 and 3.
    const CERTIFICATE_VERIFY_FAILED: i32 = 134;
    const PACKET_LENGTH_TOO_LONG: i32 = 198;
    const WRONG_VERSION_NUMBER: i32 = 267;
    const LIB_SSL: i32 = 20;
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(stack) = e.downcast_ref::<openssl::error::ErrorStack>() {
            for entry in stack
                .errors()
                .iter()
                .filter(|e| e.library_code() == LIB_SSL)
            {
                match entry.reason_code() {
                    WRONG_VERSION_NUMBER | PACKET_LENGTH_TOO_LONG => return NetworkCause::NotTls,
                    CERTIFICATE_VERIFY_FAILED => return NetworkCause::Certificate,
                    _ => {}
                }
            }
        }
        current = e.source();
    }
    NetworkCause::Tls
}

/// Why a TLS handshake failed: the platform's TLS errors carry no reason packreg reads.
#[cfg(any(target_os = "windows", target_vendor = "apple"))]
fn tls_cause(_err: &(dyn std::error::Error + 'static)) -> NetworkCause {
    NetworkCause::Tls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies() {
        let e = RegistryError::new(
            StatusCode::NOT_FOUND,
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest\u001b[31m unknown"}]}"#,
            "r/x:1",
            "r",
            Action::ManifestDownload,
        );
        assert_eq!(e.code.as_deref(), Some("MANIFEST_UNKNOWN"));
        assert_eq!(e.message, "manifest [31m unknown");
        assert!(e.into_store_error().is_not_found());
        let e = RegistryError::new(
            StatusCode::BAD_REQUEST,
            b"<html>bad</html>",
            "r/x",
            "r",
            Action::Listing,
        );
        assert!(!e.is_retryable());
        assert_eq!(e.message, "<html>bad</html>");
        let e = RegistryError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            b"",
            "r/x",
            "r",
            Action::Listing,
        );
        assert!(e.is_retryable());
        assert!(e.into_store_error().is_retryable());
    }

    #[test]
    fn a_tls_servers_answer_to_plain_http_is_a_network_cause() {
        for body in [
            &b"Client sent an HTTP request to an HTTPS server.\n"[..],
            b"<html><head><title>400 The plain HTTP request was sent to HTTPS port</title></head></html>",
        ] {
            let err = RegistryError::new(StatusCode::BAD_REQUEST, body, "r/x", "r:1", Action::Listing)
                .into_store_error();
            assert!(
                matches!(
                    &err,
                    StoreError::Network {
                        cause: NetworkCause::PlainHttpToTls,
                        plain_http: true,
                        location,
                        ..
                    } if location == "r:1"
                ),
                "{err:?}"
            );
            assert!(err.to_string().contains("speaks HTTPS on this port"), "{err}");
        }
        // Another 400 stays the registry's answer.
        let err = RegistryError::new(
            StatusCode::BAD_REQUEST,
            b"bad",
            "r/x",
            "r:1",
            Action::Listing,
        )
        .into_store_error();
        assert!(matches!(err, StoreError::Registry(_)), "{err:?}");
    }
}
