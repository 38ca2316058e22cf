//! The Notary Project's signature (notaryproject/specifications, signature specification and
//! JWS envelope): a referrer of artifactType `application/vnd.cncf.notary.signature` whose one
//! `application/jose+json` layer is a flattened JWS; its payload is `{"targetArtifact":
//! <descriptor>}`, its protected header names the algorithm, the signing scheme
//! (`notary.x509`), the signing time and the critical headers, and its unprotected header
//! carries the certificate chain (`x5c`, leaf first).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use openssl::x509::X509;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::keys::{PrivateKey, PublicKey};
use super::refusal::Refusal;
use super::SignError;
use crate::oci::Descriptor;

/// The referrer's artifactType.
pub const ARTIFACT_TYPE: &str = "application/vnd.cncf.notary.signature";
/// The JWS envelope's media type (the layer's).
pub const JWS_MEDIA_TYPE: &str = "application/jose+json";
/// The payload's content type (`cty`).
pub const PAYLOAD_CONTENT_TYPE: &str = "application/vnd.cncf.notary.payload.v1+json";
/// The signing scheme packreg writes and verifies.
pub const SCHEME_X509: &str = "notary.x509";
/// The referrer manifest's annotation listing the chain's SHA-256 thumbprints.
pub const THUMBPRINT_ANNOTATION: &str = "io.cncf.notary.x509chain.thumbprint#S256";

const SIGNING_SCHEME: &str = "io.cncf.notary.signingScheme";
const SIGNING_TIME: &str = "io.cncf.notary.signingTime";
const EXPIRY: &str = "io.cncf.notary.expiry";
/// The extended headers packreg understands when they are marked critical.
const KNOWN_CRITICAL: [&str; 2] = [SIGNING_SCHEME, EXPIRY];
/// More certificates than this in `x5c` is refused.
const MAX_CHAIN: usize = 10;

/// Reads a PEM certificate chain, leaf first.
pub fn read_chain(pem: &[u8]) -> Result<Vec<X509>, SignError> {
    let chain = X509::stack_from_pem(pem).map_err(|e| SignError::BadCertificate {
        message: format!("not PEM certificates: {e}"),
    })?;
    if chain.is_empty() {
        return Err(SignError::BadCertificate {
            message: "no certificate in the file".into(),
        });
    }
    Ok(chain)
}

/// The SHA-256 thumbprints of a chain, as the referrer's annotation lists them.
pub fn thumbprints(chain: &[X509]) -> String {
    let prints: Vec<String> = chain
        .iter()
        .map(|c| hex::encode(openssl::sha::sha256(&c.to_der().unwrap_or_default())))
        .collect();
    serde_json::to_string(&prints).unwrap_or_default()
}

/// A JWS envelope signing `target` with `key`, whose certificate is `chain[0]`.
pub fn make(
    key: &PrivateKey,
    chain: &[X509],
    target: &Descriptor,
    signing_time: &str,
) -> Result<Vec<u8>, SignError> {
    let leaf = chain.first().ok_or(SignError::BadCertificate {
        message: "no certificate".into(),
    })?;
    let leaf_key = leaf
        .public_key()
        .ok()
        .and_then(|k| PublicKey::from_pkey(k).ok())
        .ok_or(SignError::CertificateKeyMismatch)?;
    if leaf_key.fingerprint() != key.public_key()?.fingerprint() {
        return Err(SignError::CertificateKeyMismatch);
    }
    let alg = super::keys::JwsAlg::for_kind(key.kind()).ok_or(SignError::KeyNotForFormat {
        kind: key.kind(),
        format: "notation",
    })?;
    let protected = json!({
        "alg": alg.name(),
        "crit": [SIGNING_SCHEME],
        "cty": PAYLOAD_CONTENT_TYPE,
        SIGNING_SCHEME: SCHEME_X509,
        SIGNING_TIME: signing_time,
    });
    let target = json!({
        "mediaType": target.media_type,
        "digest": target.digest.as_str(),
        "size": target.size,
    });
    let payload = json!({ "targetArtifact": target });
    let protected_b64 = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&protected).unwrap_or_default());
    let payload_b64 = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap_or_default());
    let (_, signature) = key.sign_jws(format!("{protected_b64}.{payload_b64}").as_bytes())?;
    let x5c: Vec<String> = chain
        .iter()
        .map(|c| STANDARD.encode(c.to_der().unwrap_or_default()))
        .collect();
    let envelope = json!({
        "payload": payload_b64,
        "protected": protected_b64,
        "header": {
            "x5c": x5c,
            "io.cncf.notary.signingAgent": concat!("packreg/", env!("CARGO_PKG_VERSION")),
        },
        "signature": URL_SAFE_NO_PAD.encode(signature),
    });
    Ok(serde_json::to_vec(&envelope).unwrap_or_default())
}

#[derive(Deserialize)]
struct Envelope {
    payload: String,
    protected: String,
    header: Header,
    signature: String,
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    x5c: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    target_artifact: Descriptor,
}

/// An envelope whose signature verified with its own leaf certificate: what it signs and the
/// chain still to be checked against a trust store.
#[derive(Debug)]
pub struct Opened {
    /// The signed descriptor.
    pub target: Descriptor,
    /// The chain, leaf first.
    pub chain: Vec<X509>,
    /// `io.cncf.notary.signingTime`.
    pub signing_time: Option<String>,
    /// `io.cncf.notary.expiry`.
    pub expiry: Option<String>,
}

fn unreadable(message: impl Into<String>) -> Refusal {
    Refusal::Unreadable {
        message: message.into(),
    }
}

/// Reads a JWS envelope, checks its headers and its signature against its leaf certificate.
/// Trust in the chain is the trust policy's to decide.
pub fn open(bytes: &[u8]) -> Result<Opened, Refusal> {
    let envelope: Envelope = serde_json::from_slice(bytes)
        .map_err(|e| unreadable(format!("not a JWS JSON envelope: {e}")))?;
    let protected_bytes = URL_SAFE_NO_PAD
        .decode(&envelope.protected)
        .map_err(|_| unreadable("the protected header is not base64url"))?;
    let protected: Map<String, Value> = serde_json::from_slice(&protected_bytes)
        .map_err(|e| unreadable(format!("the protected header is not a JSON object: {e}")))?;
    check_critical(&protected)?;
    let text = |key: &str| {
        protected
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let alg = text("alg").ok_or_else(|| unreadable("the protected header has no alg"))?;
    if super::keys::JwsAlg::parse(&alg).is_none() {
        return Err(unreadable(format!("unsupported JWS algorithm {alg:?}")));
    }
    if text("cty").as_deref() != Some(PAYLOAD_CONTENT_TYPE) {
        return Err(unreadable(format!("cty is not {PAYLOAD_CONTENT_TYPE:?}")));
    }
    match text(SIGNING_SCHEME).as_deref() {
        Some(SCHEME_X509) => {}
        other => {
            return Err(Refusal::UnsupportedScheme {
                scheme: other.unwrap_or("(none)").to_string(),
            })
        }
    }
    if envelope.header.x5c.is_empty() || envelope.header.x5c.len() > MAX_CHAIN {
        return Err(unreadable(format!(
            "x5c must hold 1 to {MAX_CHAIN} certificates"
        )));
    }
    let chain = envelope
        .header
        .x5c
        .iter()
        .map(|c| {
            STANDARD
                .decode(c)
                .ok()
                .and_then(|der| X509::from_der(&der).ok())
                .ok_or_else(|| unreadable("an x5c entry is not a DER certificate"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let leaf_key = chain[0]
        .public_key()
        .ok()
        .and_then(|k| PublicKey::from_pkey(k).ok())
        .ok_or_else(|| unreadable("the leaf certificate's key is not supported"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(&envelope.signature)
        .map_err(|_| unreadable("the signature is not base64url"))?;
    let signed = format!("{}.{}", envelope.protected, envelope.payload);
    if !leaf_key.verify_jws(&alg, signed.as_bytes(), &signature) {
        return Err(Refusal::BadSignature);
    }
    let payload_bytes = URL_SAFE_NO_PAD
        .decode(&envelope.payload)
        .map_err(|_| unreadable("the payload is not base64url"))?;
    let payload: Payload = serde_json::from_slice(&payload_bytes)
        .map_err(|e| unreadable(format!("the payload has no targetArtifact descriptor: {e}")))?;
    Ok(Opened {
        target: payload.target_artifact,
        chain,
        signing_time: text(SIGNING_TIME),
        expiry: text(EXPIRY),
    })
}

/// `crit` must list the signing scheme, only headers packreg knows, each present.
fn check_critical(protected: &Map<String, Value>) -> Result<(), Refusal> {
    let crit = protected
        .get("crit")
        .and_then(Value::as_array)
        .ok_or_else(|| unreadable("the protected header has no crit list"))?;
    let mut names = Vec::new();
    for entry in crit {
        let name = entry
            .as_str()
            .ok_or_else(|| unreadable("a crit entry is not a string"))?;
        if !KNOWN_CRITICAL.contains(&name) {
            return Err(Refusal::UnknownCritical {
                header: name.to_string(),
            });
        }
        if !protected.contains_key(name) {
            return Err(unreadable(format!("crit names {name:?}, which is absent")));
        }
        names.push(name);
    }
    if !names.contains(&SIGNING_SCHEME) {
        return Err(unreadable(format!("crit does not list {SIGNING_SCHEME}")));
    }
    if protected.contains_key(EXPIRY) && !names.contains(&EXPIRY) {
        return Err(unreadable(format!("{EXPIRY} is present but not critical")));
    }
    Ok(())
}

/// An RFC 3339 time (`2024-01-02T03:04:05Z`, fractions and `+00:00` accepted) as seconds since
/// the epoch; None when unreadable.
pub fn parse_time(text: &str) -> Option<i64> {
    let (date, time) = text.split_once(['T', 't'])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (c, off) = time.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':')?;
        (
            c,
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60),
        )
    };
    let clock = clock.split('.').next()?;
    let mut t = clock.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, m, day) * 86400 + h * 3600 + min * 60 + s - offset)
}

/// Seconds since the epoch as RFC 3339 UTC.
pub fn format_time(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// Howard Hinnant's civil-calendar conversions.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_through_rfc3339() {
        for secs in [0, 951782400, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse_time(&format_time(secs)), Some(secs));
        }
        assert_eq!(
            parse_time("2024-01-01T01:00:00+01:00"),
            parse_time("2024-01-01T00:00:00Z")
        );
        assert_eq!(parse_time("2024-01-01T00:00:00.123Z"), Some(1704067200));
        assert_eq!(parse_time("yesterday"), None);
    }
}
