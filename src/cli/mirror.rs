//! `packreg mirror`, `packreg export` and `packreg import`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use packreg::ops::bundle::{export, import};
use packreg::ops::mirror::{mirror, MirrorOptions, MirrorSummary};
use packreg::reference::{is_repository_component, version_to_tag, PackRef, Selector};
use packreg::store::{open_store_pair, Store, StoreOptions};

use super::output::escape_controls;
use super::version_filter::VersionFlags;
use super::{Cli, Failure, Output};

/// Connection flags of one side of a copy, over the global ones (as `oras cp` has them).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SideFlags {
    /// Source: talk plain HTTP.
    #[arg(long)]
    pub from_plain_http: bool,
    /// Source: skip TLS verification.
    #[arg(long)]
    pub from_insecure: bool,
    /// Source: trust this CA certificate (PEM).
    #[arg(long, value_name = "PEM")]
    pub from_ca_file: Option<PathBuf>,
    /// Destination: talk plain HTTP.
    #[arg(long)]
    pub to_plain_http: bool,
    /// Destination: skip TLS verification.
    #[arg(long)]
    pub to_insecure: bool,
    /// Destination: trust this CA certificate (PEM).
    #[arg(long, value_name = "PEM")]
    pub to_ca_file: Option<PathBuf>,
}

/// Which packs to copy.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Selection {
    /// Only packs whose name contains this text.
    #[arg(long = "name", value_name = "SUBSTR")]
    pub filter: Option<String>,
    /// Read NAME[:TAG] lines from this file (for registries that refuse _catalog).
    #[arg(long, value_name = "FILE")]
    pub names_from: Option<PathBuf>,
    /// Report what would be copied; copy nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Move destination tags that point at another digest (export: replace an existing
    /// bundle file).
    #[arg(long)]
    pub force: bool,
    /// Blobs copied at once (default: $PACKREG_CONCURRENCY, else config.toml, else 4).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=packreg::config::MAX_CONCURRENCY as i64))]
    pub concurrency: Option<u16>,
    /// Copy the container images the packs declare too, to
    /// <destination>/<source host>/<source path>.
    #[arg(long)]
    pub with_images: bool,
    /// With --with-images: an image that cannot be found is a warning, not a failure of its
    /// pack.
    #[arg(long, requires = "with_images")]
    pub skip_missing_images: bool,
    #[command(flatten)]
    pub verify: super::trust::TrustFlags,
}

/// `--fail-fast` of mirror and import (export always stops at the first failure).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FailFast {
    /// Stop at the first pack that fails (default: copy the rest, report every failure).
    #[arg(long)]
    pub fail_fast: bool,
}

/// Arguments of `mirror`.
#[derive(Debug, clap::Args)]
pub struct MirrorArgs {
    /// Source: oci:PATH or host[:port][/base/path].
    pub src: String,
    /// Destination: oci:PATH or host[:port][/base/path].
    pub dst: String,
    /// Packs to copy, as NAME or NAME:TAG (default: every pack the source lists).
    pub packs: Vec<String>,
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub versions: VersionFlags,
    #[command(flatten)]
    pub fail_fast: FailFast,
    #[command(flatten)]
    pub sides: SideFlags,
}

/// Arguments of `export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Packs to export, as NAME or NAME:VERSION in the store of -r, or as full references
    /// naming their store, REGISTRY/spectro-packs/archive/NAME[:VERSION] (REGISTRY is
    /// host[:port][/base] or oci:PATH).
    pub packs: Vec<String>,
    /// Export every pack of the registry.
    #[arg(long, conflicts_with = "packs")]
    pub all: bool,
    /// The bundle to write (a tar).
    #[arg(short, long, value_name = "BUNDLE.tar")]
    pub output: PathBuf,
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub versions: VersionFlags,
}

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The bundle written by `packreg export`.
    pub bundle: PathBuf,
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub versions: VersionFlags,
    #[command(flatten)]
    pub fail_fast: FailFast,
}

fn parse_names(
    packs: &[String],
    file: Option<&PathBuf>,
) -> Result<Vec<(String, Option<String>)>, Failure> {
    let mut items: Vec<String> = packs.to_vec();
    if let Some(file) = file {
        let text = std::fs::read_to_string(file).map_err(|e| Failure {
            message: format!("{}: cannot read the names file: {e}", file.display()),
            code: 2,
            kind: super::failure::Kind::InvalidInput,
        })?;
        items.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    items
        .iter()
        .map(|item| {
            let (name, tag) = match item.split_once(':') {
                Some((n, t)) => (n, Some(version_to_tag(t))),
                None => (item.as_str(), None),
            };
            if !is_repository_component(name) {
                return Err(Failure {
                    message: format!("{name:?} is not a valid pack name"),
                    code: 2,
                    kind: super::failure::Kind::InvalidInput,
                });
            }
            Ok((name.to_string(), tag))
        })
        .collect()
}

fn options(
    cli: &Cli,
    selection: &Selection,
    names: Vec<(String, Option<String>)>,
    out: &Output,
    verb: &str,
) -> Result<MirrorOptions, Failure> {
    Ok(MirrorOptions {
        filter: selection.filter.clone(),
        names,
        versions: None,
        latest: None,
        dry_run: selection.dry_run,
        force: selection.force,
        concurrency: super::config::concurrency(selection.concurrency, out)?,
        fail_fast: false,
        progress: super::progress::for_output(out, verb),
        with_images: selection.with_images,
        skip_missing_images: selection.skip_missing_images,
        // The images' own registries: their own settings sections, never the TLS flags.
        image_sources: super::config::image_store_options(cli, out)?,
        image_upstreams: true,
        verify: super::trust::gate(&selection.verify)?,
    })
}

/// Prints what a copy did. `keep_when_quiet`: the summary line is printed even with
/// `--quiet` (export's, which says what the bundle holds); else `--quiet` silences it.
fn report(summary: &mut MirrorSummary, out: &Output, what: &str, keep_when_quiet: bool) {
    super::advice::word_warnings(&mut summary.warnings);
    super::advice::word_failures(&mut summary.failures);
    if summary.names_from_index && !out.quiet {
        // On stderr, also with --json, so scripts see it without it spoiling the data.
        eprintln!("note: the source refuses to list its repositories (_catalog); the pack names come from its pack index (spectro-packs/packreg-index:latest)");
    }
    out.warnings(&summary.warnings);
    if out.json {
        out.print_json(summary);
        return;
    }
    let verb = if summary.dry_run {
        "would copy"
    } else {
        "copied"
    };
    let summary_line = |line: String| {
        if keep_when_quiet || !out.quiet {
            out.data(line);
        }
    };
    summary_line(format!(
        "{what}: {} pack(s); tags {verb} {}, unchanged {}, conflicting {}; manifests {verb} {}; blobs {verb} {}, skipped {}, mounted {}; {} bytes; referrers {}",
        summary.packs,
        summary.tags_copied,
        summary.tags_unchanged,
        summary.conflicts.len(),
        summary.manifests_copied,
        summary.blobs_copied,
        summary.blobs_skipped,
        summary.blobs_mounted,
        summary.bytes_copied,
        summary.referrers_copied,
    ));
    if summary.dry_run {
        // What the real run writes, tag by tag: the dry run's data.
        for tag in &summary.copied_tags {
            summary_line(format!("  would copy {tag}"));
        }
    }
    for conflict in &summary.conflicts {
        out.status(format!(
            "  left alone (pass --force to move it): {conflict}"
        ));
    }
    if !summary.images.is_empty() || !summary.images_not_in_source.is_empty() {
        let copied = summary.images.iter().filter(|i| i.copied).count();
        summary_line(format!(
            "{what}: images {verb} {copied}, already there {}",
            summary.images.len() - copied
        ));
    }
    for image in &summary.images {
        let state = match (image.copied, summary.dry_run) {
            (true, true) => "would copy",
            (true, false) => "copied",
            (false, _) => "already there",
        };
        out.status(format!(
            "  image {} -> {} ({state})",
            escape_controls(&image.source, false),
            escape_controls(&image.destination, false)
        ));
    }
    for image in &summary.images_not_in_source {
        out.status(format!(
            "  image {} is not in the source; left out (pass --with-images to fetch it from its registry)",
            escape_controls(image, false)
        ));
    }
    if !summary.failures.is_empty() {
        // Failures are the command's error report: printed even with --quiet.
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(
            stderr,
            "error: {} pack(s) or tag(s) could not be copied:",
            summary.failures.len()
        );
        for failure in &summary.failures {
            let _ = writeln!(stderr, "  {failure}");
        }
    }
}

/// The connection options of the two sides: the global flags, with each side's own over
/// them; two calls of the same resolver.
pub fn side_options(
    cli: &Cli,
    sides: &SideFlags,
    out: &Output,
) -> Result<(StoreOptions, StoreOptions), Failure> {
    let side = |plain_http: bool, insecure: bool, ca_file: &Option<PathBuf>| {
        let mut flags = super::config::global_flags(cli);
        flags.plain_http |= plain_http;
        flags.insecure |= insecure;
        if ca_file.is_some() {
            flags.ca_file = ca_file.clone();
        }
        super::config::store_options(cli, &flags, out)
    };
    let from = side(
        sides.from_plain_http,
        sides.from_insecure,
        &sides.from_ca_file,
    )?;
    let to = side(sides.to_plain_http, sides.to_insecure, &sides.to_ca_file)?;
    Ok((from, to))
}

pub fn run_mirror(args: &MirrorArgs, cli: &Cli, out: &Output) -> Result<ExitCode, Failure> {
    let names = parse_names(&args.packs, args.selection.names_from.as_ref())?;
    let (from, to) = side_options(cli, &args.sides, out)?;
    let mut opts = MirrorOptions {
        fail_fast: args.fail_fast.fail_fast,
        ..options(cli, &args.selection, names, out, "mirror")?
    };
    args.versions.apply(&mut opts)?;
    super::run_interruptible(
        super::runtime()?,
        Box::pin(async move {
            let (src, dst) = open_store_pair(&args.src, &from, &args.dst, &to)
                .await
                .map_err(Failure::from)?;
            let hosts = [dst.registry_id(), src.registry_id()];
            opts.verify = super::trust::gate_for(&args.selection.verify, &hosts, out)?;
            let mut summary = mirror(src.as_ref(), dst.as_ref(), &opts).await?;
            args.versions.word_labels_left_out(&mut summary);
            let what = format!("{} -> {}", args.src, args.dst);
            report(&mut summary, out, &what, false);
            Ok(exit_code(&summary))
        }),
    )
}

fn exit_code(summary: &MirrorSummary) -> ExitCode {
    if summary.conflicts.is_empty() && summary.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

pub async fn run_export(
    args: &ExportArgs,
    packs: &[PackRef],
    cli: &Cli,
    out: &Output,
    store: &dyn Store,
) -> Result<ExitCode, Failure> {
    if args.packs.is_empty() && !args.all {
        return Err(Failure {
            message: "name the packs to export (NAME or NAME:VERSION), or pass --all".into(),
            code: 2,
            kind: super::failure::Kind::InvalidInput,
        });
    }
    let mut names = packs
        .iter()
        .map(|pack| match &pack.selector {
            Selector::Latest => Ok((pack.name.clone(), None)),
            Selector::Tag(tag) => Ok((pack.name.clone(), Some(tag.clone()))),
            // A bundle carries tags, which a digest has none of.
            Selector::Digest(_) => Err(Failure::usage(format!(
                "{pack}: export takes NAME or NAME:VERSION, not a digest"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    names.extend(parse_names(&[], args.selection.names_from.as_ref())?);
    let mut opts = options(cli, &args.selection, names, out, "export")?;
    args.versions.apply(&mut opts)?;
    opts.verify = super::trust::gate_for(&args.selection.verify, &[store.registry_id()], out)?;
    let mut summary = export(store, &args.output, &opts).await?;
    args.versions.word_labels_left_out(&mut summary);
    // The images went into a staging folder, now gone: they are in the bundle.
    for image in &mut summary.images {
        image.destination = args.output.display().to_string();
    }
    report(
        &mut summary,
        out,
        &format!("{} -> {}", store.location(), args.output.display()),
        true,
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn run_import(
    args: &ImportArgs,
    cli: &Cli,
    out: &Output,
    store: &dyn Store,
) -> Result<ExitCode, Failure> {
    // A bundle is one unit: the images it holds come with its packs. --with-images also
    // fetches, from their own registries, the images it lacks.
    let mut opts = MirrorOptions {
        fail_fast: args.fail_fast.fail_fast,
        with_images: true,
        image_upstreams: args.selection.with_images,
        ..options(cli, &args.selection, Vec::new(), out, "import")?
    };
    args.versions.apply(&mut opts)?;
    opts.verify = super::trust::gate_for(&args.selection.verify, &[store.registry_id()], out)?;
    let mut summary = import(&args.bundle, store, &opts).await?;
    args.versions.word_labels_left_out(&mut summary);
    report(
        &mut summary,
        out,
        &format!("{} -> {}", args.bundle.display(), store.location()),
        false,
    );
    Ok(exit_code(&summary))
}
