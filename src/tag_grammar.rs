//! The tag grammar: which strings are OCI tags, how a pack version becomes a tag and back,
//! and what packreg and its neighbours mean by a tag: versions and their order, parent tags
//! (`1.x`, `1.2.x`) that follow the highest version of their line, labels
//! (`group__label`), the Referrers API's fallback tags (`sha256-<hex>`) and cosign's tags
//! beside them.

use std::cmp::Ordering;

use crate::digest::Digest;

/// Whether `tag` is a valid OCI tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    let first = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let rest = |b: u8| first(b) || b == b'.' || b == b'-';
    !bytes.is_empty()
        && bytes.len() <= 128
        && first(bytes[0])
        && bytes[1..].iter().all(|&b| rest(b))
}

/// The registry tag for a pack version: `+` (semver build metadata) becomes `_`, as Helm does.
pub fn version_to_tag(version: &str) -> String {
    version.replace('+', "_")
}

/// Whether `tag` is a parent tag such as `1.x` or `1.2.x`.
pub fn is_parent_tag(tag: &str) -> bool {
    let Some(head) = tag.strip_suffix(".x") else {
        return false;
    };
    let parts: Vec<&str> = head.split('.').collect();
    (1..=2).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `tag` is a label (`group__label`).
pub fn is_label_tag(tag: &str) -> bool {
    tag.contains("__")
}

/// Whether `tag` names a pack version: it starts with a digit and is neither a parent tag, a
/// label nor a `sha256-…` referrers tag.
pub fn is_version_tag(tag: &str) -> bool {
    tag.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && !is_parent_tag(tag)
        && !is_label_tag(tag)
        && !is_referrers_tag(tag)
}

/// The version a tag stands for: the first `_` was a `+` (OCI tags allow no `+`).
pub fn tag_to_version(tag: &str) -> String {
    tag.replacen('_', "+", 1)
}

/// Parses a version as semver, accepting `1` and `1.2` as `1.0.0` and `1.2.0`.
pub(crate) fn lenient_semver(version: &str) -> Option<semver::Version> {
    if let Ok(v) = semver::Version::parse(version) {
        return Some(v);
    }
    let split = version.find(['-', '+']).unwrap_or(version.len());
    let (core, rest) = version.split_at(split);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let mut padded = parts.join(".");
    for _ in parts.len()..3 {
        padded.push_str(".0");
    }
    semver::Version::parse(&format!("{padded}{rest}")).ok()
}

/// Orders version tags: as semver where both parse (semver above non-semver), else lexically.
pub fn compare_version_tags(a: &str, b: &str) -> Ordering {
    let va = lenient_semver(&tag_to_version(a));
    let vb = lenient_semver(&tag_to_version(b));
    match (va, vb) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => a.cmp(b),
    }
}

/// The highest version among `tags` (non-version tags are ignored).
pub fn highest_version<'a>(tags: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    tags.into_iter()
        .filter(|t| is_version_tag(t))
        .max_by(|a, b| compare_version_tags(a, b))
}

/// The parent tags of a version tag: `1.x` and `1.2.x` for `1.2.3`; none for versions that do
/// not parse as semver.
pub fn parent_tags(version_tag: &str) -> Vec<String> {
    match lenient_semver(&tag_to_version(version_tag)) {
        Some(v) => vec![
            format!("{}.x", v.major),
            format!("{}.{}.x", v.major, v.minor),
        ],
        None => Vec::new(),
    }
}

/// The label tag of `label` in `group`: `group__label`, or `label` alone.
pub fn label_tag(label: &str, group: Option<&str>) -> String {
    match group {
        Some(group) if !group.is_empty() => format!("{group}__{label}"),
        _ => label.to_string(),
    }
}

/// The suffixes of cosign's tags beside `sha256-<hex>`: signature, attestation, SBOM. They are
/// tags, not referrers, so a copy carries them by name.
pub const COSIGN_SUFFIXES: [&str; 3] = [".sig", ".att", ".sbom"];

/// The referrers fallback tag of `subject` (`sha256-<hex>`), which registries without the
/// Referrers API hold an index of referrers under; cosign's tags add a suffix to it.
pub fn referrers_tag(subject: &Digest) -> String {
    format!("sha256-{}", subject.hex())
}

/// Whether `tag` is a referrers fallback tag or one of cosign's (`sha256-…`).
pub fn is_referrers_tag(tag: &str) -> bool {
    tag.starts_with("sha256-")
}

/// The subject a referrers fallback tag or cosign tag is about: `sha256-<hex>` and
/// `sha256-<hex>.sig`, `.att`, `.sbom` name `sha256:<hex>`.
pub fn referrer_subject(tag: &str) -> Option<Digest> {
    let rest = tag.strip_prefix("sha256-")?;
    let hex = COSIGN_SUFFIXES
        .iter()
        .find_map(|s| rest.strip_suffix(s))
        .unwrap_or(rest);
    format!("sha256:{hex}").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert_eq!(version_to_tag("1.2.3+build.5"), "1.2.3_build.5");
        assert!(is_valid_tag("1.2.3_build.5"));
        assert!(is_valid_tag("_x"));
        assert!(!is_valid_tag(".x"));
        assert!(!is_valid_tag("-x"));
        assert!(!is_valid_tag(&"1".repeat(129)));
        assert!(is_valid_tag(&"1".repeat(128)));
        assert!(!is_valid_tag("1.0 beta"));
    }

    #[test]
    fn kinds_of_tags() {
        assert!(is_parent_tag("1.x"));
        assert!(is_parent_tag("1.26.x"));
        assert!(!is_parent_tag("1.2.3.x"));
        assert!(!is_parent_tag("x"));
        for v in ["1.0.0", "2.1.0_build.7", "1.26", "10"] {
            assert!(is_version_tag(v), "{v}");
        }
        for t in [
            "1.x",
            "1.2.x",
            "lts__stable",
            "sha256-abc",
            "latest",
            "stable",
        ] {
            assert!(!is_version_tag(t), "{t}");
        }
    }

    #[test]
    fn ordering() {
        let tags = [
            "1.9.0",
            "1.10.0",
            "1.10.0-rc.1",
            "1.2",
            "0.9.9",
            "1.x",
            "9zz",
        ];
        assert_eq!(highest_version(tags), Some("1.10.0"));
        assert_eq!(compare_version_tags("1.2", "1.2.0"), Ordering::Less);
        assert_eq!(compare_version_tags("1.10.0", "1.9.0"), Ordering::Greater);
        assert_eq!(compare_version_tags("9zz", "0.0.1"), Ordering::Less);
        assert_eq!(highest_version(["lts__x", "2.x"]), None);
    }

    #[test]
    fn parents() {
        assert_eq!(parent_tags("1.2.3"), vec!["1.x", "1.2.x"]);
        assert_eq!(parent_tags("2.1.0_build.7"), vec!["2.x", "2.1.x"]);
        assert_eq!(parent_tags("1.26"), vec!["1.x", "1.26.x"]);
        assert!(parent_tags("abc").is_empty());
    }

    #[test]
    fn referrer_tags_name_their_subject() {
        let d = Digest::of(b"x");
        let tag = referrers_tag(&d);
        assert!(is_referrers_tag(&tag));
        assert_eq!(referrer_subject(&tag), Some(d.clone()));
        for suffix in COSIGN_SUFFIXES {
            assert_eq!(referrer_subject(&format!("{tag}{suffix}")), Some(d.clone()));
        }
        assert_eq!(referrer_subject(&format!("{tag}.other")), None);
        assert_eq!(referrer_subject("sha256-zz"), None);
        assert_eq!(referrer_subject("1.0.0"), None);
    }
}
