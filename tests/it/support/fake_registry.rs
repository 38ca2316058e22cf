#![allow(dead_code)]
//! An in-process HTTP server driven by a table of rules, for what a real registry cannot be
//! made to do (429, stalls, a Referrers API, no `Location`, redirects, expiring tokens). Every
//! request is logged with its headers. It runs on its own thread and runtime, so tests may
//! drive it from the library or from the packreg binary.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::Frame;

/// What a rule answers with.
#[derive(Clone)]
pub enum Body {
    /// These bytes (with their Content-Length).
    Bytes(Vec<u8>),
    /// These bytes, then nothing ever again (the connection stays open), announcing `len`.
    Stall { first: Vec<u8>, len: u64 },
    /// `len` bytes of zeros, streamed without Content-Length.
    Zeros { len: u64 },
    /// These bytes, announcing `len`, then the connection is cut.
    Cut { first: Vec<u8>, len: u64 },
    /// `len` zeros announced, one byte every `every` (just inside an idle timeout).
    Trickle {
        len: u64,
        every: std::time::Duration,
    },
}

/// One row of the table.
#[derive(Clone)]
pub struct Rule {
    pub method: &'static str,
    /// Matched against the path and query: exact, or a prefix when it ends with `*`.
    pub path: String,
    /// Only requests with this Authorization header (exactly).
    pub auth: Option<String>,
    /// How many times the rule answers before it is used up (None: always).
    pub times: Option<usize>,
    /// How many times the rule answered; `{hit}` in a header value is replaced by it, so one
    /// rule can link to a new page every time.
    pub hits: usize,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Rule {
    pub fn new(method: &'static str, path: &str, status: u16) -> Rule {
        Rule {
            method,
            path: path.to_string(),
            auth: None,
            times: None,
            hits: 0,
            status,
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
        }
    }
    pub fn times(mut self, n: usize) -> Rule {
        self.times = Some(n);
        self
    }
    pub fn auth(mut self, value: &str) -> Rule {
        self.auth = Some(value.to_string());
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Rule {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Rule {
        self.body = Body::Bytes(body.into());
        self
    }
    pub fn raw(mut self, body: Body) -> Rule {
        self.body = body;
        self
    }
    fn matches(&self, method: &str, path: &str, auth: Option<&str>) -> bool {
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.path,
        };
        self.method == method
            && path_ok
            && self.times != Some(0)
            && self.auth.as_deref().is_none_or(|a| Some(a) == auth)
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub at: Instant,
    /// Length of the request body.
    pub body_len: usize,
}

impl Logged {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    log: Vec<Logged>,
}

/// A running fake server; stops with the test process.
pub struct FakeRegistry {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    state: Arc<Mutex<State>>,
}

type BodyError = Box<dyn std::error::Error + Send + Sync>;
type Reply = hyper::Response<BoxBody<Bytes, BodyError>>;

impl FakeRegistry {
    /// Starts a plain-HTTP server with `rules`.
    pub fn start(rules: Vec<Rule>) -> FakeRegistry {
        Self::start_with(rules, None)
    }

    /// Starts an HTTPS server with `rules`, presenting `cert` and `key` (PEM, PKCS#8 key).
    pub fn start_tls(rules: Vec<Rule>, cert: &[u8], key: &[u8]) -> FakeRegistry {
        let identity = native_tls::Identity::from_pkcs8(cert, key).expect("test identity");
        let acceptor = native_tls::TlsAcceptor::new(identity).expect("test acceptor");
        Self::start_with(rules, Some(tokio_native_tls::TlsAcceptor::from(acceptor)))
    }

    fn start_with(rules: Vec<Rule>, tls: Option<tokio_native_tls::TlsAcceptor>) -> FakeRegistry {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new(Mutex::new(State {
            rules,
            log: Vec::new(),
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let state = shared.clone();
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(
                            move |req: hyper::Request<hyper::body::Incoming>| {
                                let state = state.clone();
                                async move {
                                    // Read the whole request first, as a registry does.
                                    let (parts, body) = req.into_parts();
                                    let body = body
                                        .collect()
                                        .await
                                        .map(|b| b.to_bytes().len())
                                        .unwrap_or(0);
                                    Ok::<_, Infallible>(answer(&state, parts, body))
                                }
                            },
                        );
                        let builder = hyper::server::conn::http1::Builder::new();
                        match tls {
                            Some(tls) => {
                                if let Ok(stream) = tls.accept(tcp).await {
                                    let io = hyper_util::rt::TokioIo::new(stream);
                                    let _ = builder.serve_connection(io, service).await;
                                }
                            }
                            None => {
                                let io = hyper_util::rt::TokioIo::new(tcp);
                                let _ = builder.serve_connection(io, service).await;
                            }
                        }
                    });
                }
            });
        });
        FakeRegistry { addr, state }
    }

    /// Adds rules (matched after the existing ones).
    pub fn add(&self, rules: Vec<Rule>) {
        self.state.lock().unwrap().rules.extend(rules);
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// The requests with this method whose path starts with `prefix`.
    pub fn requests(&self, method: &str, prefix: &str) -> Vec<Logged> {
        self.log()
            .into_iter()
            .filter(|l| l.method == method && l.path.starts_with(prefix))
            .collect()
    }
}

fn answer(state: &Mutex<State>, req: http::request::Parts, body_len: usize) -> Reply {
    let method = req.method.to_string();
    let path = req
        .uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let auth = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut state = state.lock().unwrap();
    state.log.push(Logged {
        method: method.clone(),
        path: path.clone(),
        headers,
        at: Instant::now(),
        body_len,
    });
    let Some(rule) = state
        .rules
        .iter_mut()
        .find(|r| r.matches(&method, &path, auth.as_deref()))
    else {
        return respond(
            404,
            &[],
            Body::Bytes(br#"{"errors":[{"code":"NOT_FOUND","message":"no rule"}]}"#.to_vec()),
        );
    };
    if let Some(n) = rule.times.as_mut() {
        *n -= 1;
    }
    rule.hits += 1;
    let mut rule = rule.clone();
    let hit = rule.hits.to_string();
    for (_, value) in &mut rule.headers {
        *value = value.replace("{hit}", &hit);
    }
    drop(state);
    // Drain the request body in the background so uploads complete.
    respond(rule.status, &rule.headers, rule.body)
}

fn respond(status: u16, headers: &[(String, String)], body: Body) -> Reply {
    let mut builder = hyper::Response::builder().status(status);
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    let body = match body {
        Body::Bytes(bytes) => Full::new(Bytes::from(bytes))
            .map_err(|never| match never {})
            .boxed(),
        Body::Cut { first, len } => {
            builder = builder.header("content-length", len);
            // The first bytes are flushed before the cut, as a connection that dies mid-body.
            let head =
                stream::once(async move { Ok::<_, BodyError>(Frame::data(Bytes::from(first))) });
            let cut = stream::once(async {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                Err::<Frame<Bytes>, BodyError>("cut".into())
            });
            BodyExt::boxed(StreamBody::new(head.chain(cut)))
        }
        Body::Stall { first, len } => {
            builder = builder.header("content-length", len);
            let head =
                stream::once(async move { Ok::<_, BodyError>(Frame::data(Bytes::from(first))) });
            BodyExt::boxed(StreamBody::new(head.chain(stream::pending())))
        }
        Body::Trickle { len, every } => {
            builder = builder.header("content-length", len);
            let bytes = stream::unfold(0u64, move |sent| async move {
                if sent == len {
                    return None;
                }
                tokio::time::sleep(every).await;
                Some((
                    Ok::<_, BodyError>(Frame::data(Bytes::from_static(&[0]))),
                    sent + 1,
                ))
            });
            BodyExt::boxed(StreamBody::new(bytes))
        }
        Body::Zeros { len } => {
            let chunk = Bytes::from(vec![0u8; 64 * 1024]);
            let chunks = len.div_ceil(64 * 1024);
            let last = len - (chunks.saturating_sub(1)) * 64 * 1024;
            let frames = stream::iter((0..chunks).map(move |i| {
                let data = if i + 1 == chunks {
                    chunk.slice(..last as usize)
                } else {
                    chunk.clone()
                };
                Ok::<_, BodyError>(Frame::data(data))
            }));
            BodyExt::boxed(StreamBody::new(frames))
        }
    };
    builder.body(body).unwrap()
}

use futures_util::StreamExt as _;
