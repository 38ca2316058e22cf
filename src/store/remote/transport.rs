//! The single `send` every registry request goes through, composed of the layers below it:
//! the request names its repository, the token scopes follow from that and the method, the
//! auth layer (`auth`) adds credentials, and the HTTP layer (`http`) follows redirects, keeps
//! the idle timeout and retries.

use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Method;

use super::address::Scheme;
use super::auth::{Auth, Challenge};
pub use super::body::{Body, ByteStream, Response};
use super::client::HttpClient;
use super::http::Http;
use crate::store::StoreError;

/// What a request reaches, from which its token scopes follow.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// The registry itself (`/v2/`): no scope.
    Registry,
    /// The repository list (`_catalog`).
    Catalog,
    /// A repository (its full name), and for a mount the repository the blob comes from.
    Repository {
        name: String,
        mount_from: Option<String>,
    },
    /// An upload session in a repository: every request on it acts under the push that
    /// opened it, whatever its method.
    UploadSession { name: String },
}

/// A request to the registry.
pub struct Request<'a> {
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Body<'a>,
    target: Target,
}

impl<'a> Request<'a> {
    /// A request with no body, to the registry itself until [`Request::repository`] names a
    /// repository.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            body: Body::Empty,
            target: Target::Registry,
        }
    }

    /// Adds a header (ignored when the value is not header text).
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.append(HeaderName::from_static(name), v);
        }
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: Body<'a>) -> Self {
        self.body = body;
        self
    }

    /// The repository (full name) the request acts on: pull for GET and HEAD, pull and push
    /// for POST, PUT and PATCH, delete for DELETE.
    pub fn repository(mut self, full_name: &str) -> Self {
        self.target = Target::Repository {
            name: full_name.to_string(),
            mount_from: None,
        };
        self
    }

    /// A mount: the blob comes from repository `full_name`, which the request reads (pull).
    pub fn mount_from(mut self, full_name: &str) -> Self {
        if let Target::Repository { mount_from, .. } = &mut self.target {
            *mount_from = Some(full_name.to_string());
        }
        self
    }

    /// A request on an upload session of repository `full_name` (status, chunk, commit,
    /// cancel): pull and push, as the POST that opened it.
    pub fn upload_session(mut self, full_name: &str) -> Self {
        self.target = Target::UploadSession {
            name: full_name.to_string(),
        };
        self
    }

    /// A request for the repository list.
    pub fn catalog(mut self) -> Self {
        self.target = Target::Catalog;
        self
    }

    /// The token scopes the request needs.
    fn scopes(&self) -> Vec<String> {
        let repository = |name: &str, actions: &str| format!("repository:{name}:{actions}");
        match &self.target {
            Target::Registry => Vec::new(),
            Target::Catalog => vec!["registry:catalog:*".to_string()],
            Target::Repository { name, mount_from } => {
                let actions = match self.method {
                    Method::GET | Method::HEAD => "pull",
                    Method::DELETE => "delete",
                    _ => "pull,push",
                };
                let mut scopes = vec![repository(name, actions)];
                // distribution's token auth wants pull on a mount's source repository too.
                if let Some(from) = mount_from {
                    scopes.push(repository(from, "pull"));
                }
                scopes
            }
            Target::UploadSession { name } => vec![repository(name, "pull,push")],
        }
    }
}

/// One registry's transport.
pub struct Transport {
    http: Http,
    auth: Auth,
}

impl Transport {
    pub(super) fn new(
        client: HttpClient,
        scheme: Scheme,
        host: String,
        credential: crate::auth::Credential,
        idle: Duration,
        min_rate: u64,
        retry_budget: Duration,
    ) -> Self {
        Transport {
            http: Http::new(client, scheme, host, idle, min_rate, retry_budget),
            auth: Auth::new(credential),
        }
    }

    /// The registry host (with port).
    pub fn host(&self) -> &str {
        self.http.host()
    }

    /// HTTP or HTTPS.
    pub fn scheme(&self) -> Scheme {
        self.http.scheme()
    }

    /// `scheme://host/v2/`.
    pub fn v2_url(&self) -> String {
        self.http.v2_url()
    }

    /// An absolute URL for a path or URL the registry gave (`Location`, `Link`).
    pub fn absolute(&self, target: &str) -> Result<String, StoreError> {
        url::Url::parse(&self.v2_url())
            .and_then(|base| base.join(target))
            .map(String::from)
            .map_err(|_| StoreError::Remote {
                location: self.host().to_string(),
                message: format!(
                    "the registry gave an unusable address {:?}",
                    super::error::clean(target, 200)
                ),
            })
    }

    /// The authentication challenge of the registry (asked once).
    pub async fn challenge(&self) -> Result<Challenge, StoreError> {
        self.auth.challenge(&self.http).await
    }

    /// Sends `request` with the credentials its scopes need, retrying connection failures and
    /// 408, 429, 500, 502, 503, 504 (honouring `Retry-After`) when the body can be sent again
    /// (bytes, or a blob origin opened again), and renewing the token once on a 401. Any status
    /// comes back as it is: the caller judges it.
    pub async fn send(&self, request: Request<'_>) -> Result<Response, StoreError> {
        let scopes = request.scopes();
        let Request {
            method,
            url,
            headers,
            body,
            ..
        } = request;
        self.auth
            .send(&self.http, &method, &url, &headers, body, scopes)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(method: Method) -> Vec<String> {
        Request::new(method, "http://r.example/v2/a/b/x")
            .repository("a/b")
            .scopes()
    }

    #[test]
    fn scopes_follow_the_repository_and_the_method() {
        assert_eq!(scopes(Method::GET), ["repository:a/b:pull"]);
        assert_eq!(scopes(Method::HEAD), ["repository:a/b:pull"]);
        for method in [Method::POST, Method::PUT, Method::PATCH] {
            assert_eq!(scopes(method), ["repository:a/b:pull,push"]);
        }
        assert_eq!(scopes(Method::DELETE), ["repository:a/b:delete"]);
    }

    #[test]
    fn a_mount_also_reads_its_source() {
        let mount = Request::new(Method::POST, "http://r.example/v2/a/blobs/uploads/")
            .repository("a")
            .mount_from("c/d");
        assert_eq!(
            mount.scopes(),
            ["repository:a:pull,push", "repository:c/d:pull"]
        );
    }

    #[test]
    fn upload_sessions_the_catalog_and_the_registry() {
        for method in [Method::GET, Method::PATCH, Method::PUT, Method::DELETE] {
            let request = Request::new(method, "http://r.example/s").upload_session("a");
            assert_eq!(request.scopes(), ["repository:a:pull,push"]);
        }
        let catalog = Request::new(Method::GET, "http://r.example/v2/_catalog").catalog();
        assert_eq!(catalog.scopes(), ["registry:catalog:*"]);
        assert!(Request::new(Method::GET, "http://r.example/v2/")
            .scopes()
            .is_empty());
    }
}
