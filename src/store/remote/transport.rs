//! The single `send` every registry request goes through: authentication, retries with backoff
//! and `Retry-After`, redirects (credentials only to the registry's own origin), an idle
//! timeout in both directions, and bounded reads of the answer.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, LOCATION};
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use tokio_util::io::ReaderStream;

use super::address::Scheme;
use super::auth::Auth;
pub use super::body::Response;
use super::client::{HttpBody, HttpClient};
use super::error::{chain, is_retryable_status, network_error};
use crate::store::{BlobReader, StoreError};

/// The default idle timeout: no byte received, or none accepted, for this long.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Environment variable that sets the idle timeout in seconds.
pub const TIMEOUT_ENV: &str = "PACKREG_TIMEOUT";

const ATTEMPTS: u32 = 5;
const MAX_REDIRECTS: usize = 10;
/// The longest wait a `Retry-After` gets.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
const USER_AGENT: &str = concat!("packreg/", env!("CARGO_PKG_VERSION"));

/// A response body as a stream of chunks.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A request body.
pub enum Body {
    /// None.
    Empty,
    /// Bytes in memory: can be sent again on a retry or redirect.
    Bytes(Bytes),
    /// A stream of `len` bytes: sent once.
    Stream {
        /// The content.
        reader: BlobReader,
        /// Its length.
        len: u64,
    },
}

impl Body {
    fn replay(&self) -> Option<Body> {
        match self {
            Body::Empty => Some(Body::Empty),
            Body::Bytes(b) => Some(Body::Bytes(b.clone())),
            Body::Stream { .. } => None,
        }
    }
}

/// A request to the registry (or its token service).
pub struct Request {
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Body,
    scopes: Vec<String>,
}

impl Request {
    /// A request with no body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            body: Body::Empty,
            scopes: Vec::new(),
        }
    }

    /// Adds a header (ignored when the value is not header text).
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.append(HeaderName::from_static(name), v);
        }
        self
    }

    pub(super) fn header_value(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// Adds a token scope the request needs (`repository:<name>:pull`).
    pub fn scope(mut self, scope: String) -> Self {
        self.scopes.push(scope);
        self
    }
}

/// Why one exchange failed.
enum Failure {
    /// Connection refused, reset, TLS failure.
    Network(Box<dyn std::error::Error + Send + Sync>),
    /// Nothing moved for the idle timeout.
    Stalled,
    /// The registry did something packreg cannot follow.
    Protocol(String),
}

/// One registry's transport.
pub struct Transport {
    client: HttpClient,
    scheme: Scheme,
    host: String,
    origin: String,
    auth: Auth,
    idle: Duration,
}

impl Transport {
    pub(super) fn new(
        client: HttpClient,
        scheme: Scheme,
        host: String,
        credential: crate::auth::Credential,
        idle: Duration,
    ) -> Self {
        let origin = format!("{}://{host}", scheme.as_str());
        Transport {
            client,
            scheme,
            host,
            origin,
            auth: Auth::new(credential),
            idle,
        }
    }

    /// The registry host (with port).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// HTTP or HTTPS.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// `scheme://host/v2/`.
    pub fn v2_url(&self) -> String {
        format!("{}/v2/", self.origin)
    }

    /// An absolute URL for a path or URL the registry gave (`Location`, `Link`).
    pub fn absolute(&self, target: &str) -> Result<String, StoreError> {
        url::Url::parse(&self.v2_url())
            .and_then(|base| base.join(target))
            .map(String::from)
            .map_err(|_| StoreError::Remote {
                location: self.host.clone(),
                message: format!(
                    "the registry gave an unusable address {:?}",
                    super::error::clean(target, 200)
                ),
            })
    }

    /// The authentication challenge of the registry (asked once).
    pub async fn challenge(&self) -> Result<super::auth::Challenge, StoreError> {
        self.auth.challenge(self).await
    }

    /// Sends `request` with credentials, retrying connection failures and 408, 429, 500, 502,
    /// 503, 504 (honouring `Retry-After`) when the body can be sent again, and renewing the token
    /// once on a 401. Any status comes back as it is: the caller judges it.
    pub async fn send(&self, request: Request) -> Result<Response, StoreError> {
        let Request {
            method,
            url,
            headers,
            body,
            mut scopes,
        } = request;
        let mut body = Some(body);
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            let replayable = body.as_ref().and_then(Body::replay);
            let this_body = match body.take() {
                Some(b) => b,
                None => {
                    return Err(StoreError::Remote {
                        location: self.host.clone(),
                        message: "a streamed request cannot be sent twice".into(),
                    })
                }
            };
            let can_repeat = replayable.is_some();
            body = replayable;
            let auth = self.auth.header(self, &scopes).await?;
            let result = self
                .follow(
                    method.clone(),
                    url.clone(),
                    &headers,
                    this_body,
                    auth.as_ref().map(|a| (a, self.origin.as_str())),
                )
                .await;
            match result {
                Ok(resp) if resp.status == StatusCode::UNAUTHORIZED && can_repeat && !renewed => {
                    renewed = true;
                    if let Some(extra) = self.auth.unauthorized(&resp.headers, &scopes).await {
                        for scope in extra.split(' ') {
                            if !scopes.iter().any(|s| s == scope) {
                                scopes.push(scope.to_string());
                            }
                        }
                    }
                    tracing::debug!("{method} {url}: 401, renewing the credentials once");
                }
                result => match retry_wait(&result, can_repeat, attempt) {
                    Some(wait) => {
                        tracing::info!(
                            "{method} {url}: {}, trying again in {:.1} s",
                            describe(&result),
                            wait.as_secs_f64()
                        );
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    None => return result.map_err(|f| self.failure(f)),
                },
            }
        }
    }

    /// Sends `request` without the credentials handler (the ping and token requests), with
    /// the same retries as [`Transport::send`].
    pub(super) async fn send_raw(&self, request: Request) -> Result<Response, StoreError> {
        let auth = request.headers.get(AUTHORIZATION).cloned();
        let mut headers = request.headers;
        headers.remove(AUTHORIZATION);
        // A token request's credentials are for the realm it was made for, and nowhere else.
        let origin = origin_of(&request.url);
        let mut body = Some(request.body);
        let mut attempt = 0;
        loop {
            let this_body = body.take().unwrap_or(Body::Empty);
            body = this_body.replay();
            let result = self
                .follow(
                    request.method.clone(),
                    request.url.clone(),
                    &headers,
                    this_body,
                    auth.as_ref().map(|a| (a, origin.as_str())),
                )
                .await;
            match retry_wait(&result, body.is_some(), attempt) {
                Some(wait) => {
                    tracing::info!(
                        "{} {}: {}, trying again",
                        request.method,
                        request.url,
                        describe(&result)
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                None => return result.map_err(|f| self.failure(f)),
            }
        }
    }

    fn failure(&self, failure: Failure) -> StoreError {
        match failure {
            Failure::Network(e) => network_error(&self.host, self.scheme == Scheme::Http, &*e),
            Failure::Stalled => StoreError::Network {
                location: self.host.clone(),
                message: format!(
                    "the registry stopped responding for {} s; try again, or raise the limit with --timeout SECS (or {TIMEOUT_ENV})",
                    self.idle.as_secs()
                ),
            },
            Failure::Protocol(message) => StoreError::Remote {
                location: self.host.clone(),
                message,
            },
        }
    }

    /// One exchange, following redirects. `auth` is an Authorization header with the one origin
    /// it may go to (the registry's, or a token realm's); other headers (`Range`) go everywhere.
    async fn follow(
        &self,
        mut method: Method,
        mut url: String,
        headers: &HeaderMap,
        mut body: Body,
        auth: Option<(&HeaderValue, &str)>,
    ) -> Result<Response, Failure> {
        for _ in 0..=MAX_REDIRECTS {
            let replay = body.replay();
            let origin = origin_of(&url);
            let mut builder = http::Request::builder().method(method.clone()).uri(&url);
            for (name, value) in headers {
                builder = builder.header(name, value);
            }
            builder = builder.header(http::header::USER_AGENT, USER_AGENT);
            if let Some((auth, allowed)) = auth {
                if origin == allowed {
                    builder = builder.header(AUTHORIZATION, auth.clone());
                }
            }
            let progress = Arc::new(Progress::new());
            let (http_body, len) = into_http_body(body, progress.clone());
            let sends_body = matches!(method, Method::POST | Method::PUT | Method::PATCH);
            match len {
                Some(len) => builder = builder.header(http::header::CONTENT_LENGTH, len),
                None if sends_body => builder = builder.header(http::header::CONTENT_LENGTH, 0),
                None => {}
            }
            let request = builder
                .body(http_body)
                .map_err(|e| Failure::Protocol(format!("cannot build a request for {url}: {e}")))?;
            tracing::debug!("{method} {url}");
            let resp = self.exchange(request, &progress).await?;
            let status = resp.status();
            tracing::debug!("{method} {url} -> {}", status.as_u16());
            let location = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            match (status.as_u16(), location) {
                (301 | 302 | 303 | 307 | 308, Some(next)) => {
                    let next = url::Url::parse(&url)
                        .and_then(|u| u.join(&next))
                        .map_err(|_| Failure::Protocol(format!("unusable redirect to {next:?}")))?;
                    if status == StatusCode::SEE_OTHER
                        || (matches!(status.as_u16(), 301 | 302) && method == Method::POST)
                    {
                        method = Method::GET;
                        body = Body::Empty;
                    } else {
                        body = replay.ok_or_else(|| {
                            Failure::Protocol(format!(
                                "{url} redirected an upload; packreg cannot send it twice"
                            ))
                        })?;
                    }
                    url = next.to_string();
                }
                _ => {
                    let (parts, body) = resp.into_parts();
                    return Ok(Response::new(parts, url, body, self.idle));
                }
            }
        }
        Err(Failure::Protocol(format!(
            "more than {MAX_REDIRECTS} redirects from {}",
            self.host
        )))
    }

    /// Sends one HTTP request and waits for the answer's head, failing when no byte of the
    /// body was taken and no answer came for the idle timeout.
    async fn exchange(
        &self,
        request: http::Request<HttpBody>,
        progress: &Progress,
    ) -> Result<hyper::Response<hyper::body::Incoming>, Failure> {
        let call = self.client.request(request);
        tokio::pin!(call);
        loop {
            let deadline = progress.last() + self.idle;
            tokio::select! {
                result = &mut call => return result.map_err(|e| Failure::Network(Box::new(e))),
                _ = tokio::time::sleep_until(deadline.into()) => {
                    if progress.last() + self.idle <= Instant::now() {
                        return Err(Failure::Stalled);
                    }
                }
            }
        }
    }
}

/// How long to wait before sending again, or None when `result` is final: retryable statuses
/// (waiting what `Retry-After` asks) and connection failures other than TLS ones, while the
/// body can be sent again and attempts remain.
fn retry_wait(
    result: &Result<Response, Failure>,
    can_repeat: bool,
    attempt: u32,
) -> Option<Duration> {
    if !can_repeat || attempt + 1 >= ATTEMPTS {
        return None;
    }
    match result {
        Ok(resp) if is_retryable_status(resp.status.as_u16()) => {
            Some(retry_after(&resp.headers).unwrap_or_else(|| backoff(attempt)))
        }
        Err(Failure::Network(e)) if !is_tls_failure(&**e) => Some(backoff(attempt)),
        _ => None,
    }
}

/// What went wrong, for the log of a retry.
fn describe(result: &Result<Response, Failure>) -> String {
    match result {
        Ok(resp) => format!("HTTP {}", resp.status.as_u16()),
        Err(Failure::Network(e)) => chain(&**e),
        Err(Failure::Stalled) => "no answer".into(),
        Err(Failure::Protocol(m)) => m.clone(),
    }
}

/// Whether a connection failed in the TLS handshake (an untrusted certificate, a plain-HTTP
/// server): trying again gives the same answer.
fn is_tls_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if e.is::<native_tls::Error>() {
            return true;
        }
        current = e.source();
    }
    false
}

fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// When a request last moved a byte of its body.
struct Progress {
    start: Instant,
    millis: AtomicU64,
}

impl Progress {
    fn new() -> Self {
        Progress {
            start: Instant::now(),
            millis: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.millis.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.millis.load(Ordering::Relaxed))
    }
}

fn into_http_body(body: Body, progress: Arc<Progress>) -> (HttpBody, Option<u64>) {
    match body {
        Body::Empty => (
            http_body_util::Empty::new()
                .map_err(|never| match never {})
                .boxed_unsync(),
            None,
        ),
        Body::Bytes(bytes) => {
            let len = bytes.len() as u64;
            (
                http_body_util::Full::new(bytes)
                    .map_err(|never| match never {})
                    .boxed_unsync(),
                Some(len),
            )
        }
        Body::Stream { reader, len } => {
            let stream = ReaderStream::with_capacity(reader, 256 * 1024)
                .inspect_ok(move |_| progress.touch())
                .map_ok(hyper::body::Frame::data);
            (
                http_body_util::StreamBody::new(stream).boxed_unsync(),
                Some(len),
            )
        }
    }
}

/// 200 ms, 400 ms, 800 ms, ... up to 5 s, with up to 25% jitter.
pub(super) fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(200u64.saturating_mul(1 << attempt.min(5)))
        .min(Duration::from_secs(5));
    base + base.mul_f64(fastrand::f64() * 0.25)
}

/// The wait a `Retry-After` header asks (seconds or an HTTP date), capped.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_values() {
        let mut h = HeaderMap::new();
        h.insert(http::header::RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(http::header::RETRY_AFTER, "100000".parse().unwrap());
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        h.insert(
            http::header::RETRY_AFTER,
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let wait = retry_after(&h).unwrap();
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30));
        h.insert(http::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(
            backoff(0) >= Duration::from_millis(200) && backoff(0) <= Duration::from_millis(250)
        );
        assert!(backoff(10) <= Duration::from_millis(6250));
    }
}
