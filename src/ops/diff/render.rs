//! The diff report for people (text, one line per difference) and its summary (`--stat`).

use serde::Serialize;
use serde_json::Value;

use super::images::ImageChangeKind;
use super::keys::{dotted, Change, KeyChange};
use super::PackDiff;

/// Counts of added, removed and changed entries of one section.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Added.
    pub added: usize,
    /// Removed.
    pub removed: usize,
    /// Changed (images: retagged).
    pub changed: usize,
}

impl Counts {
    fn of(changes: impl Iterator<Item = Change>) -> Counts {
        let mut counts = Counts::default();
        for change in changes {
            match change {
                Change::Added => counts.added += 1,
                Change::Removed => counts.removed += 1,
                Change::Changed => counts.changed += 1,
            }
        }
        counts
    }

    fn is_zero(&self) -> bool {
        self.added + self.removed + self.changed == 0
    }
}

/// The summary `--stat` prints: counts per section.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffStat {
    /// Whether the packs hold the same content.
    pub identical: bool,
    /// pack.json fields.
    #[serde(rename = "packJson")]
    pub pack_json: Counts,
    /// values.yaml keys.
    pub values: Counts,
    /// Charts.
    pub charts: Counts,
    /// Other files.
    pub files: Counts,
    /// Images (changed = retagged).
    pub images: Counts,
}

/// The counts of `diff`.
pub fn stat(diff: &PackDiff) -> DiffStat {
    let keys = |list: &[KeyChange]| Counts::of(list.iter().map(|k| k.change));
    DiffStat {
        identical: diff.identical,
        pack_json: keys(&diff.pack_json),
        values: keys(&diff.values),
        charts: Counts::of(diff.charts.iter().map(|c| c.change)),
        files: Counts::of(diff.files.iter().map(|f| f.change)),
        images: Counts::of(diff.images.iter().map(|i| match i.change {
            ImageChangeKind::Added => Change::Added,
            ImageChangeKind::Removed => Change::Removed,
            ImageChangeKind::Retagged => Change::Changed,
        })),
    }
}

/// The summary as text: one line per section that differs.
pub fn stat_text(diff: &PackDiff) -> String {
    let stat = stat(diff);
    let mut out = header(diff);
    if stat.identical {
        out.push_str("identical content\n");
        return out;
    }
    let sections = [
        ("pack.json", stat.pack_json, "changed"),
        ("values.yaml", stat.values, "changed"),
        ("charts", stat.charts, "changed"),
        ("files", stat.files, "changed"),
        ("images", stat.images, "retagged"),
    ];
    for (name, counts, verb) in sections.iter().filter(|s| !s.1.is_zero()) {
        out.push_str(&format!(
            "{name}: {} added, {} removed, {} {verb}\n",
            counts.added, counts.removed, counts.changed
        ));
    }
    out
}

fn header(diff: &PackDiff) -> String {
    format!("--- {}\n+++ {}\n", side(&diff.from), side(&diff.to))
}

/// A side as the header names it; a folder with the digest a native push would give it.
fn side(info: &super::SideInfo) -> String {
    if info.folder {
        return format!(
            "{} (folder, as pushed: {}, {})",
            info.reference, info.format, info.digest
        );
    }
    format!("{} ({}, {})", info.reference, info.format, info.digest)
}

/// A value on one line: strings quoted, as JSON writes them.
fn inline(value: &Option<Value>) -> String {
    value.as_ref().map(Value::to_string).unwrap_or_default()
}

fn key_line(change: &KeyChange) -> String {
    let path = dotted(&change.path);
    match change.change {
        Change::Added => format!("  + {path}: {}", inline(&change.to)),
        Change::Removed => format!("  - {path}: {}", inline(&change.from)),
        Change::Changed => format!(
            "  ~ {path}: {} -> {}",
            inline(&change.from),
            inline(&change.to)
        ),
    }
}

/// Ends a file's line with its note, and follows it with its patch.
fn push_patch(out: &mut String, file: &super::FileChange) {
    if let Some(note) = &file.note {
        out.push_str(&format!(" ({note})"));
    }
    out.push('\n');
    if let Some(patch) = &file.patch {
        out.push_str(patch);
        if !patch.ends_with('\n') {
            out.push('\n');
        }
    }
}

/// The whole report as text; with `patch`, the unified diffs of text files follow their
/// file lines.
pub fn text(diff: &PackDiff) -> String {
    let mut out = header(diff);
    if diff.identical {
        out.push_str("identical content\n");
        return out;
    }
    if !diff.pack_json.is_empty() {
        out.push_str("pack.json:\n");
        for change in &diff.pack_json {
            out.push_str(&key_line(change));
            out.push('\n');
        }
    }
    if !diff.values.is_empty() {
        out.push_str("values.yaml (lists compared by index):\n");
        for change in &diff.values {
            out.push_str(&key_line(change));
            out.push('\n');
        }
    }
    if !diff.charts.is_empty() {
        out.push_str("charts:\n");
        for chart in &diff.charts {
            let version = |v: &Option<String>| v.clone().unwrap_or_default();
            let line = match chart.change {
                Change::Added => format!("  + {} {}", chart.name, version(&chart.to)),
                Change::Removed => format!("  - {} {}", chart.name, version(&chart.from)),
                Change::Changed => {
                    let content = if chart.content_changed == Some(true) {
                        format!("content changed: {} file(s)", chart.files.len())
                    } else {
                        "same content".into()
                    };
                    format!(
                        "  ~ {} {} -> {} ({content})",
                        chart.name,
                        version(&chart.from),
                        version(&chart.to)
                    )
                }
            };
            out.push_str(&line);
            out.push('\n');
            for file in &chart.files {
                out.push_str(&format!("      {} {}", file.change.mark(), file.path));
                push_patch(&mut out, file);
            }
        }
    }
    if !diff.files.is_empty() {
        out.push_str("files:\n");
        for file in &diff.files {
            out.push_str(&format!("  {} {}", file.change.mark(), file.path));
            push_patch(&mut out, file);
        }
    }
    if !diff.images.is_empty() {
        out.push_str("images:\n");
        for image in &diff.images {
            let version = |v: &Option<String>| v.clone().unwrap_or_default();
            let line = match image.change {
                ImageChangeKind::Added => format!(
                    "  + {}",
                    super::ImageChange::reference(&version(&image.to), &image.repository)
                ),
                ImageChangeKind::Removed => format!(
                    "  - {}",
                    super::ImageChange::reference(&version(&image.from), &image.repository)
                ),
                ImageChangeKind::Retagged => format!(
                    "  ~ {}: {} -> {}",
                    image.repository,
                    version(&image.from),
                    version(&image.to)
                ),
            };
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
