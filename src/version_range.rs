//! Version ranges (`>=1.2, <2`, `~1.4`, `^1`): which pack versions a copy takes. The grammar is
//! Cargo's, as the `semver` crate parses it; versions are read from their tags as the tag
//! grammar reads them (`1.26` is `1.26.0`, `_` is build metadata), so a range and the order of
//! versions never disagree.

use crate::tag_grammar::{lenient_semver, tag_to_version};

/// A parsed version range, with the text it was written as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRange {
    text: String,
    req: semver::VersionReq,
}

/// A version range that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a version range ({reason}); write one like '>=1.2, <2' or '~1.4'")]
pub struct BadVersionRange {
    /// The text given.
    pub text: String,
    /// Why it does not parse.
    pub reason: String,
}

impl std::str::FromStr for VersionRange {
    type Err = BadVersionRange;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| BadVersionRange {
            text: text.to_string(),
            reason,
        };
        if text.trim().is_empty() {
            return Err(bad("it is empty".into()));
        }
        let req = semver::VersionReq::parse(text).map_err(|e| bad(e.to_string()))?;
        Ok(VersionRange {
            text: text.to_string(),
            req,
        })
    }
}

impl VersionRange {
    /// Whether the version a version tag stands for is in the range. A tag that is no semver
    /// version is in no range; a prerelease only in a range that names a prerelease of the
    /// same version (Cargo's rule).
    pub fn contains_tag(&self, version_tag: &str) -> bool {
        lenient_semver(&tag_to_version(version_tag)).is_some_and(|v| self.req.matches(&v))
    }

    /// The range as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for VersionRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str) -> VersionRange {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_select_versions_by_their_tags() {
        let r = range(">=1.2, <2");
        for tag in ["1.2.0", "1.2", "1.9.3", "1.4.0_build.7"] {
            assert!(r.contains_tag(tag), "{tag}");
        }
        for tag in ["1.1.9", "2.0.0", "1.5.0-rc.1", "9zz", "lts__stable"] {
            assert!(!r.contains_tag(tag), "{tag}");
        }
        let tilde = range("~1.4");
        assert!(tilde.contains_tag("1.4.7"));
        assert!(!tilde.contains_tag("1.5.0"));
        assert_eq!(tilde.to_string(), "~1.4");
    }

    #[test]
    fn a_bad_range_names_its_text() {
        for text in ["", "  ", ">=x", "1.2 <2", "~>1"] {
            let err = text.parse::<VersionRange>().unwrap_err();
            assert_eq!(err.text, text);
            assert!(err.to_string().contains(&format!("{text:?}")), "{err}");
        }
    }
}
