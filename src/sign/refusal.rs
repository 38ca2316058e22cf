//! What a signature is and why one does not verify: the leaf the format modules and the
//! report share.

use serde::Serialize;

/// The three formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SignatureFormat {
    /// cosign's `.sig` tag.
    Cosign,
    /// cosign's sigstore bundle referrer.
    Bundle,
    /// A Notary Project JWS referrer.
    Notation,
}

impl std::fmt::Display for SignatureFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureFormat::Cosign => "cosign",
            SignatureFormat::Bundle => "bundle",
            SignatureFormat::Notation => "notation",
        })
    }
}

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Refusal {
    /// It signs another manifest.
    #[error("it signs another manifest ({signed})")]
    #[serde(rename_all = "camelCase")]
    OtherDigest {
        /// What it signs.
        signed: String,
    },
    /// A bundle's statement names other subjects.
    #[error("its statement names another subject ({signed})")]
    #[serde(rename_all = "camelCase")]
    OtherSubject {
        /// The subjects it names.
        signed: String,
    },
    /// No given key verifies it (another key signed it, or the signed bytes changed).
    #[error("no trusted key verifies it (signed by another key, or the signed bytes changed)")]
    NoTrustedKey,
    /// The signature does not match the signed bytes with the envelope's own certificate.
    #[error("the signature does not match the signed bytes (changed or corrupt)")]
    BadSignature,
    /// The document cannot be read as its format.
    #[error("{message}")]
    Unreadable {
        /// What is wrong.
        message: String,
    },
    /// The envelope marks a header critical that packreg does not know.
    #[error("unknown critical header {header:?}")]
    UnknownCritical {
        /// The header.
        header: String,
    },
    /// A signing scheme other than `notary.x509`.
    #[error("signing scheme {scheme:?} is not supported (notary.x509 is)")]
    UnsupportedScheme {
        /// The scheme.
        scheme: String,
    },
    /// The chain does not lead to a root of the trust store.
    #[error("the certificate chain is not trusted: {message}")]
    CertificateUntrusted {
        /// OpenSSL's reason.
        message: String,
    },
    /// A certificate of the chain is expired (or not yet valid).
    #[error("a certificate of the chain has expired or is not yet valid")]
    CertificateExpired,
    /// The signature's own expiry (`io.cncf.notary.expiry`) has passed.
    #[error("the signature expired at {expiry}")]
    SignatureExpired {
        /// The expiry.
        expiry: String,
    },
    /// The signer's subject is none of the policy's trusted identities.
    #[error("the signer {subject:?} is not a trusted identity of policy {policy:?}")]
    IdentityNotTrusted {
        /// The leaf's subject.
        subject: String,
        /// The policy.
        policy: String,
    },
    /// No trust policy statement covers the repository.
    #[error("no trust policy statement covers {scope}")]
    NoPolicy {
        /// The scope.
        scope: String,
    },
    /// The signature's format needs the other kind of trust.
    #[error("a {format} signature needs {needs}")]
    #[serde(rename_all = "camelCase")]
    OtherTrustNeeded {
        /// The format.
        format: SignatureFormat,
        /// What it needs: public keys, or a trust policy and trust store.
        needs: &'static str,
    },
    /// Reading it from the store failed or went past a bound.
    #[error("cannot read it: {message}")]
    Unavailable {
        /// Why.
        message: String,
    },
}
