//! The files of a pack outside pack.json, values.yaml and the chart archives (manifests/,
//! other folders, README.md, logo.png, ...): added, removed and changed by content digest,
//! with a unified diff of text files on request.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::keys::Change;
use super::side::Side;
use super::DiffError;
use crate::digest::Digest;
use crate::limits::PATCH_LIMIT;

/// A file added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileChange {
    /// What happened.
    pub change: Change,
    /// Slash-separated path in the pack (or in the chart, for a chart's files).
    pub path: String,
    /// The unified diff, with `--patch`, for a text file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// Why there is no patch (binary or large file), with `--patch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Whether `rel` is a chart archive (`charts/<file>.tgz`), compared as a chart.
pub fn is_chart_archive(rel: &str) -> bool {
    rel.strip_prefix("charts/")
        .is_some_and(|f| !f.contains('/') && f.ends_with(".tgz"))
}

/// Paths with their own comparison, left out of the file list.
fn compared_elsewhere(rel: &str) -> bool {
    rel == "pack.json" || rel == "values.yaml" || is_chart_archive(rel)
}

/// Adds, removals and changes between two maps of path to content digest.
pub fn changes(a: &BTreeMap<String, Digest>, b: &BTreeMap<String, Digest>) -> Vec<FileChange> {
    let paths: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    paths
        .into_iter()
        .filter_map(|path| {
            let change = match (a.get(path), b.get(path)) {
                (Some(x), Some(y)) if x == y => return None,
                (Some(_), Some(_)) => Change::Changed,
                (Some(_), None) => Change::Removed,
                (None, _) => Change::Added,
            };
            Some(FileChange {
                change,
                path: path.clone(),
                patch: None,
                note: None,
            })
        })
        .collect()
}

/// Compares the files of the two sides; with `patch`, fetches what the text diffs need.
pub(crate) async fn compare(
    a: &mut Side<'_>,
    b: &mut Side<'_>,
    patch: bool,
    concurrency: usize,
) -> Result<Vec<FileChange>, DiffError> {
    let digests = |side: &Side| -> BTreeMap<String, Digest> {
        side.files
            .iter()
            .filter(|(rel, _)| !compared_elsewhere(rel))
            .map(|(rel, f)| (rel.clone(), f.digest.clone()))
            .collect()
    };
    let mut found = changes(&digests(a), &digests(b));
    if !patch {
        return Ok(found);
    }
    // Content both sides hold (a file moved, say) is never downloaded for a patch.
    let on_a: BTreeSet<&Digest> = a.files.values().map(|f| &f.digest).collect();
    let shared: BTreeSet<Digest> = b
        .files
        .values()
        .map(|f| &f.digest)
        .filter(|d| on_a.contains(d))
        .cloned()
        .collect();
    let wanted = |side: &Side, path: &str| {
        side.files
            .get(path)
            .is_some_and(|f| f.size <= PATCH_LIMIT && !shared.contains(&f.digest))
    };
    let want_a: Vec<String> = found
        .iter()
        .filter(|c| wanted(a, &c.path))
        .map(|c| c.path.clone())
        .collect();
    let want_b: Vec<String> = found
        .iter()
        .filter(|c| wanted(b, &c.path))
        .map(|c| c.path.clone())
        .collect();
    a.make_local(&want_a, concurrency).await?;
    b.make_local(&want_b, concurrency).await?;
    for change in &mut found {
        let old = text_of(a, &change.path, change.change == Change::Added)?;
        let new = text_of(b, &change.path, change.change == Change::Removed)?;
        match (old, new) {
            (Content::Text(old), Content::Text(new)) => {
                change.patch = Some(unified(&old, &new, &change.path, change.change));
            }
            (Content::Binary, _) | (_, Content::Binary) => change.note = Some("binary file".into()),
            _ => change.note = Some("no patch: content too large or moved".into()),
        }
    }
    Ok(found)
}

enum Content {
    Text(String),
    Binary,
    Unavailable,
}

fn text_of(side: &Side, path: &str, absent: bool) -> Result<Content, DiffError> {
    if absent {
        return Ok(Content::Text(String::new()));
    }
    Ok(match side.read(path, PATCH_LIMIT)? {
        None => Content::Unavailable,
        Some(bytes) if bytes.contains(&0) => Content::Binary,
        Some(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Content::Text(text),
            Err(_) => Content::Binary,
        },
    })
}

/// A unified diff with `a/` and `b/` headers (`/dev/null` for an added or removed file).
pub fn unified(old: &str, new: &str, path: &str, change: Change) -> String {
    let from = match change {
        Change::Added => "/dev/null".to_string(),
        _ => format!("a/{path}"),
    };
    let to = match change {
        Change::Removed => "/dev/null".to_string(),
        _ => format!("b/{path}"),
    };
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&from, &to)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_archives_are_top_level_tgz_files_of_charts() {
        assert!(is_chart_archive("charts/web-1.0.0.tgz"));
        assert!(!is_chart_archive("charts/web/Chart.yaml"));
        assert!(!is_chart_archive("charts/sub/x.tgz"));
        assert!(!is_chart_archive("manifests/x.tgz"));
    }

    #[test]
    fn patches_name_both_sides() {
        let p = unified("a\nb\n", "a\nc\n", "manifests/x.yaml", Change::Changed);
        assert!(
            p.starts_with("--- a/manifests/x.yaml\n+++ b/manifests/x.yaml\n"),
            "{p}"
        );
        assert!(p.contains("-b\n+c\n"), "{p}");
        let added = unified("", "new\n", "m.yaml", Change::Added);
        assert!(
            added.starts_with("--- /dev/null\n+++ b/m.yaml\n"),
            "{added}"
        );
    }

    #[test]
    fn changes_by_digest() {
        let d = |s: &str| Digest::of(s.as_bytes());
        let a = BTreeMap::from([("x".to_string(), d("1")), ("gone".into(), d("2"))]);
        let b = BTreeMap::from([("x".to_string(), d("3")), ("new".into(), d("2"))]);
        let found: Vec<(Change, String)> = changes(&a, &b)
            .into_iter()
            .map(|c| (c.change, c.path))
            .collect();
        assert_eq!(
            found,
            vec![
                (Change::Removed, "gone".to_string()),
                (Change::Added, "new".to_string()),
                (Change::Changed, "x".to_string())
            ]
        );
    }
}
