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

/// The most packreg reads of one certificate or key file: a CA bundle of the whole web is
/// about 200 KiB.
pub const TLS_FILE_LIMIT: u64 = 1 << 20;

/// A CA certificate, client certificate or key file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsFileError {
    /// It could not be read.
    #[error("{}: cannot read the {what}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What it was read as.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// It is a device, a pipe or a folder.
    #[error("{}: the {what} is not a regular file", path.display())]
    NotAFile {
        /// The file.
        path: PathBuf,
        /// What it was read as.
        what: &'static str,
    },
    /// It is larger than [`TLS_FILE_LIMIT`].
    #[error("{}: the {what} is larger than {}, the most packreg reads", path.display(), crate::limits::human(TLS_FILE_LIMIT))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What it was read as.
        what: &'static str,
    },
    /// It holds no PEM block.
    #[error("{}: not a PEM certificate (no BEGIN line)", path.display())]
    NotPem {
        /// The file.
        path: PathBuf,
    },
}

impl From<TlsFileError> for StoreError {
    fn from(e: TlsFileError) -> Self {
        StoreError::Config(e.to_string())
    }
}

/// Reads a certificate or key file: a regular file (not `/dev/zero`, not a pipe that never
/// ends) of at most [`TLS_FILE_LIMIT`] bytes.
fn read_tls_file(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsFileError> {
    let unreadable = |source| TlsFileError::Unreadable {
        path: path.to_path_buf(),
        what,
        source,
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(TlsFileError::NotAFile {
            path: path.to_path_buf(),
            what,
        });
    }
    let too_large = || TlsFileError::TooLarge {
        path: path.to_path_buf(),
        what,
    };
    if meta.len() > TLS_FILE_LIMIT {
        return Err(too_large());
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    // The file may have grown since: the read is bounded too.
    crate::limits::read_bounded(file, TLS_FILE_LIMIT, what).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            too_large()
        } else {
            unreadable(e)
        }
    })
}

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
            let pem = read_tls_file(&file, "CA certificate")?;
            if !pem.windows(11).any(|w| w == b"-----BEGIN ") {
                return Err(TlsFileError::NotPem { path: file }.into());
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
        let cert_pem = read_tls_file(&cert, "client certificate")?;
        return Ok(Some((cert_pem, read_tls_file(&key, "client key")?)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_be_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = TlsSettings::for_host("h", false, Some(Path::new("/dev/zero")), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/dev/zero: the CA certificate is not a regular file"
        );
        let big = dir.path().join("big.pem");
        std::fs::write(&big, vec![b'a'; TLS_FILE_LIMIT as usize + 1]).unwrap();
        let err = TlsSettings::for_host("h", false, Some(&big), &[]).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("the CA certificate is larger than 1 MiB, the most packreg reads"),
            "{err}"
        );
        // docker's certs.d is read the same way.
        let host = dir.path().join("h:5000");
        std::fs::create_dir(&host).unwrap();
        std::fs::create_dir(host.join("dir.crt")).unwrap();
        let err =
            TlsSettings::for_host("h:5000", false, None, &[dir.path().to_path_buf()]).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("dir.crt: the CA certificate is not a regular file"),
            "{err}"
        );
    }
}
