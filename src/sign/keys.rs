//! Keys: PEM public keys (ECDSA P-256 and P-384, RSA, Ed25519), PKCS#8 private keys, and
//! cosign's encrypted key file (scrypt, then NaCl's secretbox around the PKCS#8 DER).
//!
//! The primitives are OpenSSL's; the secretbox is RustCrypto's `crypto_secretbox`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use serde::Deserialize;

use super::SignError;
use crate::digest::Digest;

/// PEM labels of cosign's encrypted private key (current and older).
const COSIGN_KEY_LABELS: [&str; 2] = [
    "ENCRYPTED SIGSTORE PRIVATE KEY",
    "ENCRYPTED COSIGN PRIVATE KEY",
];
/// scrypt's work factors beyond this are refused (a hostile key file must not take the
/// machine's memory): cosign uses N = 32768, r = 8, p = 1.
const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;

/// The kind of a key: what signature scheme it makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyKind {
    /// ECDSA on P-256, SHA-256.
    EcdsaP256,
    /// ECDSA on P-384, SHA-384.
    EcdsaP384,
    /// RSA (PKCS#1 v1.5 for cosign, PSS for notation), SHA-256.
    Rsa,
    /// Ed25519.
    Ed25519,
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyKind::EcdsaP256 => "ECDSA P-256",
            KeyKind::EcdsaP384 => "ECDSA P-384",
            KeyKind::Rsa => "RSA",
            KeyKind::Ed25519 => "Ed25519",
        })
    }
}

fn kind_of<T: openssl::pkey::HasPublic>(key: &PKey<T>) -> Result<KeyKind, SignError> {
    match key.id() {
        Id::RSA => Ok(KeyKind::Rsa),
        Id::ED25519 => Ok(KeyKind::Ed25519),
        Id::EC => {
            let ec = key.ec_key().map_err(|_| SignError::UnsupportedKey)?;
            match ec.group().curve_name() {
                Some(Nid::X9_62_PRIME256V1) => Ok(KeyKind::EcdsaP256),
                Some(Nid::SECP384R1) => Ok(KeyKind::EcdsaP384),
                _ => Err(SignError::UnsupportedKey),
            }
        }
        _ => Err(SignError::UnsupportedKey),
    }
}

/// A public key the user trusts.
#[derive(Clone)]
pub struct PublicKey {
    key: PKey<Public>,
    kind: KeyKind,
    /// sha256 of the DER SubjectPublicKeyInfo.
    fingerprint: Digest,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({}, {})", self.kind, self.fingerprint)
    }
}

impl PublicKey {
    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn from_pem(pem: &[u8]) -> Result<Self, SignError> {
        let key = PKey::public_key_from_pem(pem).map_err(|_| SignError::BadKey {
            message: "not a PEM public key (-----BEGIN PUBLIC KEY-----)".into(),
        })?;
        Self::from_pkey(key)
    }

    pub(crate) fn from_pkey(key: PKey<Public>) -> Result<Self, SignError> {
        let kind = kind_of(&key)?;
        let der = key
            .public_key_to_der()
            .map_err(|_| SignError::UnsupportedKey)?;
        Ok(PublicKey {
            key,
            kind,
            fingerprint: Digest::of(&der),
        })
    }

    /// What scheme the key verifies.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// sha256 of the key's DER SubjectPublicKeyInfo.
    pub fn fingerprint(&self) -> &Digest {
        &self.fingerprint
    }

    /// The key as PEM.
    pub fn to_pem(&self) -> Vec<u8> {
        self.key.public_key_to_pem().unwrap_or_default()
    }

    /// Whether `signature` (DER for ECDSA, as cosign and DSSE write it) is this key's over
    /// `message`. ECDSA P-384 is accepted with SHA-384 or SHA-256 (older cosign).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self.kind {
            KeyKind::EcdsaP256 => verify_with(
                &self.key,
                Some(MessageDigest::sha256()),
                None,
                message,
                signature,
            ),
            KeyKind::EcdsaP384 => {
                verify_with(
                    &self.key,
                    Some(MessageDigest::sha384()),
                    None,
                    message,
                    signature,
                ) || verify_with(
                    &self.key,
                    Some(MessageDigest::sha256()),
                    None,
                    message,
                    signature,
                )
            }
            KeyKind::Rsa => verify_with(
                &self.key,
                Some(MessageDigest::sha256()),
                Some(Padding::PKCS1),
                message,
                signature,
            ),
            KeyKind::Ed25519 => verify_with(&self.key, None, None, message, signature),
        }
    }

    /// Whether `signature` is a JWS signature of algorithm `alg` (ES256, ES384, PS256, PS384,
    /// PS512) by this key over `message`: ECDSA as raw r||s, RSA with PSS.
    pub fn verify_jws(&self, alg: &str, message: &[u8], signature: &[u8]) -> bool {
        let Some(jws) = JwsAlg::parse(alg) else {
            return false;
        };
        if !jws.fits(self.kind) {
            return false;
        }
        match jws {
            JwsAlg::Es256 | JwsAlg::Es384 => {
                let Some(der) = raw_to_der(signature) else {
                    return false;
                };
                verify_with(&self.key, Some(jws.digest()), None, message, &der)
            }
            _ => verify_with(
                &self.key,
                Some(jws.digest()),
                Some(Padding::PKCS1_PSS),
                message,
                signature,
            ),
        }
    }
}

fn verify_with(
    key: &PKey<Public>,
    digest: Option<MessageDigest>,
    padding: Option<Padding>,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let verifier = match digest {
        Some(d) => Verifier::new(d, key),
        None => Verifier::new_without_digest(key),
    };
    let Ok(mut verifier) = verifier else {
        return false;
    };
    if let Some(padding) = padding {
        if verifier.set_rsa_padding(padding).is_err() {
            return false;
        }
        if padding == Padding::PKCS1_PSS
            && verifier
                .set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                .is_err()
        {
            return false;
        }
    }
    verifier.verify_oneshot(signature, message).unwrap_or(false)
}

/// The JWS algorithms the Notary Project's signature specification allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwsAlg {
    Es256,
    Es384,
    Ps256,
    Ps384,
    Ps512,
}

impl JwsAlg {
    pub(crate) fn parse(alg: &str) -> Option<Self> {
        Some(match alg {
            "ES256" => JwsAlg::Es256,
            "ES384" => JwsAlg::Es384,
            "PS256" => JwsAlg::Ps256,
            "PS384" => JwsAlg::Ps384,
            "PS512" => JwsAlg::Ps512,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            JwsAlg::Es256 => "ES256",
            JwsAlg::Es384 => "ES384",
            JwsAlg::Ps256 => "PS256",
            JwsAlg::Ps384 => "PS384",
            JwsAlg::Ps512 => "PS512",
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            JwsAlg::Es256 | JwsAlg::Ps256 => MessageDigest::sha256(),
            JwsAlg::Es384 | JwsAlg::Ps384 => MessageDigest::sha384(),
            JwsAlg::Ps512 => MessageDigest::sha512(),
        }
    }

    fn fits(self, kind: KeyKind) -> bool {
        matches!(
            (self, kind),
            (JwsAlg::Es256, KeyKind::EcdsaP256)
                | (JwsAlg::Es384, KeyKind::EcdsaP384)
                | (JwsAlg::Ps256 | JwsAlg::Ps384 | JwsAlg::Ps512, KeyKind::Rsa)
        )
    }

    /// The algorithm a key signs JWS with.
    pub(crate) fn for_kind(kind: KeyKind) -> Option<Self> {
        match kind {
            KeyKind::EcdsaP256 => Some(JwsAlg::Es256),
            KeyKind::EcdsaP384 => Some(JwsAlg::Es384),
            KeyKind::Rsa => Some(JwsAlg::Ps256),
            KeyKind::Ed25519 => None,
        }
    }
}

/// JWS's raw r||s ECDSA signature as DER.
fn raw_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) || raw.len() > 132 {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let sig =
        EcdsaSig::from_private_components(BigNum::from_slice(r).ok()?, BigNum::from_slice(s).ok()?)
            .ok()?;
    sig.to_der().ok()
}

/// DER ECDSA as JWS's raw r||s, each `width` bytes.
fn der_to_raw(der: &[u8], width: i32) -> Option<Vec<u8>> {
    let sig = EcdsaSig::from_der(der).ok()?;
    let mut raw = sig.r().to_vec_padded(width).ok()?;
    raw.extend(sig.s().to_vec_padded(width).ok()?);
    Some(raw)
}

/// A private key to sign with.
pub struct PrivateKey {
    key: PKey<Private>,
    kind: KeyKind,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({})", self.kind)
    }
}

impl PrivateKey {
    /// Whether the PEM text is cosign's encrypted key file (it needs a password).
    pub fn is_encrypted(pem: &[u8]) -> bool {
        let text = String::from_utf8_lossy(pem);
        COSIGN_KEY_LABELS
            .iter()
            .any(|label| text.contains(&format!("-----BEGIN {label}-----")))
            || text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    }

    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`, or `ENCRYPTED PRIVATE KEY` with the
    /// password), or cosign's encrypted key file with `password`.
    pub fn from_pem(pem: &[u8], password: Option<&[u8]>) -> Result<Self, SignError> {
        let text = String::from_utf8_lossy(pem);
        if let Some(label) = COSIGN_KEY_LABELS
            .iter()
            .find(|label| text.contains(&format!("-----BEGIN {label}-----")))
        {
            let password = password.ok_or(SignError::PasswordNeeded)?;
            let der = decrypt_cosign_key(&text, label, password)?;
            let key = PKey::private_key_from_der(&der).map_err(|_| SignError::BadKey {
                message: "the decrypted cosign key is not a PKCS#8 private key".into(),
            })?;
            return Self::from_pkey(key);
        }
        let key = if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            let password = password.ok_or(SignError::PasswordNeeded)?;
            PKey::private_key_from_pem_passphrase(pem, password)
                .map_err(|_| SignError::WrongPassword)?
        } else {
            PKey::private_key_from_pem(pem).map_err(|_| SignError::BadKey {
                message: "not a PEM private key (PKCS#8 -----BEGIN PRIVATE KEY-----, or cosign's key file)".into(),
            })?
        };
        Self::from_pkey(key)
    }

    fn from_pkey(key: PKey<Private>) -> Result<Self, SignError> {
        let kind = kind_of(&key)?;
        Ok(PrivateKey { key, kind })
    }

    /// What scheme the key signs.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<PublicKey, SignError> {
        let der = self
            .key
            .public_key_to_der()
            .map_err(|_| SignError::UnsupportedKey)?;
        let key = PKey::public_key_from_der(&der).map_err(|_| SignError::UnsupportedKey)?;
        PublicKey::from_pkey(key)
    }

    /// Signs `message` as cosign and DSSE do: ECDSA (DER) with the curve's hash, RSA PKCS#1
    /// v1.5 with SHA-256, Ed25519.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let (digest, padding) = match self.kind {
            KeyKind::EcdsaP256 => (Some(MessageDigest::sha256()), None),
            KeyKind::EcdsaP384 => (Some(MessageDigest::sha384()), None),
            KeyKind::Rsa => (Some(MessageDigest::sha256()), Some(Padding::PKCS1)),
            KeyKind::Ed25519 => (None, None),
        };
        self.sign_with(digest, padding, message)
    }

    /// Signs `message` for a JWS: the algorithm name and the signature (ECDSA as raw r||s, RSA
    /// with PSS). Ed25519 has no Notary Project algorithm.
    pub fn sign_jws(&self, message: &[u8]) -> Result<(&'static str, Vec<u8>), SignError> {
        let alg = JwsAlg::for_kind(self.kind).ok_or(SignError::KeyNotForFormat {
            kind: self.kind,
            format: "notation",
        })?;
        match alg {
            JwsAlg::Es256 | JwsAlg::Es384 => {
                let der = self.sign_with(Some(alg.digest()), None, message)?;
                let width = if alg == JwsAlg::Es256 { 32 } else { 48 };
                let raw = der_to_raw(&der, width).ok_or(SignError::Crypto)?;
                Ok((alg.name(), raw))
            }
            _ => Ok((
                alg.name(),
                self.sign_with(Some(alg.digest()), Some(Padding::PKCS1_PSS), message)?,
            )),
        }
    }

    fn sign_with(
        &self,
        digest: Option<MessageDigest>,
        padding: Option<Padding>,
        message: &[u8],
    ) -> Result<Vec<u8>, SignError> {
        let mut signer = match digest {
            Some(d) => Signer::new(d, &self.key),
            None => Signer::new_without_digest(&self.key),
        }
        .map_err(|_| SignError::Crypto)?;
        if let Some(padding) = padding {
            signer
                .set_rsa_padding(padding)
                .map_err(|_| SignError::Crypto)?;
            if padding == Padding::PKCS1_PSS {
                signer
                    .set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                    .map_err(|_| SignError::Crypto)?;
            }
        }
        signer
            .sign_oneshot_to_vec(message)
            .map_err(|_| SignError::Crypto)
    }
}

#[derive(Deserialize)]
struct CosignKeyFile {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct ScryptParams {
    N: u64,
    r: u64,
    p: u64,
}

#[derive(Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// The PKCS#8 DER inside cosign's encrypted key file.
fn decrypt_cosign_key(text: &str, label: &str, password: &[u8]) -> Result<Vec<u8>, SignError> {
    use crypto_secretbox::aead::{Aead, KeyInit};
    use crypto_secretbox::XSalsa20Poly1305;
    let bad = |message: &str| SignError::BadKey {
        message: format!("cosign key file: {message}"),
    };
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = text
        .split_once(&begin)
        .and_then(|(_, rest)| rest.split_once(&end))
        .map(|(body, _)| body)
        .ok_or_else(|| bad("no PEM block"))?;
    let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let json = STANDARD.decode(body).map_err(|_| bad("not base64"))?;
    let file: CosignKeyFile =
        serde_json::from_slice(&json).map_err(|e| bad(&format!("unreadable JSON: {e}")))?;
    if file.kdf.name != "scrypt" || file.cipher.name != "nacl/secretbox" {
        return Err(bad("only scrypt with nacl/secretbox is known"));
    }
    let ScryptParams { N: n, r, p } = file.kdf.params;
    let memory = 128u64
        .saturating_mul(r)
        .saturating_mul(n)
        .saturating_mul(p.max(1));
    if n < 2 || !n.is_power_of_two() || r == 0 || p == 0 || memory > MAX_SCRYPT_MEMORY {
        return Err(bad("scrypt parameters out of range"));
    }
    let salt = STANDARD
        .decode(&file.kdf.salt)
        .map_err(|_| bad("salt not base64"))?;
    let nonce = STANDARD
        .decode(&file.cipher.nonce)
        .map_err(|_| bad("nonce not base64"))?;
    let ciphertext = STANDARD
        .decode(&file.ciphertext)
        .map_err(|_| bad("ciphertext not base64"))?;
    if nonce.len() != 24 {
        return Err(bad("the nonce is not 24 bytes"));
    }
    let mut key = [0u8; 32];
    openssl::pkcs5::scrypt(password, &salt, n, r, p, memory + 1024 * 1024, &mut key)
        .map_err(|_| SignError::Crypto)?;
    let cipher = XSalsa20Poly1305::new(&key.into());
    cipher
        .decrypt(nonce.as_slice().into(), ciphertext.as_slice())
        .map_err(|_| SignError::WrongPassword)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p256() -> PKey<Private> {
        let group = openssl::ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap()
    }

    #[test]
    fn a_signature_verifies_with_its_key_and_not_after_a_changed_byte() {
        let pem = p256().private_key_to_pem_pkcs8().unwrap();
        let key = PrivateKey::from_pem(&pem, None).unwrap();
        let public = key.public_key().unwrap();
        let sig = key.sign(b"payload").unwrap();
        assert!(public.verify(b"payload", &sig));
        assert!(!public.verify(b"paylOad", &sig));
        let (alg, raw) = key.sign_jws(b"a.b").unwrap();
        assert_eq!(alg, "ES256");
        assert_eq!(raw.len(), 64);
        assert!(public.verify_jws("ES256", b"a.b", &raw));
        assert!(!public.verify_jws("ES384", b"a.b", &raw));
    }

    #[test]
    fn a_cosign_key_file_with_absurd_scrypt_parameters_is_refused_before_any_work() {
        let json = r#"{"kdf":{"name":"scrypt","params":{"N":1073741824,"r":8,"p":1},"salt":"AAAA"},"cipher":{"name":"nacl/secretbox","nonce":"AAAA"},"ciphertext":"AAAA"}"#;
        let pem = format!(
            "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
            STANDARD.encode(json)
        );
        let err = PrivateKey::from_pem(pem.as_bytes(), Some(b"pw")).unwrap_err();
        assert!(matches!(err, SignError::BadKey { .. }), "{err}");
    }
}
