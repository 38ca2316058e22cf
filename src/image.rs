//! Container image references as docker reads them (`nginx:1.25` is
//! `docker.io/library/nginx:1.25`), the images a pack declares, and where an image lands in
//! another registry: `<destination>/<source host>/<source path>`, the source host kept as the
//! first path component (as `skopeo sync --scoped` does) so images from different registries
//! never collide.

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
                (first.to_ascii_lowercase(), rest.to_string())
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

/// A registry host as a repository path component: lowercase, a port joined with `_`
/// (`127.0.0.1:5000` is `127.0.0.1_5000`); an IPv6 address is prefixed `ip6-`, its colons
/// written `-` and empty groups `0` (`[::1]:5000` is `ip6-0-0-1_5000`).
pub fn host_component(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    if let Some(rest) = host.strip_prefix('[') {
        let (addr, port) = rest.split_once(']').unwrap_or((rest, ""));
        let addr: String = addr
            .split(':')
            .map(|p| if p.is_empty() { "0" } else { p })
            .collect::<Vec<_>>()
            .join("-");
        let port = port.trim_start_matches(':');
        return if port.is_empty() {
            format!("ip6-{addr}")
        } else {
            format!("ip6-{addr}_{port}")
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
        assert_eq!(host_component("[::1]:5000"), "ip6-0-0-1_5000");
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
}
