//! The HTTP client under the transport: hyper-util's pooled client with a connector of our own
//! that honours `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` (CONNECT tunnels for HTTPS, absolute-form
//! requests for plain HTTP) and builds its TLS context only for the first HTTPS connection.
//! Clients are shared per process and per TLS settings, so the two sides of a mirror reuse one
//! pool when their settings match.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use hyper_util::client::legacy::connect::dns::{GaiAddrs, GaiResolver, Name};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tower_service::Service;

use super::tls::{LazyTls, TlsSettings};

/// A request body as the client sends it.
pub(super) type HttpBody = UnsyncBoxBody<Bytes, std::io::Error>;
/// The pooled HTTP client.
pub(super) type HttpClient = hyper_util::client::legacy::Client<Connector, HttpBody>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The client for `settings`, shared by every store of this process with the same settings.
pub(super) fn shared_client(settings: &TlsSettings) -> HttpClient {
    static CLIENTS: OnceLock<Mutex<Vec<(TlsSettings, HttpClient)>>> = OnceLock::new();
    let clients = CLIENTS.get_or_init(Default::default);
    let mut clients = clients.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, client)) = clients.iter().find(|(s, _)| s == settings) {
        return client.clone();
    }
    let client = build(settings.clone());
    clients.push((settings.clone(), client.clone()));
    client
}

fn build(settings: TlsSettings) -> HttpClient {
    let mut http = HttpConnector::new_with_resolver(Resolver(GaiResolver::new()));
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(Duration::from_secs(15)));
    let connector = Connector {
        http,
        tls: LazyTls::new(settings),
        proxies: proxies(),
    };
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(32)
        .build(connector)
}

/// The proxy settings of the environment, read once.
pub(super) fn proxies() -> Arc<Matcher> {
    static MATCHER: OnceLock<Arc<Matcher>> = OnceLock::new();
    MATCHER
        .get_or_init(|| Arc::new(Matcher::from_env()))
        .clone()
}

/// The system resolver, whose failures are typed ([`UnresolvedHost`]) so that an unknown host
/// is told from other connection failures without reading error text.
#[derive(Clone)]
pub(super) struct Resolver(GaiResolver);

/// A host name that does not resolve.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct UnresolvedHost(std::io::Error);

impl Service<Name> for Resolver {
    type Response = GaiAddrs;
    type Error = UnresolvedHost;
    type Future = Pin<Box<dyn Future<Output = Result<GaiAddrs, UnresolvedHost>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), UnresolvedHost>> {
        self.0.poll_ready(cx).map_err(UnresolvedHost)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let lookup = self.0.call(name);
        Box::pin(async move { lookup.await.map_err(UnresolvedHost) })
    }
}

/// Opens TCP (directly or through a proxy) and, for `https`, TLS on top.
#[derive(Clone)]
pub(super) struct Connector {
    http: HttpConnector<Resolver>,
    tls: Arc<LazyTls>,
    proxies: Arc<Matcher>,
}

impl Service<http::Uri> for Connector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let mut http = this.http.clone();
            let proxy = this.proxies.intercept(&dst);
            if dst.scheme_str() != Some("https") {
                // Plain HTTP through a proxy: connect to the proxy and send absolute-form.
                let (target, proxied) = match &proxy {
                    Some(p) => (p.uri().clone(), true),
                    None => (dst, false),
                };
                let tcp = http.call(target).await?;
                return Ok(Stream {
                    inner: Conn::Http(tcp),
                    proxied,
                });
            }
            let tcp = match proxy {
                Some(p) => {
                    let mut tunnel = Tunnel::new(p.uri().clone(), http);
                    if let Some(auth) = p.basic_auth() {
                        tunnel = tunnel.with_auth(auth.clone());
                    }
                    tunnel.call(dst.clone()).await?
                }
                None => http.call(dst.clone()).await?,
            };
            let tls = this.tls.get()?;
            let host = dst.host().unwrap_or_default().trim_matches(['[', ']']);
            // OpenSSL reads a record (16 KiB at most) at a time: a buffer under it turns a
            // download's 30,000 socket reads per 256 MiB into one per buffer of what arrived.
            let buffered = tokio::io::BufReader::with_capacity(TLS_READ_BUFFER, tcp.into_inner());
            let stream = tls.connect(host, buffered).await?;
            Ok(Stream {
                inner: Conn::Https(TokioIo::new(stream)),
                proxied: false,
            })
        })
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").finish_non_exhaustive()
    }
}

/// The socket buffer under TLS.
const TLS_READ_BUFFER: usize = 256 * 1024;

/// A connection, plain or TLS, that tells hyper whether it goes to a proxy (then plain-HTTP
/// requests are sent in absolute form).
pub(super) struct Stream {
    inner: Conn,
    proxied: bool,
}

/// A plain connection, or TLS over a read-buffered socket.
enum Conn {
    Http(TokioIo<TcpStream>),
    Https(TokioIo<tokio_native_tls::TlsStream<tokio::io::BufReader<TcpStream>>>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        let connected = match &self.inner {
            Conn::Http(tcp) => tcp.connected(),
            Conn::Https(tls) => tls
                .inner()
                .get_ref()
                .get_ref()
                .get_ref()
                .get_ref()
                .connected(),
        };
        connected.proxy(self.proxied)
    }
}

/// Forwards a call to the plain or TLS connection.
macro_rules! either {
    ($self:ident, $conn:ident => $call:expr) => {
        match &mut $self.inner {
            Conn::Http($conn) => $call,
            Conn::Https($conn) => $call,
        }
    };
}

impl hyper::rt::Read for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        either!(self, c => Pin::new(c).poll_read(cx, buf))
    }
}

impl hyper::rt::Write for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        either!(self, c => Pin::new(c).poll_write(cx, buf))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        either!(self, c => Pin::new(c).poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        either!(self, c => Pin::new(c).poll_shutdown(cx))
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Conn::Http(c) => c.is_write_vectored(),
            Conn::Https(c) => c.is_write_vectored(),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        either!(self, c => Pin::new(c).poll_write_vectored(cx, bufs))
    }
}
