//! TLS settings for a registry (CA files, docker's `certs.d`, a client identity, `--insecure`)
//! and the TLS connector built from them.
//!
//! Building an OpenSSL connector loads the system CA bundle (tens of milliseconds), so it is
//! built at most once per process and per settings, and only when an HTTPS connection is
//! actually opened: a plain-HTTP run never pays for it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::store::StoreError;

/// A certificate and its key, both PEM.
pub(super) type PemPair = (Vec<u8>, Vec<u8>);

/// What an HTTPS connection is built with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsSettings {
    /// Skip certificate verification.
    pub insecure: bool,
    /// Extra trusted roots (PEM), from `--ca-file` and docker's `certs.d/<host>/*.crt`.
    pub roots: Vec<Vec<u8>>,
    /// A client certificate and its PKCS#8 key, from docker's `certs.d/<host>/`.
    pub(super) identity: Option<PemPair>,
}

impl TlsSettings {
    /// Reads the CA files and docker's per-host trust and client-certificate folders under
    /// `cert_dirs` (each holding `<host>/`).
    pub fn for_host(
        host: &str,
        insecure: bool,
        ca_file: Option<&Path>,
        cert_dirs: &[PathBuf],
    ) -> Result<Self, StoreError> {
        let mut roots = Vec::new();
        for file in certificate_files(host, ca_file, cert_dirs) {
            let pem = std::fs::read(&file).map_err(|e| {
                StoreError::Config(format!(
                    "{}: cannot read CA certificate: {e}",
                    file.display()
                ))
            })?;
            if !pem.windows(11).any(|w| w == b"-----BEGIN ") {
                return Err(StoreError::Config(format!(
                    "{}: not a PEM certificate (no BEGIN line)",
                    file.display()
                )));
            }
            roots.push(pem);
        }
        Ok(TlsSettings {
            insecure,
            roots,
            identity: client_identity(host, cert_dirs)?,
        })
    }

    /// Whether a client certificate is presented.
    pub fn has_identity(&self) -> bool {
        self.identity.is_some()
    }

    fn build(&self) -> Result<tokio_native_tls::TlsConnector, String> {
        let mut builder = native_tls::TlsConnector::builder();
        builder.danger_accept_invalid_certs(self.insecure);
        for pem in &self.roots {
            let cert = native_tls::Certificate::from_pem(pem)
                .map_err(|e| format!("a CA certificate is not usable PEM: {e}"))?;
            builder.add_root_certificate(cert);
        }
        if let Some((cert, key)) = &self.identity {
            let identity = native_tls::Identity::from_pkcs8(cert, key).map_err(|e| {
                format!("the client certificate in certs.d is unusable ({e}); the key must be PKCS#8 PEM (BEGIN PRIVATE KEY): convert it with `openssl pkcs8 -topk8 -nocrypt`")
            })?;
            builder.identity(identity);
        }
        builder
            .build()
            .map(tokio_native_tls::TlsConnector::from)
            .map_err(|e| format!("cannot set up TLS: {e}"))
    }
}

/// A TLS connector built on first use.
#[derive(Debug)]
pub(super) struct LazyTls {
    settings: TlsSettings,
    connector: OnceLock<Result<tokio_native_tls::TlsConnector, String>>,
}

impl LazyTls {
    pub(super) fn new(settings: TlsSettings) -> Arc<Self> {
        Arc::new(LazyTls {
            settings,
            connector: OnceLock::new(),
        })
    }

    /// The connector, built now if this is the first HTTPS connection.
    pub(super) fn get(&self) -> Result<&tokio_native_tls::TlsConnector, String> {
        self.connector
            .get_or_init(|| self.settings.build())
            .as_ref()
            .map_err(Clone::clone)
    }
}

fn docker_cert_dirs(host: &str, cert_dirs: &[PathBuf]) -> Vec<PathBuf> {
    cert_dirs.iter().map(|dir| dir.join(host)).collect()
}

fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    found.sort();
    found
}

fn certificate_files(host: &str, ca_file: Option<&Path>, cert_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ca_file.into_iter().map(Path::to_path_buf).collect();
    for dir in docker_cert_dirs(host, cert_dirs) {
        files.extend(files_with_extension(&dir, "crt"));
    }
    files
}

/// docker's client certificate for `host`: a `*.cert` file with its `*.key` beside it in
/// `<dir>/<host>/` of `cert_dirs` (`/etc/docker/certs.d`, `~/.docker/certs.d`).
fn client_identity(host: &str, cert_dirs: &[PathBuf]) -> Result<Option<PemPair>, StoreError> {
    for dir in docker_cert_dirs(host, cert_dirs) {
        let Some(cert) = files_with_extension(&dir, "cert").into_iter().next() else {
            continue;
        };
        let key = cert.with_extension("key");
        if !key.is_file() {
            return Err(StoreError::Config(format!(
                "{}: a client certificate without its key {}",
                cert.display(),
                key.display()
            )));
        }
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| StoreError::Config(format!("{}: {e}", p.display())))
        };
        return Ok(Some((read(&cert)?, read(&key)?)));
    }
    Ok(None)
}
