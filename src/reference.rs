//! References: the OCI repository grammar, and the `NAME[:TAG|@DIGEST]` pack references the
//! commands take. The tag grammar is [`crate::tag_grammar`]'s; its two oldest names stay
//! reachable here.

use std::fmt;

use crate::digest::Digest;
pub use crate::tag_grammar::{is_valid_tag, version_to_tag};

/// Where packs live inside a registry or local store, before the pack name.
pub const PACKS_PREFIX: &str = "spectro-packs/archive/";

/// Whether `name` is one OCI repository path component:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
pub fn is_repository_component(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &name[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// Whether `path` is a valid repository path: components joined by `/`.
pub fn is_repository_path(path: &str) -> bool {
    !path.is_empty() && path.split('/').all(is_repository_component)
}

/// The repository of pack `name` (`spectro-packs/archive/<name>`).
pub fn pack_repository(name: &str) -> String {
    format!("{PACKS_PREFIX}{name}")
}

/// What a pack reference selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The highest version.
    Latest,
    /// A tag: a version, a parent tag (`1.2.x`) or a label.
    Tag(String),
    /// A manifest digest.
    Digest(Digest),
}

/// A pack reference as the commands take it: `NAME`, `NAME:TAG` or `NAME@DIGEST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackRef {
    /// Pack name.
    pub name: String,
    /// Which manifest.
    pub selector: Selector,
}

/// Why a pack reference does not parse.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BadReference {
    /// The name part is not a valid repository name.
    #[error("{0:?} is not a valid pack name: use lowercase letters, digits, '.', '_' and '-'")]
    Name(String),
    /// The tag part is invalid.
    #[error("{0:?} is not a valid tag: letters, digits, '.', '_', '-' (a version's '+' may be written as is)")]
    Tag(String),
    /// The digest part is invalid.
    #[error(transparent)]
    Digest(#[from] crate::digest::BadDigest),
    /// A path that does not lead to a pack: packs are under `spectro-packs/archive/`.
    #[error("{0:?} names no pack: a full reference is REGISTRY/spectro-packs/archive/NAME[:TAG|@DIGEST]")]
    NotAPackPath(String),
}

impl PackRef {
    /// Parses `NAME[:TAG|@DIGEST]`. A `+` in the tag is mapped to `_` as push does.
    pub fn parse(text: &str) -> Result<PackRef, BadReference> {
        let (name, selector) = if let Some((name, digest)) = text.split_once('@') {
            (name, Selector::Digest(digest.parse()?))
        } else if let Some((name, tag)) = text.split_once(':') {
            let tag = version_to_tag(tag);
            if !is_valid_tag(&tag) {
                return Err(BadReference::Tag(tag));
            }
            (name, Selector::Tag(tag))
        } else {
            (text, Selector::Latest)
        };
        if !is_repository_component(name) {
            return Err(BadReference::Name(name.to_string()));
        }
        Ok(PackRef {
            name: name.to_string(),
            selector,
        })
    }

    /// The pack's repository.
    pub fn repository(&self) -> String {
        pack_repository(&self.name)
    }
}

impl fmt::Display for PackRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.selector {
            Selector::Latest => write!(f, "{}", self.name),
            Selector::Tag(t) => write!(f, "{}:{t}", self.name),
            Selector::Digest(d) => write!(f, "{}@{d}", self.name),
        }
    }
}

/// Parses a pack reference that may name its store, as packreg prints references (and as
/// oras, crane and skopeo take them): `REGISTRY/spectro-packs/archive/NAME[:TAG|@DIGEST]`,
/// where REGISTRY is `oci:PATH` or `host[:port][/base/path]` (an IPv6 host in brackets,
/// `[::1]:5000`), gives `(Some(REGISTRY), NAME…)`; a plain `NAME[:TAG|@DIGEST]` names no
/// store. A path elsewhere than under `spectro-packs/archive/` is refused as such, not read
/// as a name with an odd tag.
pub fn parse_located(text: &str) -> Result<(Option<String>, PackRef), BadReference> {
    if let Some(i) = text.rfind(PACKS_PREFIX) {
        let registry = &text[..i];
        if registry.is_empty() || registry.ends_with('/') {
            let registry = registry.trim_end_matches('/');
            let pack = PackRef::parse(&text[i + PACKS_PREFIX.len()..])?;
            return Ok(((!registry.is_empty()).then(|| registry.to_string()), pack));
        }
    }
    // A pack name has no '/', and a tag or digest neither: a path is a store's.
    let before_digest = text.split('@').next().unwrap_or(text);
    if before_digest.contains('/') {
        return Err(BadReference::NotAPackPath(text.to_string()));
    }
    Ok((None, PackRef::parse(text)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_components() {
        for ok in [
            "nginx",
            "ingress-nginx",
            "a.b",
            "a_b",
            "a__b",
            "a---b",
            "k8s",
            "1",
        ] {
            assert!(is_repository_component(ok), "{ok}");
        }
        for bad in [
            "", "Nginx", "-a", "a-", "a..b", "a___b", "a/b", "a b", "a._b", "ü", "..",
        ] {
            assert!(!is_repository_component(bad), "{bad}");
        }
        assert!(is_repository_path("spectro-packs/archive/nginx"));
        assert!(!is_repository_path("spectro-packs/../etc"));
        assert!(!is_repository_path("a//b"));
    }

    #[test]
    fn pack_references() {
        assert_eq!(PackRef::parse("nginx").unwrap().selector, Selector::Latest);
        assert_eq!(
            PackRef::parse("nginx:1.2.3+b").unwrap().selector,
            Selector::Tag("1.2.3_b".into())
        );
        let d = Digest::of(b"x");
        assert_eq!(
            PackRef::parse(&format!("nginx@{d}")).unwrap().selector,
            Selector::Digest(d)
        );
        assert!(PackRef::parse("Nginx:1").is_err());
        assert!(PackRef::parse("nginx:").is_err());
        assert!(PackRef::parse("nginx@sha256:zz").is_err());
        assert!(PackRef::parse("../x:1").is_err());
    }

    #[test]
    fn references_naming_their_store() {
        let (reg, pack) = parse_located("oci:./site/spectro-packs/archive/shop:1.0.0").unwrap();
        assert_eq!(reg.as_deref(), Some("oci:./site"));
        assert_eq!(pack.to_string(), "shop:1.0.0");
        let (reg, pack) =
            parse_located("127.0.0.1:5000/base/spectro-packs/archive/shop:2.1.0+b").unwrap();
        assert_eq!(reg.as_deref(), Some("127.0.0.1:5000/base"));
        assert_eq!(pack.selector, Selector::Tag("2.1.0_b".into()));
        assert!(parse_located("shop@sha256:").is_err());
        assert_eq!(parse_located("shop:1").unwrap().0, None);
        assert!(parse_located("oci:x/spectro-packs/archive/Shop").is_err());
    }

    #[test]
    fn full_references_of_every_shape() {
        let d = Digest::of(b"x");
        let (reg, pack) = parse_located(&format!(
            "127.0.0.1:5000/team/spectro-packs/archive/netpol@{d}"
        ))
        .unwrap();
        assert_eq!(reg.as_deref(), Some("127.0.0.1:5000/team"));
        assert_eq!(pack.selector, Selector::Digest(d));
        let (reg, pack) = parse_located("[::1]:5000/spectro-packs/archive/netpol:1.0.0").unwrap();
        assert_eq!(reg.as_deref(), Some("[::1]:5000"));
        assert_eq!(pack.to_string(), "netpol:1.0.0");
        let (reg, pack) = parse_located("spectro-packs/archive/netpol").unwrap();
        assert_eq!(reg, None);
        assert_eq!(pack.selector, Selector::Latest);
    }

    #[test]
    fn a_path_outside_the_packs_is_not_read_as_a_tag() {
        for text in [
            "127.0.0.1:5000/team/netpol:1.0.0",
            "oci:./site/netpol:1.0.0",
            "[::1]:5000/netpol",
        ] {
            assert!(
                matches!(parse_located(text), Err(BadReference::NotAPackPath(_))),
                "{text}"
            );
        }
    }
}
