//! The chart's icon (Chart.yaml `icon:`) as the pack's logo.png, when it is a PNG file inside
//! the chart. Most charts name a URL there, which `build` does not download: it says so.

use std::path::{Component, Path};

use serde::Serialize;

/// A logo larger than this is no logo (Palette shows a small image).
const MAX_ICON_BYTES: u64 = 4 * 1024 * 1024;

/// The PNG signature.
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// What became of the chart's icon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Icon {
    /// The chart's icon file, a PNG, with its bytes.
    Found {
        /// The icon's path in the chart.
        path: String,
        /// Its bytes.
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    /// No usable icon, and why.
    Missing {
        /// Why, in a sentence.
        reason: String,
    },
}

/// Reads the icon `icon` (Chart.yaml's field) of the chart unpacked at `dir`.
pub fn chart_icon(dir: &Path, icon: &str) -> Icon {
    let missing = |reason: String| Icon::Missing { reason };
    let icon = icon.trim();
    if icon.is_empty() {
        return missing("the chart has no icon".into());
    }
    let local = icon.strip_prefix("file://").unwrap_or(icon);
    if local.contains("://") || local.starts_with("data:") {
        return missing(format!(
            "the chart's icon is {icon}, not a file in the chart (packreg downloads nothing)"
        ));
    }
    let rel = Path::new(local.trim_start_matches("./"));
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return missing(format!(
            "the chart's icon {icon} is not a file inside the chart"
        ));
    }
    let path = dir.join(rel);
    // The chart came from outside: read a regular file only, and a bounded one.
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => meta,
        _ => {
            return missing(format!(
                "the chart's icon {icon} is not a file in the chart"
            ))
        }
    };
    if meta.len() > MAX_ICON_BYTES {
        return missing(format!("the chart's icon {icon} is larger than 4 MiB"));
    }
    match std::fs::read(&path) {
        Ok(bytes) if bytes.starts_with(PNG_MAGIC) => Icon::Found {
            path: local.to_string(),
            bytes,
        },
        Ok(_) => missing(format!(
            "the chart's icon {icon} is not a PNG image, which Palette needs"
        )),
        Err(e) => missing(format!("the chart's icon {icon} cannot be read: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_in_the_chart_is_taken_anything_else_is_said() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("assets")).unwrap();
        std::fs::write(tmp.path().join("assets/icon.png"), b"\x89PNG\r\n\x1a\nxx").unwrap();
        std::fs::write(tmp.path().join("icon.svg"), b"<svg/>").unwrap();
        match chart_icon(tmp.path(), "./assets/icon.png") {
            Icon::Found { path, bytes } => {
                assert_eq!(path, "./assets/icon.png");
                assert!(bytes.starts_with(PNG_MAGIC));
            }
            other => panic!("{other:?}"),
        }
        let reason = |icon: &str| match chart_icon(tmp.path(), icon) {
            Icon::Missing { reason } => reason,
            other => panic!("{other:?}"),
        };
        assert!(reason("").contains("no icon"));
        assert!(reason("https://example.com/i.png").contains("not a file in the chart"));
        assert!(reason("icon.svg").contains("not a PNG"));
        assert!(reason("../outside.png").contains("not a file inside the chart"));
        assert!(reason("/etc/passwd").contains("not a file inside the chart"));
        assert!(reason("missing.png").contains("not a file in the chart"));
    }
}
