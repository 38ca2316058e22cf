//! `packreg validate`: the rules Palette and its public pack catalogue apply, reported all at
//! once, each finding naming the file and the field.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_norway::Value as Yaml;

use super::chart::{read_chart_dir, read_chart_info, Chart};
use super::meta::PackJson;
use super::rules::{
    is_repository_component, is_valid_tag, version_to_tag, CLOUD_TYPES, DEPENDENCY_TYPES, LAYERS,
    RESOURCE_TYPES,
};
use super::tree::{EntryKind, Tree, IGNORE_FILE};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The pack would fail in Palette or in a registry; push refuses it.
    Error,
    /// Worth fixing, but the pack works.
    Warning,
}

/// One problem found in a pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// File relative to the pack root (`pack.json`, `values.yaml`, `charts/a.tgz`).
    pub file: String,
    /// Field path inside the file (`constraints.dependencies[0].type`), when one applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match &self.field {
            Some(field) => write!(f, "{level}: {}: {field}: {}", self.file, self.message),
            None => write!(f, "{level}: {}: {}", self.file, self.message),
        }
    }
}

/// Everything `validate` found in one pack folder.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The pack folder.
    pub pack: PathBuf,
    /// Whether no error was found (warnings allowed).
    pub valid: bool,
    /// Findings in the order the checks ran.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The findings of severity error.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// The findings of severity warning.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
    }
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, severity: Severity, file: &str, field: Option<&str>, message: String) {
        self.0.push(Finding {
            severity,
            file: file.to_string(),
            field: field.filter(|f| !f.is_empty()).map(str::to_string),
            message,
        });
    }
    fn error(&mut self, file: &str, field: Option<&str>, message: impl Into<String>) {
        self.add(Severity::Error, file, field, message.into());
    }
    fn warning(&mut self, file: &str, field: Option<&str>, message: impl Into<String>) {
        self.add(Severity::Warning, file, field, message.into());
    }
}

/// Checks the pack folder `dir` and reports every problem found. Never fails: unreadable files
/// become findings.
pub fn validate(dir: &Path) -> Report {
    let mut out = Findings::default();
    match Tree::scan(dir, IGNORE_FILE) {
        Ok(tree) => check_tree(&tree, &mut out),
        Err(err) => out.error(".", None, err.to_string()),
    }
    Report {
        pack: dir.to_path_buf(),
        valid: !out.0.iter().any(|f| f.severity == Severity::Error),
        findings: out.0,
    }
}

fn check_tree(tree: &Tree, out: &mut Findings) {
    let meta = check_pack_json(tree, out);
    let values = check_values_yaml(tree, out);
    let (charts, unreadable) = check_charts(tree, meta.as_ref(), out);
    if let Some(meta) = &meta {
        check_listed_paths(tree, "kubeManifests", meta.kube_manifests.as_deref(), out);
    }
    if let Some(values) = &values {
        check_chart_values(values, &charts, &unreadable, out);
    }
    check_extras(tree, meta.as_ref(), values.as_ref(), out);
}

fn read_text(tree: &Tree, rel: &str, out: &mut Findings) -> Option<String> {
    if !tree.has_file(rel) {
        out.error(
            rel,
            None,
            format!("missing: a pack needs a {rel} at its root"),
        );
        return None;
    }
    match std::fs::read_to_string(tree.root.join(rel)) {
        Ok(text) => Some(text),
        Err(e) => {
            out.error(rel, None, format!("cannot read: {e}"));
            None
        }
    }
}

fn check_pack_json(tree: &Tree, out: &mut Findings) -> Option<PackJson> {
    const FILE: &str = "pack.json";
    let text = read_text(tree, FILE, out)?;
    let meta = match PackJson::parse(text.as_bytes()) {
        Ok(meta) => meta,
        Err((field, message)) => {
            out.error(FILE, Some(&field), format!("does not parse: {message}"));
            return None;
        }
    };
    for (field, value) in [
        ("name", &meta.name),
        ("displayName", &meta.display_name),
        ("version", &meta.version),
    ] {
        if value.as_deref().unwrap_or("").trim().is_empty() {
            out.error(FILE, Some(field), "is missing or empty; set it");
        }
    }
    let name = meta.name();
    if !name.is_empty() && !is_repository_component(name) {
        out.error(
            FILE,
            Some("name"),
            format!(
                "{name:?} is not a valid registry repository name: use lowercase letters and digits, \
                 separated by single '.', '_', '__' or runs of '-'"
            ),
        );
    }
    let version = meta.version();
    if version.starts_with('v') || version.starts_with('V') {
        out.error(
            FILE,
            Some("version"),
            format!("{version:?} has a leading 'v'; write {:?}", &version[1..]),
        );
    }
    let tag = version_to_tag(version);
    if !version.is_empty() && !is_valid_tag(&tag) {
        out.error(
            FILE,
            Some("version"),
            format!(
                "{version:?} does not map to a valid registry tag ({tag:?}): use letters, digits, \
                 '.', '_', '-' and '+', at most 128 characters, not starting with '.' or '-'"
            ),
        );
    }
    match meta.layer.as_deref() {
        None | Some("") => out.error(
            FILE,
            Some("layer"),
            format!("is missing; set one of {}", LAYERS.join(", ")),
        ),
        Some(layer) if !LAYERS.contains(&layer) => out.error(
            FILE,
            Some("layer"),
            format!("{layer:?} is not a layer; use one of {}", LAYERS.join(", ")),
        ),
        _ => {}
    }
    for (i, cloud) in meta.cloud_types.iter().flatten().enumerate() {
        if !CLOUD_TYPES.contains(&cloud.as_str()) {
            out.error(
                FILE,
                Some(&format!("cloudTypes[{i}]")),
                format!(
                    "{cloud:?} is not a cloud type; use one of {}",
                    CLOUD_TYPES.join(", ")
                ),
            );
        }
    }
    if let Some(constraints) = &meta.constraints {
        for (i, dep) in constraints.dependencies.iter().flatten().enumerate() {
            let kind = dep.kind.as_deref().unwrap_or("");
            if !DEPENDENCY_TYPES.contains(&kind) {
                out.error(
                    FILE,
                    Some(&format!("constraints.dependencies[{i}].type")),
                    format!(
                        "{kind:?} is not a dependency type; use one of {}",
                        DEPENDENCY_TYPES.join(", ")
                    ),
                );
            }
        }
        for (i, res) in constraints.resources.iter().flatten().enumerate() {
            let kind = res.kind.as_deref().unwrap_or("");
            if !RESOURCE_TYPES.contains(&kind) {
                out.error(
                    FILE,
                    Some(&format!("constraints.resources[{i}].type")),
                    format!(
                        "{kind:?} is not a resource type; use one of {}",
                        RESOURCE_TYPES.join(", ")
                    ),
                );
            }
        }
    }
    Some(meta)
}

fn check_values_yaml(tree: &Tree, out: &mut Findings) -> Option<Yaml> {
    const FILE: &str = "values.yaml";
    let text = read_text(tree, FILE, out)?;
    let value: Yaml = match serde_norway::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            out.error(FILE, None, format!("does not parse as YAML: {e}"));
            return None;
        }
    };
    match &value {
        Yaml::Null | Yaml::Mapping(_) => {}
        _ => {
            out.error(
                FILE,
                None,
                "must be a YAML mapping (key: value pairs) or empty",
            );
            return None;
        }
    }
    if let Some(charts) = value.get("charts") {
        if !matches!(charts, Yaml::Mapping(_) | Yaml::Null) {
            out.error(
                FILE,
                Some("charts"),
                "must be a mapping of chart name to chart values",
            );
        }
    }
    Some(value)
}

/// A path from pack.json, normalised; None when it would leave the pack.
fn normalise_listed(path: &str) -> Option<String> {
    let trimmed = path.trim_start_matches("./");
    if trimmed.is_empty() || trimmed.starts_with('/') || trimmed.split('/').any(|p| p == "..") {
        return None;
    }
    Some(trimmed.trim_end_matches('/').to_string())
}

fn check_listed_paths(tree: &Tree, field: &str, paths: Option<&[String]>, out: &mut Findings) {
    for (i, path) in paths.unwrap_or_default().iter().enumerate() {
        let field_path = format!("{field}[{i}]");
        match normalise_listed(path) {
            None => out.error(
                "pack.json",
                Some(&field_path),
                format!("{path:?} is not a relative path inside the pack"),
            ),
            Some(rel) if !tree.has_file(&rel) => out.error(
                "pack.json",
                Some(&field_path),
                format!("{path:?} does not exist in the pack (or is left out by {IGNORE_FILE})"),
            ),
            _ => {}
        }
    }
}

/// Reads every chart of the pack (listed in pack.json, `charts/*.tgz`, unpacked chart folders)
/// and returns those that could be read, with their file names, and the file names of the
/// listed or present charts that could not be read.
fn check_charts(
    tree: &Tree,
    meta: Option<&PackJson>,
    out: &mut Findings,
) -> (Vec<(String, Chart)>, Vec<String>) {
    let listed = meta.and_then(|m| m.charts.as_deref());
    check_listed_paths(tree, "charts", listed, out);
    let mut unreadable: Vec<String> = listed
        .unwrap_or_default()
        .iter()
        .filter(|p| normalise_listed(p).is_none_or(|rel| !tree.has_file(&rel)))
        .cloned()
        .collect();
    let mut archives: Vec<String> = listed
        .unwrap_or_default()
        .iter()
        .filter_map(|p| normalise_listed(p))
        .filter(|rel| tree.has_file(rel))
        .collect();
    for entry in &tree.entries {
        let in_charts = entry
            .rel
            .strip_prefix("charts/")
            .filter(|r| !r.contains('/'));
        match (in_charts, entry.kind) {
            (Some(name), EntryKind::File { .. }) if name.ends_with(".tgz") => {
                archives.push(entry.rel.clone())
            }
            _ => {}
        }
    }
    archives.sort();
    archives.dedup();
    let mut charts = Vec::new();
    for rel in archives {
        match read_chart_info(&tree.root.join(&rel)) {
            Ok(info) => charts.push((
                rel,
                Chart {
                    info,
                    values: String::new(),
                },
            )),
            Err(message) => {
                out.error(&rel, None, message);
                unreadable.push(rel);
            }
        }
    }
    for entry in &tree.entries {
        let is_chart_dir = entry.kind == EntryKind::Dir
            && entry
                .rel
                .strip_prefix("charts/")
                .is_some_and(|r| !r.contains('/'))
            && tree.has_file(&format!("{}/Chart.yaml", entry.rel));
        if is_chart_dir {
            match read_chart_dir(&entry.path) {
                Ok(chart) => charts.push((entry.rel.clone(), chart)),
                Err(message) => out.error(&format!("{}/Chart.yaml", entry.rel), None, message),
            }
        }
    }
    (charts, unreadable)
}

fn check_chart_values(
    values: &Yaml,
    charts: &[(String, Chart)],
    unreadable: &[String],
    out: &mut Findings,
) {
    let names: Vec<&str> = charts.iter().map(|(_, c)| c.info.name.as_str()).collect();
    let keys: Vec<String> = match values.get("charts") {
        Some(Yaml::Mapping(map)) => map
            .keys()
            .map(|k| match k {
                Yaml::String(s) => s.clone(),
                other => serde_norway::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            })
            .collect(),
        _ => Vec::new(),
    };
    // A key that names an unreadable chart (`cache` for charts/cache-0.3.1.tgz) was reported
    // with that chart already.
    let explained = |key: &str| {
        unreadable.iter().any(|file| {
            let base = file.rsplit('/').next().unwrap_or(file);
            base.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with('-'))
        })
    };
    for key in &keys {
        if !names.contains(&key.as_str()) && !explained(key) {
            let known = if names.is_empty() {
                "this pack has no chart".to_string()
            } else {
                format!("charts here: {}", names.join(", "))
            };
            out.error(
                "values.yaml",
                Some(&format!("charts.{key}")),
                format!(
                    "no chart is named {key:?} ({known}); chart values must sit under \
                     charts.<name from Chart.yaml>, or Palette silently ignores them"
                ),
            );
        }
    }
    for (rel, chart) in charts {
        if !keys.contains(&chart.info.name) {
            out.warning(
                "values.yaml",
                Some(&format!("charts.{}", chart.info.name)),
                format!(
                    "no values for chart {:?} ({rel}); put its values under this key so Palette \
                     shows them",
                    chart.info.name
                ),
            );
        }
    }
}

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

fn check_extras(tree: &Tree, meta: Option<&PackJson>, values: Option<&Yaml>, out: &mut Findings) {
    if tree.has_file("logo.png") {
        let mut head = [0u8; 8];
        let is_png = std::fs::File::open(tree.root.join("logo.png"))
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
            .is_ok()
            && head == PNG_MAGIC;
        if !is_png {
            out.warning(
                "logo.png",
                None,
                "is not a PNG image; Palette shows no logo",
            );
        }
    } else {
        out.warning(
            "logo.png",
            None,
            "missing: Palette shows the pack without a logo",
        );
    }
    if !tree.has_file("README.md") {
        out.warning(
            "README.md",
            None,
            "missing: Palette shows no description of the pack",
        );
    }
    let is_addon = meta.is_some_and(|m| m.layer() == "addon");
    if is_addon {
        let images = values
            .and_then(|v| v.get("pack"))
            .and_then(|p| p.get("content"))
            .and_then(|c| c.get("images"));
        if images.is_none() {
            out.warning(
                "values.yaml",
                Some("pack.content.images"),
                "absent: list the container images the add-on uses so air-gapped sites can mirror them",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_paths_are_normalised() {
        assert_eq!(
            normalise_listed("./charts/a.tgz").as_deref(),
            Some("charts/a.tgz")
        );
        assert_eq!(normalise_listed("../x"), None);
        assert_eq!(normalise_listed("/etc/passwd"), None);
        assert_eq!(normalise_listed("a/../../b"), None);
    }

    #[test]
    fn display_names_file_and_field() {
        let f = Finding {
            severity: Severity::Error,
            file: "values.yaml".into(),
            field: Some("charts.nginx-ingress".into()),
            message: "wrong".into(),
        };
        assert_eq!(
            f.to_string(),
            "error: values.yaml: charts.nginx-ingress: wrong"
        );
    }
}
