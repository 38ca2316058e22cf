//! The Notary Project's trust policy (`trustpolicy.json`, version 1.0) and trust store
//! (`x509/ca/<name>/`, `x509/signingAuthority/<name>/` folders of PEM certificates): which
//! policy a repository falls under, which roots and identities it trusts, how strictly.

use std::collections::BTreeMap;
use std::path::Path;

use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509StoreContext, X509};
use serde::{Deserialize, Serialize};

use super::refusal::Refusal;
use super::SignError;

/// A trust store file larger than this is refused.
const MAX_CERT_FILE: u64 = 1024 * 1024;
/// More files than this in one trust store is refused.
const MAX_CERT_FILES: usize = 1000;
/// OpenSSL's X509_V_ERR_CERT_HAS_EXPIRED and X509_V_ERR_CERT_NOT_YET_VALID.
const ERR_EXPIRED: i32 = 10;
const ERR_NOT_YET_VALID: i32 = 9;

/// How strictly a policy verifies (`signatureVerification.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VerificationLevel {
    /// Every check enforced.
    Strict,
    /// Integrity and authenticity enforced; expiry only reported.
    Permissive,
    /// Integrity enforced; the rest only reported.
    Audit,
    /// No verification.
    Skip,
}

/// One policy statement.
#[derive(Debug, Clone)]
pub struct PolicyStatement {
    /// Its name.
    pub name: String,
    /// The repositories it covers (`host/path`, or `*`).
    pub registry_scopes: Vec<String>,
    /// Its level.
    pub level: VerificationLevel,
    /// `ca:NAME` or `signingAuthority:NAME`.
    pub trust_stores: Vec<String>,
    /// `*`, or `x509.subject: K=V, ...` identities.
    pub trusted_identities: Vec<String>,
}

/// A trust policy document.
#[derive(Debug, Clone)]
pub struct TrustPolicy {
    /// Its statements.
    pub statements: Vec<PolicyStatement>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    version: String,
    trust_policies: Vec<Statement>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Statement {
    name: String,
    registry_scopes: Vec<String>,
    signature_verification: SignatureVerification,
    #[serde(default)]
    trust_stores: Vec<String>,
    #[serde(default)]
    trusted_identities: Vec<String>,
}

#[derive(Deserialize)]
struct SignatureVerification {
    level: VerificationLevel,
}

fn bad(message: impl Into<String>) -> SignError {
    SignError::BadTrustPolicy {
        message: message.into(),
    }
}

impl TrustPolicy {
    /// Reads and checks a `trustpolicy.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, SignError> {
        let doc: Document =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("unreadable: {e}")))?;
        if doc.version != "1.0" {
            return Err(bad(format!("version {:?} is not 1.0", doc.version)));
        }
        let mut scopes = std::collections::BTreeSet::new();
        let mut statements = Vec::new();
        for s in doc.trust_policies {
            if s.name.is_empty()
                || statements
                    .iter()
                    .any(|p: &PolicyStatement| p.name == s.name)
            {
                return Err(bad(format!(
                    "policy name {:?} is empty or repeated",
                    s.name
                )));
            }
            if s.registry_scopes.is_empty()
                || (s.registry_scopes.len() > 1 && s.registry_scopes.iter().any(|x| x == "*"))
            {
                return Err(bad(format!(
                    "policy {:?}: registryScopes is empty, or mixes \"*\" with scopes",
                    s.name
                )));
            }
            for scope in &s.registry_scopes {
                if !scopes.insert(scope.clone()) {
                    return Err(bad(format!("scope {scope:?} is in more than one policy")));
                }
            }
            let level = s.signature_verification.level;
            if level != VerificationLevel::Skip
                && (s.trust_stores.is_empty() || s.trusted_identities.is_empty())
            {
                return Err(bad(format!(
                    "policy {:?}: trustStores and trustedIdentities are required unless the level is skip",
                    s.name
                )));
            }
            for store in &s.trust_stores {
                match store.split_once(':') {
                    Some(("ca" | "signingAuthority", name)) if !name.is_empty() => {}
                    _ => {
                        return Err(bad(format!(
                            "policy {:?}: trust store {store:?} is not ca:NAME or signingAuthority:NAME",
                            s.name
                        )))
                    }
                }
            }
            for identity in &s.trusted_identities {
                if identity != "*" && parse_identity(identity).is_none() {
                    return Err(bad(format!(
                        "policy {:?}: trusted identity {identity:?} is not \"*\" or \"x509.subject: K=V, ...\"",
                        s.name
                    )));
                }
            }
            statements.push(PolicyStatement {
                name: s.name,
                registry_scopes: s.registry_scopes,
                level,
                trust_stores: s.trust_stores,
                trusted_identities: s.trusted_identities,
            });
        }
        Ok(TrustPolicy { statements })
    }

    /// The statement for repository `scope` (`host/path/name`): its own, else the `*` one.
    pub fn select(&self, scope: &str) -> Option<&PolicyStatement> {
        self.statements
            .iter()
            .find(|s| s.registry_scopes.iter().any(|x| x == scope))
            .or_else(|| {
                self.statements
                    .iter()
                    .find(|s| s.registry_scopes.iter().any(|x| x == "*"))
            })
    }
}

/// `x509.subject: C=US, O=Org, CN=name` as attribute pairs.
fn parse_identity(identity: &str) -> Option<Vec<(String, String)>> {
    let subject = identity.strip_prefix("x509.subject:")?.trim();
    let pairs: Option<Vec<(String, String)>> = subject
        .split(',')
        .map(|part| {
            let (k, v) = part.trim().split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    pairs.filter(|p| !p.is_empty() && p.iter().all(|(k, _)| !k.is_empty()))
}

/// The leaf's subject as `K=V, ...` (short attribute names).
pub fn subject_text(cert: &X509) -> String {
    subject_pairs(cert)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn subject_pairs(cert: &X509) -> Vec<(String, String)> {
    cert.subject_name()
        .entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?").to_string();
            let value = e.data().to_string().unwrap_or_default();
            (key, value)
        })
        .collect()
}

impl PolicyStatement {
    /// Whether the leaf's subject is one the policy trusts: every attribute of one trusted
    /// identity present in it with the same value.
    pub fn trusts_identity(&self, leaf: &X509) -> bool {
        let subject = subject_pairs(leaf);
        self.trusted_identities.iter().any(|identity| {
            identity == "*"
                || parse_identity(identity)
                    .is_some_and(|want| want.iter().all(|pair| subject.contains(pair)))
        })
    }
}

/// The certificates of a trust store folder, by `type:name` (`ca:acme`).
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    stores: BTreeMap<String, Vec<X509>>,
}

impl TrustStore {
    /// Reads `dir/x509/{ca,signingAuthority}/<name>/*` (PEM or DER certificate files).
    pub fn load(dir: &Path) -> Result<Self, SignError> {
        let fail = |path: &Path, message: String| SignError::BadTrustStore {
            path: path.display().to_string(),
            message,
        };
        let x509 = dir.join("x509");
        if !x509.is_dir() {
            return Err(fail(
                dir,
                "has no x509/ folder (x509/ca/<name>/ holds the roots)".into(),
            ));
        }
        let mut stores = BTreeMap::new();
        let mut files = 0;
        for kind in ["ca", "signingAuthority"] {
            let Ok(names) = std::fs::read_dir(x509.join(kind)) else {
                continue;
            };
            for name in names.flatten() {
                if !name.path().is_dir() {
                    continue;
                }
                let mut certs = Vec::new();
                let entries = std::fs::read_dir(name.path())
                    .map_err(|e| fail(&name.path(), e.to_string()))?;
                for file in entries.flatten() {
                    let path = file.path();
                    if !path.is_file() {
                        continue;
                    }
                    files += 1;
                    if files > MAX_CERT_FILES {
                        return Err(fail(dir, format!("holds more than {MAX_CERT_FILES} files")));
                    }
                    let bytes = std::fs::File::open(&path)
                        .and_then(|f| {
                            crate::limits::read_bounded(f, MAX_CERT_FILE, "a certificate file")
                        })
                        .map_err(|e| fail(&path, e.to_string()))?;
                    let parsed = X509::stack_from_pem(&bytes)
                        .ok()
                        .filter(|c| !c.is_empty())
                        .or_else(|| X509::from_der(&bytes).ok().map(|c| vec![c]))
                        .ok_or_else(|| fail(&path, "not a PEM or DER certificate".into()))?;
                    certs.extend(parsed);
                }
                let label = format!("{kind}:{}", name.file_name().to_string_lossy());
                stores.insert(label, certs);
            }
        }
        Ok(TrustStore { stores })
    }

    /// The roots a policy statement names; an error naming a store that is missing.
    pub fn roots(&self, statement: &PolicyStatement) -> Result<Vec<X509>, Refusal> {
        let mut roots = Vec::new();
        for name in &statement.trust_stores {
            match self.stores.get(name) {
                Some(certs) if !certs.is_empty() => roots.extend(certs.iter().cloned()),
                _ => {
                    return Err(Refusal::CertificateUntrusted {
                        message: format!(
                            "the trust store {name:?} the policy names is missing or empty"
                        ),
                    })
                }
            }
        }
        Ok(roots)
    }
}

/// Checks `chain` (leaf first) up to one of `roots`, now. `Ok(None)`: trusted;
/// `Ok(Some(expired))`: trusted but for the validity period (reported, enforced by strict
/// policies); `Err`: not trusted.
pub fn check_chain(chain: &[X509], roots: &[X509]) -> Result<Option<Refusal>, Refusal> {
    match verify_chain(chain, roots, false) {
        Ok(()) => Ok(None),
        Err((code, _)) if code == ERR_EXPIRED || code == ERR_NOT_YET_VALID => {
            match verify_chain(chain, roots, true) {
                Ok(()) => Ok(Some(Refusal::CertificateExpired)),
                Err((_, message)) => Err(Refusal::CertificateUntrusted { message }),
            }
        }
        Err((_, message)) => Err(Refusal::CertificateUntrusted { message }),
    }
}

/// OpenSSL's verification of the chain against the roots; its error code and reason on
/// failure.
fn verify_chain(chain: &[X509], roots: &[X509], ignore_time: bool) -> Result<(), (i32, String)> {
    let failed = || (1, "the chain could not be checked".to_string());
    let build = || -> Result<(X509StoreBuilder, Stack<X509>), openssl::error::ErrorStack> {
        let mut store = X509StoreBuilder::new()?;
        for root in roots {
            store.add_cert(root.clone())?;
        }
        if ignore_time {
            store.set_flags(X509VerifyFlags::NO_CHECK_TIME)?;
        }
        let mut intermediates = Stack::new()?;
        for cert in chain.iter().skip(1) {
            intermediates.push(cert.clone())?;
        }
        Ok((store, intermediates))
    };
    let (store, intermediates) = build().map_err(|_| failed())?;
    let store = store.build();
    let mut ctx = X509StoreContext::new().map_err(|_| failed())?;
    let leaf = chain.first().ok_or_else(failed)?;
    let result = ctx
        .init(&store, leaf, &intermediates, |c| {
            let ok = c.verify_cert()?;
            Ok((ok, c.error().as_raw(), c.error().error_string().to_string()))
        })
        .map_err(|_| failed())?;
    match result {
        (true, _, _) => Ok(()),
        (false, code, message) => Err((code, message)),
    }
}
