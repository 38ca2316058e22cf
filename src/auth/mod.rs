//! Registry credentials, read and written the way docker, oras and helm do: docker's
//! `config.json` (`auths`, `credHelpers`, `credsStore`). The per-host connection settings
//! `login` remembers are in the settings file ([`crate::config`]).

pub mod config;

use std::fmt;

pub use config::{load_credential, remove_credential, store_credential};

/// A secret string that never shows in `Debug` or `Display` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Credentials for one registry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Credential {
    /// No credentials.
    #[default]
    Anonymous,
    /// Username and password (or a token used as a password).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// An OAuth2 refresh token (`identitytoken` in config.json), exchanged for access tokens.
    IdentityToken(Secret),
}

/// Errors of reading or writing credentials.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The config file could not be read or written.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A credential helper failed.
    #[error("credential helper docker-credential-{helper} failed: {message}")]
    Helper {
        /// Helper name.
        helper: String,
        /// What went wrong (never the secret).
        message: String,
    },
}
