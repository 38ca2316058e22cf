//! Reading Helm charts, packaged (`.tgz`) or unpacked, far enough to know their name, version
//! and default values.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use crate::limits::MAX_CHART_FILE;

/// The fields of `Chart.yaml` packreg uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartInfo {
    /// Chart name.
    #[serde(default)]
    pub name: String,
    /// Chart version.
    #[serde(default)]
    pub version: String,
    /// Version of the application the chart deploys.
    #[serde(default, deserialize_with = "lenient_string")]
    pub app_version: String,
    /// One-line description.
    #[serde(default)]
    pub description: String,
    /// The chart's icon: usually a URL, sometimes a file in the chart.
    #[serde(default, deserialize_with = "lenient_string")]
    pub icon: String,
}

/// A chart's metadata and the text of its default values.yaml (empty when it has none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chart {
    /// Parsed Chart.yaml.
    pub info: ChartInfo,
    /// values.yaml exactly as the chart ships it.
    pub values: String,
}

/// appVersion is often written unquoted (`appVersion: 1.10`), which YAML reads as a number.
fn lenient_string<'de, D: serde::Deserializer<'de>>(de: D) -> Result<String, D::Error> {
    let value = serde_norway::Value::deserialize(de)?;
    Ok(match value {
        serde_norway::Value::String(s) => s,
        serde_norway::Value::Number(n) => n.to_string(),
        serde_norway::Value::Bool(b) => b.to_string(),
        _ => String::new(),
    })
}

fn parse_chart_yaml(text: &str) -> Result<ChartInfo, String> {
    let info: ChartInfo =
        serde_norway::from_str(text).map_err(|e| format!("Chart.yaml does not parse: {e}"))?;
    if info.name.is_empty() {
        return Err("Chart.yaml has no name".into());
    }
    if info.version.is_empty() {
        return Err("Chart.yaml has no version".into());
    }
    Ok(info)
}

fn read_limited(mut reader: impl Read, what: &str) -> Result<String, String> {
    let mut text = String::new();
    (&mut reader)
        .take(MAX_CHART_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {what}: {e}"))?;
    if text.len() as u64 > MAX_CHART_FILE {
        return Err(format!("{what} is larger than {MAX_CHART_FILE} bytes"));
    }
    Ok(text)
}

/// Reads a packaged chart: a gzip tar whose `<top>/Chart.yaml` describes it. The error is a
/// sentence fragment for the caller to prefix with the file name.
pub fn read_chart_archive(path: &Path) -> Result<Chart, String> {
    read_chart_archive_parts(path, true)
}

/// Reads only the Chart.yaml of a packaged chart, stopping as soon as it has it (`helm
/// package` writes it first), so validating a pack with a large chart stays cheap.
pub fn read_chart_info(path: &Path) -> Result<ChartInfo, String> {
    read_chart_archive_parts(path, false).map(|c| c.info)
}

fn read_chart_archive_parts(path: &Path, want_values: bool) -> Result<Chart, String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let size = file.metadata().map(|m| m.len()).ok();
    // A chart pulled from a registry is content like any other: the tar crate reads long
    // names whole, so the unpacking limits guard it too.
    let limits = crate::limits::UnpackLimits::in_force();
    let guard = crate::archive::TarGuard::new(
        flate2::read::GzDecoder::new(file),
        limits,
        limits.unpacked_cap(size),
    );
    let mut archive = tar::Archive::new(guard);
    let entries = archive
        .entries()
        .map_err(|e| format!("not a readable gzip tar: {e}"))?;
    let mut info = None;
    let mut values = String::new();
    let mut seen_values = false;
    for entry in entries {
        let entry = entry.map_err(|e| format!("not a readable gzip tar: {e}"))?;
        let name = entry
            .path()
            .map_err(|e| format!("bad entry name: {e}"))?
            .to_string_lossy()
            .into_owned();
        let parts: Vec<&str> = name.trim_start_matches("./").split('/').collect();
        if parts.len() != 2 {
            continue;
        }
        match parts[1] {
            "Chart.yaml" => info = Some(parse_chart_yaml(&read_limited(entry, "Chart.yaml")?)?),
            "values.yaml" if want_values => {
                values = read_limited(entry, "values.yaml")?;
                seen_values = true;
            }
            _ => {}
        }
        if info.is_some() && (seen_values || !want_values) {
            break;
        }
    }
    match info {
        Some(info) => Ok(Chart { info, values }),
        None => Err("no Chart.yaml inside: not a Helm chart archive".into()),
    }
}

/// Reads an unpacked chart folder.
pub fn read_chart_dir(dir: &Path) -> Result<Chart, String> {
    let chart_yaml = dir.join("Chart.yaml");
    let file = File::open(&chart_yaml).map_err(|_| "no Chart.yaml: not a Helm chart folder")?;
    let info = parse_chart_yaml(&read_limited(file, "Chart.yaml")?)?;
    let values = match File::open(dir.join("values.yaml")) {
        Ok(f) => read_limited(f, "values.yaml")?,
        Err(_) => String::new(),
    };
    Ok(Chart { info, values })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{write_tar_gz, TarEntry, TarEntryKind};

    fn bytes(name: &str, data: &str) -> TarEntry {
        TarEntry {
            name: name.into(),
            kind: TarEntryKind::Bytes(data.as_bytes().to_vec()),
        }
    }

    #[test]
    fn reads_name_version_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.tgz");
        let file = File::create(&path).unwrap();
        write_tar_gz(
            file,
            &[
                bytes(
                    "c/Chart.yaml",
                    "apiVersion: v2\nname: c\nversion: 1.0.0\nappVersion: 1.10\n",
                ),
                bytes("c/values.yaml", "replicas: 1\n"),
                bytes("c/charts/sub/Chart.yaml", "name: sub\nversion: 9.9.9\n"),
            ],
        )
        .unwrap();
        let chart = read_chart_archive(&path).unwrap();
        assert_eq!(chart.info.name, "c");
        assert_eq!(chart.info.version, "1.0.0");
        assert_eq!(chart.info.app_version, "1.1");
        assert_eq!(chart.values, "replicas: 1\n");
    }

    #[test]
    fn refuses_non_archives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.tgz");
        std::fs::write(&path, b"not gzip").unwrap();
        assert!(read_chart_archive(&path).unwrap_err().contains("gzip"));
    }
}
