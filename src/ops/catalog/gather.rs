//! Gathering one pack's page from a store: its tags and what they point at, each version's
//! manifest and signatures, and the latest version's pack.json, README, values and logo.

use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt};
use serde_json::Value;

use super::super::transfer::parse_manifest;
use super::super::OpError;
use super::files::read_pack_file;
use super::logo::{LogoKind, LOGO_FILES, MAX_LOGO_BYTES};
use super::model::{Card, Chart, Dependency, PackPage, VersionRow};
use crate::artifact::{classify, Format};
use crate::digest::Digest;
use crate::image::{declared, ImageRef};
use crate::oci::{Manifest, ANNOTATION_CREATED};
use crate::reference::pack_repository;
use crate::store::Store;
use crate::tag_grammar::{
    compare_version_tags, is_parent_tag, is_referrers_tag, is_version_tag, tag_to_version,
};

/// The most a README or values.yaml shown is (larger ones are named, not shown).
pub const MAX_TEXT_BYTES: u64 = 1024 * 1024;
/// pack.json, at most.
const MAX_PACK_JSON: u64 = crate::limits::MAX_PACK_JSON_BYTES;
/// Versions whose manifests and signatures are read at once.
const CONCURRENCY: usize = 8;

/// How the page names a version in its pull command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStyle {
    /// The full reference in the store read (a registry or `oci:` layout).
    Full,
    /// `NAME:VERSION`, for a bundle: pulled from wherever it is imported.
    Name,
}

/// Every tag of `name`'s repository with the digest it points at: all a no-op run reads.
pub async fn tag_map(store: &dyn Store, name: &str) -> Result<BTreeMap<String, Digest>, OpError> {
    let repo = pack_repository(name);
    Ok(super::super::resolve::tag_digests(store, &repo)
        .await?
        .into_iter()
        .collect())
}

/// The page of pack `name`, whose tags point where `tags` says.
pub async fn gather_pack(
    store: &dyn Store,
    name: &str,
    tags: &BTreeMap<String, Digest>,
    pull: PullStyle,
) -> Result<PackPage, OpError> {
    let repo = pack_repository(name);
    let mut versions: Vec<&String> = tags.keys().filter(|t| is_version_tag(t)).collect();
    versions.sort_by(|a, b| compare_version_tags(b, a));
    let labels: Vec<(&String, &Digest)> = tags
        .iter()
        .filter(|(t, _)| !is_version_tag(t) && !is_parent_tag(t) && !is_referrers_tag(t))
        .collect();
    let parents: Vec<(&String, &Digest)> = tags.iter().filter(|(t, _)| is_parent_tag(t)).collect();
    let repo_ref = repo.as_str();
    let rows: Vec<Fetched> = stream::iter(versions.iter().map(|t| (*t).clone()))
        .map(|tag| async move { version_row(store, repo_ref, tag).await })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut rows_out = Vec::new();
    let mut latest_manifest = None;
    for row in rows {
        let Some((mut row, manifest)) = row? else {
            continue;
        };
        let pick = |list: &[(&String, &Digest)]| -> Vec<String> {
            list.iter()
                .filter(|(_, d)| **d == row.digest)
                .map(|(t, _)| (*t).clone())
                .collect()
        };
        row.labels = pick(&labels);
        row.parent_tags = pick(&parents);
        if latest_manifest.is_none() {
            latest_manifest = manifest.map(|m| (row.tag.clone(), m));
        }
        rows_out.push(row);
    }
    let mut all_labels: Vec<String> = labels.iter().map(|(t, _)| (*t).clone()).collect();
    all_labels.sort();
    let mut page = PackPage {
        card: Card {
            name: name.to_string(),
            display_name: None,
            layer: None,
            addon_type: None,
            latest: rows_out.first().map(|r| r.version.clone()),
            labels: all_labels,
            versions: rows_out.len(),
            logo: None,
        },
        versions: rows_out,
        readme: None,
        charts: Vec::new(),
        images: Vec::new(),
        presence: None,
        dependencies: Vec::new(),
        other_constraints: None,
        pull_reference: None,
        logo: None,
        notes: Vec::new(),
    };
    if let Some((tag, manifest)) = latest_manifest {
        page.pull_reference = Some(match pull {
            PullStyle::Full => store.reference(&repo, &tag),
            PullStyle::Name => format!("{name}:{tag}"),
        });
        latest_files(store, &repo, &manifest, &mut page).await;
    }
    Ok(page)
}

/// A version's row and its manifest (when a pack's); None when the tag vanished meanwhile.
type Fetched = Result<Option<(VersionRow, Option<Manifest>)>, OpError>;

/// The row of version `tag`, with its parsed manifest; None when the tag vanished meanwhile.
async fn version_row(store: &dyn Store, repo: &str, tag: String) -> Fetched {
    let raw = match store.get_manifest(repo, &tag).await {
        Ok(raw) => raw,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let manifest = parse_manifest(store, repo, &raw).ok();
    let format = manifest.as_ref().and_then(|m| classify(m).ok());
    let size = manifest.as_ref().and_then(|m| {
        m.layers
            .iter()
            .try_fold(m.config.size, |sum, l| sum.checked_add(l.size))
    });
    let created = manifest
        .as_ref()
        .and_then(|m| m.annotations.get(ANNOTATION_CREATED))
        .cloned();
    let signatures = super::super::signatures::formats_of(store, repo, &raw.digest)
        .await
        .map(|found| {
            let mut formats: Vec<String> = found.iter().map(ToString::to_string).collect();
            formats.dedup();
            formats
        });
    // Each version's values.yaml, for the page to show the one a reader picks; a version
    // whose file cannot be read shows none (the latest's error is a note on the page).
    let values = match (&manifest, format) {
        (Some(m), Some(format)) => {
            read_pack_file(store, repo, m, format, "values.yaml", MAX_TEXT_BYTES)
                .await
                .ok()
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        }
        _ => None,
    };
    let row = VersionRow {
        version: tag_to_version(&tag),
        tag,
        digest: raw.digest,
        size,
        format: format.map_or_else(|| "unknown".into(), |f| f.to_string()),
        created,
        labels: Vec::new(),
        parent_tags: Vec::new(),
        signatures,
        values,
    };
    // Only a pack's manifest is worth reading files from.
    Ok(Some((row, manifest.filter(|_| format.is_some()))))
}

/// Reads the latest version's pack.json, README, values.yaml and logo into `page`. What
/// cannot be read becomes a note on the page, never a failed catalogue.
async fn latest_files(store: &dyn Store, repo: &str, manifest: &Manifest, page: &mut PackPage) {
    let Ok(format) = classify(manifest) else {
        return;
    };
    let read =
        |file: &'static str, limit: u64| read_pack_file(store, repo, manifest, format, file, limit);
    match read("pack.json", MAX_PACK_JSON).await {
        Ok(Some(bytes)) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(pack) => apply_pack_json(&pack, page),
            Err(e) => page.notes.push(format!("pack.json does not parse: {e}")),
        },
        Ok(None) => page
            .notes
            .push("the latest version has no pack.json".into()),
        Err(e) => page.notes.push(e.to_string()),
    }
    match read("README.md", MAX_TEXT_BYTES).await {
        Ok(bytes) => page.readme = bytes.map(|b| String::from_utf8_lossy(&b).into_owned()),
        Err(e) => page.notes.push(e.to_string()),
    }
    // The latest values.yaml was read with its row (once); read again only for its error.
    match page.versions.first().and_then(|row| row.values.as_deref()) {
        Some(text) => page.images = images_of(text),
        None => {
            if let Err(e) = read("values.yaml", MAX_TEXT_BYTES).await {
                page.notes.push(e.to_string());
            }
        }
    }
    read_logo(store, repo, manifest, format, page).await;
}

/// The first logo file the version has, kept only when its bytes are a raster image.
async fn read_logo(
    store: &dyn Store,
    repo: &str,
    manifest: &Manifest,
    format: Format,
    page: &mut PackPage,
) {
    // In a tarball every name costs a read of its head: only the usual one is looked for.
    let names: &[&str] = match format {
        Format::Palette => &LOGO_FILES[..1],
        _ => LOGO_FILES,
    };
    for file in names {
        match read_pack_file(store, repo, manifest, format, file, MAX_LOGO_BYTES).await {
            Ok(Some(bytes)) => {
                match LogoKind::sniff(&bytes) {
                    Some(kind) => {
                        page.card.logo = Some(kind);
                        page.logo = Some(bytes);
                    }
                    None => page.notes.push(format!(
                        "{file} is not a PNG, JPEG, GIF or WebP image: not shown"
                    )),
                }
                return;
            }
            Ok(None) => {}
            Err(e) => {
                page.notes.push(e.to_string());
                return;
            }
        }
    }
}

/// The card fields, charts and constraints of pack.json.
fn apply_pack_json(pack: &Value, page: &mut PackPage) {
    let text = |key: &str| {
        pack.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    page.card.display_name = text("displayName");
    page.card.layer = text("layer");
    page.card.addon_type = text("addonType");
    page.charts = pack
        .get("charts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(chart_of)
        .collect();
    let Some(constraints) = pack.get("constraints").and_then(Value::as_object) else {
        return;
    };
    page.dependencies = constraints
        .get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let field = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
            Some(Dependency {
                pack: field("packName")?,
                layer: field("layer"),
                min_version: field("minVersion"),
                max_version: field("maxVersion"),
                kind: field("type"),
            })
        })
        .collect();
    let mut others = constraints.clone();
    others.remove("dependencies");
    if !others.is_empty() {
        page.other_constraints = serde_json::to_string_pretty(&others).ok();
    }
}

/// A chart's name and version from its file name (`charts/web-1.2.0.tgz`).
fn chart_of(path: &str) -> Chart {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.strip_suffix(".tgz").unwrap_or(file);
    // Helm names the archive NAME-VERSION.tgz; the version starts at the last '-' followed by
    // a digit.
    let split = stem
        .match_indices('-')
        .filter(|(i, _)| stem[i + 1..].starts_with(|c: char| c.is_ascii_digit()))
        .map(|(i, _)| i)
        .next();
    let (name, version) = match split {
        Some(i) => (stem[..i].to_string(), Some(stem[i + 1..].to_string())),
        None => (stem.to_string(), None),
    };
    Chart {
        name,
        version,
        path: path.to_string(),
    }
}

/// The images values.yaml declares, normalised where they parse, once each.
fn images_of(values: &str) -> Vec<String> {
    let Ok(values) = serde_norway::from_str::<Value>(values) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for text in declared(&values) {
        let image = ImageRef::parse(&text).map_or(text, |i| i.to_string());
        if !out.contains(&image) {
            out.push(image);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_named_by_their_file() {
        assert_eq!(
            chart_of("charts/web-1.2.0.tgz"),
            Chart {
                name: "web".into(),
                version: Some("1.2.0".into()),
                path: "charts/web-1.2.0.tgz".into()
            }
        );
        let c = chart_of("charts/kube-state-metrics-5.10.1.tgz");
        assert_eq!(
            (c.name.as_str(), c.version.as_deref()),
            ("kube-state-metrics", Some("5.10.1"))
        );
        assert_eq!(chart_of("charts/plain.tgz").version, None);
    }
}
