//! The scheme probe for loopback hosts: plain HTTP only when the server answers a plain
//! request like a registry (200 or 401 on `/v2/`); otherwise HTTPS, whose errors the real
//! requests report. A raw request keeps the probe free of TLS and client set-up.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::address::socket_address;
use crate::name::Scheme;

/// HTTP when a plain `GET /v2/` to `host` is answered 200 or 401, else HTTPS.
pub(super) async fn probe_scheme(host: &str) -> Scheme {
    let addr = socket_address(host);
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(&addr).await?;
        let request = format!(
            "GET /v2/ HTTP/1.0\r\nHost: {host}\r\nUser-Agent: packreg/{}\r\n\r\n",
            env!("CARGO_PKG_VERSION")
        );
        stream.write_all(request.as_bytes()).await?;
        // Enough for the status line, however the bytes arrive.
        let mut head = Vec::with_capacity(32);
        let mut buf = [0u8; 32];
        while head.len() < 12 {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&head).into_owned())
    };
    match tokio::time::timeout(Duration::from_secs(10), probe).await {
        Ok(Ok(head))
            if head.starts_with("HTTP/1.")
                && head
                    .get(8..)
                    .is_some_and(|rest| rest.starts_with(" 200") || rest.starts_with(" 401")) =>
        {
            tracing::info!("{host} answers in plain HTTP; using it (loopback only)");
            Scheme::Http
        }
        _ => Scheme::Https,
    }
}
