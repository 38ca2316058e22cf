//! Container image references as docker reads them (`nginx:1.25` is
//! `docker.io/library/nginx:1.25`), the images a pack declares, and where an image lands in
//! another registry: `<destination>/<source host>/<source path>`, the source host kept as the
//! first path component (as `skopeo sync --scoped` does) so images from different registries
//! never collide.

use std::net::Ipv6Addr;

use serde::Serialize;
use serde_json::Value;

use crate::digest::Digest;
use crate::reference::{is_repository_path, is_valid_tag};

use crate::name::{DOCKER_HUB, DOCKER_HUB_API, DOCKER_HUB_INDEX};

/// A normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRef {
    /// Registry host with port (`docker.io`, `registry.k8s.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// Repository path (`library/nginx`).
    pub repository: String,
    /// Tag, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Digest, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
}

/// An image reference that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reference:?} is not an image reference: {why}")]
pub struct BadImage {
    /// The text.
    pub reference: String,
    /// What is wrong.
    pub why: String,
}

impl ImageRef {
    /// Reads `text` as docker does: a first component with a `.` or `:`, or `localhost`, is a
    /// registry, else the image is on Docker Hub, where a one-component name is under
    /// `library/`; without a tag or digest the tag is `latest`.
    pub fn parse(text: &str) -> Result<ImageRef, BadImage> {
        let bad = |why: &str| BadImage {
            reference: text.to_string(),
            why: why.to_string(),
        };
        let text = text.trim();
        let (name, digest) = match text.split_once('@') {
            Some((n, d)) => (
                n,
                Some(
                    d.parse::<Digest>()
                        .map_err(|_| bad("the digest is not sha256:<64 hex>"))?,
                ),
            ),
            None => (text, None),
        };
        let last = name.rfind('/').map_or(0, |i| i + 1);
        let (path, tag) = match name[last..].rfind(':') {
            Some(i) => (&name[..last + i], Some(name[last + i + 1..].to_string())),
            None => (name, None),
        };
        if let Some(tag) = &tag {
            if !is_valid_tag(tag) {
                return Err(bad("the tag is not a valid tag"));
            }
        }
        let (registry, repository) = match path.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (canonical_host(first).map_err(bad)?, rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), path.to_string()),
        };
        let registry = match registry.as_str() {
            DOCKER_HUB_INDEX | DOCKER_HUB_API => DOCKER_HUB.to_string(),
            _ => registry,
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if !is_repository_path(&repository) {
            return Err(bad("the repository name is not valid"));
        }
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_string()),
            (tag, _) => tag,
        };
        Ok(ImageRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// Where the registry's API answers (Docker Hub's differs from its name).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// The tag or digest to ask the registry for (the digest when both are given).
    pub fn reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }

    /// Where this image lands under another registry or store: `<source host>/<path>` (see
    /// [`host_component`]), same tag and digest.
    pub fn mapped_repository(&self) -> String {
        format!("{}/{}", host_component(&self.registry), self.repository)
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// The registry part of an image reference checked as a host and written one way:
/// a DNS name (labels of letters, digits and inner `-`, lowercased) or an IPv4 address, or an
/// IPv6 address in brackets (RFC 5952 form), with an optional port (1-65535, no leading
/// zeros). One registry has one spelling, so [`host_component`] can be injective.
fn canonical_host(text: &str) -> Result<String, &'static str> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (addr, after) = rest
            .split_once(']')
            .ok_or("the registry's IPv6 address has no closing ']'")?;
        let addr: Ipv6Addr = addr
            .parse()
            .map_err(|_| "the registry's IPv6 address is not valid")?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or("the registry's port must follow ':'")?,
            ),
        };
        (format!("[{addr}]"), port)
    } else {
        let (name, port) = match text.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (text, None),
        };
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        if name.len() > 253 || !name.split('.').all(label_ok) {
            return Err("the registry is not a host name or IP address (letters, digits, '-' and '.', then an optional :port)");
        }
        (name.to_ascii_lowercase(), port)
    };
    match port {
        None => Ok(host),
        Some(port) => {
            let number = port
                .parse::<u16>()
                .ok()
                .filter(|n| *n != 0 && port.bytes().all(|b| b.is_ascii_digit()))
                .ok_or("the registry's port is not a number from 1 to 65535")?;
            // `:05000` and `:5000` are one registry.
            Ok(format!("{host}:{number}"))
        }
    }
}

/// A registry host as a repository path component, one for each host (injective): a name or
/// IPv4 address as it is, lowercase, a port joined with `_` (`127.0.0.1:5000` is
/// `127.0.0.1_5000`; a host name never holds `_`, so the port is unambiguous); an IPv6
/// address as `ip6__` and its eight groups in hex joined with `-` (`[::1]:5000` is
/// `ip6__0-0-0-0-0-0-0-1_5000`; `__` appears in no host name).
pub fn host_component(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    if let Some(rest) = host.strip_prefix('[') {
        let (addr, port) = rest.split_once(']').unwrap_or((rest, ""));
        let groups = match addr.parse::<Ipv6Addr>() {
            Ok(ip) => ip
                .segments()
                .iter()
                .map(|g| format!("{g:x}"))
                .collect::<Vec<_>>()
                .join("-"),
            // Not reached for a parsed reference: its host was checked.
            Err(_) => addr.replace(':', "-"),
        };
        let port = port.trim_start_matches(':');
        return if port.is_empty() {
            format!("ip6__{groups}")
        } else {
            format!("ip6__{groups}_{port}")
        };
    }
    host.replacen(':', "_", 1)
}

/// The image references a pack's values declare under `pack.content.images`: entries
/// `{image: REF}` or plain strings.
pub fn declared(values: &Value) -> Vec<String> {
    let Some(items) = values
        .pointer("/pack/content/images")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("image").and_then(Value::as_str).map(str::to_string),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(text: &str) -> String {
        ImageRef::parse(text).unwrap().to_string()
    }

    #[test]
    fn normalises_as_docker_does() {
        assert_eq!(full("nginx:1.25"), "docker.io/library/nginx:1.25");
        assert_eq!(full("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(full("bitnami/redis:7"), "docker.io/bitnami/redis:7");
        assert_eq!(
            full("registry.k8s.io/ingress-nginx/controller:v1.9.4"),
            "registry.k8s.io/ingress-nginx/controller:v1.9.4"
        );
        assert_eq!(full("localhost/app:1"), "localhost/app:1");
        assert_eq!(
            full("127.0.0.1:5000/team/app:2"),
            "127.0.0.1:5000/team/app:2"
        );
        assert_eq!(
            full("index.docker.io/library/busybox:1"),
            "docker.io/library/busybox:1"
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let by_digest = ImageRef::parse(&format!("quay.io/x/y@{d}")).unwrap();
        assert_eq!(by_digest.tag, None);
        assert_eq!(by_digest.reference(), d);
        assert!(ImageRef::parse("Bad Name:1").is_err());
        assert!(ImageRef::parse("x@sha256:short").is_err());
        assert_eq!(ImageRef::parse("nginx").unwrap().api_host(), DOCKER_HUB_API);
    }

    #[test]
    fn hosts_become_path_components() {
        assert_eq!(host_component("docker.io"), "docker.io");
        assert_eq!(host_component("127.0.0.1:5000"), "127.0.0.1_5000");
        assert_eq!(host_component("[::1]:5000"), "ip6__0-0-0-0-0-0-0-1_5000");
        for host in [
            "docker.io",
            "127.0.0.1:5000",
            "[::1]:5000",
            "Registry.Example.com",
        ] {
            let c = host_component(host);
            assert!(is_repository_path(&format!("{c}/x")), "{c}");
        }
        let image = ImageRef::parse("127.0.0.1:5000/team/app:2").unwrap();
        assert_eq!(image.mapped_repository(), "127.0.0.1_5000/team/app");
    }

    fn mapped(text: &str) -> String {
        ImageRef::parse(text).unwrap().mapped_repository()
    }

    #[test]
    fn registries_that_are_not_hosts_are_refused() {
        for text in [
            "127.0.0.1_5000/x:1",
            "my_host.example/x:1",
            "-bad.example/x:1",
            "bad-.example/x:1",
            "a..b/x:1",
            "host.example:/x:1",
            "host.example:0/x:1",
            "host.example:65536/x:1",
            "host.example:+80/x:1",
            "host.example:80:80/x:1",
            "[::1/x:1",
            "[::g]:5000/x:1",
            "[::1]5000/x:1",
            "[::1]:/x:1",
        ] {
            assert!(ImageRef::parse(text).is_err(), "{text} was accepted");
        }
    }

    #[test]
    fn one_registry_has_one_spelling() {
        assert_eq!(full("[0:0::1]:5000/x:1"), "[::1]:5000/x:1");
        assert_eq!(full("Host.Example:05000/x:1"), "host.example:5000/x:1");
        assert_eq!(mapped("[::1]/x:1"), mapped("[0::0:1]/x:1"));
    }

    #[test]
    fn the_mapping_never_joins_two_registries() {
        let images = [
            "127.0.0.1:5000/x",
            "127.0.0.1/x",
            "[::1]:5000/x",
            "[::1]/x",
            "[::1:0]:5000/x",
            "ip6-0-0-1:5000/x",
            "ip6-0-0-0-0-0-0-0-1:5000/x",
            "ip6.example:5000/x",
            "localhost:5000/x",
            "localhost/x",
            "localhost.5000/x",
            "docker.io/x/y",
            "docker.io/x_y",
        ];
        let mut seen = std::collections::BTreeMap::new();
        for image in images {
            let place = mapped(image);
            assert!(is_repository_path(&place), "{place}");
            if let Some(other) = seen.insert(place.clone(), image) {
                panic!("{image} and {other} both land at {place}");
            }
        }
    }

    /// The inverse of [`host_component`]: that it exists is what makes the mapping injective.
    fn host_of_component(component: &str) -> String {
        match component.strip_prefix("ip6__") {
            Some(rest) => {
                let (groups, port) = rest.split_once('_').unwrap_or((rest, ""));
                let groups: Vec<u16> = groups
                    .split('-')
                    .map(|g| u16::from_str_radix(g, 16).unwrap())
                    .collect();
                let groups: [u16; 8] = groups.try_into().unwrap();
                let addr = Ipv6Addr::from(groups);
                match port {
                    "" => format!("[{addr}]"),
                    port => format!("[{addr}]:{port}"),
                }
            }
            None => component.replacen('_', ":", 1),
        }
    }

    fn any_host() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let label = "[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,6}[a-zA-Z0-9_])?";
        let name = proptest::collection::vec(label, 1..4).prop_map(|l| l.join("."));
        let v4 = any::<[u8; 4]>().prop_map(|o| std::net::Ipv4Addr::from(o).to_string());
        let v6 = any::<u128>().prop_map(|a| format!("[{}]", Ipv6Addr::from(a)));
        let v6_small = (0u16..3, 0u16..3).prop_map(|(a, b)| format!("[::{a:x}:{b:x}]"));
        let host = prop_oneof![name, v4, v6, v6_small, Just("localhost".to_string())];
        let port = prop_oneof![
            Just(String::new()),
            "[0-9]{1,6}".prop_map(|p| format!(":{p}"))
        ];
        (host, port).prop_map(|(h, p)| format!("{h}{p}"))
    }

    proptest::proptest! {
        #[test]
        fn every_accepted_registry_maps_back_to_itself(host in any_host()) {
            if let Ok(image) = ImageRef::parse(&format!("{host}/x:1")) {
                let component = host_component(&image.registry);
                proptest::prop_assert!(is_repository_path(&component), "{}", component);
                proptest::prop_assert_eq!(host_of_component(&component), image.registry);
            }
        }
    }
}
