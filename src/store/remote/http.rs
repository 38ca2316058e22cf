//! The HTTP layer: one exchange with redirects followed (an Authorization header only to the
//! one origin it is for), an idle timeout and a minimum transfer rate in both directions, and
//! the one retry loop (backoff and `Retry-After`, within the store's retry budget). It knows
//! nothing of authentication: the header, if any, is given.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use http::header::{HeaderMap, HeaderValue, AUTHORIZATION, LOCATION};
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use tokio_util::io::ReaderStream;

use super::address::Scheme;
use super::body::{Body, Opened, Pace, Response};
use super::client::{HttpBody, HttpClient};
use super::error::{chain, is_retryable_status, network_error, NetworkCause};
use crate::limits::{RemoteLimit, MAX_RETRY_AFTER_SECS};
use crate::store::StoreError;

const ATTEMPTS: u32 = 5;
const MAX_REDIRECTS: usize = 10;
/// The longest wait a `Retry-After` gets.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(MAX_RETRY_AFTER_SECS);
const USER_AGENT: &str = concat!("packreg/", env!("CARGO_PKG_VERSION"));

/// An Authorization header and the one origin (`scheme://host[:port]`) it may go to.
pub(super) type Authorization<'h> = Option<(&'h HeaderValue, &'h str)>;

/// Why one exchange failed.
enum Failure {
    /// Connection refused, reset, TLS failure.
    Network(Box<dyn std::error::Error + Send + Sync>),
    /// Nothing moved for the idle timeout.
    Stalled,
    /// The registry did something packreg cannot follow.
    Protocol(String),
    /// The body could not be opened at its origin.
    Origin(StoreError),
    /// The request body went up slower than the minimum rate.
    TooSlow,
}

/// The time all the retries of one store may wait, together: a registry failing every request
/// (or asking a long `Retry-After` each time) costs a command this much, not this much a
/// request.
#[derive(Debug)]
pub(super) struct RetryBudget {
    limit: Duration,
    spent: Mutex<Duration>,
    retries: AtomicU32,
}

impl RetryBudget {
    pub(super) fn new(limit: Duration) -> Self {
        RetryBudget {
            limit,
            spent: Mutex::new(Duration::ZERO),
            retries: AtomicU32::new(0),
        }
    }

    /// Takes `wait` (cut to what is left) from the budget, or says it is spent.
    pub(super) fn take(&self, wait: Duration) -> Result<Duration, RemoteLimit> {
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        let left = self.limit.saturating_sub(*spent);
        let retries = self.retries.load(Ordering::Relaxed);
        if left.is_zero() {
            return Err(RemoteLimit::RetryBudget {
                retries,
                waited_secs: spent.as_secs(),
            });
        }
        let wait = wait.min(left);
        *spent += wait;
        self.retries.store(retries + 1, Ordering::Relaxed);
        Ok(wait)
    }
}

/// HTTP to one registry.
pub(super) struct Http {
    client: HttpClient,
    scheme: Scheme,
    host: String,
    origin: String,
    idle: Duration,
    /// Least bytes a second a request or answer moves, once the idle timeout has passed (0:
    /// no minimum).
    min_rate: u64,
    budget: RetryBudget,
}

impl Http {
    pub(super) fn new(
        client: HttpClient,
        scheme: Scheme,
        host: String,
        idle: Duration,
        min_rate: u64,
        retry_budget: Duration,
    ) -> Self {
        let origin = format!("{}://{host}", scheme.as_str());
        Http {
            client,
            scheme,
            host,
            origin,
            idle,
            min_rate,
            budget: RetryBudget::new(retry_budget),
        }
    }

    fn pace(&self) -> Pace {
        Pace {
            idle: self.idle,
            min_rate: self.min_rate,
        }
    }

    /// The registry host (with port).
    pub(super) fn host(&self) -> &str {
        &self.host
    }

    /// HTTP or HTTPS.
    pub(super) fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// `scheme://host`: the origin the registry's credentials may go to.
    pub(super) fn origin(&self) -> &str {
        &self.origin
    }

    /// `scheme://host/v2/`.
    pub(super) fn v2_url(&self) -> String {
        format!("{}/v2/", self.origin)
    }

    /// Sends a request, retrying connection failures and 408, 429, 500, 502, 503, 504
    /// (honouring `Retry-After`) when the body can be sent again. Any status comes back as it
    /// is: the caller judges it.
    pub(super) async fn send(
        &self,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
        body: Body<'_>,
        auth: Authorization<'_>,
    ) -> Result<Response, StoreError> {
        let mut body = body;
        let mut attempt = 0;
        loop {
            let spare = body.again();
            let result = self
                .follow(method.clone(), url.to_string(), headers, body, auth)
                .await;
            match (retry_wait(&result, spare.is_some(), attempt), spare) {
                (Some(wait), Some(spare)) => {
                    let wait = self.budget.take(wait).map_err(|limit| StoreError::Limit {
                        location: self.host.clone(),
                        limit,
                    })?;
                    tracing::info!(
                        "{method} {url}: {}, trying again in {:.1} s",
                        describe(&result),
                        wait.as_secs_f64()
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    body = spare;
                }
                _ => return result.map_err(|f| self.failure(f)),
            }
        }
    }

    fn failure(&self, failure: Failure) -> StoreError {
        match failure {
            Failure::Network(e) => network_error(&self.host, self.scheme == Scheme::Http, &*e),
            Failure::Stalled => StoreError::Network {
                location: self.host.clone(),
                cause: NetworkCause::Timeout,
                plain_http: self.scheme == Scheme::Http,
                message: format!(
                    "the registry stopped responding for {} s",
                    self.idle.as_secs()
                ),
            },
            Failure::Protocol(message) => StoreError::Remote {
                location: self.host.clone(),
                message,
            },
            Failure::Origin(e) => e,
            Failure::TooSlow => StoreError::Limit {
                location: self.host.clone(),
                limit: self.pace().too_slow(),
            },
        }
    }

    /// One exchange, following redirects. `auth` goes only to its own origin; other headers
    /// (`Range`) go everywhere.
    async fn follow(
        &self,
        mut method: Method,
        mut url: String,
        headers: &HeaderMap,
        mut body: Body<'_>,
        auth: Authorization<'_>,
    ) -> Result<Response, Failure> {
        for _ in 0..=MAX_REDIRECTS {
            let replay = body.again();
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
            let ready = body.open().await.map_err(Failure::Origin)?;
            let (http_body, len) = into_http_body(ready, progress.clone());
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
                    return Ok(Response::new(parts, url, body, self.pace()));
                }
            }
        }
        Err(Failure::Protocol(format!(
            "more than {MAX_REDIRECTS} redirects from {}",
            self.host
        )))
    }

    /// Sends one HTTP request and waits for the answer's head, failing when no byte of the
    /// body was taken and no answer came for the idle timeout, or when the body goes up slower
    /// than the minimum rate.
    async fn exchange(
        &self,
        request: http::Request<HttpBody>,
        progress: &Progress,
    ) -> Result<hyper::Response<hyper::body::Incoming>, Failure> {
        let call = self.client.request(request);
        tokio::pin!(call);
        let pace = self.pace();
        loop {
            let idle = progress.last() + self.idle;
            let rate = pace.rate_deadline(progress.start, progress.bytes());
            let deadline = rate.map_or(idle, |rate| rate.min(idle));
            tokio::select! {
                result = &mut call => return result.map_err(|e| Failure::Network(Box::new(e))),
                _ = tokio::time::sleep_until(deadline.into()) => {
                    let now = Instant::now();
                    if progress.last() + self.idle <= now {
                        return Err(Failure::Stalled);
                    }
                    if pace.rate_deadline(progress.start, progress.bytes()).is_some_and(|d| d <= now) {
                        return Err(Failure::TooSlow);
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
        Err(Failure::Origin(e)) => e.to_string(),
        Err(Failure::TooSlow) => "too slow".into(),
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

/// `scheme://host[:port]` of `url`.
pub(super) fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// When a request last moved a byte of its body, and how many it moved.
struct Progress {
    start: Instant,
    millis: AtomicU64,
    bytes: AtomicU64,
}

impl Progress {
    fn new() -> Self {
        Progress {
            start: Instant::now(),
            millis: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    fn touch(&self, n: usize) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.millis.store(ms, Ordering::Relaxed);
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.millis.load(Ordering::Relaxed))
    }
}

/// `body` as hyper sends it, with its length.
fn into_http_body(body: Opened, progress: Arc<Progress>) -> (HttpBody, Option<u64>) {
    match body {
        Opened::Empty => (
            http_body_util::Empty::new()
                .map_err(|never| match never {})
                .boxed_unsync(),
            None,
        ),
        Opened::Bytes(bytes) => {
            let len = bytes.len() as u64;
            (
                http_body_util::Full::new(bytes)
                    .map_err(|never| match never {})
                    .boxed_unsync(),
                Some(len),
            )
        }
        Opened::Stream { reader, len } => {
            let stream = ReaderStream::with_capacity(reader, 256 * 1024)
                .inspect_ok(move |chunk| progress.touch(chunk.len()))
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
    fn the_retry_budget_is_shared_and_cuts_the_last_wait() {
        let budget = RetryBudget::new(Duration::from_secs(3));
        assert_eq!(
            budget.take(Duration::from_secs(2)),
            Ok(Duration::from_secs(2))
        );
        assert_eq!(
            budget.take(Duration::from_secs(2)),
            Ok(Duration::from_secs(1))
        );
        assert_eq!(
            budget.take(Duration::from_millis(1)),
            Err(RemoteLimit::RetryBudget {
                retries: 2,
                waited_secs: 3
            })
        );
        let none = RetryBudget::new(Duration::ZERO);
        assert!(none.take(Duration::from_millis(200)).is_err());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(
            backoff(0) >= Duration::from_millis(200) && backoff(0) <= Duration::from_millis(250)
        );
        assert!(backoff(10) <= Duration::from_millis(6250));
    }
}
