//! Registry names, as both the settings and the stores read them: `host[:port][/base/path]`
//! split and checked, loopback detection, the scheme, and Docker Hub's several names. A leaf:
//! it imports nothing of the settings, stores, operations or command line.

use crate::reference::is_repository_path;

/// Docker Hub's name in references.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API answers.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// Docker Hub's old index host, still accepted in references.
pub const DOCKER_HUB_INDEX: &str = "index.docker.io";
/// The key of Docker Hub's credentials in docker's config.
pub const DOCKER_HUB_CREDENTIALS: &str = "https://index.docker.io/v1/";

/// A registry string that is not `host[:port][/base/path]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(String);

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

/// Splits `host[:port][/base/path]` (a leading `http://` or `https://` is ignored) into the
/// lowercase host and the base path.
pub fn split_registry(spec: &str) -> Result<(String, String), NameError> {
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
        return Err(NameError(format!(
            "{spec:?} is not a registry: give host[:port][/base/path], or oci:PATH for a local store"
        )));
    }
    if !base.is_empty() && !is_repository_path(base) {
        return Err(NameError(format!(
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

/// Whether `host` is one of Docker Hub's names.
pub fn is_docker_hub(host: &str) -> bool {
    matches!(host, DOCKER_HUB | DOCKER_HUB_API | DOCKER_HUB_INDEX)
}

/// The key of `host`'s credentials in docker's config: Docker Hub's sit under its old index
/// address, as docker writes them.
pub fn credential_key(host: &str) -> &str {
    if is_docker_hub(host) {
        DOCKER_HUB_CREDENTIALS
    } else {
        host
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
    fn docker_hub_credentials_sit_under_the_old_index() {
        for h in [DOCKER_HUB, DOCKER_HUB_API, DOCKER_HUB_INDEX] {
            assert_eq!(credential_key(h), DOCKER_HUB_CREDENTIALS);
        }
        assert_eq!(credential_key("quay.io"), "quay.io");
    }
}
