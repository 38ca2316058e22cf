//! The Helm charts of a pack (`charts/*.tgz`), paired by the name in their Chart.yaml:
//! added, removed, or changed in version or content. Content is judged by the files inside
//! the archive, so a chart packaged again with the same files is unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::budget::Patcher;
use super::files::{
    changes, is_chart_archive, labels, patch_of, text_or_binary, Content, FileChange,
};
use super::keys::Change;
use super::side::{walk_files, Side};
use super::DiffError;
use crate::archive::extract_tar;
use crate::digest::{hash_file, Digest};
use crate::pack::chart::read_chart_dir;

/// A chart added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartChange {
    /// What happened.
    pub change: Change,
    /// Chart name from Chart.yaml.
    pub name: String,
    /// Version before (removed and changed charts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Version after (added and changed charts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Whether the files inside the archive differ (changed charts).
    #[serde(rename = "contentChanged", skip_serializing_if = "Option::is_none")]
    pub content_changed: Option<bool>,
    /// The files inside the chart that differ (changed charts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileChange>,
}

/// A chart read from its archive.
struct ChartContent {
    name: String,
    version: String,
    files: BTreeMap<String, Digest>,
    /// Where the archive's files were extracted: the chart's folder.
    top: PathBuf,
    /// The chart's folder as a patch names it: the archive's path in the pack, then the
    /// folder inside the archive (`charts/web-1.2.0.tgz/web`).
    label: String,
}

/// Compares the chart archives of the two sides. Archives with the same digest on both sides
/// are the same chart and are never downloaded. With a `patcher`, the text files that differ
/// inside a changed chart get their patch.
pub(crate) async fn compare(
    a: &mut Side<'_>,
    b: &mut Side<'_>,
    patcher: Option<&mut Patcher>,
    concurrency: usize,
) -> Result<Vec<ChartChange>, DiffError> {
    let archives = |side: &Side| -> Vec<(String, Digest)> {
        side.files
            .iter()
            .filter(|(rel, _)| is_chart_archive(rel))
            .map(|(rel, f)| (rel.clone(), f.digest.clone()))
            .collect()
    };
    let (mut in_a, mut in_b) = (archives(a), archives(b));
    // Same bytes on both sides: the same chart, nothing to read.
    in_a.retain(
        |(_, digest)| match in_b.iter().position(|(_, d)| d == digest) {
            Some(i) => {
                in_b.remove(i);
                false
            }
            None => true,
        },
    );
    let paths = |list: &[(String, Digest)]| list.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    a.make_local(&paths(&in_a), concurrency).await?;
    b.make_local(&paths(&in_b), concurrency).await?;
    let read = |side: &Side, list: &[(String, Digest)]| -> Result<Vec<ChartContent>, DiffError> {
        list.iter()
            .enumerate()
            .map(|(i, (rel, _))| read_chart(side, rel, &side.scratch(&format!("chart-{i}"))))
            .collect()
    };
    let (charts_a, charts_b) = (read(a, &in_a)?, read(b, &in_b)?);
    let folders = |charts: &[ChartContent]| -> BTreeMap<String, (String, PathBuf)> {
        charts
            .iter()
            .map(|c| (c.name.clone(), (c.label.clone(), c.top.clone())))
            .collect()
    };
    let (folders_a, folders_b) = (folders(&charts_a), folders(&charts_b));
    let mut found = pair(charts_a, charts_b);
    let Some(patcher) = patcher else {
        return Ok(found);
    };
    for chart in found.iter_mut().filter(|c| c.change == Change::Changed) {
        let (Some((label_a, top_a)), Some((label_b, top_b))) =
            (folders_a.get(&chart.name), folders_b.get(&chart.name))
        else {
            continue;
        };
        for file in &mut chart.files {
            let limit = patcher.file_bytes();
            let old = inner_text(top_a, &file.path, file.change == Change::Added, limit)?;
            let new = inner_text(top_b, &file.path, file.change == Change::Removed, limit)?;
            let (from, to) = labels(
                &format!("{label_a}/{}", file.path),
                &format!("{label_b}/{}", file.path),
                file.change,
            );
            let patch = patch_of(patcher, old, new, &from, &to);
            file.patch = patch.text;
            file.note = patch.note;
        }
    }
    Ok(found)
}

/// The file at `rel` of an extracted chart, for a patch.
fn inner_text(top: &Path, rel: &str, absent: bool, limit: u64) -> Result<Content, DiffError> {
    if absent {
        return Ok(Content::Text(String::new()));
    }
    let path = rel
        .split('/')
        .fold(top.to_path_buf(), |p, part| p.join(part));
    let size = std::fs::metadata(&path)
        .map_err(|e| crate::artifact::ArtifactError::io(&path, e))?
        .len();
    if size > limit {
        return Ok(Content::TooLarge(size));
    }
    let bytes = crate::limits::read_bounded(
        std::fs::File::open(&path).map_err(|e| crate::artifact::ArtifactError::io(&path, e))?,
        limit,
        rel,
    );
    Ok(match bytes {
        Ok(bytes) => text_or_binary(bytes),
        // Grown since it was measured: too large after all.
        Err(_) => Content::TooLarge(size),
    })
}

/// Pairs charts by name and reports what differs.
fn pair(charts_a: Vec<ChartContent>, mut charts_b: Vec<ChartContent>) -> Vec<ChartChange> {
    let mut out = Vec::new();
    for old in charts_a {
        let Some(i) = charts_b.iter().position(|c| c.name == old.name) else {
            out.push(ChartChange {
                change: Change::Removed,
                name: old.name,
                from: Some(old.version),
                to: None,
                content_changed: None,
                files: Vec::new(),
            });
            continue;
        };
        let new = charts_b.remove(i);
        let files = changes(&old.files, &new.files);
        if files.is_empty() && old.version == new.version {
            // Packaged again with the same files: no difference for the cluster.
            continue;
        }
        out.push(ChartChange {
            change: Change::Changed,
            name: old.name,
            from: Some(old.version),
            to: Some(new.version),
            content_changed: Some(!files.is_empty()),
            files,
        });
    }
    out.extend(charts_b.into_iter().map(|new| ChartChange {
        change: Change::Added,
        name: new.name,
        from: None,
        to: Some(new.version),
        content_changed: None,
        files: Vec::new(),
    }));
    out.sort_by(|x, y| x.name.cmp(&y.name));
    out
}

/// Extracts the chart archive `rel` of `side` into `scratch` (safely, as pull extracts) and
/// reads its Chart.yaml and the digest of every file in it.
fn read_chart(side: &Side, rel: &str, scratch: &Path) -> Result<ChartContent, DiffError> {
    let unreadable = |message: String| DiffError::Unreadable {
        reference: side.info.reference.clone(),
        file: rel.to_string(),
        message,
    };
    let archive = side
        .local_path(rel)
        .ok_or_else(|| unreadable("was not downloaded".into()))?;
    std::fs::create_dir_all(scratch).map_err(|e| unreadable(e.to_string()))?;
    let file = std::fs::File::open(&archive).map_err(|e| unreadable(e.to_string()))?;
    let declared = file.metadata().map(|m| m.len()).ok();
    let opts = crate::archive::ExtractOptions::new(declared);
    extract_tar(flate2::read::GzDecoder::new(file), scratch, &opts)
        .map_err(|e| unreadable(format!("not a readable chart archive: {e}")))?;
    let top = std::fs::read_dir(scratch)
        .map_err(|e| unreadable(e.to_string()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.join("Chart.yaml").is_file())
        .ok_or_else(|| unreadable("no Chart.yaml inside: not a Helm chart archive".into()))?;
    let chart = read_chart_dir(&top).map_err(unreadable)?;
    let mut files = BTreeMap::new();
    for (inner, path) in walk_files(&top)? {
        let (digest, _) = hash_file(&path).map_err(|e| unreadable(e.to_string()))?;
        files.insert(inner, digest);
    }
    let folder = top
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(ChartContent {
        name: chart.info.name,
        version: chart.info.version,
        files,
        label: format!("{rel}/{folder}"),
        top,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(name: &str, version: &str, files: &[(&str, &str)]) -> ChartContent {
        ChartContent {
            name: name.into(),
            version: version.into(),
            files: files
                .iter()
                .map(|(p, c)| (p.to_string(), Digest::of(c.as_bytes())))
                .collect(),
            top: PathBuf::new(),
            label: String::new(),
        }
    }

    #[test]
    fn pairs_by_name_and_judges_content_by_inner_files() {
        let a = vec![
            chart("web", "1.0.0", &[("Chart.yaml", "v1"), ("t.yaml", "x")]),
            chart("same", "1.0.0", &[("Chart.yaml", "s")]),
            chart("gone", "0.1.0", &[]),
        ];
        let b = vec![
            chart("web", "1.1.0", &[("Chart.yaml", "v2"), ("t.yaml", "x")]),
            chart("same", "1.0.0", &[("Chart.yaml", "s")]),
            chart("new", "2.0.0", &[]),
        ];
        let found = pair(a, b);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(
            (found[0].change, found[0].name.as_str()),
            (Change::Removed, "gone")
        );
        assert_eq!(
            (found[1].change, found[1].name.as_str()),
            (Change::Added, "new")
        );
        assert_eq!(found[2].name, "web");
        assert_eq!(found[2].content_changed, Some(true));
        assert_eq!(found[2].files.len(), 1);
        assert_eq!(found[2].files[0].path, "Chart.yaml");
    }
}
