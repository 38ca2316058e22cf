//! The container images a pack declares in `pack.content.images` of its values: added,
//! removed and retagged (same repository, another tag or digest).

use std::collections::BTreeMap;

use serde::Serialize;

/// What happened to an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageChangeKind {
    /// Only the second side lists it.
    Added,
    /// Only the first side lists it.
    Removed,
    /// Both list the repository, with another tag or digest.
    Retagged,
}

/// An image added, removed or retagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageChange {
    /// What happened.
    pub change: ImageChangeKind,
    /// The repository (`docker.io/library/redis`).
    pub repository: String,
    /// Tag or digest before (removed and retagged images); empty for an untagged reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Tag or digest after (added and retagged images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl ImageChange {
    /// The image as one reference, for the text output.
    pub fn reference(version: &str, repository: &str) -> String {
        match version {
            "" => repository.to_string(),
            v if v.starts_with('@') => format!("{repository}{v}"),
            v => format!("{repository}:{v}"),
        }
    }
}

pub use crate::image::declared;

/// Splits an image reference into repository and version: `:tag`'s tag, `@digest` written as
/// `@sha256:…` (with the tag before it when both are given), or "" when it has neither.
pub fn split(reference: &str) -> (String, String) {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    let last_slash = name.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], &name[last_slash + i + 1..]),
        None => (name, ""),
    };
    let version = match digest {
        Some(d) if tag.is_empty() => format!("@{d}"),
        Some(d) => format!("{tag}@{d}"),
        None => tag.to_string(),
    };
    (repo.to_string(), version)
}

/// The image changes between two lists of references.
pub fn diff(a: &[String], b: &[String]) -> Vec<ImageChange> {
    let group = |refs: &[String]| {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in refs {
            let (repo, version) = split(r);
            let versions = map.entry(repo).or_default();
            if !versions.contains(&version) {
                versions.push(version);
            }
        }
        map
    };
    let (ga, gb) = (group(a), group(b));
    let mut repos: Vec<&String> = ga.keys().chain(gb.keys()).collect();
    repos.sort();
    repos.dedup();
    let mut out = Vec::new();
    let none = Vec::new();
    for repo in repos {
        let va = ga.get(repo).unwrap_or(&none);
        let vb = gb.get(repo).unwrap_or(&none);
        let only_a: Vec<&String> = va.iter().filter(|v| !vb.contains(v)).collect();
        let only_b: Vec<&String> = vb.iter().filter(|v| !va.contains(v)).collect();
        let change = |change, from: Option<&String>, to: Option<&String>| ImageChange {
            change,
            repository: repo.clone(),
            from: from.cloned(),
            to: to.cloned(),
        };
        if let ([from], [to]) = (only_a.as_slice(), only_b.as_slice()) {
            out.push(change(ImageChangeKind::Retagged, Some(from), Some(to)));
            continue;
        }
        out.extend(
            only_a
                .iter()
                .map(|v| change(ImageChangeKind::Removed, Some(v), None)),
        );
        out.extend(
            only_b
                .iter()
                .map(|v| change(ImageChangeKind::Added, None, Some(v))),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_references() {
        assert_eq!(
            split("docker.io/library/redis:7.2"),
            ("docker.io/library/redis".into(), "7.2".into())
        );
        assert_eq!(
            split("localhost:5000/app"),
            ("localhost:5000/app".into(), "".into())
        );
        assert_eq!(
            split("ghcr.io/x/y:1@sha256:ab"),
            ("ghcr.io/x/y".into(), "1@sha256:ab".into())
        );
        assert_eq!(split("y@sha256:ab"), ("y".into(), "@sha256:ab".into()));
    }

    #[test]
    fn retagged_added_and_removed() {
        let a = vec![
            "docker.io/library/redis:7.2".to_string(),
            "quay.io/gone:1".into(),
            "nginx:1".into(),
        ];
        let b = vec![
            "docker.io/library/redis:7.4".to_string(),
            "quay.io/new:2".into(),
            "nginx:1".into(),
        ];
        let changes = diff(&a, &b);
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert_eq!(changes[0].change, ImageChangeKind::Retagged);
        assert_eq!(changes[0].from.as_deref(), Some("7.2"));
        assert_eq!(changes[0].to.as_deref(), Some("7.4"));
        assert_eq!(changes[1].change, ImageChangeKind::Removed);
        assert_eq!(changes[1].repository, "quay.io/gone");
        assert_eq!(changes[2].change, ImageChangeKind::Added);
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn reads_both_shapes_of_the_list() {
        let values =
            serde_json::json!({"pack": {"content": {"images": [{"image": "a:1"}, "b:2", 3]}}});
        assert_eq!(declared(&values), vec!["a:1", "b:2"]);
        assert!(declared(&serde_json::json!({})).is_empty());
    }
}
