//! Bodies, both ways: what a request sends (nothing, bytes, a one-shot stream, or a blob origin
//! that can be opened again at an offset) and the registry's answer, read with a limit or as
//! a stream that fails after the idle timeout without data, or when it runs slower than the
//! minimum rate. A leaf under the HTTP layer.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::header::HeaderMap;
use http::StatusCode;
use http_body::Body as _;
use tokio::io::AsyncReadExt;
use tokio_util::io::StreamReader;

use super::error::{Action, NetworkCause, RegistryError};
use crate::limits::{RemoteLimit, SMALL_BODY_LIMIT};
use crate::store::{BlobOrigin, BlobReader, StoreError};

/// A response body as a stream of chunks.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A request body.
pub enum Body<'a> {
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
    /// `len` bytes of `origin` from `offset`: opened again for every retry or redirect.
    Origin {
        /// Where the bytes come from.
        origin: &'a dyn BlobOrigin,
        /// The first byte sent.
        offset: u64,
        /// How many bytes are sent.
        len: u64,
    },
}

impl<'a> Body<'a> {
    /// The same body for another sending, if it can be sent again.
    pub(super) fn again(&self) -> Option<Body<'a>> {
        match self {
            Body::Empty => Some(Body::Empty),
            Body::Bytes(b) => Some(Body::Bytes(b.clone())),
            Body::Stream { .. } => None,
            Body::Origin {
                origin,
                offset,
                len,
            } => Some(Body::Origin {
                origin: *origin,
                offset: *offset,
                len: *len,
            }),
        }
    }

    /// The body ready to send: an origin opened at its offset (an error opening it is the
    /// origin's, not the registry's).
    pub(super) async fn open(self) -> Result<Opened, StoreError> {
        Ok(match self {
            Body::Empty => Opened::Empty,
            Body::Bytes(bytes) => Opened::Bytes(bytes),
            Body::Stream { reader, len } => Opened::Stream { reader, len },
            Body::Origin {
                origin,
                offset,
                len,
            } => Opened::Stream {
                reader: Box::pin(origin.open_at(offset).await?.take(len)),
                len,
            },
        })
    }
}

/// A request body as it goes out.
pub(super) enum Opened {
    /// None.
    Empty,
    /// Bytes in memory.
    Bytes(Bytes),
    /// `len` bytes read from `reader`.
    Stream { reader: BlobReader, len: u64 },
}

/// An answer: its status and headers, and a body read with limits or as a stream.
pub struct Response {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The URL that answered (after redirects).
    pub url: String,
    body: hyper::body::Incoming,
    pace: Pace,
}

/// How slow an answer may be: nothing for `idle` fails it, and so does an average below
/// `min_rate` bytes a second once `idle` has passed (0: no minimum), so a registry sending a
/// byte just inside the idle timeout cannot hold a command for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pace {
    pub idle: Duration,
    pub min_rate: u64,
}

impl Pace {
    /// When a transfer that started at `start` and moved `bytes` falls below the minimum rate
    /// (None: no minimum).
    pub(super) fn rate_deadline(&self, start: Instant, bytes: u64) -> Option<Instant> {
        (self.min_rate > 0).then(|| {
            let allowed = Duration::from_secs_f64(bytes as f64 / self.min_rate as f64);
            start
                + self
                    .idle
                    .saturating_add(allowed.min(Duration::from_secs(u32::MAX.into())))
        })
    }

    /// The error of a transfer below the minimum rate.
    pub(super) fn too_slow(&self) -> RemoteLimit {
        RemoteLimit::TransferRate {
            min_rate: self.min_rate,
        }
    }
}

impl Response {
    pub(super) fn new(
        parts: http::response::Parts,
        url: String,
        body: hyper::body::Incoming,
        pace: Pace,
    ) -> Self {
        Response {
            status: parts.status,
            headers: parts.headers,
            url,
            body,
            pace,
        }
    }
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Response {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body, at most `limit` bytes: a larger one is an error naming the limit.
    pub async fn bytes(self, limit: u64, location: &str, what: &str) -> Result<Bytes, StoreError> {
        let too_large = || StoreError::Remote {
            location: location.to_string(),
            message: format!(
                "the registry sent a {what} larger than {} (packreg's limit for it); refusing it",
                crate::limits::human(limit)
            ),
        };
        let declared = self
            .header("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut out = Vec::with_capacity(declared.unwrap_or(0) as usize);
        let mut stream = IdleBody::new(self.body, self.pace);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| stream_error(location, &e))?;
            if (out.len() + chunk.len()) as u64 > limit {
                return Err(too_large());
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.into())
    }

    /// The body as a stream; a stall longer than the idle timeout fails the read.
    pub fn into_reader(self) -> BlobReader {
        Box::pin(StreamReader::new(self.into_stream()))
    }

    /// The body as a stream of chunks; a stall longer than the idle timeout fails it.
    pub fn into_stream(self) -> ByteStream {
        Box::pin(IdleBody::new(self.body, self.pace))
    }

    /// The error this unsuccessful answer means, with the registry's own code and message.
    pub async fn error(self, reference: &str, action: Action) -> StoreError {
        self.registry_error(reference, action)
            .await
            .into_store_error()
    }

    /// The registry's error, as it answered it.
    pub async fn registry_error(self, reference: &str, action: Action) -> RegistryError {
        let host = url::Url::parse(&self.url)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_default();
        let status = self.status;
        let body = self
            .bytes(SMALL_BODY_LIMIT, reference, "error body")
            .await
            .unwrap_or_default();
        RegistryError::new(status, &body, reference, &host, action)
    }
}

fn stream_error(location: &str, err: &std::io::Error) -> StoreError {
    if let Some(limit) = limit_of(err) {
        return StoreError::Limit {
            location: location.to_string(),
            limit,
        };
    }
    let cause = match err.kind() {
        std::io::ErrorKind::TimedOut => NetworkCause::Timeout,
        _ => NetworkCause::Reset,
    };
    StoreError::Network {
        location: location.to_string(),
        cause,
        plain_http: false,
        message: format!("the download broke off ({err})"),
    }
}

/// The bound a stream error reports, when it is one of packreg's (a transfer too slow).
pub(super) fn limit_of(err: &std::io::Error) -> Option<RemoteLimit> {
    err.get_ref()?.downcast_ref::<RemoteLimit>().cloned()
}

/// A response body as a stream of bytes that fails after the idle timeout without data, or
/// below the minimum rate.
struct IdleBody {
    inner: hyper::body::Incoming,
    pace: Pace,
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// The last poll handed out data: the reader's own time before the next poll is not the
    /// registry's silence.
    handed_out: bool,
    /// When data was last handed out.
    handed_at: Instant,
    /// The start of the transfer, moved on by the reader's own time between polls: the rate is
    /// the registry's.
    start: Instant,
    bytes: u64,
    /// When the idle timeout fails the body, unless data comes.
    idle_at: Instant,
}

impl IdleBody {
    fn new(inner: hyper::body::Incoming, pace: Pace) -> Self {
        let mut body = IdleBody {
            inner,
            pace,
            sleep: Box::pin(tokio::time::sleep(pace.idle)),
            handed_out: false,
            handed_at: Instant::now(),
            start: Instant::now(),
            bytes: 0,
            idle_at: Instant::now() + pace.idle,
        };
        body.restart_clock();
        body
    }

    /// When the minimum rate fails the transfer, at the bytes moved so far.
    fn rate_deadline(&self) -> Option<Instant> {
        self.pace.rate_deadline(self.start, self.bytes)
    }

    fn restart_clock(&mut self) {
        self.idle_at = Instant::now() + self.pace.idle;
        self.arm();
    }

    /// Sets the timer to the first of the idle timeout and the rate's deadline.
    fn arm(&mut self) {
        let idle = self.idle_at;
        let deadline = self.rate_deadline().map_or(idle, |rate| rate.min(idle));
        self.sleep.as_mut().reset(deadline.into());
    }

    fn below_rate(&self) -> bool {
        self.rate_deadline().is_some_and(|d| Instant::now() >= d)
    }

    fn too_slow(&self) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, self.pace.too_slow())
    }
}

impl Stream for IdleBody {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if std::mem::take(&mut self.handed_out) {
            let reader_time = self.handed_at.elapsed();
            self.start += reader_time;
            self.restart_clock();
        }
        loop {
            match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if self.below_rate() {
                        return Poll::Ready(Some(Err(self.too_slow())));
                    }
                    if let Some(data) = frame.data_ref() {
                        self.bytes += data.len() as u64;
                    }
                    self.restart_clock();
                    match frame.into_data() {
                        Ok(data) if !data.is_empty() => {
                            self.handed_out = true;
                            self.handed_at = Instant::now();
                            return Poll::Ready(Some(Ok(data)));
                        }
                        _ => continue,
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Some(Err(std::io::Error::other(e))))
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => {
                    return match self.sleep.as_mut().poll(cx) {
                        // Silence is the idle timeout's to report; a trickle the rate's.
                        Poll::Ready(()) if Instant::now() < self.idle_at && self.below_rate() => {
                            Poll::Ready(Some(Err(self.too_slow())))
                        }
                        Poll::Ready(()) if Instant::now() < self.idle_at => {
                            self.arm();
                            continue;
                        }
                        Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("no data for {} s", self.pace.idle.as_secs()),
                        )))),
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Numbers;

    #[async_trait::async_trait]
    impl BlobOrigin for Numbers {
        async fn open_at(&self, offset: u64) -> Result<BlobReader, StoreError> {
            let bytes: Vec<u8> = (offset as u8..100).collect();
            Ok(Box::pin(std::io::Cursor::new(bytes)))
        }
    }

    async fn read(body: Body<'_>) -> Vec<u8> {
        let Opened::Stream { mut reader, len } = body.open().await.unwrap() else {
            panic!("an origin opens as a stream");
        };
        let mut out = Vec::new();
        reader.read_to_end(&mut out).await.unwrap();
        assert_eq!(out.len() as u64, len);
        out
    }

    #[tokio::test]
    async fn an_origin_body_is_opened_again_at_its_offset_and_a_stream_is_not() {
        let body = Body::Origin {
            origin: &Numbers,
            offset: 10,
            len: 5,
        };
        let again = body.again().expect("an origin can be sent again");
        assert_eq!(read(body).await, [10, 11, 12, 13, 14]);
        assert_eq!(read(again).await, [10, 11, 12, 13, 14]);
        let stream = Body::Stream {
            reader: Box::pin(std::io::Cursor::new(vec![1u8])),
            len: 1,
        };
        assert!(stream.again().is_none());
    }
}
