//! Answers from the registry: status and headers, and a body read with a limit or as a stream
//! that fails after the idle timeout without data.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::header::HeaderMap;
use http::StatusCode;
use http_body::Body as _;
use tokio_util::io::StreamReader;

use super::error::RegistryError;
use super::transport::{ByteStream, TIMEOUT_ENV};
use crate::limits::SMALL_BODY_LIMIT;
use crate::store::{BlobReader, StoreError};

/// An answer: its status and headers, and a body read with limits or as a stream.
pub struct Response {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The URL that answered (after redirects).
    pub url: String,
    body: hyper::body::Incoming,
    idle: Duration,
}

impl Response {
    pub(super) fn new(
        parts: http::response::Parts,
        url: String,
        body: hyper::body::Incoming,
        idle: Duration,
    ) -> Self {
        Response {
            status: parts.status,
            headers: parts.headers,
            url,
            body,
            idle,
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
        let mut stream = IdleBody::new(self.body, self.idle);
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
        Box::pin(IdleBody::new(self.body, self.idle))
    }

    /// The error this unsuccessful answer means, with the registry's own code and message.
    pub async fn error(self, reference: &str, action: &str) -> StoreError {
        self.registry_error(reference, action)
            .await
            .into_store_error()
    }

    /// The registry's error, as it answered it.
    pub async fn registry_error(self, reference: &str, action: &str) -> RegistryError {
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
    StoreError::Network {
        location: location.to_string(),
        message: format!("the download broke off ({err})"),
    }
}

/// A response body as a stream of bytes that fails after the idle timeout without data.
struct IdleBody {
    inner: hyper::body::Incoming,
    idle: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// The last poll handed out data: the reader's own time before the next poll is not the
    /// registry's silence.
    handed_out: bool,
}

impl IdleBody {
    fn new(inner: hyper::body::Incoming, idle: Duration) -> Self {
        IdleBody {
            inner,
            idle,
            sleep: Box::pin(tokio::time::sleep(idle)),
            handed_out: false,
        }
    }

    fn restart_clock(&mut self) {
        let deadline = tokio::time::Instant::now() + self.idle;
        self.sleep.as_mut().reset(deadline);
    }
}

impl Stream for IdleBody {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if std::mem::take(&mut self.handed_out) {
            self.restart_clock();
        }
        loop {
            match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    self.restart_clock();
                    match frame.into_data() {
                        Ok(data) if !data.is_empty() => {
                            self.handed_out = true;
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
                        Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!(
                                "no data for {} s (raise with --timeout or {TIMEOUT_ENV})",
                                self.idle.as_secs()
                            ),
                        )))),
                        Poll::Pending => Poll::Pending,
                    }
                }
            }
        }
    }
}
