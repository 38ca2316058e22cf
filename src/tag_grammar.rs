//! The tag grammar: which tags packreg and its neighbours give a meaning to.

use crate::digest::Digest;

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
