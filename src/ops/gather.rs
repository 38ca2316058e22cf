//! A blob body read on the runtime into large buffers and handed to a blocking thread a buffer
//! at a time. Over TLS a body arrives one record (16 KiB or less) at a time; bridging each read
//! to a blocking thread (tokio's SyncIoBridge) cost a cross-thread wake per record, and the
//! file behind it a write per record. Gathered buffers make both about one per MiB, and the
//! network read of buffer N+1 overlaps the hashing and writing of buffer N.

use std::fs::File;
use std::io::{self, Read, Write};

use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::store::BlobReader;

/// The size of a gathered buffer.
pub(crate) const GATHER: usize = 1 << 20;

/// Buffers waiting for the blocking side: two in the queue, one being filled and one being
/// consumed bound the memory of a transfer to about 4 MiB.
const QUEUED: usize = 2;

/// What the runtime side sends: a full buffer, the end of the body, or its failure.
enum Piece {
    Bytes(Vec<u8>),
    End,
}

/// Starts reading `body` (`size` bytes expected; only used to size the buffers) on the runtime
/// into buffers of up to [`GATHER`] bytes. Must be called within the runtime.
pub(crate) fn gather(mut body: BlobReader, size: u64) -> Gathered {
    let (tx, rx) = mpsc::channel::<io::Result<Piece>>(QUEUED);
    tokio::spawn(async move {
        let mut left = size;
        loop {
            // Sized by what is still expected, so a small blob takes a small buffer; a body
            // longer than announced still goes on (the verifier refuses it).
            let want = usize::try_from(left)
                .unwrap_or(GATHER)
                .clamp(8 * 1024, GATHER);
            let mut buf = vec![0u8; want];
            let mut filled = 0;
            let mut end = false;
            while filled < want {
                match body.read(&mut buf[filled..]).await {
                    Ok(0) => {
                        end = true;
                        break;
                    }
                    Ok(n) => filled += n,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
            }
            buf.truncate(filled);
            left = left.saturating_sub(filled as u64);
            if filled > 0 && tx.send(Ok(Piece::Bytes(buf))).await.is_err() {
                return; // the reader went away
            }
            if end {
                let _ = tx.send(Ok(Piece::End)).await;
                return;
            }
        }
    });
    Gathered {
        rx,
        current: Vec::new(),
        at: 0,
        ended: false,
        sink: None,
    }
}

/// The blocking side of [`gather`]: a reader, or a source of whole buffers.
pub(crate) struct Gathered {
    rx: mpsc::Receiver<io::Result<Piece>>,
    current: Vec<u8>,
    at: usize,
    ended: bool,
    /// Where every buffer is also appended as it arrives (a partial download in the cache).
    sink: Option<Sink>,
}

struct Sink {
    file: File,
    broken: bool,
}

impl Gathered {
    /// Also appends every buffer to `file` as it arrives. A file that cannot be written only
    /// costs the resume, not the transfer: it is emptied and no longer written, so it never
    /// holds bytes at the wrong offset.
    pub(crate) fn tee_into(mut self, file: File) -> Self {
        self.sink = Some(Sink {
            file,
            broken: false,
        });
        self
    }

    /// The next buffer, None at the end of the body. Blocks: call it off the runtime.
    pub(crate) fn next_buffer(&mut self) -> io::Result<Option<Vec<u8>>> {
        if self.ended {
            return Ok(None);
        }
        match self.rx.blocking_recv() {
            Some(Ok(Piece::Bytes(buf))) => {
                if let Some(sink) = self.sink.as_mut().filter(|s| !s.broken) {
                    if sink.file.write_all(&buf).is_err() {
                        sink.broken = true;
                        let _ = sink.file.set_len(0);
                    }
                }
                Ok(Some(buf))
            }
            Some(Ok(Piece::End)) => {
                self.ended = true;
                Ok(None)
            }
            Some(Err(e)) => Err(e),
            // The runtime side stopped without an end: the runtime is shutting down.
            None => Err(io::Error::other("the transfer was stopped")),
        }
    }
}

impl Read for Gathered {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.current.len() {
            match self.next_buffer()? {
                Some(next) => {
                    self.current = next;
                    self.at = 0;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(bytes: Vec<u8>) -> BlobReader {
        Box::pin(std::io::Cursor::new(bytes))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_arrives_whole_in_large_buffers() {
        let data: Vec<u8> = (0..3 * GATHER + 123).map(|i| (i % 251) as u8).collect();
        let mut gathered = gather(body(data.clone()), data.len() as u64);
        let (got, sizes) = tokio::task::spawn_blocking(move || {
            let mut got = Vec::new();
            let mut sizes = Vec::new();
            while let Some(buf) = gathered.next_buffer().unwrap() {
                sizes.push(buf.len());
                got.extend_from_slice(&buf);
            }
            (got, sizes)
        })
        .await
        .unwrap();
        assert_eq!(got, data);
        assert_eq!(sizes, vec![GATHER, GATHER, GATHER, 123]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_body_is_an_error_not_an_end() {
        struct Failing;
        impl tokio::io::AsyncRead for Failing {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                _: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<io::Result<()>> {
                std::task::Poll::Ready(Err(io::Error::other("connection reset")))
            }
        }
        let mut gathered = gather(Box::pin(Failing), 10);
        let result = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            gathered.read_to_end(&mut out)
        })
        .await
        .unwrap();
        assert!(result.is_err(), "{result:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tee_file_receives_every_buffer() {
        let data: Vec<u8> = (0..GATHER + 7).map(|i| (i % 13) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kept");
        let file = File::create(&path).unwrap();
        let mut gathered = gather(body(data.clone()), data.len() as u64).tee_into(file);
        let read = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            gathered.read_to_end(&mut out).map(|_| out)
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(read, data);
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }
}
