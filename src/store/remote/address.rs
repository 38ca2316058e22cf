//! The TCP address of a registry host; its name is [`crate::name`]'s.

// auth.rs and transport.rs name the scheme from here.
pub use crate::name::Scheme;

/// `host:port` to open a TCP connection to (port 80 when none is given).
pub(super) fn socket_address(host: &str) -> String {
    let has_port = host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        && !host.ends_with(']')
        && (host.starts_with('[') || host.matches(':').count() == 1);
    if has_port {
        host.to_string()
    } else {
        format!("{host}:80")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses() {
        assert_eq!(socket_address("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(socket_address("localhost"), "localhost:80");
        assert_eq!(socket_address("[::1]:5000"), "[::1]:5000");
    }
}
