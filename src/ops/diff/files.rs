//! The files of a pack outside pack.json, values.yaml and the chart archives (manifests/,
//! other folders, README.md, logo.png, ...): added, removed and changed by content digest,
//! with a unified diff of text files on request.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::budget::{Patch, Patcher};
use super::keys::Change;
use super::side::Side;
use super::DiffError;
use crate::digest::Digest;

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

/// Compares the files of the two sides; with a `patcher`, fetches what the text diffs need
/// and makes them.
pub(crate) async fn compare(
    a: &mut Side<'_>,
    b: &mut Side<'_>,
    patcher: Option<&mut Patcher>,
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
    let Some(patcher) = patcher else {
        return Ok(found);
    };
    // Content both sides hold (a file moved, say) is never downloaded for a patch.
    let on_a: BTreeSet<&Digest> = a.files.values().map(|f| &f.digest).collect();
    let shared: BTreeSet<Digest> = b
        .files
        .values()
        .map(|f| &f.digest)
        .filter(|d| on_a.contains(d))
        .cloned()
        .collect();
    let limit = patcher.file_bytes();
    let wanted = |side: &Side, path: &str| {
        side.files
            .get(path)
            .is_some_and(|f| f.size <= limit && !shared.contains(&f.digest))
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
        let old = text_of(a, &change.path, change.change == Change::Added, limit)?;
        let new = text_of(b, &change.path, change.change == Change::Removed, limit)?;
        let (from, to) = labels(&change.path, &change.path, change.change);
        let patch = patch_of(patcher, old, new, &from, &to);
        change.patch = patch.text;
        change.note = patch.note;
    }
    Ok(found)
}

/// What one side holds of a file, for a patch.
pub(crate) enum Content {
    Text(String),
    Binary,
    TooLarge(u64),
    Unavailable,
}

/// The patch (or the note) for two sides of a file.
pub(crate) fn patch_of(
    patcher: &mut Patcher,
    old: Content,
    new: Content,
    from: &str,
    to: &str,
) -> Patch {
    let note = |text: &str| Patch {
        text: None,
        note: Some(text.to_string()),
    };
    match (old, new) {
        (Content::Text(old), Content::Text(new)) => patcher.patch(&old, &new, from, to),
        (Content::Binary, _) | (_, Content::Binary) => note("binary file"),
        (Content::TooLarge(x), Content::TooLarge(y)) => patcher.too_large(x.max(y)),
        (Content::TooLarge(size), _) | (_, Content::TooLarge(size)) => patcher.too_large(size),
        _ => note("no patch: content moved"),
    }
}

fn text_of(side: &Side, path: &str, absent: bool, limit: u64) -> Result<Content, DiffError> {
    if absent {
        return Ok(Content::Text(String::new()));
    }
    if let Some(file) = side.files.get(path).filter(|f| f.size > limit) {
        return Ok(Content::TooLarge(file.size));
    }
    Ok(match side.read(path, limit)? {
        None => Content::Unavailable,
        Some(bytes) => text_or_binary(bytes),
    })
}

/// Text when the bytes are UTF-8 without NUL bytes, as git judges.
pub(crate) fn text_or_binary(bytes: Vec<u8>) -> Content {
    if bytes.contains(&0) {
        return Content::Binary;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Content::Text(text),
        Err(_) => Content::Binary,
    }
}

/// The `a/` and `b/` header names of a patch (`/dev/null` for an added or removed file).
pub(crate) fn labels(old: &str, new: &str, change: Change) -> (String, String) {
    let from = match change {
        Change::Added => "/dev/null".to_string(),
        _ => format!("a/{old}"),
    };
    let to = match change {
        Change::Removed => "/dev/null".to_string(),
        _ => format!("b/{new}"),
    };
    (from, to)
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
        let unified = |old: &str, new: &str, path: &str, change: Change| {
            let (from, to) = labels(path, path, change);
            let patch = Patcher::new(Default::default()).patch(old, new, &from, &to);
            patch.text.unwrap()
        };
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
