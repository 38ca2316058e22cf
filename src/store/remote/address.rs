//! Registry addresses: `host[:port][/base/path]`, the scheme, and loopback detection.

use crate::reference::is_repository_path;
use crate::store::StoreError;

/// How to talk to the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTPS.
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// Splits `host[:port][/base/path]` (a leading `http://` or `https://` is ignored).
pub fn split_registry(spec: &str) -> Result<(String, String), StoreError> {
    let spec = spec
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let (host, base) = spec.split_once('/').unwrap_or((spec, ""));
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if !host_ok {
        return Err(StoreError::Config(format!(
            "{spec:?} is not a registry: give host[:port][/base/path], or oci:PATH for a local store"
        )));
    }
    if !base.is_empty() && !is_repository_path(base) {
        return Err(StoreError::Config(format!(
            "{base:?} (in {spec}) is not a valid base path: lowercase letters, digits, '.', '_', '-' and '/'"
        )));
    }
    Ok((host.to_ascii_lowercase(), base.to_string()))
}

/// Whether `host` (with an optional port) is a loopback address.
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else if host.parse::<std::net::IpAddr>().is_ok() {
        host
    } else {
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

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
    fn registry_strings() {
        assert_eq!(
            split_registry("127.0.0.1:5000/team/packs").unwrap(),
            ("127.0.0.1:5000".into(), "team/packs".into())
        );
        assert_eq!(
            split_registry("Reg.Example.com").unwrap(),
            ("reg.example.com".into(), "".into())
        );
        assert!(split_registry("reg.example.com/Bad Path").is_err());
        assert!(split_registry("").is_err());
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost:5000",
            "127.0.0.1",
            "127.3.2.1:80",
            "[::1]:5000",
            "::1",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1:5000", "[2001:db8::1]:443"] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn socket_addresses() {
        assert_eq!(socket_address("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(socket_address("localhost"), "localhost:80");
        assert_eq!(socket_address("[::1]:5000"), "[::1]:5000");
    }
}
