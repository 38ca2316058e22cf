//! Progress reporting for blob transfers. The library reports bytes; the command line draws
//! bars (or nothing, in a pipe or with `--quiet`).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// Receives progress of the blobs an operation moves.
pub trait Progress: Send + Sync {
    /// A transfer of `total` bytes named `label` starts.
    fn start(&self, label: &str, total: u64) -> Arc<dyn Bar>;
}

/// Progress of one transfer.
pub trait Bar: Send + Sync {
    /// `n` more bytes moved.
    fn inc(&self, n: u64);
    /// The transfer ended (successfully or not).
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

struct NoBar;

impl Bar for NoBar {
    fn inc(&self, _n: u64) {}
    fn finish(&self) {}
}

impl Progress for NoProgress {
    fn start(&self, _label: &str, _total: u64) -> Arc<dyn Bar> {
        Arc::new(NoBar)
    }
}

/// An async reader that reports the bytes read through it.
pub struct Counted<R> {
    inner: R,
    bar: Arc<dyn Bar>,
}

impl<R> Counted<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, bar: Arc<dyn Bar>) -> Self {
        Counted { inner, bar }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Counted<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            self.bar.inc(read as u64);
        }
        result
    }
}
