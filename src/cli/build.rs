//! `packreg build <CHART> <OUT_DIR>`.

use std::path::PathBuf;
use std::process::ExitCode;

use packreg::pack::build::{build_from_chart, BuildOptions};

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
}

pub fn run(args: &Args, out: &Output) -> Result<ExitCode, Failure> {
    let opts = BuildOptions {
        name: args.name.clone(),
        version: args.version.clone(),
        namespace: args.namespace.clone(),
        addon_type: args.addon_type.clone(),
    };
    let made = build_from_chart(&args.chart, &args.out_dir, &opts)?;
    if out.json {
        out.print_json(&serde_json::json!({
            "dir": made.dir,
            "name": made.name,
            "version": made.version,
            "chart": made.chart_file,
        }));
    } else {
        out.status(format!(
            "built pack {}:{} in {} from {}",
            made.name,
            made.version,
            made.dir.display(),
            args.chart.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
