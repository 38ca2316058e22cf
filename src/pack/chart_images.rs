//! The container images a Helm chart's default values name, subcharts included, for `build`
//! to propose as `pack.content.images`. Two shapes are read wherever a key is named `image`:
//! a string `repo[:tag][@digest]`, and a map `{registry, repository, tag, digest}` whose
//! missing tag is the chart's appVersion (what `helm create`'s templates do). A subchart's
//! values are its defaults with the parent's `<subchart name>:` section over them, as Helm
//! merges them.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_norway::{Mapping, Value as Yaml};

use super::chart::read_chart_dir;
use crate::image::ImageRef;

/// Subcharts of subcharts are followed this deep, at most.
const MAX_DEPTH: usize = 8;

/// An image found in a chart's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundImage {
    /// The reference, normalised as docker reads it (`docker.io/library/nginx:1.25`).
    pub reference: String,
    /// The chart whose values name it: its name, a subchart's after its parents' (`web/redis`).
    pub chart: String,
    /// The key of the values that names it (`image`, `sidecar.image`).
    pub key: String,
    /// Whether the tag is the chart's appVersion, the values giving none.
    pub tag_from_app_version: bool,
}

/// What [`discover`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Each image once, in the order found.
    pub images: Vec<FoundImage>,
    /// Values that looked like images but could not be read as one, each said in a sentence.
    pub skipped: Vec<String>,
}

/// The images the chart unpacked at `dir` names in its default values and its subcharts'.
/// The error is a sentence fragment for the caller to prefix with the chart's path.
pub fn discover(dir: &Path) -> Result<Discovery, String> {
    let mut out = Discovery::default();
    scan_chart(dir, "", &Yaml::Null, 0, &mut out)?;
    Ok(out)
}

fn scan_chart(
    dir: &Path,
    parent: &str,
    overrides: &Yaml,
    depth: usize,
    out: &mut Discovery,
) -> Result<(), String> {
    let chart = read_chart_dir(dir)?;
    let label = if parent.is_empty() {
        chart.info.name.clone()
    } else {
        format!("{parent}/{}", chart.info.name)
    };
    let mut values: Yaml = match serde_norway::from_str(&chart.values) {
        Ok(values) => values,
        Err(e) => {
            out.skipped.push(format!(
                "{label}: values.yaml does not parse, so no image was read from it: {e}"
            ));
            Yaml::Null
        }
    };
    merge(&mut values, overrides);
    let subcharts = if depth < MAX_DEPTH {
        subcharts(dir)?
    } else {
        Vec::new()
    };
    let names: Vec<&str> = subcharts.iter().map(|(name, _)| name.as_str()).collect();
    if let Yaml::Mapping(map) = &values {
        for (key, value) in map {
            let key = scalar(key).unwrap_or_default();
            // A subchart's section is read with the subchart, over its own defaults.
            if names.contains(&key.as_str()) {
                continue;
            }
            walk(&key, value, &label, &chart.info.app_version, out);
        }
    }
    for (name, sub_dir) in &subcharts {
        let section = values.get(name.as_str()).cloned().unwrap_or(Yaml::Null);
        scan_chart(sub_dir.path(), &label, &section, depth + 1, out)?;
    }
    Ok(())
}

/// A subchart's folder: one under `charts/`, or one extracted from a `charts/*.tgz`.
enum SubDir {
    Folder(PathBuf),
    Extracted {
        /// Removed with the value.
        _unpacked: tempfile::TempDir,
        top: PathBuf,
    },
}

impl SubDir {
    fn path(&self) -> &Path {
        match self {
            SubDir::Folder(p) | SubDir::Extracted { top: p, .. } => p,
        }
    }
}

/// The subcharts of the chart at `dir`, by name, sorted by file name.
fn subcharts(dir: &Path) -> Result<Vec<(String, SubDir)>, String> {
    let charts = dir.join("charts");
    let Ok(entries) = std::fs::read_dir(&charts) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let sub = if path.join("Chart.yaml").is_file() {
            SubDir::Folder(path)
        } else if file.ends_with(".tgz") && path.is_file() {
            let (tmp, top) = unpack_chart(&path).map_err(|e| format!("charts/{file}: {e}"))?;
            SubDir::Extracted {
                _unpacked: tmp,
                top,
            }
        } else {
            continue;
        };
        let name = read_chart_dir(sub.path())
            .map_err(|e| format!("charts/{file}: {e}"))?
            .info
            .name;
        out.push((name, sub));
    }
    Ok(out)
}

/// Extracts a chart archive (safely, within the unpacking limits) into a new temporary
/// folder, and finds the chart's folder in it.
pub fn unpack_chart(archive: &Path) -> Result<(tempfile::TempDir, PathBuf), String> {
    let tmp = tempfile::Builder::new()
        .prefix("packreg-chart-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let file = std::fs::File::open(archive).map_err(|e| format!("cannot open: {e}"))?;
    let declared = file.metadata().map(|m| m.len()).ok();
    let opts = crate::archive::ExtractOptions::new(declared);
    crate::archive::extract_tar(flate2::read::GzDecoder::new(file), tmp.path(), &opts)
        .map_err(|e| format!("not a readable chart archive: {e}"))?;
    let top = std::fs::read_dir(tmp.path())
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.join("Chart.yaml").is_file())
        .ok_or_else(|| "no Chart.yaml inside: not a Helm chart archive".to_string())?;
    Ok((tmp, top))
}

/// Helm's merge of a parent's section over a subchart's defaults: maps merge key by key,
/// anything else replaces.
fn merge(base: &mut Yaml, over: &Yaml) {
    match (base, over) {
        (_, Yaml::Null) => {}
        (Yaml::Mapping(base), Yaml::Mapping(over)) => {
            for (key, value) in over {
                match base.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, over) => *base = over.clone(),
    }
}

/// Looks for `image` keys under `value`, found at `path`.
fn walk(path: &str, value: &Yaml, chart: &str, app_version: &str, out: &mut Discovery) {
    let last = path.rsplit('.').next().unwrap_or(path);
    if last == "image" {
        image(path, value, chart, app_version, out);
        return;
    }
    match value {
        Yaml::Mapping(map) => {
            for (key, value) in map {
                let key = scalar(key).unwrap_or_default();
                walk(&format!("{path}.{key}"), value, chart, app_version, out);
            }
        }
        Yaml::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(&format!("{path}[{i}]"), item, chart, app_version, out);
            }
        }
        _ => {}
    }
}

/// Reads one `image` value, in either shape.
fn image(key: &str, value: &Yaml, chart: &str, app_version: &str, out: &mut Discovery) {
    let (text, tag_from_app_version) = match value {
        Yaml::String(text) => (text.trim().to_string(), false),
        Yaml::Mapping(map) => match from_parts(map, app_version) {
            Some(found) => found,
            // No repository: not an image of the common shape.
            None => return,
        },
        _ => return,
    };
    if text.is_empty() {
        return;
    }
    match ImageRef::parse(&text) {
        Ok(parsed) if !text.contains("{{") => {
            let reference = parsed.to_string();
            if out.images.iter().all(|i| i.reference != reference) {
                out.images.push(FoundImage {
                    reference,
                    chart: chart.to_string(),
                    key: key.to_string(),
                    tag_from_app_version,
                });
            }
        }
        _ => out.skipped.push(format!(
            "{chart}: {key} is {text:?}, which is not an image reference"
        )),
    }
}

/// `{registry, repository, tag, digest}` as one reference, the tag defaulting to
/// `app_version`; None without a repository.
fn from_parts(map: &Mapping, app_version: &str) -> Option<(String, bool)> {
    let field = |name: &str| map.get(name).and_then(scalar).filter(|s| !s.is_empty());
    let repository = field("repository")?;
    let mut text = match field("registry") {
        Some(registry) => format!("{}/{repository}", registry.trim_end_matches('/')),
        None => repository,
    };
    let digest = field("digest");
    let mut from_app_version = false;
    match field("tag") {
        Some(tag) => text = format!("{text}:{tag}"),
        None if digest.is_none() && !app_version.is_empty() => {
            text = format!("{text}:{app_version}");
            from_app_version = true;
        }
        None => {}
    }
    if let Some(digest) = digest {
        text = format!("{text}@{digest}");
    }
    Some((text, from_app_version))
}

/// A string or number as text (`tag: 1.25` is a number to YAML).
fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.trim().to_string()),
        Yaml::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(dir: &Path, name: &str, app_version: &str, values: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("Chart.yaml"),
            format!(
                "apiVersion: v2\nname: {name}\nversion: 1.0.0\nappVersion: \"{app_version}\"\n"
            ),
        )
        .unwrap();
        std::fs::write(dir.join("values.yaml"), values).unwrap();
    }

    fn references(found: &Discovery) -> Vec<&str> {
        found.images.iter().map(|i| i.reference.as_str()).collect()
    }

    #[test]
    fn both_shapes_anywhere_in_the_values() {
        let tmp = tempfile::tempdir().unwrap();
        chart(
            tmp.path(),
            "web",
            "1.25.3",
            "image:\n  registry: registry.k8s.io\n  repository: ingress-nginx/controller\n  tag: v1.9.4\n\
             sidecar:\n  image: busybox:1.36\n\
             jobs:\n  - image:\n      repository: bitnami/kubectl\n      tag: 1.29\n\
             app:\n  image:\n    repository: nginx\n\
             pinned:\n  image:\n    repository: redis\n    digest: sha256:{}\n\
             templated:\n  image: \"{{{{ .Values.x }}}}\"\n\
             again:\n  image: docker.io/library/busybox:1.36\n\
             other:\n  image:\n    pullPolicy: Always\n"
                .replace("{}", &"a".repeat(64))
                .as_str(),
        );
        let found = discover(tmp.path()).unwrap();
        assert_eq!(
            references(&found),
            vec![
                "registry.k8s.io/ingress-nginx/controller:v1.9.4",
                "docker.io/library/busybox:1.36",
                "docker.io/bitnami/kubectl:1.29",
                "docker.io/library/nginx:1.25.3",
                &format!("docker.io/library/redis@sha256:{}", "a".repeat(64)),
            ]
        );
        let nginx = &found.images[3];
        assert!(nginx.tag_from_app_version, "{nginx:?}");
        assert_eq!(
            (nginx.chart.as_str(), nginx.key.as_str()),
            ("web", "app.image")
        );
        assert_eq!(found.images[2].key, "jobs[0].image");
        assert_eq!(found.skipped.len(), 1, "{:?}", found.skipped);
        assert!(
            found.skipped[0].contains("templated.image"),
            "{:?}",
            found.skipped
        );
    }

    #[test]
    fn subcharts_with_the_parents_section_over_their_defaults() {
        let tmp = tempfile::tempdir().unwrap();
        chart(
            tmp.path(),
            "shop",
            "2.0.0",
            "image: shop/api:2.0.0\nredis:\n  image:\n    tag: \"7.4\"\n",
        );
        chart(
            &tmp.path().join("charts/redis"),
            "redis",
            "7.2",
            "image:\n  repository: bitnami/redis\n  tag: \"7.2\"\n",
        );
        // A packaged subchart.
        let sub = tempfile::tempdir().unwrap();
        chart(
            &sub.path().join("metrics"),
            "metrics",
            "0.9.0",
            "image:\n  repository: prom/exporter\n",
        );
        let file = std::fs::File::create(tmp.path().join("charts/metrics-0.1.0.tgz")).unwrap();
        let entries: Vec<crate::archive::TarEntry> = ["Chart.yaml", "values.yaml"]
            .iter()
            .map(|f| crate::archive::TarEntry {
                name: format!("metrics/{f}"),
                kind: crate::archive::TarEntryKind::File {
                    source: sub.path().join("metrics").join(f),
                    executable: false,
                },
            })
            .collect();
        crate::archive::write_tar_gz(file, &entries).unwrap();

        let found = discover(tmp.path()).unwrap();
        assert_eq!(
            references(&found),
            vec![
                "docker.io/shop/api:2.0.0",
                "docker.io/prom/exporter:0.9.0",
                "docker.io/bitnami/redis:7.4",
            ]
        );
        assert_eq!(found.images[2].chart, "shop/redis");
        assert_eq!(found.images[1].chart, "shop/metrics");
    }
}
