//! One signature, as found in a store, checked against the user's trust: a typed report
//! saying what signed what, and whether it verifies or why not.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Serialize;

use super::keys::PublicKey;
use super::refusal::{Refusal, SignatureFormat};
use super::trust_policy::{self, TrustPolicy, TrustStore, VerificationLevel};
use super::{bundle, cosign, notation};
use crate::digest::Digest;

/// What the user trusts. Keys and roots come only from the user.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Public keys (cosign signatures and bundles).
    Keys(Vec<PublicKey>),
    /// A trust policy and trust store (Notary Project signatures).
    Policy {
        /// The policy.
        policy: TrustPolicy,
        /// The roots.
        store: TrustStore,
    },
}

/// The signed manifest.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Its digest.
    pub digest: &'a Digest,
    /// Its media type.
    pub media_type: &'a str,
    /// Its exact bytes.
    pub bytes: &'a [u8],
    /// The repository's name for trust policy scopes (`host/path/name`).
    pub scope: &'a str,
    /// Seconds since the epoch, for expiry.
    pub now: i64,
}

/// A signature document as read from the store.
#[derive(Debug, Clone)]
pub enum SignatureContent {
    /// A simple-signing payload and the layer's signature annotation.
    Cosign {
        /// The payload bytes.
        payload: Vec<u8>,
        /// The base64 annotation, when present.
        signature: Option<String>,
    },
    /// A sigstore bundle.
    Bundle(Vec<u8>),
    /// A JWS envelope.
    Notation(Vec<u8>),
}

/// One signature found for a manifest.
#[derive(Debug, Clone)]
pub struct FoundSignature {
    /// Its format.
    pub format: SignatureFormat,
    /// The manifest holding it (the `.sig` manifest, or the referrer).
    pub manifest: Digest,
    /// The layer holding it.
    pub layer: Option<Digest>,
    /// Its content, or why it could not be read (too large, missing, corrupt).
    pub content: Result<SignatureContent, Refusal>,
}

/// The outcome for one signature.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureReport {
    /// The format.
    pub format: SignatureFormat,
    /// The manifest holding the signature.
    pub manifest: Digest,
    /// The layer holding it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<Digest>,
    /// The key's fingerprint (`sha256:` of its DER) or the certificate's subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The reference the signature names (not required to match: signatures survive
    /// mirroring).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_reference: Option<String>,
    /// The signing time the envelope claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_time: Option<String>,
    /// Whether it verifies against the trust given.
    pub verified: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// `refusal` as a sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Checks the policy's level only reports.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl SignatureReport {
    fn new(found: &FoundSignature) -> Self {
        SignatureReport {
            format: found.format,
            manifest: found.manifest.clone(),
            layer: found.layer.clone(),
            signer: None,
            signed_reference: None,
            signing_time: None,
            verified: false,
            refusal: None,
            reason: None,
            warnings: Vec::new(),
        }
    }

    fn refuse(mut self, refusal: Refusal) -> Self {
        self.reason = Some(refusal.to_string());
        self.refusal = Some(refusal);
        self.verified = false;
        self
    }
}

/// Checks one found signature of `subject` against `trust`.
pub fn verify_signature(
    found: &FoundSignature,
    subject: &Subject<'_>,
    trust: &Trust,
) -> SignatureReport {
    let report = SignatureReport::new(found);
    let content = match &found.content {
        Ok(content) => content,
        Err(refusal) => return report.refuse(refusal.clone()),
    };
    match (content, trust) {
        (SignatureContent::Cosign { payload, signature }, Trust::Keys(keys)) => {
            check_cosign(report, payload, signature.as_deref(), subject, keys)
        }
        (SignatureContent::Bundle(bytes), Trust::Keys(keys)) => {
            let mut report = report;
            match bundle::check(bytes, subject.digest, subject.bytes, keys) {
                Ok(checked) => {
                    report.signer = Some(checked.key.fingerprint().to_string());
                    report.signed_reference = checked.name;
                    report.verified = true;
                    report
                }
                Err(refusal) => report.refuse(refusal),
            }
        }
        (SignatureContent::Notation(bytes), Trust::Policy { policy, store }) => {
            check_notation(report, bytes, subject, policy, store)
        }
        (SignatureContent::Notation(_), Trust::Keys(_)) => {
            report.refuse(Refusal::OtherTrustNeeded {
                format: found.format,
                needs: "a trust policy and trust store",
            })
        }
        (_, Trust::Policy { .. }) => report.refuse(Refusal::OtherTrustNeeded {
            format: found.format,
            needs: "public keys",
        }),
    }
}

fn check_cosign(
    mut report: SignatureReport,
    payload: &[u8],
    signature: Option<&str>,
    subject: &Subject<'_>,
    keys: &[PublicKey],
) -> SignatureReport {
    let Some(signature) = signature else {
        return report.refuse(Refusal::Unreadable {
            message: format!(
                "the layer has no {} annotation",
                cosign::SIGNATURE_ANNOTATION
            ),
        });
    };
    let Ok(sig) = STANDARD.decode(signature.trim()) else {
        return report.refuse(Refusal::Unreadable {
            message: "the signature annotation is not base64".into(),
        });
    };
    let Some(key) = keys.iter().find(|k| k.verify(payload, &sig)) else {
        return report.refuse(Refusal::NoTrustedKey);
    };
    report.signer = Some(key.fingerprint().to_string());
    let claim = match cosign::parse_payload(payload) {
        Ok(claim) => claim,
        Err(message) => return report.refuse(Refusal::Unreadable { message }),
    };
    report.signed_reference = Some(claim.docker_reference);
    if claim.digest != subject.digest.as_str() {
        return report.refuse(Refusal::OtherDigest {
            signed: claim.digest,
        });
    }
    report.verified = true;
    report
}

fn check_notation(
    mut report: SignatureReport,
    bytes: &[u8],
    subject: &Subject<'_>,
    policy: &TrustPolicy,
    store: &TrustStore,
) -> SignatureReport {
    let Some(statement) = policy.select(subject.scope) else {
        return report.refuse(Refusal::NoPolicy {
            scope: subject.scope.to_string(),
        });
    };
    let level = statement.level;
    if level == VerificationLevel::Skip {
        report.verified = true;
        report.warnings.push(format!(
            "trust policy {:?} skips verification",
            statement.name
        ));
        return report;
    }
    // Integrity: enforced at every level.
    let opened = match notation::open(bytes) {
        Ok(opened) => opened,
        Err(refusal) => return report.refuse(refusal),
    };
    report.signer = opened.chain.first().map(trust_policy::subject_text);
    report.signing_time = opened.signing_time.clone();
    let target = &opened.target;
    if target.digest != *subject.digest
        || target.size != subject.bytes.len() as u64
        || target.media_type != subject.media_type
    {
        return report.refuse(Refusal::OtherDigest {
            signed: format!(
                "{} ({}, {} bytes)",
                target.digest, target.media_type, target.size
            ),
        });
    }
    // Each remaining check: enforced, or only reported, by level.
    let mut findings: Vec<(Refusal, bool)> = Vec::new();
    let authenticity_enforced = level != VerificationLevel::Audit;
    let expiry_enforced = level == VerificationLevel::Strict;
    match store.roots(statement) {
        Err(refusal) => findings.push((refusal, authenticity_enforced)),
        Ok(roots) => match trust_policy::check_chain(&opened.chain, &roots) {
            Ok(None) => {}
            Ok(Some(expired)) => findings.push((expired, expiry_enforced)),
            Err(refusal) => findings.push((refusal, authenticity_enforced)),
        },
    }
    if !statement.trusts_identity(&opened.chain[0]) {
        findings.push((
            Refusal::IdentityNotTrusted {
                subject: report.signer.clone().unwrap_or_default(),
                policy: statement.name.clone(),
            },
            authenticity_enforced,
        ));
    }
    if let Some(expiry) = &opened.expiry {
        match notation::parse_time(expiry) {
            Some(at) if at > subject.now => {}
            _ => findings.push((
                Refusal::SignatureExpired {
                    expiry: expiry.clone(),
                },
                expiry_enforced,
            )),
        }
    }
    for (refusal, enforced) in findings {
        if enforced {
            return report.refuse(refusal);
        }
        report.warnings.push(refusal.to_string());
    }
    report.verified = true;
    report
}
