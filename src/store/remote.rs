//! A remote registry speaking the OCI distribution API, built on the `oci-client` crate.
//!
//! Where the crate falls short, this module extends around it: manifests are always moved as
//! raw bytes (the crate's typed manifest drops fields), tags and the catalog are paged with
//! `n`/`last`, DELETE and cross-repository mounts (201 or 202) are requests of our own with
//! the same credentials, and transient failures are retried with backoff.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use futures_util::TryStreamExt;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use reqwest::StatusCode;
use tokio_util::io::{ReaderStream, StreamReader};

use super::{BlobReader, RawManifest, RepoLock, Store, StoreError, StoreOptions};
use crate::auth::{load_credential, Credential, HostSettings, HostsFile};
use crate::digest::Digest;
use crate::oci::{
    self, Descriptor, Manifest, MEDIA_TYPE_DOCKER_LIST, MEDIA_TYPE_DOCKER_MANIFEST,
    MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST,
};
use crate::reference::{is_repository_path, is_valid_tag};

const ACCEPTED_MANIFESTS: &[&str] = &[
    MEDIA_TYPE_MANIFEST,
    MEDIA_TYPE_INDEX,
    MEDIA_TYPE_DOCKER_MANIFEST,
    MEDIA_TYPE_DOCKER_LIST,
];
/// Entries asked per listing page; `PACKREG_PAGE_SIZE` overrides it (registries cap it).
fn page_size() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| {
        std::env::var("PACKREG_PAGE_SIZE")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(1000)
    })
}
/// Pages followed at most in one listing (a guard against a registry that links in circles).
const MAX_PAGES: usize = 10_000;
const ATTEMPTS: u32 = 4;
const USER_AGENT: &str = concat!("packreg/", env!("CARGO_PKG_VERSION"));
const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// How long an Authorization header of our own is reused; registry tokens live 60 s or more.
const AUTH_HEADER_TTL: Duration = Duration::from_secs(45);

/// How to talk to the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTPS.
    Https,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A registry at `host[:port][/base/path]`.
pub struct RemoteStore {
    host: String,
    base: String,
    scheme: Scheme,
    /// For the requests oci-client lacks; built on first use (a TLS client costs ~0.1 s of
    /// certificate loading).
    http: Arc<tokio::sync::OnceCell<reqwest::Client>>,
    tls: TlsSettings,
    credentials: Credentials,
    /// The client for fixed credentials (anonymous, basic).
    shared: Client,
    /// Clients holding an access token for one scope, made from an identity token.
    sessions: tokio::sync::Mutex<std::collections::HashMap<String, (Client, RegistryAuth)>>,
    /// Authorization headers of our own requests, per repository and operation, with when
    /// they were obtained.
    auth_headers:
        tokio::sync::Mutex<std::collections::HashMap<String, (Option<String>, std::time::Instant)>>,
}

/// What the clients are built with.
#[derive(Clone, PartialEq, Eq)]
struct TlsSettings {
    scheme: Scheme,
    insecure: bool,
    pems: Vec<Vec<u8>>,
    /// A client certificate and its PKCS#8 key, from docker's certs.d folder.
    identity: Option<PemPair>,
}

/// A certificate and its key, both PEM.
type PemPair = (Vec<u8>, Vec<u8>);

/// How the store authenticates.
enum Credentials {
    /// The same credentials for every request (oci-client runs the challenge flows).
    Fixed(RegistryAuth),
    /// An OAuth2 refresh token exchanged for an access token per scope, as docker and oras do.
    Identity {
        refresh: crate::auth::Secret,
        realm: String,
        service: Option<String>,
    },
}

fn build_http(tls: &TlsSettings) -> Result<reqwest::Client, StoreError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(15))
        .danger_accept_invalid_certs(tls.insecure);
    for pem in &tls.pems {
        if let Ok(cert) = reqwest::Certificate::from_pem(pem) {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some((cert, key)) = &tls.identity {
        let identity = reqwest::Identity::from_pkcs8_pem(cert, key).map_err(|e| {
            StoreError::Config(format!(
                "the client certificate in certs.d is unusable ({}); the key must be PKCS#8 PEM (BEGIN PRIVATE KEY): convert it with `openssl pkcs8 -topk8 -nocrypt`",
                chain(&e)
            ))
        })?;
        builder = builder.identity(identity);
    }
    builder
        .build()
        .map_err(|e| StoreError::Config(format!("cannot set up HTTP: {}", chain(&e))))
}

fn new_client(tls: &TlsSettings) -> Result<Client, StoreError> {
    let config = ClientConfig {
        protocol: match tls.scheme {
            Scheme::Http => ClientProtocol::Http,
            Scheme::Https => ClientProtocol::Https,
        },
        accept_invalid_certificates: tls.insecure,
        extra_root_certificates: tls
            .pems
            .iter()
            .map(|data| Certificate {
                encoding: CertificateEncoding::Pem,
                data: data.clone(),
            })
            .collect(),
        // One streamed PUT per blob: fastest, and never holds a blob in memory.
        use_monolithic_push: true,
        user_agent: USER_AGENT,
        connect_timeout: Some(Duration::from_secs(15)),
        read_timeout: Some(Duration::from_secs(300)),
        ..ClientConfig::default()
    };
    Client::try_from(config)
        .map_err(|e| StoreError::Config(format!("cannot set up the registry client: {e}")))
}

impl std::fmt::Debug for RemoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStore")
            .field("host", &self.host)
            .field("base", &self.base)
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

/// Splits `host[:port][/base/path]`.
pub fn split_registry(spec: &str) -> Result<(String, String), StoreError> {
    let spec = spec
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let (host, base) = spec.split_once('/').unwrap_or((spec, ""));
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if !host_ok {
        return Err(StoreError::Config(format!(
            "{spec:?} is not a registry: give host[:port][/base/path], or oci:PATH for a local store"
        )));
    }
    if !base.is_empty() && !is_repository_path(base) {
        return Err(StoreError::Config(format!(
            "{base:?} (in {spec}) is not a valid base path: lowercase letters, digits, '.', '_', '-' and '/'"
        )));
    }
    Ok((host.to_ascii_lowercase(), base.to_string()))
}

/// Whether `host` (with an optional port) is a loopback address.
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else if host.parse::<std::net::IpAddr>().is_ok() {
        host
    } else {
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The full text of an error and its causes.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

fn certificate_files(host: &str, ca_file: Option<&Path>) -> Vec<std::path::PathBuf> {
    let mut files: Vec<std::path::PathBuf> = ca_file.into_iter().map(Path::to_path_buf).collect();
    // docker's per-host trust folders.
    let mut dirs = vec![Path::new("/etc/docker/certs.d").join(host)];
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".docker/certs.d").join(host));
    }
    for dir in dirs {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut found: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "crt"))
                .collect();
            found.sort();
            files.extend(found);
        }
    }
    files
}

/// docker's client certificate for `host`: a `*.cert` file with its `*.key` beside it in
/// `/etc/docker/certs.d/<host>/` or `~/.docker/certs.d/<host>/`.
fn client_identity(host: &str) -> Result<Option<PemPair>, StoreError> {
    let mut dirs = vec![Path::new("/etc/docker/certs.d").join(host)];
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".docker/certs.d").join(host));
    }
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut certs: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "cert"))
            .collect();
        certs.sort();
        if let Some(cert) = certs.first() {
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
            return Ok(Some((read(cert)?, read(&key)?)));
        }
    }
    Ok(None)
}

impl RemoteStore {
    /// Connects to the registry `spec` (`host[:port][/base/path]`). Flags in `opts` win over
    /// what `login` remembered for the host. On a loopback host without flags, HTTPS is tried
    /// first and plain HTTP used only when the server answers in plain HTTP.
    pub async fn connect(spec: &str, opts: &StoreOptions) -> Result<RemoteStore, StoreError> {
        Self::connect_sharing(spec, opts, None).await
    }

    /// [`RemoteStore::connect`], reusing the HTTP clients of `other` when the TLS settings
    /// are the same (as for the two sides of a mirror): each client costs a load of the CA
    /// bundle.
    pub async fn connect_sharing(
        spec: &str,
        opts: &StoreOptions,
        other: Option<&RemoteStore>,
    ) -> Result<RemoteStore, StoreError> {
        let (host, base) = split_registry(spec)?;
        let flags = opts.plain_http || opts.insecure || opts.ca_file.is_some();
        let remembered = HostsFile::load().get(&host).cloned();
        let settings = if flags {
            HostSettings {
                plain_http: opts.plain_http,
                insecure: opts.insecure,
                ca_file: opts.ca_file.clone(),
            }
        } else {
            remembered.clone().unwrap_or_default()
        };
        let mut pems = Vec::new();
        for file in certificate_files(&host, settings.ca_file.as_deref()) {
            let pem = std::fs::read(&file).map_err(|e| {
                StoreError::Config(format!(
                    "{}: cannot read CA certificate: {e}",
                    file.display()
                ))
            })?;
            reqwest::Certificate::from_pem(&pem).map_err(|e| {
                StoreError::Config(format!("{}: not a PEM certificate: {e}", file.display()))
            })?;
            pems.push(pem);
        }
        let scheme = if settings.plain_http {
            Scheme::Http
        } else if !flags && remembered.is_none() && is_loopback(&host) {
            probe_scheme(&host).await
        } else {
            Scheme::Https
        };
        let identity = client_identity(&host)?;
        let tls = TlsSettings {
            scheme,
            insecure: settings.insecure,
            pems,
            identity,
        };
        let reuse = other.filter(|o| o.tls == tls);
        let http = reuse.map_or_else(Default::default, |o| o.http.clone());

        let (credential, warning) = load_credential(&host, opts.registry_config.as_deref());
        if let Some(warning) = warning {
            tracing::warn!("{warning}");
        }
        let credentials = match credential {
            Credential::Anonymous => Credentials::Fixed(RegistryAuth::Anonymous),
            Credential::Basic { username, password } => {
                Credentials::Fixed(RegistryAuth::Basic(username, password.expose().to_string()))
            }
            Credential::IdentityToken(refresh) => {
                let client = http.get_or_try_init(|| async { build_http(&tls) }).await?;
                let (realm, service) = bearer_realm(client, scheme, &host).await?;
                Credentials::Identity {
                    refresh,
                    realm,
                    service,
                }
            }
        };
        // oci-client keeps credentials per registry host, so one client serves both sides.
        let shared = match reuse {
            Some(o) => o.shared.clone(),
            None => new_client(&tls)?,
        };
        if let Credentials::Fixed(auth) = &credentials {
            shared.store_auth_if_needed(&host, auth).await;
        }
        Ok(RemoteStore {
            host,
            base,
            scheme,
            http,
            tls,
            credentials,
            shared,
            sessions: Default::default(),
            auth_headers: Default::default(),
        })
    }

    /// The client and credentials for requests within `scope`
    /// (`repository:<name>:pull,push` or `registry:catalog:*`).
    async fn session(&self, scope: &str) -> Result<(Client, RegistryAuth), StoreError> {
        let (refresh, realm, service) = match &self.credentials {
            Credentials::Fixed(auth) => return Ok((self.shared.clone(), auth.clone())),
            Credentials::Identity {
                refresh,
                realm,
                service,
            } => (refresh, realm, service),
        };
        let mut sessions = self.sessions.lock().await;
        if let Some(session) = sessions.get(scope) {
            return Ok(session.clone());
        }
        let http = self.http().await?;
        let exchange = |scope: String| {
            exchange_identity_token(
                http,
                &self.host,
                realm,
                service.as_deref(),
                scope,
                refresh.expose(),
            )
        };
        let token = match exchange(scope.to_string()).await {
            // An account that may only pull is refused a pull,push scope by some token
            // services: ask for pull alone.
            Err(StoreError::Unauthorized { .. }) if scope.ends_with(":pull,push") => {
                exchange(scope.trim_end_matches(",push").to_string()).await?
            }
            other => other?,
        };
        let auth = RegistryAuth::Bearer(token);
        let client = new_client(&self.tls)?;
        client.store_auth_if_needed(&self.host, &auth).await;
        sessions.insert(scope.to_string(), (client.clone(), auth.clone()));
        Ok((client, auth))
    }

    /// The session for the repository `repo` (relative to the base path).
    async fn repo_session(&self, repo: &str) -> Result<(Client, RegistryAuth), StoreError> {
        let full = self.full_repo(repo)?;
        self.session(&format!("repository:{full}:pull,push")).await
    }

    /// The HTTP client for requests of our own, built on first use.
    async fn http(&self) -> Result<&reqwest::Client, StoreError> {
        self.http
            .get_or_try_init(|| async { build_http(&self.tls) })
            .await
    }

    /// The registry host (with port).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// HTTP or HTTPS, as decided at connection.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    fn full_repo(&self, repo: &str) -> Result<String, StoreError> {
        if !is_repository_path(repo) {
            return Err(StoreError::Config(format!(
                "{repo:?} is not a valid repository path"
            )));
        }
        Ok(if self.base.is_empty() {
            repo.to_string()
        } else {
            format!("{}/{repo}", self.base)
        })
    }

    fn image(&self, repo: &str, reference: &str) -> Result<Reference, StoreError> {
        let full = self.full_repo(repo)?;
        Ok(if reference.starts_with("sha256:") {
            Reference::with_digest(self.host.clone(), full, reference.to_string())
        } else {
            Reference::with_tag(self.host.clone(), full, reference.to_string())
        })
    }

    fn url(&self, full_repo: &str, rest: &str) -> String {
        format!(
            "{}://{}/v2/{full_repo}/{rest}",
            self.scheme.as_str(),
            self.host
        )
    }

    /// The Authorization header for a request of our own on `image`, reused for a while so
    /// that a pull of many blobs does not fetch a token per blob.
    async fn authorization(
        &self,
        image: &Reference,
        op: RegistryOperation,
    ) -> Result<Option<String>, StoreError> {
        let key = format!("{}#{}", image.repository(), op == RegistryOperation::Push);
        {
            let cache = self.auth_headers.lock().await;
            if let Some((header, at)) = cache.get(&key) {
                if at.elapsed() < AUTH_HEADER_TTL {
                    return Ok(header.clone());
                }
            }
        }
        let header = self.fresh_authorization(image, op).await?;
        self.auth_headers
            .lock()
            .await
            .insert(key, (header.clone(), std::time::Instant::now()));
        Ok(header)
    }

    async fn fresh_authorization(
        &self,
        image: &Reference,
        op: RegistryOperation,
    ) -> Result<Option<String>, StoreError> {
        if self.mtls() {
            let actions = if op == RegistryOperation::Push {
                "pull,push"
            } else {
                "pull"
            };
            return self
                .own_authorization(&format!("repository:{}:{actions}", image.repository()))
                .await;
        }
        let (client, auth) = self
            .session(&format!("repository:{}:pull,push", image.repository()))
            .await?;
        let token = client
            .auth(image, &auth, op)
            .await
            .map_err(|e| self.map_error(e, &image.whole()))?;
        Ok(match (token, &auth) {
            (Some(token), _) => Some(format!("Bearer {token}")),
            (None, RegistryAuth::Basic(user, pass)) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
            )),
            (None, RegistryAuth::Bearer(token)) => Some(format!("Bearer {token}")),
            _ => None,
        })
    }

    /// Whether a client certificate is in use: oci-client cannot present one, so every
    /// request is then one of our own.
    fn mtls(&self) -> bool {
        self.tls.identity.is_some()
    }

    /// The Authorization header for `_catalog`, which needs the `registry:catalog:*` scope
    /// (oci-client would ask for a repository scope, which token services refuse).
    async fn catalog_authorization(&self) -> Result<Option<String>, StoreError> {
        self.own_authorization("registry:catalog:*").await
    }

    /// The Authorization header for `scope`, from our own run of the registry's challenge:
    /// Basic credentials as they are, or a token from the Bearer realm.
    async fn own_authorization(&self, scope: &str) -> Result<Option<String>, StoreError> {
        let basic = match &self.credentials {
            Credentials::Identity { .. } => {
                return Ok(match self.session(scope).await?.1 {
                    RegistryAuth::Bearer(token) => Some(format!("Bearer {token}")),
                    _ => None,
                })
            }
            Credentials::Fixed(RegistryAuth::Basic(user, pass)) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
            )),
            Credentials::Fixed(RegistryAuth::Bearer(token)) => {
                return Ok(Some(format!("Bearer {token}")))
            }
            Credentials::Fixed(_) => None,
        };
        let resp = self
            .http()
            .await?
            .get(format!("{}://{}/v2/", self.scheme.as_str(), self.host))
            .send()
            .await
            .map_err(|e| self.network_error(&e))?;
        let challenge = resp
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let Some(params) = parse_bearer_challenge(&challenge) else {
            return Ok(basic);
        };
        let mut query = vec![("scope", scope.to_string())];
        if let Some(service) = params.get("service") {
            query.push(("service", service.clone()));
        }
        let realm = params.get("realm").cloned().unwrap_or_default();
        let mut request = self.http().await?.get(&realm).query(&query);
        if let Some(basic) = &basic {
            request = request.header(reqwest::header::AUTHORIZATION, basic);
        }
        let resp = request.send().await.map_err(|e| self.network_error(&e))?;
        if !resp.status().is_success() {
            return Ok(None);
        }
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        Ok(body
            .get("token")
            .or_else(|| body.get("access_token"))
            .and_then(|t| t.as_str())
            .map(|t| format!("Bearer {t}")))
    }

    async fn send_own(
        &self,
        image: &Reference,
        op: RegistryOperation,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, StoreError> {
        let header = self.authorization(image, op).await?;
        self.send_with(header.as_deref(), build).await
    }

    /// Sends a request of our own with `header` as Authorization, retrying transient failures.
    async fn send_with(
        &self,
        header: Option<&str>,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, StoreError> {
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            let mut request = build(self.http().await?);
            if let Some(h) = header {
                request = request.header(reqwest::header::AUTHORIZATION, h);
            }
            match request.send().await {
                Ok(resp)
                    if (resp.status().is_server_error()
                        || resp.status() == StatusCode::TOO_MANY_REQUESTS)
                        && attempt + 1 < ATTEMPTS =>
                {
                    backoff(attempt).await;
                }
                Ok(resp) => return Ok(resp),
                Err(e) if (e.is_connect() || e.is_timeout()) && attempt + 1 < ATTEMPTS => {
                    last = Some(e);
                    backoff(attempt).await;
                }
                Err(e) => return Err(self.network_error(&e)),
            }
        }
        Err(match last {
            Some(e) => self.network_error(&e),
            None => StoreError::Remote {
                location: self.host.clone(),
                message: "the registry kept failing; try again later".into(),
            },
        })
    }

    fn network_error(&self, err: &reqwest::Error) -> StoreError {
        network_error(&self.host, err)
    }

    /// Maps an oci-client error to a sentence that says what to do.
    fn map_error(&self, err: OciDistributionError, what: &str) -> StoreError {
        let location = what.to_string();
        let login = format!(
            "authentication required or credentials rejected (UNAUTHORIZED); run `packreg login {}`, or check the credentials in the docker config",
            self.host
        );
        match err {
            OciDistributionError::UnauthorizedError { .. } => StoreError::Unauthorized {
                location,
                message: login,
            },
            OciDistributionError::AuthenticationFailure(_) => StoreError::Unauthorized {
                location,
                message: format!(
                    "the registry's token service refused the credentials; run `packreg login {}`",
                    self.host
                ),
            },
            OciDistributionError::ImageManifestNotFoundError(_) => StoreError::NotFound {
                what: location,
                location: self.host.clone(),
            },
            OciDistributionError::RegistryError { envelope, .. } => {
                let first = envelope.errors.first();
                let code = first.map(|e| &e.code);
                let message = first.map(|e| e.message.clone()).unwrap_or_default();
                match code {
                    Some(OciErrorCode::Unauthorized) => StoreError::Unauthorized {
                        location,
                        message: login,
                    },
                    Some(OciErrorCode::Denied) => StoreError::Denied { location },
                    Some(
                        OciErrorCode::NameUnknown
                        | OciErrorCode::ManifestUnknown
                        | OciErrorCode::BlobUnknown,
                    ) => StoreError::NotFound {
                        what: location,
                        location: self.host.clone(),
                    },
                    Some(OciErrorCode::Toomanyrequests) => StoreError::Remote {
                        location,
                        message:
                            "the registry is rate limiting (TOOMANYREQUESTS); wait and try again"
                                .into(),
                    },
                    Some(OciErrorCode::DigestInvalid | OciErrorCode::SizeInvalid) => {
                        StoreError::Integrity {
                            location,
                            message: format!("the registry refused the content: {message}"),
                        }
                    }
                    Some(OciErrorCode::Unsupported) => StoreError::Unsupported(format!(
                        "{location}: the registry does not support this ({message})"
                    )),
                    Some(code) => StoreError::Remote {
                        location,
                        message: format!("the registry answered {code:?}: {message}"),
                    },
                    None => StoreError::Remote {
                        location,
                        message: "the registry answered an error without details".into(),
                    },
                }
            }
            OciDistributionError::ServerError { code, message, .. } => match code {
                401 => StoreError::Unauthorized {
                    location,
                    message: login,
                },
                403 => StoreError::Denied { location },
                404 => StoreError::NotFound {
                    what: location,
                    location: self.host.clone(),
                },
                _ => StoreError::Remote {
                    location,
                    message: format!(
                        "the registry answered HTTP {code}: {}",
                        message.chars().take(200).collect::<String>().trim()
                    ),
                },
            },
            OciDistributionError::RequestError(e) => match e.status() {
                Some(StatusCode::UNAUTHORIZED) => StoreError::Unauthorized {
                    location,
                    message: login,
                },
                Some(StatusCode::FORBIDDEN) => StoreError::Denied { location },
                Some(StatusCode::NOT_FOUND) => StoreError::NotFound {
                    what: location,
                    location: self.host.clone(),
                },
                _ => network_error(&self.host, &e),
            },
            OciDistributionError::DigestError(e) => StoreError::Integrity {
                location,
                message: e.to_string(),
            },
            other => StoreError::Remote {
                location,
                message: chain(&other),
            },
        }
    }

    /// Runs `op` and retries transient failures (connection errors, 5xx, 429) with backoff.
    async fn retry<T, F, Fut>(&self, mut op: F) -> Result<T, OciDistributionError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        let mut attempt = 0;
        loop {
            match op().await {
                Err(e) if attempt + 1 < ATTEMPTS && is_transient(&e) => {
                    tracing::debug!("retrying after a transient failure: {e}");
                    backoff(attempt).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The error for an unsuccessful answer `status` of a request of our own about `what`
    /// (`action` names the request in the message).
    fn status_error(&self, status: StatusCode, what: String, action: &str) -> StoreError {
        match status {
            StatusCode::NOT_FOUND => StoreError::NotFound {
                what,
                location: self.host.clone(),
            },
            StatusCode::UNAUTHORIZED => StoreError::Unauthorized {
                location: what,
                message: format!(
                    "authentication required or credentials rejected (UNAUTHORIZED); run `packreg login {}`",
                    self.host
                ),
            },
            StatusCode::FORBIDDEN => StoreError::Denied { location: what },
            StatusCode::METHOD_NOT_ALLOWED => StoreError::Unsupported(format!(
                "{what}: the registry does not allow {action} (CNCF distribution needs storage.delete.enabled: true for deletes)"
            )),
            s => StoreError::Remote {
                location: what,
                message: format!("the registry answered HTTP {s} to {action}"),
            },
        }
    }

    /// GETs a listing (`tags/list`, `_catalog`) and follows its `Link: <…>; rel="next"`
    /// pages, collecting the strings of `field`. None when the first page is 404 (no such
    /// repository, or no catalog).
    async fn list_pages(
        &self,
        header: Option<&str>,
        first: String,
        field: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let mut url = first;
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let resp = self.send_with(header, |http| http.get(&url)).await?;
            match resp.status() {
                s if s.is_success() => {}
                StatusCode::NOT_FOUND if page == 0 => return Ok(None),
                s => return Err(self.status_error(s, self.host.clone(), "a listing")),
            }
            let next = next_link(resp.headers(), self.scheme, &self.host);
            let body: serde_json::Value = resp.json().await.map_err(|e| StoreError::Remote {
                location: self.host.clone(),
                message: format!("the registry answered a listing that is not JSON: {e}"),
            })?;
            all.extend(
                body.get(field)
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string)),
            );
            match next {
                Some(next) => url = next,
                None => break,
            }
        }
        all.sort();
        all.dedup();
        Ok(Some(all))
    }

    /// Requests of our own for what oci-client does elsewhere, used when a client certificate
    /// is in use (oci-client cannot present one).
    async fn own_get_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<RawManifest, StoreError> {
        let image = self.image(repo, reference)?;
        let url = self.url(&self.full_repo(repo)?, &format!("manifests/{reference}"));
        let what = self.reference(repo, reference);
        let accept = ACCEPTED_MANIFESTS.join(", ");
        let resp = self
            .send_own(&image, RegistryOperation::Pull, |http| {
                http.get(&url)
                    .header(reqwest::header::ACCEPT, accept.as_str())
            })
            .await?;
        if !resp.status().is_success() {
            return Err(self.status_error(resp.status(), what, "a manifest download"));
        }
        let bytes = resp.bytes().await.map_err(|e| self.network_error(&e))?;
        checked_manifest(what, &bytes, reference.parse().ok())
    }

    async fn own_head(
        &self,
        repo: &str,
        rest: &str,
        accept: &str,
    ) -> Result<reqwest::Response, StoreError> {
        let image = self.image(repo, "latest")?;
        let url = self.url(&self.full_repo(repo)?, rest);
        self.send_own(&image, RegistryOperation::Pull, |http| {
            http.head(&url).header(reqwest::header::ACCEPT, accept)
        })
        .await
    }

    async fn own_resolve(&self, repo: &str, reference: &str) -> Result<Option<Digest>, StoreError> {
        let accept = ACCEPTED_MANIFESTS.join(", ");
        let resp = self
            .own_head(repo, &format!("manifests/{reference}"), &accept)
            .await?;
        match resp.status() {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND => return Ok(None),
            s => {
                return Err(self.status_error(
                    s,
                    self.reference(repo, reference),
                    "a manifest lookup",
                ))
            }
        }
        let header = resp
            .headers()
            .get("Docker-Content-Digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Digest>().ok());
        match header {
            Some(digest) => Ok(Some(digest)),
            None => Ok(Some(self.own_get_manifest(repo, reference).await?.digest)),
        }
    }

    async fn own_has_blob(&self, repo: &str, digest: &Digest) -> Result<bool, StoreError> {
        let resp = self
            .own_head(repo, &format!("blobs/{digest}"), "*/*")
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            s => Err(self.status_error(s, self.reference(repo, digest.as_str()), "a blob lookup")),
        }
    }

    async fn own_put_manifest(
        &self,
        repo: &str,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<(), StoreError> {
        let image = self.image(repo, reference)?;
        let url = self.url(&self.full_repo(repo)?, &format!("manifests/{reference}"));
        let body = bytes::Bytes::copy_from_slice(bytes);
        let resp = self
            .send_own(&image, RegistryOperation::Push, |http| {
                http.put(&url)
                    .header(reqwest::header::CONTENT_TYPE, media_type)
                    .body(body.clone())
            })
            .await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(self.status_error(
                resp.status(),
                self.reference(repo, reference),
                "a manifest upload",
            ))
        }
    }

    async fn own_put_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        reader: BlobReader,
    ) -> Result<(), StoreError> {
        let image = self.image(repo, digest.as_str())?;
        let what = self.reference(repo, digest.as_str());
        let mut url = self.start_upload(repo, &image, &what).await?;
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("digest={digest}"));
        let body = reqwest::Body::wrap_stream(ReaderStream::with_capacity(reader, 256 * 1024));
        let resp = self
            .send_stream(reqwest::Method::PUT, &url, &image, size, body)
            .await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(self.status_error(resp.status(), what, "an upload"))
        }
    }

    /// Sends `size` bytes of blob content to an upload session (a streamed body is sent
    /// once: no retry).
    async fn send_stream(
        &self,
        method: reqwest::Method,
        url: &str,
        image: &Reference,
        size: u64,
        body: reqwest::Body,
    ) -> Result<reqwest::Response, StoreError> {
        let header = self.authorization(image, RegistryOperation::Push).await?;
        let mut request = self
            .http()
            .await?
            .request(method, url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, size)
            .body(body);
        if let Some(h) = &header {
            request = request.header(reqwest::header::AUTHORIZATION, h);
        }
        request.send().await.map_err(|e| self.network_error(&e))
    }

    /// Opens an upload session in `repo` and returns its URL.
    async fn start_upload(
        &self,
        repo: &str,
        image: &Reference,
        what: &str,
    ) -> Result<String, StoreError> {
        let start = self.url(&self.full_repo(repo)?, "blobs/uploads/");
        let resp = self
            .send_own(image, RegistryOperation::Push, |http| {
                http.post(&start).header(reqwest::header::CONTENT_LENGTH, 0)
            })
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.status_error(resp.status(), what.to_string(), "an upload"));
        }
        self.upload_location(&resp, what)
    }

    /// The absolute URL of an upload session from a response's `Location`.
    fn upload_location(&self, resp: &reqwest::Response, what: &str) -> Result<String, StoreError> {
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| StoreError::Remote {
                location: what.to_string(),
                message: "the registry answered an upload without a Location".into(),
            })?;
        Ok(if location.starts_with('/') {
            format!("{}://{}{location}", self.scheme.as_str(), self.host)
        } else {
            location.to_string()
        })
    }

    /// Checks that the registry accepts the client's credentials (used by `login`).
    pub async fn check_access(&self) -> Result<(), StoreError> {
        let image =
            Reference::with_tag(self.host.clone(), "packreg/login-check".into(), "x".into());
        let header = self.authorization(&image, RegistryOperation::Pull).await?;
        let mut request =
            self.http()
                .await?
                .get(format!("{}://{}/v2/", self.scheme.as_str(), self.host));
        if let Some(h) = &header {
            request = request.header(reqwest::header::AUTHORIZATION, h);
        }
        let resp = request.send().await.map_err(|e| self.network_error(&e))?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            StatusCode::UNAUTHORIZED => Err(StoreError::Unauthorized {
                location: self.host.clone(),
                message: "the registry rejected the user name or password".into(),
            }),
            s => Err(StoreError::Remote {
                location: self.host.clone(),
                message: format!(
                    "the registry answered HTTP {s} to /v2/; is this an OCI registry?"
                ),
            }),
        }
    }
}

/// Manifest bytes from the registry, checked against the digest they were asked by (or the
/// registry announced), with their media type.
fn checked_manifest(
    what: String,
    bytes: &[u8],
    expected: Option<Digest>,
) -> Result<RawManifest, StoreError> {
    let digest = Digest::of(bytes);
    if let Some(expected) = expected {
        if expected != digest {
            return Err(StoreError::Integrity {
                location: what,
                message: format!("manifest content hashes to {digest}, not {expected}"),
            });
        }
    }
    let media_type = oci::sniff_media_type(bytes).ok_or_else(|| StoreError::Corrupt {
        location: what,
        message: "the registry returned something that is not a manifest".into(),
    })?;
    Ok(RawManifest {
        bytes: bytes.to_vec(),
        media_type,
        digest,
    })
}

/// The absolute URL of a `Link: <…>; rel="next"` header, if any.
fn next_link(headers: &reqwest::header::HeaderMap, scheme: Scheme, host: &str) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|part| part.contains("rel=\"next\"") || part.contains("rel=next"))
        .and_then(|part| {
            let start = part.find('<')? + 1;
            let end = part[start..].find('>')? + start;
            let target = &part[start..end];
            Some(if target.starts_with('/') {
                format!("{}://{host}{target}", scheme.as_str())
            } else {
                target.to_string()
            })
        })
}

async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
}

fn is_transient(err: &OciDistributionError) -> bool {
    match err {
        OciDistributionError::RequestError(e) => {
            e.is_connect()
                || e.is_timeout()
                || e.status()
                    .is_some_and(|s| s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS)
        }
        OciDistributionError::ServerError { code, .. } => *code >= 500 || *code == 429,
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| e.code == OciErrorCode::Toomanyrequests),
        _ => false,
    }
}

fn network_error(host: &str, err: &reqwest::Error) -> StoreError {
    let detail = chain(err);
    let lower = detail.to_ascii_lowercase();
    let message = if lower.contains("certificate")
        || lower.contains("self signed")
        || lower.contains("self-signed")
    {
        format!(
            "the registry's TLS certificate is not trusted ({detail}); pass --ca-file with the CA certificate (PEM) that signed it, or --insecure to skip verification"
        )
    } else if err.is_connect() {
        format!("cannot connect ({detail}); check the address and that the registry is running (add --plain-http for a registry without TLS)")
    } else if err.is_timeout() {
        format!("the registry did not answer in time ({detail})")
    } else {
        detail
    };
    StoreError::Remote {
        location: host.to_string(),
        message,
    }
}

/// For a loopback host: plain HTTP only when the server answers a plain request like a
/// registry (200 or 401 on /v2/); otherwise HTTPS, whose errors the real requests report. A
/// raw request keeps this probe free of TLS set-up.
async fn probe_scheme(host: &str) -> Scheme {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        && !host.ends_with(']')
    {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(&addr).await?;
        let request =
            format!("GET /v2/ HTTP/1.0\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        // Enough for the status line, however the bytes arrive.
        let mut head = Vec::with_capacity(32);
        let mut buf = [0u8; 32];
        while head.len() < 12 {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&head).into_owned())
    };
    match tokio::time::timeout(Duration::from_secs(10), probe).await {
        Ok(Ok(head))
            if head.starts_with("HTTP/1.")
                && head
                    .get(8..)
                    .is_some_and(|rest| rest.starts_with(" 200") || rest.starts_with(" 401")) =>
        {
            tracing::info!("{host} answers in plain HTTP; using it (loopback only)");
            Scheme::Http
        }
        _ => Scheme::Https,
    }
}

/// The realm and service of the registry's Bearer challenge.
async fn bearer_realm(
    http: &reqwest::Client,
    scheme: Scheme,
    host: &str,
) -> Result<(String, Option<String>), StoreError> {
    let resp = http
        .get(format!("{}://{host}/v2/", scheme.as_str()))
        .send()
        .await
        .map_err(|e| network_error(host, &e))?;
    let challenge = resp
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let params = parse_bearer_challenge(&challenge).ok_or_else(|| StoreError::Unauthorized {
        location: host.to_string(),
        message: "the docker config holds an identity token for this registry, but it does not use token authentication; run `packreg login` with a user name and password".into(),
    })?;
    Ok((
        params.get("realm").cloned().unwrap_or_default(),
        params.get("service").cloned(),
    ))
}

/// Exchanges an identity (refresh) token for an access token for `scope`, as docker and oras
/// do (OAuth2 `refresh_token` grant at the realm).
async fn exchange_identity_token(
    http: &reqwest::Client,
    host: &str,
    realm: &str,
    service: Option<&str>,
    scope: String,
    refresh_token: &str,
) -> Result<String, StoreError> {
    let fail = |message: String| StoreError::Unauthorized {
        location: host.to_string(),
        message,
    };
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", "packreg"),
        ("scope", scope.as_str()),
    ];
    if let Some(service) = service {
        form.push(("service", service));
    }
    let resp = http
        .post(realm)
        .form(&form)
        .send()
        .await
        .map_err(|e| network_error(host, &e))?;
    if !resp.status().is_success() {
        return Err(fail(format!(
            "the token service refused the identity token (HTTP {}); run `packreg login {host}` again",
            resp.status()
        )));
    }
    let body: serde_json::Value = resp
        .json()
        .await
        .map_err(|_| fail("the token service answered something that is not JSON".into()))?;
    body.get("access_token")
        .or_else(|| body.get("token"))
        .and_then(|t| t.as_str())
        .map(str::to_string)
        .ok_or_else(|| fail("the token service gave no access token".into()))
}

/// Parameters of a `Bearer realm="…",service="…"` challenge.
fn parse_bearer_challenge(header: &str) -> Option<std::collections::HashMap<String, String>> {
    let rest = header.trim().strip_prefix("Bearer ")?;
    let mut params = std::collections::HashMap::new();
    for part in rest.split(',') {
        if let Some((k, v)) = part.trim().split_once('=') {
            params.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
        }
    }
    params.contains_key("realm").then_some(params)
}

#[async_trait]
impl Store for RemoteStore {
    fn location(&self) -> String {
        if self.base.is_empty() {
            self.host.clone()
        } else {
            format!("{}/{}", self.host, self.base)
        }
    }

    fn registry_id(&self) -> String {
        self.host.clone()
    }

    fn full_name(&self, repo: &str) -> String {
        self.full_repo(repo).unwrap_or_else(|_| repo.to_string())
    }

    async fn repositories(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let full_prefix = self.full_repo(prefix.trim_end_matches('/'))? + "/";
        let header = self.catalog_authorization().await?;
        let refused = || {
            StoreError::Unsupported(format!(
                "{} does not let packreg list its repositories (_catalog); list one pack's versions with `packreg ls NAME`",
                self.host
            ))
        };
        let url = format!(
            "{}://{}/v2/_catalog?n={}",
            self.scheme.as_str(),
            self.host,
            page_size()
        );
        let names = match self
            .list_pages(header.as_deref(), url, "repositories")
            .await
        {
            Ok(Some(names)) => names,
            Ok(None) | Err(StoreError::Unauthorized { .. } | StoreError::Denied { .. }) => {
                return Err(refused())
            }
            Err(StoreError::Remote { message, .. }) if message.contains("HTTP") => {
                return Err(refused())
            }
            Err(other) => return Err(other),
        };
        Ok(names
            .into_iter()
            .filter_map(|r| {
                r.strip_prefix(&full_prefix)
                    .map(|rest| format!("{}/{rest}", prefix.trim_end_matches('/')))
            })
            .collect())
    }

    async fn tags(&self, repo: &str) -> Result<Vec<String>, StoreError> {
        let image = self.image(repo, "latest")?;
        let full = self.full_repo(repo)?;
        let header = self.authorization(&image, RegistryOperation::Pull).await?;
        let url = self.url(&full, &format!("tags/list?n={}", page_size()));
        Ok(self
            .list_pages(header.as_deref(), url, "tags")
            .await?
            .unwrap_or_default())
    }

    async fn get_manifest(&self, repo: &str, reference: &str) -> Result<RawManifest, StoreError> {
        if self.mtls() {
            return self.own_get_manifest(repo, reference).await;
        }
        let (client, auth) = self.repo_session(repo).await?;
        let image = self.image(repo, reference)?;
        let what = self.reference(repo, reference);
        let (bytes, header_digest) = self
            .retry(|| client.pull_manifest_raw(&image, &auth, ACCEPTED_MANIFESTS))
            .await
            .map_err(|e| self.map_error(e, &what))?;
        let expected = reference
            .parse::<Digest>()
            .ok()
            .or_else(|| header_digest.parse::<Digest>().ok());
        checked_manifest(what, &bytes, expected)
    }

    async fn resolve(&self, repo: &str, reference: &str) -> Result<Option<Digest>, StoreError> {
        if self.mtls() {
            return self.own_resolve(repo, reference).await;
        }
        let (client, auth) = self.repo_session(repo).await?;
        let image = self.image(repo, reference)?;
        let what = self.reference(repo, reference);
        match self
            .retry(|| client.fetch_manifest_digest(&image, &auth))
            .await
        {
            Ok(d) => d.parse().map(Some).map_err(|_| StoreError::Corrupt {
                location: what,
                message: format!("the registry gave an unusable digest {d:?}"),
            }),
            Err(e) => match self.map_error(e, &what) {
                StoreError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn put_manifest(
        &self,
        repo: &str,
        tag: Option<&str>,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, StoreError> {
        let (client, _) = self.repo_session(repo).await?;
        let digest = Digest::of(bytes);
        let reference = match tag {
            Some(tag) if is_valid_tag(tag) => tag.to_string(),
            Some(tag) => return Err(StoreError::Config(format!("{tag:?} is not a valid tag"))),
            None => digest.to_string(),
        };
        let image = self.image(repo, &reference)?;
        let what = self.reference(repo, &reference);
        let content_type = reqwest::header::HeaderValue::from_str(media_type)
            .map_err(|_| StoreError::Config(format!("{media_type:?} is not a valid media type")))?;
        let body = bytes::Bytes::copy_from_slice(bytes);
        if self.mtls() {
            self.own_put_manifest(repo, &reference, bytes, media_type)
                .await?;
            return Ok(digest);
        }
        if tag.is_some() {
            self.retry(|| client.push_manifest_raw(&image, body.clone(), content_type.clone()))
                .await
                .map_err(|e| self.map_error(e, &what))?;
            return Ok(digest);
        }
        // By digest, a request of our own: oci-client's push_manifest_raw panics when a
        // registry answers such a PUT without a Location header (as ECR does).
        let full = self.full_repo(repo)?;
        let url = self.url(&full, &format!("manifests/{digest}"));
        let resp = self
            .send_own(&image, RegistryOperation::Push, |http| {
                http.put(&url)
                    .header(reqwest::header::CONTENT_TYPE, content_type.clone())
                    .body(body.clone())
            })
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(digest),
            s if s.is_client_error() && s != StatusCode::BAD_REQUEST => {
                Err(self.status_error(s, what, "a manifest upload"))
            }
            s => {
                let text = resp.text().await.unwrap_or_default();
                Err(StoreError::Remote {
                    location: what,
                    message: format!(
                        "the registry refused the manifest (HTTP {s}): {}",
                        text.chars().take(300).collect::<String>().trim()
                    ),
                })
            }
        }
    }

    async fn has_blob(&self, repo: &str, digest: &Digest) -> Result<bool, StoreError> {
        if self.mtls() {
            return self.own_has_blob(repo, digest).await;
        }
        let (client, _) = self.repo_session(repo).await?;
        let image = self.image(repo, digest.as_str())?;
        self.retry(|| client.blob_exists(&image, digest.as_str()))
            .await
            .map_err(|e| self.map_error(e, &self.reference(repo, digest.as_str())))
    }

    async fn get_blob(&self, repo: &str, digest: &Digest) -> Result<BlobReader, StoreError> {
        // A request of our own: oci-client would hash the stream a second time (without
        // SHA extensions), and the caller verifies it anyway.
        let image = self.image(repo, digest.as_str())?;
        let full = self.full_repo(repo)?;
        let url = self.url(&full, &format!("blobs/{digest}"));
        let what = self.reference(repo, digest.as_str());
        let resp = self
            .send_own(&image, RegistryOperation::Pull, |http| http.get(&url))
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(Box::pin(StreamReader::new(
                resp.bytes_stream().map_err(std::io::Error::other),
            ))),
            s => Err(self.status_error(s, what, "a blob download")),
        }
    }

    async fn put_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        reader: BlobReader,
    ) -> Result<(), StoreError> {
        if self.mtls() {
            return self.own_put_blob(repo, digest, size, reader).await;
        }
        let (client, _) = self.repo_session(repo).await?;
        let image = self.image(repo, digest.as_str())?;
        let stream =
            ReaderStream::with_capacity(reader, 256 * 1024).map_err(OciDistributionError::IoError);
        client
            .push_blob_stream(&image, stream, digest.as_str(), Some(size))
            .await
            .map_err(|e| self.map_error(e, &self.reference(repo, digest.as_str())))?;
        Ok(())
    }

    async fn put_blob_streaming(
        &self,
        repo: &str,
        size: u64,
        reader: BlobReader,
        commit: tokio::sync::oneshot::Receiver<bool>,
    ) -> Result<Option<Digest>, StoreError> {
        // POST a session, PATCH the whole stream while hashing it, PUT the digest to commit.
        let image = self.image(repo, "latest")?;
        let what = format!("{}/{repo}", self.location());
        let mut location = self.start_upload(repo, &image, &what).await?;
        let hasher = std::sync::Arc::new(std::sync::Mutex::new(crate::digest::Hasher::new()));
        let sink = hasher.clone();
        let body = ReaderStream::with_capacity(reader, 256 * 1024).inspect_ok(move |chunk| {
            if let Ok(mut h) = sink.lock() {
                h.update(chunk);
            }
        });
        let resp = self
            .send_stream(
                reqwest::Method::PATCH,
                &location,
                &image,
                size,
                reqwest::Body::wrap_stream(body),
            )
            .await?;
        let header = self.authorization(&image, RegistryOperation::Push).await?;
        if !resp.status().is_success() {
            return Err(self.status_error(resp.status(), what, "an upload"));
        }
        location = self.upload_location(&resp, &what)?;
        let (digest, sent) = match hasher.lock() {
            Ok(h) => (h.clone().finish(), h.len()),
            Err(_) => return Err(StoreError::Unsupported("upload hasher poisoned".into())),
        };
        if sent != size {
            return Err(StoreError::Integrity {
                location: what,
                message: format!("sent {sent} bytes, expected {size}"),
            });
        }
        if !commit.await.unwrap_or(false) {
            // Not wanted after all (the registry had the blob): end the session.
            let _ = self
                .send_with(header.as_deref(), |http| http.delete(&location))
                .await;
            return Ok(None);
        }
        let sep = if location.contains('?') { '&' } else { '?' };
        let commit = format!("{location}{sep}digest={digest}");
        let resp = self
            .send_with(header.as_deref(), |http| {
                http.put(&commit).header(reqwest::header::CONTENT_LENGTH, 0)
            })
            .await?;
        if !resp.status().is_success() {
            return Err(self.status_error(resp.status(), what, "an upload"));
        }
        Ok(Some(digest))
    }

    async fn mount_blob(
        &self,
        repo: &str,
        from_full: &str,
        digest: &Digest,
    ) -> Result<bool, StoreError> {
        let image = self.image(repo, digest.as_str())?;
        let full = self.full_repo(repo)?;
        if !is_repository_path(from_full) {
            return Ok(false);
        }
        let from = from_full.to_string();
        let url = self.url(&full, "blobs/uploads/");
        let resp = self
            .send_own(&image, RegistryOperation::Push, |http| {
                http.post(&url)
                    .query(&[("mount", digest.as_str()), ("from", from.as_str())])
                    .header(reqwest::header::CONTENT_LENGTH, 0)
            })
            .await?;
        match resp.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                // Not mounted: the registry opened an ordinary upload session instead. Cancel it;
                // the caller uploads through its own.
                if let Some(location) = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                {
                    let location = if location.starts_with('/') {
                        format!("{}://{}{location}", self.scheme.as_str(), self.host)
                    } else {
                        location.to_string()
                    };
                    let _ = self
                        .send_own(&image, RegistryOperation::Push, |http| {
                            http.delete(&location)
                        })
                        .await;
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    async fn referrers(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<Vec<Descriptor>>, StoreError> {
        let image = self.image(repo, digest.as_str())?;
        let full = self.full_repo(repo)?;
        let url = self.url(&full, &format!("referrers/{digest}"));
        let resp = self
            .send_own(&image, RegistryOperation::Pull, |http| {
                http.get(&url)
                    .header(reqwest::header::ACCEPT, MEDIA_TYPE_INDEX)
            })
            .await?;
        if !resp.status().is_success() {
            // 404 (CNCF distribution 2.8, GHCR): no Referrers API.
            return Ok(None);
        }
        let is_index = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with(MEDIA_TYPE_INDEX));
        if !is_index {
            return Ok(None);
        }
        let index: oci::Index = resp.json().await.map_err(|e| StoreError::Corrupt {
            location: self.reference(repo, digest.as_str()),
            message: format!("the Referrers API answered an unreadable index: {e}"),
        })?;
        Ok(Some(index.manifests))
    }

    async fn delete_manifest(&self, repo: &str, digest: &Digest) -> Result<(), StoreError> {
        let image = self.image(repo, digest.as_str())?;
        let full = self.full_repo(repo)?;
        let url = self.url(&full, &format!("manifests/{digest}"));
        let resp = self
            .send_own(&image, RegistryOperation::Push, |http| http.delete(&url))
            .await?;
        let what = self.reference(repo, digest.as_str());
        match resp.status() {
            s if s.is_success() => Ok(()),
            s => Err(self.status_error(s, what, "deletes")),
        }
    }

    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), StoreError> {
        let image = self.image(repo, tag)?;
        let full = self.full_repo(repo)?;
        let url = self.url(&full, &format!("manifests/{tag}"));
        let resp = self
            .send_own(&image, RegistryOperation::Push, |http| http.delete(&url))
            .await?;
        match resp.status() {
            s if s.is_success() => return Ok(()),
            // 405: deletes are disabled altogether; the throwaway manifest below could then
            // not be deleted and would stay behind the tag.
            s @ (StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED) => {
                return Err(self.status_error(s, self.reference(repo, tag), "deletes"))
            }
            _ => {}
        }
        // CNCF distribution deletes by digest only (DIGEST_INVALID), which would drop every
        // tag on the manifest. Point the tag at a unique throwaway manifest and delete that.
        let empty = b"{}";
        let empty_digest = Digest::of(empty);
        if !self.has_blob(repo, &empty_digest).await? {
            self.put_blob(
                repo,
                &empty_digest,
                2,
                Box::pin(std::io::Cursor::new(empty.to_vec())),
            )
            .await?;
        }
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let mut throwaway = Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_MANIFEST.into()),
            artifact_type: Some("application/vnd.packreg.tag-removal.v1".into()),
            config: Descriptor::new(EMPTY_MEDIA_TYPE, empty_digest.clone(), 2),
            layers: vec![Descriptor::new(EMPTY_MEDIA_TYPE, empty_digest, 2)],
            subject: None,
            annotations: Default::default(),
            extra: Default::default(),
        };
        throwaway.annotations.insert(
            "io.packreg.tag-removal".into(),
            format!("{tag} {nonce} {}", std::process::id()),
        );
        let digest = self
            .put_manifest(repo, Some(tag), &throwaway.to_bytes(), MEDIA_TYPE_MANIFEST)
            .await?;
        self.delete_manifest(repo, &digest).await
    }

    async fn lock(&self, _repo: &str) -> Result<RepoLock, StoreError> {
        // Registries serialise writes themselves.
        Ok(Box::new(()))
    }

    async fn collect_garbage(&self, _repo: &str) -> Result<(), StoreError> {
        // Registries collect unreferenced blobs with their own garbage collector.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_strings() {
        assert_eq!(
            split_registry("127.0.0.1:5000/team/packs").unwrap(),
            ("127.0.0.1:5000".into(), "team/packs".into())
        );
        assert_eq!(
            split_registry("Reg.Example.com").unwrap(),
            ("reg.example.com".into(), "".into())
        );
        assert!(split_registry("reg.example.com/Bad Path").is_err());
        assert!(split_registry("").is_err());
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost:5000",
            "127.0.0.1",
            "127.3.2.1:80",
            "[::1]:5000",
            "::1",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1:5000", "[2001:db8::1]:443"] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn link_headers() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            "</v2/a/tags/list?last=b&n=2>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers, Scheme::Http, "127.0.0.1:5000").as_deref(),
            Some("http://127.0.0.1:5000/v2/a/tags/list?last=b&n=2")
        );
        headers.insert(
            reqwest::header::LINK,
            "<https://r.example/v2/_catalog?last=x>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers, Scheme::Https, "r.example").as_deref(),
            Some("https://r.example/v2/_catalog?last=x")
        );
        assert!(next_link(&reqwest::header::HeaderMap::new(), Scheme::Https, "r").is_none());
    }

    #[test]
    fn bearer_challenges() {
        let p = parse_bearer_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example""#,
        )
        .unwrap();
        assert_eq!(p["realm"], "https://auth.example/token");
        assert_eq!(p["service"], "registry.example");
        assert!(parse_bearer_challenge(r#"Basic realm="x""#).is_none());
    }
}
