//! `packreg build <CHART> <OUT_DIR>`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use packreg::pack::build::{build_from_chart, BuildOptions};
use packreg::pack::chart_icon::Icon;

use super::{Failure, Output};

/// Arguments of `build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A Helm chart: a packaged `.tgz` or an unpacked chart folder.
    pub chart: PathBuf,
    /// Where to write the pack (a new or empty folder).
    pub out_dir: PathBuf,
    /// Pack name (default: the chart name).
    #[arg(long)]
    pub name: Option<String>,
    /// Pack version (default: the chart version).
    #[arg(long)]
    pub version: Option<String>,
    /// Namespace the chart is installed into (default: the chart name).
    #[arg(long)]
    pub namespace: Option<String>,
    /// The pack's addonType (default: "system app").
    #[arg(long)]
    pub addon_type: Option<String>,
    /// The images for pack.content.images: a file with one image reference per line
    /// (`repo[:tag][@digest]`; blank lines and lines starting with # are skipped), instead of
    /// the images found in the chart's default values.
    #[arg(long, value_name = "FILE")]
    pub images: Option<PathBuf>,
}

/// The largest --images file read: a list of references is a few kilobytes.
const MAX_IMAGES_FILE: u64 = 1024 * 1024;

/// Reads an --images file: one reference a line, each checked, an error naming its line.
fn read_images(path: &Path) -> Result<Vec<String>, Failure> {
    let unreadable =
        |e: std::io::Error| Failure::usage(format!("--images {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let bytes = packreg::limits::read_bounded(file, MAX_IMAGES_FILE, "the image list")
        .map_err(unreadable)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::usage(format!("--images {}: not UTF-8 text", path.display())))?;
    let mut images = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Err(e) = packreg::image::ImageRef::parse(line) {
            return Err(Failure::usage(format!(
                "--images {}:{}: {e}",
                path.display(),
                i + 1
            )));
        }
        if !images.iter().any(|known: &String| known == line) {
            images.push(line.to_string());
        }
    }
    Ok(images)
}

pub fn run(args: &Args, out: &Output) -> Result<ExitCode, Failure> {
    let images = args.images.as_deref().map(read_images).transpose()?;
    let opts = BuildOptions {
        name: args.name.clone(),
        version: args.version.clone(),
        namespace: args.namespace.clone(),
        addon_type: args.addon_type.clone(),
        images,
    };
    let made = build_from_chart(&args.chart, &args.out_dir, &opts)?;
    if out.json {
        out.print_json(&serde_json::json!({
            "dir": made.dir,
            "name": made.name,
            "version": made.version,
            "chart": made.chart_file,
            "images": made.images,
            "foundImages": made.found_images,
            "skippedImages": made.skipped_images,
            "icon": made.icon,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    out.status(format!(
        "built pack {}:{} in {} from {}",
        made.name,
        made.version,
        made.dir.display(),
        args.chart.display()
    ));
    match (&args.images, made.found_images.is_empty()) {
        (Some(file), _) => out.status(format!(
            "images: {} from {} (pack.content.images)",
            made.images.len(),
            file.display()
        )),
        (None, true) => out.status(
            "images: none found in the chart's default values; list them with --images FILE",
        ),
        (None, false) => {
            out.status(
                "images found in the chart's default values, written to pack.content.images \
                 (check them; --images FILE sets them):",
            );
            for image in &made.found_images {
                let app = if image.tag_from_app_version {
                    ", tag from appVersion"
                } else {
                    ""
                };
                out.status(format!(
                    "  {} ({}: {}{app})",
                    image.reference, image.chart, image.key
                ));
            }
        }
    }
    for skipped in &made.skipped_images {
        out.status(format!(
            "note: {skipped}; list the image with --images FILE if the chart needs it"
        ));
    }
    match &made.icon {
        Icon::Found { path, .. } => out.status(format!("logo.png: the chart's icon {path}")),
        Icon::Missing { reason } => out.status(format!(
            "no logo.png: {reason}; add a PNG logo.png to the pack"
        )),
    }
    Ok(ExitCode::SUCCESS)
}
