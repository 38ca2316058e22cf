//! Which packs a mirror copies, and which tags of each.

use std::collections::BTreeSet;

use super::options::MirrorOptions;
use crate::digest::Digest;
use crate::ops::OpError;
use crate::reference::PACKS_PREFIX;
use crate::store::Store;
use crate::tag_grammar::{
    compare_version_tags, is_parent_tag, is_referrers_tag, is_version_tag, referrer_subject,
};

/// The packs to copy: explicit names, else the source's catalog (or, where it refuses
/// `_catalog`, its pack index) filtered by name. The bool says whether the index named them.
pub(super) async fn selection(
    src: &dyn Store,
    opts: &MirrorOptions,
) -> Result<(Vec<(String, Option<String>)>, bool), OpError> {
    if !opts.names.is_empty() {
        return Ok((opts.names.clone(), false));
    }
    let mut out = Vec::new();
    let (repos, from_index) = crate::ops::pack_repositories::pack_repositories(src).await?;
    for repo in repos {
        let Some(name) = repo.strip_prefix(PACKS_PREFIX) else {
            continue;
        };
        if opts.filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        out.push((name.to_string(), None));
    }
    Ok((out, from_index))
}

/// The tags of one pack that a version selection (`versions`, `latest`) takes.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct TagSelection {
    /// The tags to copy, in the order given: the selected versions, the labels that point at
    /// one of them, and the referrer tags about them. Parent tags are never listed: the
    /// destination derives its own from the versions it holds.
    pub(super) tags: Vec<String>,
    /// Labels pointing at no selected version: (label, the highest version it points at,
    /// None when it points at no version).
    pub(super) labels_left_out: Vec<(String, Option<String>)>,
}

/// Which of `tags` (each with the digest it points at in the source) the version selection of
/// `opts` takes: the versions in `opts.versions`, the `opts.latest` highest of those, and
/// what goes with them.
pub(super) fn select_tags(tags: &[(String, Digest)], opts: &MirrorOptions) -> TagSelection {
    let mut versions: Vec<&(String, Digest)> = tags
        .iter()
        .filter(|(tag, _)| is_version_tag(tag))
        .filter(|(tag, _)| opts.versions.as_ref().is_none_or(|r| r.contains_tag(tag)))
        .collect();
    // Highest first, so that `latest` keeps the head.
    versions.sort_by(|a, b| compare_version_tags(&b.0, &a.0));
    if let Some(n) = opts.latest {
        versions.truncate(n);
    }
    let chosen: BTreeSet<&str> = versions.iter().map(|(tag, _)| tag.as_str()).collect();
    let digests: BTreeSet<&Digest> = versions.iter().map(|(_, digest)| digest).collect();
    let mut out = TagSelection::default();
    for (tag, digest) in tags {
        let take = if is_version_tag(tag) {
            chosen.contains(tag.as_str())
        } else if is_parent_tag(tag) {
            false
        } else if is_referrers_tag(tag) {
            referrer_subject(tag).is_some_and(|subject| digests.contains(&subject))
        } else if digests.contains(digest) {
            true
        } else {
            let version = tags
                .iter()
                .filter(|(t, d)| d == digest && is_version_tag(t))
                .map(|(t, _)| t.as_str())
                .max_by(|a, b| compare_version_tags(a, b));
            out.labels_left_out
                .push((tag.clone(), version.map(str::to_string)));
            false
        };
        if take {
            out.tags.push(tag.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 8 versions over two lines, a label on 1.1.0 and one on 2.1.0, parent tags, and a
    /// referrers fallback tag about 1.1.0.
    fn source() -> Vec<(String, Digest)> {
        let d = |v: &str| Digest::of(v.as_bytes());
        let mut tags: Vec<(String, Digest)> = [
            "1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.4.1", "2.0.0", "2.1.0",
        ]
        .iter()
        .map(|v| (v.to_string(), d(v)))
        .collect();
        tags.push(("lts__stable".into(), d("1.1.0")));
        tags.push(("latest".into(), d("2.1.0")));
        tags.push(("1.x".into(), d("1.4.1")));
        tags.push(("2.x".into(), d("2.1.0")));
        tags.push((format!("sha256-{}", d("1.1.0").hex()), d("index")));
        tags.push((format!("sha256-{}.sig", d("2.1.0").hex()), d("sig")));
        tags
    }

    fn select(versions: Option<&str>, latest: Option<usize>) -> TagSelection {
        let opts = MirrorOptions {
            versions: versions.map(|v| v.parse().unwrap()),
            latest,
            ..MirrorOptions::default()
        };
        select_tags(&source(), &opts)
    }

    fn kept(selection: &TagSelection) -> Vec<&str> {
        selection
            .tags
            .iter()
            .map(String::as_str)
            .filter(|t| !t.starts_with("sha256-"))
            .collect()
    }

    #[test]
    fn a_range_takes_its_versions_and_the_labels_on_them() {
        let s = select(Some(">=1.1, <1.4"), None);
        assert_eq!(kept(&s), ["1.1.0", "1.2.0", "1.3.0", "lts__stable"]);
        // The fallback tag about 1.1.0 goes with it; the signature of 2.1.0 stays.
        assert_eq!(
            s.tags.iter().filter(|t| t.starts_with("sha256-")).count(),
            1
        );
        assert_eq!(s.labels_left_out, [("latest".into(), Some("2.1.0".into()))]);
        let tilde = select(Some("~1.4"), None);
        assert_eq!(kept(&tilde), ["1.4.0", "1.4.1"]);
    }

    #[test]
    fn latest_takes_the_highest_versions_of_the_range() {
        let s = select(None, Some(3));
        assert_eq!(kept(&s), ["1.4.1", "2.0.0", "2.1.0", "latest"]);
        assert_eq!(
            s.labels_left_out,
            [("lts__stable".into(), Some("1.1.0".into()))]
        );
        let both = select(Some("<2"), Some(2));
        assert_eq!(kept(&both), ["1.4.0", "1.4.1"]);
        assert_eq!(both.labels_left_out.len(), 2);
        assert!(select(Some(">=3"), None).tags.is_empty());
    }
}
