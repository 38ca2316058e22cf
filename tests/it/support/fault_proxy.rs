//! A fault-injecting reverse proxy in front of a real registry, on a loopback port. Like a
//! buffering proxy (nginx's default), it reads a request body whole before forwarding it, so
//! a request cut in the middle reaches the registry not at all. Faults, each used once:
//! - cut (or hold forever) the upload request during which upload bytes pass a threshold;
//! - cut a blob download once its bytes pass a threshold;
//! - answer given statuses (429 with Retry-After, 503) to given requests, a given number of
//!   times, before forwarding again;
//! - reset the connection of a matching request.
//!
//! It counts the bytes it received in uploads and served in blob downloads.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::Frame;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Reply = hyper::Response<BoxBody<Bytes, BoxError>>;

/// What a cut upload does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cut {
    /// Drop the connection.
    Drop,
    /// Never answer (the test kills the client).
    Hold,
}

/// A canned answer for matching requests.
#[derive(Clone)]
pub struct Inject {
    pub method: &'static str,
    /// The path contains this.
    pub path_contains: String,
    /// None: reset the connection instead of answering.
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub times: usize,
}

#[derive(Default)]
struct State {
    upstream: String,
    cut_upload_at: Option<(u64, Cut)>,
    cut_download_at: Option<(u64, Cut)>,
    injects: Vec<Inject>,
    uploaded: u64,
    served: u64,
    log: Vec<(String, String, u16)>,
}

/// A running proxy; it lives as long as the test process.
pub struct FaultProxy {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// A proxy in front of `upstream` (`127.0.0.1:PORT`, plain HTTP).
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new(Mutex::new(State {
            upstream: upstream.to_string(),
            ..State::default()
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let client = hyper_util::client::legacy::Client::builder(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .build_http::<Full<Bytes>>();
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                while let Ok((tcp, _)) = listener.accept().await {
                    let state = shared.clone();
                    let client = client.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            handle(state.clone(), client.clone(), req)
                        });
                        let io = hyper_util::rt::TokioIo::new(tcp);
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await;
                    });
                }
            });
        });
        FaultProxy { addr, state }
    }

    /// Cuts (or holds) the upload request during which the upload bytes pass `at`.
    pub fn cut_upload_at(&self, at: u64, cut: Cut) {
        self.state.lock().unwrap().cut_upload_at = Some((at, cut));
    }

    /// Cuts (or holds) the blob download during which the served bytes pass `at`.
    pub fn cut_download_at(&self, at: u64, cut: Cut) {
        self.state.lock().unwrap().cut_download_at = Some((at, cut));
    }

    /// Adds a canned answer.
    pub fn inject(&self, inject: Inject) {
        self.state.lock().unwrap().injects.push(inject);
    }

    /// Bytes received in upload bodies (PATCH and PUT to upload sessions), forwarded or not.
    pub fn uploaded(&self) -> u64 {
        self.state.lock().unwrap().uploaded
    }

    /// Bytes of blob downloads sent to clients.
    pub fn served(&self) -> u64 {
        self.state.lock().unwrap().served
    }

    /// Every request: method, path and the status it got (0: cut).
    pub fn log(&self) -> Vec<(String, String, u16)> {
        self.state.lock().unwrap().log.clone()
    }
}

type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

async fn handle(
    state: Arc<Mutex<State>>,
    client: Client,
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<Reply, BoxError> {
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let record = |status: u16| {
        state
            .lock()
            .unwrap()
            .log
            .push((method.clone(), path.clone(), status))
    };
    let injected = {
        let mut st = state.lock().unwrap();
        st.injects
            .iter_mut()
            .find(|i| i.times > 0 && i.method == method && path.contains(&i.path_contains))
            .map(|i| {
                i.times -= 1;
                i.clone()
            })
    };
    let is_upload = path.contains("/blobs/uploads/") && (method == "PATCH" || method == "PUT");
    let (parts, mut body) = req.into_parts();
    let mut collected = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        collected.extend_from_slice(&data);
        if is_upload {
            let cut = {
                let mut st = state.lock().unwrap();
                st.uploaded += data.len() as u64;
                match st.cut_upload_at {
                    Some((at, cut)) if st.uploaded >= at => {
                        st.cut_upload_at = None;
                        Some(cut)
                    }
                    _ => None,
                }
            };
            match cut {
                Some(Cut::Drop) => {
                    record(0);
                    return Err("upload cut by the fault proxy".into());
                }
                Some(Cut::Hold) => {
                    record(0);
                    std::future::pending::<()>().await;
                }
                None => {}
            }
        }
    }
    if let Some(inject) = injected {
        let Some(status) = inject.status else {
            record(0);
            return Err("connection reset by the fault proxy".into());
        };
        record(status);
        let mut reply = hyper::Response::builder().status(status);
        for (k, v) in &inject.headers {
            reply = reply.header(k, v);
        }
        return Ok(reply
            .body(Full::new(Bytes::new()).map_err(|e| match e {}).boxed())
            .unwrap());
    }
    let upstream = state.lock().unwrap().upstream.clone();
    let mut forward = hyper::Request::builder()
        .method(parts.method.clone())
        .uri(format!("http://{upstream}{path}"));
    // The Host header goes along, so the registry's Location headers name the proxy.
    for (name, value) in &parts.headers {
        forward = forward.header(name, value);
    }
    let resp = client
        .request(forward.body(Full::new(Bytes::from(collected))).unwrap())
        .await?;
    record(resp.status().as_u16());
    let is_download = method == "GET" && path.contains("/blobs/sha256:");
    let (parts, body) = resp.into_parts();
    let counted = http_body_util::BodyStream::new(body).then(move |frame| {
        let state = state.clone();
        async move {
            let frame = frame.map_err(|e| Box::new(e) as BoxError)?;
            let mut cut = None;
            if let (true, Some(data)) = (is_download, frame.data_ref()) {
                let mut st = state.lock().unwrap();
                st.served += data.len() as u64;
                if let Some((at, how)) = st.cut_download_at {
                    if st.served >= at {
                        st.cut_download_at = None;
                        cut = Some(how);
                    }
                }
            }
            match cut {
                Some(Cut::Drop) => {
                    Err::<Frame<Bytes>, BoxError>("download cut by the fault proxy".into())
                }
                Some(Cut::Hold) => {
                    std::future::pending::<()>().await;
                    unreachable!()
                }
                None => Ok(frame),
            }
        }
    });
    Ok(hyper::Response::from_parts(
        parts,
        BodyExt::boxed(StreamBody::new(counted)),
    ))
}
