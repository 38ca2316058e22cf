//! Signatures on packs, in the three formats other verifiers read: cosign's `.sig` tag
//! (simple signing), cosign's sigstore bundle as an OCI 1.1 referrer, and the Notary Project's
//! JWS envelope as a referrer, checked against keys or a trust policy and trust store.
//!
//! This module is the model: it makes and checks signature documents from bytes. Finding and
//! writing them in a store is `ops::signatures`.

pub mod bundle;
pub mod cosign;
pub mod keys;
pub mod notation;
pub mod refusal;
pub mod trust_policy;
pub mod verify;

pub use keys::{KeyKind, PrivateKey, PublicKey};
pub use refusal::{Refusal, SignatureFormat};
pub use trust_policy::{TrustPolicy, TrustStore, VerificationLevel};
pub use verify::{
    verify_signature, FoundSignature, SignatureContent, SignatureReport, Subject, Trust,
};

/// Errors of keys, certificates and trust settings (the user's files, not the registry's
/// documents: those are [`Refusal`]s in a report).
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The key is of a kind no format here uses.
    #[error("unsupported key type (ECDSA P-256 or P-384, RSA or Ed25519)")]
    UnsupportedKey,
    /// The key file cannot be read as a key.
    #[error("{message}")]
    BadKey {
        /// Why.
        message: String,
    },
    /// The private key is encrypted and no password was given.
    #[error("the private key is encrypted and needs its password")]
    PasswordNeeded,
    /// The password does not open the key.
    #[error("the password does not decrypt the private key")]
    WrongPassword,
    /// The key cannot make signatures of this format.
    #[error("a {kind} key cannot sign the {format} format")]
    KeyNotForFormat {
        /// The key's kind.
        kind: KeyKind,
        /// The format.
        format: &'static str,
    },
    /// The certificate chain is unusable.
    #[error("certificate chain: {message}")]
    BadCertificate {
        /// Why.
        message: String,
    },
    /// The certificate does not hold the signing key.
    #[error("the leaf certificate's public key is not the signing key's")]
    CertificateKeyMismatch,
    /// The trust policy file is unusable.
    #[error("trust policy: {message}")]
    BadTrustPolicy {
        /// Why.
        message: String,
    },
    /// The trust store folder is unusable.
    #[error("trust store {path}: {message}")]
    BadTrustStore {
        /// The folder or file.
        path: String,
        /// Why.
        message: String,
    },
    /// The cryptographic library failed.
    #[error("the cryptographic library failed to sign")]
    Crypto,
}
