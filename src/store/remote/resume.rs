//! Blob downloads that survive a cut connection or a stall: the rest is asked again with
//! `Range: bytes=N-` from the bytes already delivered, so pull, mirror and export all resume
//! within a run without holding anything in memory. A registry that ignores `Range` (answers
//! 200) sends the blob again and the bytes already delivered are skipped.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use http::Method;

use super::http::backoff;
use super::transport::{ByteStream, Request, Response, Transport};

/// Resumes in a row without a byte of progress before the download fails.
const MAX_RESUMES: u32 = 3;

struct State {
    transport: Arc<Transport>,
    url: String,
    /// The full name of the blob's repository.
    repository: String,
    body: Option<ByteStream>,
    delivered: u64,
    /// Bytes of the current body to drop (already delivered before a restart from 0).
    skip: u64,
    resumes: u32,
}

/// The blob from byte `offset` on: the body of `first` (a successful GET of `url` in
/// `repository`, asked from `offset`), resumed with Range requests when it breaks.
pub(super) fn resuming(
    transport: Arc<Transport>,
    url: String,
    repository: String,
    first: Response,
    offset: u64,
) -> std::io::Result<ByteStream> {
    let start = body_start(&first)?;
    if start > offset {
        return Err(std::io::Error::other(format!(
            "the registry sent bytes from {start}, not {offset}"
        )));
    }
    let state = State {
        transport,
        url,
        repository,
        body: Some(first.into_stream()),
        delivered: offset,
        skip: offset - start,
        resumes: 0,
    };
    Ok(Box::pin(futures_util::stream::unfold(
        Some(state),
        |state| async move {
            let mut st = state?;
            loop {
                let body = st.body.as_mut()?;
                let error = match body.next().await {
                    None => return None,
                    Some(Ok(chunk)) => match st.take(chunk) {
                        Some(chunk) => return Some((Ok(chunk), Some(st))),
                        None => continue,
                    },
                    Some(Err(e)) => e,
                };
                // A transfer below the minimum rate is not resumed: the next would trickle too.
                if st.resumes >= MAX_RESUMES || super::body::limit_of(&error).is_some() {
                    return Some((Err(error), None));
                }
                st.resumes += 1;
                tracing::info!(
                    "download of {} broke off after {} bytes ({error}); resuming",
                    st.url,
                    st.delivered
                );
                tokio::time::sleep(backoff(st.resumes - 1)).await;
                if let Err(e) = st.reopen().await {
                    return Some((Err(e), None));
                }
            }
        },
    )))
}

/// Where the body of a successful blob GET starts: the start of its Content-Range for a 206,
/// else 0.
fn body_start(resp: &Response) -> std::io::Result<u64> {
    match resp.status.as_u16() {
        206 => content_range_start(resp.header("content-range")).ok_or_else(|| {
            std::io::Error::other("the registry answered 206 without a usable Content-Range")
        }),
        200..=299 => Ok(0),
        s => Err(std::io::Error::other(format!(
            "the registry answered HTTP {s} to a blob download"
        ))),
    }
}

impl State {
    /// The part of `chunk` not delivered yet, counting it as delivered.
    fn take(&mut self, chunk: Bytes) -> Option<Bytes> {
        let len = chunk.len() as u64;
        if self.skip >= len {
            self.skip -= len;
            return None;
        }
        let chunk = chunk.slice(self.skip as usize..);
        self.skip = 0;
        self.delivered += chunk.len() as u64;
        self.resumes = 0;
        Some(chunk)
    }

    async fn reopen(&mut self) -> std::io::Result<()> {
        self.body = None;
        let request = Request::new(Method::GET, self.url.clone())
            .header("range", &format!("bytes={}-", self.delivered))
            .repository(&self.repository);
        let resp = self
            .transport
            .send(request)
            .await
            .map_err(std::io::Error::other)?;
        let start = body_start(&resp)?;
        if start > self.delivered {
            return Err(std::io::Error::other(format!(
                "resuming the download: the registry sent bytes from {start}, not {}",
                self.delivered
            )));
        }
        self.skip = self.delivered - start;
        self.body = Some(resp.into_stream());
        Ok(())
    }
}

/// The first byte of `Content-Range: bytes START-END/SIZE`.
fn content_range_start(header: Option<&str>) -> Option<u64> {
    let range = header?.trim().strip_prefix("bytes")?.trim();
    range.split('-').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(content_range_start(Some("bytes 100-199/200")), Some(100));
        assert_eq!(content_range_start(Some("bytes 0-0/1")), Some(0));
        assert_eq!(content_range_start(Some("items 1-2/3")), None);
        assert_eq!(content_range_start(None), None);
    }
}
