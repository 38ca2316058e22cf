//! cosign's sigstore bundle (protobuf-specs bundle v0.3) attached as an OCI 1.1 referrer
//! (sigstore/cosign `specs/BUNDLE_SPEC.md`): a DSSE envelope around an in-toto statement
//! whose subject is the signed manifest, or a message signature over the manifest's bytes.
//! Key-based: the verification material is a public-key hint; no transparency-log entry.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;

use super::keys::{PrivateKey, PublicKey};
use super::refusal::Refusal;
use super::SignError;
use crate::digest::Digest;

/// The bundle's media type, also the referrer's artifactType and its layer's media type.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Any sigstore bundle version.
const BUNDLE_MEDIA_TYPE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// in-toto statement types read (v1 written).
const STATEMENT_TYPES: [&str; 2] = [
    "https://in-toto.io/Statement/v1",
    "https://in-toto.io/Statement/v0.1",
];
/// The predicate of a plain signature, as `cosign sign --new-bundle-format` writes it.
pub const SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The referrer's annotation saying what the bundle holds.
pub const CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
/// The referrer's annotation naming the statement's predicate.
pub const PREDICATE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";

/// Whether a media type or artifactType is a sigstore bundle's.
pub fn is_bundle_type(media_type: &str) -> bool {
    media_type.starts_with(BUNDLE_MEDIA_TYPE_PREFIX)
}

/// DSSE's pre-authentication encoding: what is signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// A bundle signing `digest` (named `name`, the signed docker reference) with `key`.
pub fn make(key: &PrivateKey, name: &str, digest: &Digest) -> Result<Vec<u8>, SignError> {
    let statement = json!({
        "_type": STATEMENT_TYPES[0],
        "subject": [{"name": name, "digest": {"sha256": digest.hex()}}],
        "predicateType": SIGN_PREDICATE_TYPE,
        "predicate": {},
    });
    let payload = serde_json::to_vec(&statement).unwrap_or_default();
    let signature = key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, &payload))?;
    let public = key.public_key()?;
    let hint = STANDARD.encode(hex::decode(public.fingerprint().hex()).unwrap_or_default());
    let bundle = json!({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": {"hint": hint},
            "tlogEntries": [],
            "timestampVerificationData": {},
        },
        "dsseEnvelope": {
            "payload": STANDARD.encode(&payload),
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": STANDARD.encode(&signature), "keyid": ""}],
        },
    });
    Ok(serde_json::to_vec(&bundle).unwrap_or_default())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bundle {
    media_type: String,
    dsse_envelope: Option<Envelope>,
    message_signature: Option<MessageSignature>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload: String,
    payload_type: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Deserialize)]
struct EnvelopeSignature {
    sig: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageSignature {
    message_digest: MessageDigest,
    signature: String,
}

#[derive(Deserialize)]
struct MessageDigest {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
struct Statement {
    #[serde(rename = "_type")]
    kind: String,
    subject: Vec<StatementSubject>,
}

#[derive(Deserialize)]
struct StatementSubject {
    #[serde(default)]
    name: String,
    digest: std::collections::BTreeMap<String, String>,
}

/// What a verified bundle says.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The key that verified it.
    pub key: PublicKey,
    /// The subject's name in the statement (the signed reference), if any.
    pub name: Option<String>,
}

/// Checks `bytes` as a bundle over the manifest `subject` (its digest and exact bytes) with
/// any of `keys`.
pub fn check(
    bytes: &[u8],
    subject: &Digest,
    subject_bytes: &[u8],
    keys: &[PublicKey],
) -> Result<Checked, Refusal> {
    let bundle: Bundle = serde_json::from_slice(bytes).map_err(|e| Refusal::Unreadable {
        message: format!("not a sigstore bundle: {e}"),
    })?;
    if !is_bundle_type(&bundle.media_type) {
        return Err(Refusal::Unreadable {
            message: format!(
                "bundle mediaType {:?} is not a sigstore bundle's",
                bundle.media_type
            ),
        });
    }
    match (bundle.dsse_envelope, bundle.message_signature) {
        (Some(envelope), _) => check_envelope(&envelope, subject, keys),
        (None, Some(message)) => check_message(&message, subject, subject_bytes, keys),
        (None, None) => Err(Refusal::Unreadable {
            message: "the bundle holds neither a DSSE envelope nor a message signature".into(),
        }),
    }
}

fn decode(text: &str, what: &str) -> Result<Vec<u8>, Refusal> {
    STANDARD.decode(text).map_err(|_| Refusal::Unreadable {
        message: format!("{what} is not base64"),
    })
}

fn check_envelope(
    envelope: &Envelope,
    subject: &Digest,
    keys: &[PublicKey],
) -> Result<Checked, Refusal> {
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(Refusal::Unreadable {
            message: format!(
                "DSSE payloadType {:?} is not an in-toto statement",
                envelope.payload_type
            ),
        });
    }
    let payload = decode(&envelope.payload, "the DSSE payload")?;
    let signed = pae(&envelope.payload_type, &payload);
    let mut verified = None;
    for signature in &envelope.signatures {
        let sig = decode(&signature.sig, "a DSSE signature")?;
        if let Some(key) = keys.iter().find(|k| k.verify(&signed, &sig)) {
            verified = Some(key.clone());
            break;
        }
    }
    let key = verified.ok_or(Refusal::NoTrustedKey)?;
    let statement: Statement =
        serde_json::from_slice(&payload).map_err(|e| Refusal::Unreadable {
            message: format!("the DSSE payload is not an in-toto statement: {e}"),
        })?;
    if !STATEMENT_TYPES.contains(&statement.kind.as_str()) {
        return Err(Refusal::Unreadable {
            message: format!("statement _type {:?} is unknown", statement.kind),
        });
    }
    let found = statement
        .subject
        .iter()
        .find(|s| s.digest.get("sha256").map(String::as_str) == Some(subject.hex()));
    match found {
        Some(s) => Ok(Checked {
            key,
            name: Some(s.name.clone()).filter(|n| !n.is_empty()),
        }),
        None => Err(Refusal::OtherSubject {
            signed: statement
                .subject
                .iter()
                .filter_map(|s| s.digest.get("sha256").map(|h| format!("sha256:{h}")))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

fn check_message(
    message: &MessageSignature,
    subject: &Digest,
    subject_bytes: &[u8],
    keys: &[PublicKey],
) -> Result<Checked, Refusal> {
    if message.message_digest.algorithm != "SHA2_256" {
        return Err(Refusal::Unreadable {
            message: format!(
                "message digest algorithm {:?} is not SHA2_256",
                message.message_digest.algorithm
            ),
        });
    }
    let claimed = decode(&message.message_digest.digest, "the message digest")?;
    let sig = decode(&message.signature, "the message signature")?;
    let key = keys
        .iter()
        .find(|k| k.verify(subject_bytes, &sig))
        .ok_or(Refusal::NoTrustedKey)?;
    if hex::encode(&claimed) != subject.hex() || Digest::of(subject_bytes) != *subject {
        return Err(Refusal::OtherSubject {
            signed: format!("sha256:{}", hex::encode(&claimed)),
        });
    }
    Ok(Checked {
        key: key.clone(),
        name: None,
    })
}
