//! A forward proxy for the tests, on a loopback port: CONNECT tunnels (HTTPS) and
//! absolute-form requests (plain HTTP), each logged by its request line. Only loopback
//! destinations are served.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy; it lives as long as the test process.
pub struct ConnectProxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    pub fn start() -> ConnectProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = log.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(serve(client, shared.clone()));
                }
            });
        });
        ConnectProxy { url, log }
    }

    /// The request lines seen so far (`CONNECT 127.0.0.1:5000 HTTP/1.1`, `GET http://… HTTP/1.1`).
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

async fn serve(client: TcpStream, log: Arc<Mutex<Vec<String>>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let line = line.trim_end().to_string();
    let mut head = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await? == 0 || header == "\r\n" {
            break;
        }
        head.push(header);
    }
    log.lock().unwrap().push(line.clone());
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "CONNECT" {
        if !target.starts_with("127.0.0.1:") {
            return Ok(());
        }
        let mut upstream = TcpStream::connect(target).await?;
        let mut client = reader.into_inner();
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }
    // Absolute form: http://127.0.0.1:PORT/path. Forward one request per connection.
    let Some(rest) = target.strip_prefix("http://127.0.0.1:") else {
        return Ok(());
    };
    let (port, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut upstream = TcpStream::connect(format!("127.0.0.1:{port}")).await?;
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    for header in head {
        if !header.to_ascii_lowercase().starts_with("connection:") {
            request.push_str(&header);
        }
    }
    request.push_str("Connection: close\r\n\r\n");
    upstream.write_all(request.as_bytes()).await?;
    // Whatever body the client sends goes on; the answer comes back until the upstream closes.
    let (mut up_read, mut up_write) = upstream.into_split();
    let (mut client_read, mut client_write) = tokio::io::split(reader);
    let upload = async move {
        let _ = tokio::io::copy(&mut client_read, &mut up_write).await;
    };
    let download = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = up_read.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            client_write.write_all(&buf[..n]).await?;
        }
        client_write.shutdown().await
    };
    tokio::select! {
        r = download => r,
        _ = upload => Ok(()),
    }
}
