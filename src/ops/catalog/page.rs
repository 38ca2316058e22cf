//! One pack's page: the card's facts, the pull command, the README (rendered and sanitised),
//! the versions, charts, images, dependencies and constraints, and each version's values.yaml.

use super::html::{escape, labels, page};
use super::markdown::render_readme;
use super::model::{Card, PackPage, VersionRow};

/// The file name of pack `name`'s page, inside the site's `packs/` folder. `name` is a valid
/// pack name (a repository component: lowercase letters, digits, `.`, `_`, `-`, never `..`).
pub fn page_file(name: &str) -> String {
    format!("{name}.html")
}

/// The file name of the logo of `card`, inside `packs/`.
pub fn logo_file(card: &Card) -> Option<String> {
    card.logo
        .map(|kind| format!("{}.logo.{}", card.name, kind.extension()))
}

/// The logo element of `card` (a site file, or the name's initial).
pub fn logo_element(card: &Card, prefix: &str) -> String {
    match logo_file(card) {
        Some(file) => format!(
            "<img class=\"logo\" src=\"{}{}\" alt=\"\">",
            escape(prefix),
            escape(&file)
        ),
        None => {
            let initial = card
                .display_name
                .as_deref()
                .unwrap_or(&card.name)
                .chars()
                .next()
                .map(|c| c.to_uppercase().to_string())
                .unwrap_or_default();
            format!("<span class=\"nologo\">{}</span>", escape(&initial))
        }
    }
}

fn or_dash(value: Option<&str>) -> String {
    value.map_or_else(|| "-".into(), escape)
}

/// The HTML of `pack`'s page; `pull_command` is the command its reference is appended to.
pub fn render_pack(pack: &PackPage, store: &str, pull_command: &str) -> String {
    let card = &pack.card;
    let title = card.display_name.as_deref().unwrap_or(&card.name);
    let mut body = format!(
        "<header><a href=\"../index.html\">&larr; all packs</a> &middot; {}</header>\n<main>\n",
        escape(store)
    );
    body.push_str(&format!(
        "<div class=\"card head\">{}<div><h1 id=\"pack-title\">{}</h1>\
<div class=\"meta\"><code>{}</code> &middot; layer {} &middot; {} &middot; latest {}</div>\
<div>{}</div></div></div>\n",
        logo_element(card, ""),
        escape(title),
        escape(&card.name),
        or_dash(card.layer.as_deref()),
        or_dash(card.addon_type.as_deref()),
        or_dash(card.latest.as_deref()),
        labels(&card.labels),
    ));
    for note in &pack.notes {
        body.push_str(&format!("<p class=\"note\">note: {}</p>\n", escape(note)));
    }
    if let Some(reference) = &pack.pull_reference {
        body.push_str(&format!(
            "<h2>Pull</h2>\n<pre id=\"pull\"><code>{} {}</code></pre>\n",
            escape(pull_command),
            escape(reference)
        ));
    }
    if let Some(readme) = &pack.readme {
        body.push_str(&format!(
            "<h2>README</h2>\n<div class=\"readme\">{}</div>\n",
            render_readme(readme)
        ));
    }
    body.push_str(&versions_table(&pack.versions));
    if !pack.charts.is_empty() {
        body.push_str(
            "<h2>Charts</h2>\n<table><tr><th>chart</th><th>version</th><th>file</th></tr>\n",
        );
        for chart in &pack.charts {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
                escape(&chart.name),
                or_dash(chart.version.as_deref()),
                escape(&chart.path)
            ));
        }
        body.push_str("</table>\n");
    }
    if !pack.images.is_empty() {
        body.push_str(&images_table(&pack.images, pack.presence.as_ref()));
    }
    if !pack.dependencies.is_empty() {
        body.push_str("<h2>Dependencies</h2>\n<table><tr><th>pack</th><th>layer</th><th>type</th><th>min version</th><th>max version</th></tr>\n");
        for d in &pack.dependencies {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                escape(&d.pack),
                or_dash(d.layer.as_deref()),
                or_dash(d.kind.as_deref()),
                or_dash(d.min_version.as_deref()),
                or_dash(d.max_version.as_deref()),
            ));
        }
        body.push_str("</table>\n");
    }
    if let Some(constraints) = &pack.other_constraints {
        body.push_str(&format!(
            "<h2>Constraints</h2>\n<pre>{}</pre>\n",
            escape(constraints)
        ));
    }
    body.push_str(&values_section(&pack.versions));
    body.push_str("</main>");
    page(&format!("{title} - packs"), &body, None)
}

fn versions_table(rows: &[VersionRow]) -> String {
    let mut out = String::from(
        "<h2>Versions</h2>\n<table id=\"versions\"><tr><th>version</th><th>labels</th><th>parent tags</th>\
<th>pushed</th><th>digest</th><th>size</th><th>format</th><th>signatures</th></tr>\n",
    );
    for row in rows {
        let signatures = match &row.signatures {
            Some(s) if s.is_empty() => "none".to_string(),
            Some(s) => escape(&s.join(", ")),
            None => "unknown".to_string(),
        };
        out.push_str(&format!(
            "<tr class=\"version\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code class=\"digest\">{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&row.version),
            labels(&row.labels),
            escape(&row.parent_tags.join(", ")),
            or_dash(row.created.as_deref()),
            escape(row.digest.as_str()),
            row.size.map_or_else(|| "-".into(), size_text),
            escape(&row.format),
            signatures,
        ));
    }
    out.push_str("</table>\n");
    out
}

/// A size for people: bytes, KiB, MiB or GiB with one decimal.
fn size_text(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            return format!("{:.1} {unit}", bytes as f64 / size as f64);
        }
    }
    format!("{bytes} B")
}

/// The images, with a column saying whether each is at its mapped place in the store checked
/// (`--check`).
fn images_table(images: &[String], presence: Option<&super::model::Presence>) -> String {
    let mut html = String::from("<h2>Images</h2>\n<table><tr><th>image</th>");
    if let Some(p) = presence {
        html.push_str(&format!("<th>in {}</th>", escape(&p.store)));
    }
    html.push_str("</tr>\n");
    for image in images {
        html.push_str(&format!("<tr><td><code>{}</code></td>", escape(image)));
        if let Some(p) = presence {
            html.push_str(match p.images.get(image) {
                Some(true) => "<td class=\"present\">present</td>",
                Some(false) => "<td class=\"missing\">missing</td>",
                None => "<td>-</td>",
            });
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
    html
}

/// Each version's values.yaml, the latest open: a reader picks a version by opening its
/// entry (no script needed).
fn values_section(rows: &[VersionRow]) -> String {
    let with_values: Vec<(usize, &VersionRow, &str)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, row)| row.values.as_deref().map(|v| (i, row, v)))
        .collect();
    if with_values.is_empty() {
        return String::new();
    }
    let mut html = String::from("<h2>values.yaml</h2>\n");
    for (i, row, values) in with_values {
        let (open, id) = match i {
            0 => (" open", " id=\"values\""),
            _ => ("", ""),
        };
        html.push_str(&format!(
            "<details class=\"values\"{open}><summary>{}</summary><pre{id}>{}</pre></details>\n",
            escape(&row.version),
            escape(values)
        ));
    }
    html
}
