//! `packreg build`: a pack generated from a Helm chart, as `spectro pack build` makes one.

use std::fs;
use std::path::{Path, PathBuf};

use serde_norway::Value as Yaml;

use super::chart::{read_chart_dir, Chart};
use super::chart_icon::{chart_icon, Icon};
use super::chart_images::{discover, unpack_chart, FoundImage};
use super::meta::PackJson;
use super::rules::{is_repository_component, is_valid_tag, version_to_tag};
use super::tree::{EntryKind, Tree};
use crate::archive::{write_tar_gz, TarEntry, TarEntryKind};
use crate::error::PackError;

/// Choices for [`build_from_chart`]; `None` takes the value from Chart.yaml.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Pack name (default: the chart name).
    pub name: Option<String>,
    /// Pack version (default: the chart version without a leading `v`).
    pub version: Option<String>,
    /// Namespace written to `pack.namespace` (default: the chart name).
    pub namespace: Option<String>,
    /// `addonType` of the pack (default: `system app`).
    pub addon_type: Option<String>,
    /// The images for `pack.content.images` (default: those the chart's values name).
    pub images: Option<Vec<String>>,
}

/// What [`build_from_chart`] made.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// The new pack folder.
    pub dir: PathBuf,
    /// Pack name.
    pub name: String,
    /// Pack version.
    pub version: String,
    /// The chart archive inside the pack, relative to its root.
    pub chart_file: String,
    /// The images written to `pack.content.images`.
    pub images: Vec<String>,
    /// The images the chart's default values name (subcharts included), whether or not they
    /// were written (the images given win).
    pub found_images: Vec<FoundImage>,
    /// Values that looked like images but could not be read as one.
    pub skipped_images: Vec<String>,
    /// The chart's icon: taken as logo.png, or why not.
    pub icon: Icon,
}

/// Builds a pack in `out_dir` (new or empty) from `chart`, a `.tgz` or an unpacked chart
/// folder. The folder appears whole or not at all.
pub fn build_from_chart(
    chart: &Path,
    out_dir: &Path,
    opts: &BuildOptions,
) -> Result<BuildOutcome, PackError> {
    let is_dir = chart.is_dir();
    let chart_error = |message| PackError::Chart {
        path: chart.into(),
        message,
    };
    // An archive is unpacked (in a temporary folder) to read its subcharts and icon.
    let (_unpacked, chart_dir) = if is_dir {
        (None, chart.to_path_buf())
    } else {
        let (tmp, top) = unpack_chart(chart).map_err(chart_error)?;
        (Some(tmp), top)
    };
    let loaded = read_chart_dir(&chart_dir).map_err(chart_error)?;
    check_out_dir(out_dir)?;

    let info = &loaded.info;
    let name = opts.name.clone().unwrap_or_else(|| info.name.clone());
    let version = opts.version.clone().unwrap_or_else(|| {
        info.version
            .strip_prefix('v')
            .unwrap_or(&info.version)
            .to_string()
    });
    check_identity(chart, &name, &version)?;
    let namespace = opts.namespace.clone().unwrap_or_else(|| info.name.clone());
    if !is_dns_label(&namespace) {
        return Err(PackError::BadNamespace {
            path: chart.into(),
            namespace,
        });
    }
    let chart_file = format!("charts/{}-{}.tgz", info.name, info.version);
    let discovery = discover(&chart_dir).map_err(chart_error)?;
    let images = match &opts.images {
        Some(given) => {
            for image in given {
                if let Err(e) = crate::image::ImageRef::parse(image) {
                    return Err(PackError::BadPackField {
                        path: chart.into(),
                        field: "image",
                        value: image.clone(),
                        message: e.why,
                    });
                }
            }
            given.clone()
        }
        None => discovery
            .images
            .iter()
            .map(|i| i.reference.clone())
            .collect(),
    };
    let icon = chart_icon(&chart_dir, &info.icon);

    let parent = match out_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| PackError::io(&parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".packreg-build-")
        .tempdir_in(&parent)
        .map_err(|e| PackError::io(&parent, e))?;
    let root = staging.path();
    let charts_dir = root.join("charts");
    fs::create_dir_all(&charts_dir).map_err(|e| PackError::io(&charts_dir, e))?;
    let target = root.join(&chart_file);
    if is_dir {
        package_chart_dir(chart, &info.name, &target)?;
    } else {
        fs::copy(chart, &target).map_err(|e| PackError::io(chart, e))?;
    }

    let meta = PackJson {
        name: Some(name.clone()),
        display_name: Some(name.clone()),
        version: Some(version.clone()),
        layer: Some("addon".into()),
        addon_type: Some(
            opts.addon_type
                .clone()
                .unwrap_or_else(|| "system app".into()),
        ),
        cloud_types: Some(vec!["all".into()]),
        charts: Some(vec![chart_file.clone()]),
        ..PackJson::default()
    };
    write(root, "pack.json", &meta.to_pretty_json())?;
    write(
        root,
        "values.yaml",
        values_yaml(&loaded, &namespace, &images).as_bytes(),
    )?;
    write(root, "README.md", readme(&name, &loaded).as_bytes())?;
    if let Icon::Found { bytes, .. } = &icon {
        write(root, "logo.png", bytes)?;
    }

    set_dir_mode(root)?;
    let kept = staging.keep();
    if out_dir.exists() {
        // Empty (checked above): replace it.
        fs::remove_dir(out_dir).map_err(|e| PackError::io(out_dir, e))?;
    }
    if let Err(e) = fs::rename(&kept, out_dir) {
        let _ = fs::remove_dir_all(&kept);
        return Err(PackError::io(out_dir, e));
    }
    Ok(BuildOutcome {
        dir: out_dir.to_path_buf(),
        name,
        version,
        chart_file,
        images,
        found_images: discovery.images,
        skipped_images: discovery.skipped,
        icon,
    })
}

/// Refuses, before anything is written, a name or version `validate` would reject.
fn check_identity(chart: &Path, name: &str, version: &str) -> Result<(), PackError> {
    let bad = |field, value: &str, message: String| PackError::BadPackField {
        path: chart.into(),
        field,
        value: value.to_string(),
        message,
    };
    if !is_repository_component(name) {
        return Err(bad(
            "name",
            name,
            "is not a valid registry repository name: use lowercase letters and digits, \
             separated by single '.', '_', '__' or runs of '-'"
                .into(),
        ));
    }
    if let Some(rest) = version.strip_prefix(['v', 'V']) {
        return Err(bad(
            "version",
            version,
            format!("has a leading 'v', which Palette's versions do not: write {rest:?}"),
        ));
    }
    if !is_valid_tag(&version_to_tag(version)) {
        return Err(bad(
            "version",
            version,
            "does not map to a valid registry tag: use letters, digits, '.', '_', '-' and '+', \
             at most 128 characters, not starting with '.' or '-'"
                .into(),
        ));
    }
    Ok(())
}

fn check_out_dir(out_dir: &Path) -> Result<(), PackError> {
    match fs::read_dir(out_dir) {
        Ok(mut entries) => match entries.next() {
            Some(_) => Err(PackError::OutputNotEmpty(out_dir.into())),
            None => Ok(()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(PackError::io(out_dir, e)),
    }
}

fn write(root: &Path, rel: &str, bytes: &[u8]) -> Result<(), PackError> {
    let path = root.join(rel);
    fs::write(&path, bytes).map_err(|e| PackError::io(&path, e))
}

#[cfg(unix)]
fn set_dir_mode(dir: &Path) -> Result<(), PackError> {
    use std::os::unix::fs::PermissionsExt;
    // tempdir makes 0700 folders; a pack folder is an ordinary 0755 one.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(|e| PackError::io(dir, e))
}

#[cfg(not(unix))]
fn set_dir_mode(_dir: &Path) -> Result<(), PackError> {
    Ok(())
}

/// Packages a chart folder as `helm package` lays it out: entries under `<chart name>/`,
/// honouring `.helmignore`.
fn package_chart_dir(dir: &Path, chart_name: &str, target: &Path) -> Result<(), PackError> {
    let tree = Tree::scan(dir, ".helmignore")?;
    let mut entries = vec![TarEntry {
        name: chart_name.to_string(),
        kind: TarEntryKind::Dir,
    }];
    for entry in &tree.entries {
        let name = format!("{chart_name}/{}", entry.rel);
        let kind = match entry.kind {
            EntryKind::Dir => TarEntryKind::Dir,
            EntryKind::File { executable, .. } => TarEntryKind::File {
                source: entry.path.clone(),
                executable,
            },
        };
        entries.push(TarEntry { name, kind });
    }
    let file = fs::File::create(target).map_err(|e| PackError::io(target, e))?;
    let file = write_tar_gz(std::io::BufWriter::new(file), &entries)
        .map_err(|e| PackError::io(target, e))?;
    file.into_inner()
        .map_err(|e| PackError::io(target, e.into_error()))?
        .sync_all()
        .map_err(|e| PackError::io(target, e))
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// values.yaml for the pack: a `pack:` section and the chart's own values under
/// `charts.<chart name>`, keeping the chart's comments where the text can be nested as is.
fn values_yaml(chart: &Chart, namespace: &str, images: &[String]) -> String {
    let name = &chart.info.name;
    let mut head =
        format!("pack:\n  # Namespace the chart is installed into.\n  namespace: {namespace}\n");
    if !images.is_empty() {
        head.push_str("  # The images the chart deploys, as its default values name them.\n");
        head.push_str("  content:\n    images:\n");
        for image in images {
            // JSON strings are YAML strings: any reference is written safely.
            let quoted = serde_json::to_string(image).unwrap_or_default();
            head.push_str(&format!("      - image: {quoted}\n"));
        }
    }
    head.push_str("\ncharts:\n");
    let original: Yaml = serde_norway::from_str(&chart.values).unwrap_or(Yaml::Null);
    let key = yaml_key(name);
    if is_empty_values(&original) {
        return format!("{head}  {key}: {{}}\n");
    }
    let nested = format!("{head}  {key}:\n{}", indent(&chart.values, "    "));
    let reparsed: Option<Yaml> = serde_norway::from_str::<Yaml>(&nested)
        .ok()
        .and_then(|v| v.get("charts").and_then(|c| c.get(name.as_str())).cloned());
    if reparsed.as_ref() == Some(&original) {
        return nested;
    }
    // The text could not be nested verbatim (document markers, odd indentation): fall back to
    // re-serialised values, which lose comments but keep every value.
    let text = serde_norway::to_string(&original).unwrap_or_default();
    format!("{head}  {key}:\n{}", indent(&text, "    "))
}

fn is_empty_values(v: &Yaml) -> bool {
    match v {
        Yaml::Null => true,
        Yaml::Mapping(m) => m.is_empty(),
        _ => false,
    }
}

fn yaml_key(name: &str) -> String {
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if plain {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

fn indent(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.lines() {
        if line.trim() == "---" || line.starts_with("--- ") {
            continue;
        }
        if !line.trim().is_empty() {
            out.push_str(prefix);
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn readme(name: &str, chart: &Chart) -> String {
    let info = &chart.info;
    let mut text = format!("# {name}\n\n");
    if !info.description.is_empty() {
        text.push_str(&format!("{}\n\n", info.description));
    }
    text.push_str(&format!(
        "This pack deploys the Helm chart `{}` version {}",
        info.name, info.version
    ));
    if !info.app_version.is_empty() {
        text.push_str(&format!(" (application version {})", info.app_version));
    }
    text.push_str(&format!(
        ".\n\n## Parameters\n\nThe chart's values sit under `charts.{}` in values.yaml; \
         `pack.namespace` sets the namespace it is installed into.\n",
        info.name
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::chart::ChartInfo;

    fn chart(values: &str) -> Chart {
        Chart {
            info: ChartInfo {
                name: "web".into(),
                version: "1.0.0".into(),
                ..ChartInfo::default()
            },
            values: values.into(),
        }
    }

    #[test]
    fn values_keep_comments_when_nested() {
        let text = values_yaml(
            &chart("# replicas\nreplicaCount: 1\nimage:\n  tag: x\n"),
            "web",
            &[],
        );
        assert!(
            text.contains("    # replicas\n    replicaCount: 1\n"),
            "{text}"
        );
        let v: Yaml = serde_norway::from_str(&text).unwrap();
        assert_eq!(v["charts"]["web"]["image"]["tag"], Yaml::from("x"));
        assert_eq!(v["pack"]["namespace"], Yaml::from("web"));
    }

    #[test]
    fn values_with_document_marker_or_empty() {
        let v: Yaml =
            serde_norway::from_str(&values_yaml(&chart("---\na: 1\n"), "web", &[])).unwrap();
        assert_eq!(v["charts"]["web"]["a"], Yaml::from(1));
        let v: Yaml =
            serde_norway::from_str(&values_yaml(&chart("# nothing\n"), "web", &[])).unwrap();
        assert!(v["charts"]["web"].as_mapping().unwrap().is_empty());
    }

    #[test]
    fn images_are_written_under_pack_content() {
        let text = values_yaml(
            &chart("a: 1\n"),
            "web",
            &[
                "docker.io/library/nginx:1.25".into(),
                "x/y@sha256:ab".into(),
            ],
        );
        let v: Yaml = serde_norway::from_str(&text).unwrap();
        let images = v["pack"]["content"]["images"].as_sequence().unwrap();
        assert_eq!(images.len(), 2, "{text}");
        assert_eq!(
            images[0]["image"],
            Yaml::from("docker.io/library/nginx:1.25")
        );
        assert_eq!(v["charts"]["web"]["a"], Yaml::from(1));
    }

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("kube-system"));
        assert!(!is_dns_label("Kube"));
        assert!(!is_dns_label("-a"));
    }
}
