//! `packreg diff <A> <B>`: what changed between two pack versions, in one store or two, or
//! between a pack folder and a pushed pack (or two folders), before anything is pushed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use packreg::ops::diff::{diff_sides, render, DiffOptions, DiffSide};
use packreg::reference::{parse_located, PackRef};
use packreg::store::{open_store, open_store_pair, Store};

use super::mirror::{side_options, SideFlags};
use super::{Cli, Failure, Output};

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The first pack: NAME[:TAG|@DIGEST] in --from-registry (default: -r), a full
    /// reference as packreg prints them, REGISTRY/spectro-packs/archive/NAME[:TAG]
    /// (REGISTRY is oci:PATH or host[:port][/base]), or a pack folder (nothing is uploaded).
    /// A path starting with ./ ../ or / (or . or ..) is a folder; so is any other argument
    /// naming a folder that holds pack.json (write NAME:TAG for the pushed pack then).
    pub from: String,
    /// The second pack, written the same way, in --to-registry (default: -r).
    pub to: String,
    /// Show a unified diff of each changed text file, the files inside charts included
    /// (bounded: 1 MiB and 2 s a file, 10 s for all).
    #[arg(long)]
    pub patch: bool,
    /// Print only how many entries of each section differ.
    #[arg(long, conflicts_with = "patch")]
    pub stat: bool,
    /// Registry or local store (oci:PATH) of the first pack.
    #[arg(long, value_name = "REGISTRY")]
    pub from_registry: Option<String>,
    /// Registry or local store (oci:PATH) of the second pack.
    #[arg(long, value_name = "REGISTRY")]
    pub to_registry: Option<String>,
    #[command(flatten)]
    pub sides: SideFlags,
}

/// Any failure of a diff leaves with 2, as diff(1) does: 1 means "different".
fn trouble(failure: Failure) -> Failure {
    match failure.code {
        1 => Failure {
            message: failure.message,
            code: 2,
            kind: failure.kind,
        },
        _ => failure,
    }
}

type StoreBox = Box<dyn Store>;

/// One side as given on the command line: a pack folder, or a pack in a store.
enum Arg {
    Folder(PathBuf),
    Pack(Option<String>, PackRef),
}

/// Whether `text` is written as a path: `.`, `..`, or starting with `./`, `../` or `/`.
fn path_like(text: &str) -> bool {
    text == "."
        || text == ".."
        || text.starts_with("./")
        || text.starts_with("../")
        || text.starts_with('/')
}

/// Decides what one side names. A path-like argument is always a folder (a pack reference
/// never starts so); any other names a folder when such a folder holds pack.json, and else is
/// a reference. When it could have been both, a note says which was taken.
fn side_arg(text: &str, out: &Output) -> Result<Arg, Failure> {
    let dir = Path::new(text);
    if path_like(text) {
        if !dir.join("pack.json").is_file() {
            return Err(Failure::usage(format!(
                "{text}: not a pack folder (no pack.json in it); a path starting with ./ ../ or / \
                 names a pack folder"
            )));
        }
        return Ok(Arg::Folder(dir.to_path_buf()));
    }
    if dir.join("pack.json").is_file() {
        if parse_located(text).is_ok() {
            out.status(format!(
                "note: {text} is read as the pack folder ./{text}; for a pushed pack write \
                 NAME:TAG or its full reference"
            ));
        }
        return Ok(Arg::Folder(dir.to_path_buf()));
    }
    let (registry, pack) = located(text)?;
    Ok(Arg::Pack(registry, pack))
}

/// Parses one side's reference; a path without the packs' prefix gets a hint.
fn located(text: &str) -> Result<(Option<String>, PackRef), Failure> {
    parse_located(text).map_err(|e| {
        let hint = if text.contains('/') {
            "; a reference naming its store is REGISTRY/spectro-packs/archive/NAME:TAG, and a \
             pack folder is written ./PATH"
        } else {
            ""
        };
        Failure {
            message: format!("{text}: {e}{hint}"),
            code: 2,
            kind: super::failure::Kind::InvalidInput,
        }
    })
}

/// The library's side for `arg`, reading a pack from `store`.
fn side<'a>(arg: &'a Arg, store: Option<&'a dyn Store>) -> Result<DiffSide<'a>, Failure> {
    match (arg, store) {
        (Arg::Folder(dir), _) => Ok(DiffSide::Folder(dir)),
        (Arg::Pack(_, pack), Some(store)) => Ok(DiffSide::Stored(store, pack)),
        (Arg::Pack(..), None) => Err(Failure::with_kind(
            "no store was opened for a pack side",
            super::failure::Kind::Internal,
        )),
    }
}

pub fn run(args: &Args, cli: &Cli, out: &Output) -> Result<ExitCode, Failure> {
    let from = side_arg(&args.from, out)?;
    let to = side_arg(&args.to, out)?;
    for (arg, flag, given) in [
        (&from, "--from-registry", &args.from_registry),
        (&to, "--to-registry", &args.to_registry),
    ] {
        if let (Arg::Folder(dir), Some(_)) = (arg, given) {
            return Err(Failure::usage(format!(
                "{flag} names a store, but {} is a pack folder",
                dir.display()
            )));
        }
    }
    let registry = match (&from, &to) {
        (Arg::Folder(_), Arg::Folder(_)) => None,
        _ => super::config::registry(cli.registry.as_deref(), out)?,
    };
    // A reference that names its store wins over the flags.
    let store_of = |arg: &Arg, flag: &Option<String>| match arg {
        Arg::Folder(_) => None,
        Arg::Pack(reg, _) => Some(
            reg.clone()
                .or_else(|| flag.clone())
                .or_else(|| registry.clone()),
        ),
    };
    let from_reg = store_of(&from, &args.from_registry);
    let to_reg = store_of(&to, &args.to_registry);
    let (from_opts, to_opts) = side_options(cli, &args.sides, out)?;
    let opts = DiffOptions {
        patch: args.patch,
        ..DiffOptions::default()
    };
    let runtime = super::runtime().map_err(trouble)?;
    let result = super::run_interruptible(
        runtime,
        Box::pin(async move {
            let open_failed = |e: packreg::store::StoreError| Failure::from(e);
            let sides = &args.sides;
            let same_flags = sides.from_plain_http == sides.to_plain_http
                && sides.from_insecure == sides.to_insecure
                && sides.from_ca_file == sides.to_ca_file;
            // One store serves both sides when they name the same one with the same flags.
            let shared = matches!((&from_reg, &to_reg), (Some(x), Some(y)) if x == y && same_flags);
            let open = |reg: Option<Option<String>>, opts| async move {
                match reg {
                    Some(reg) => open_store(reg.as_deref(), opts)
                        .await
                        .map(Some)
                        .map_err(open_failed),
                    None => Ok(None),
                }
            };
            let (a, b): (Option<StoreBox>, Option<StoreBox>) = match (&from_reg, &to_reg) {
                _ if shared => (open(from_reg.clone(), &from_opts).await?, None),
                (Some(Some(x)), Some(Some(y))) => {
                    let (a, b) = open_store_pair(x, &from_opts, y, &to_opts)
                        .await
                        .map_err(open_failed)?;
                    (Some(a), Some(b))
                }
                _ => (
                    open(from_reg.clone(), &from_opts).await?,
                    open(to_reg.clone(), &to_opts).await?,
                ),
            };
            let to_store = if shared { a.as_deref() } else { b.as_deref() };
            let report = diff_sides(side(&from, a.as_deref())?, side(&to, to_store)?, &opts)
                .await
                .map_err(Failure::from)?;
            match (out.json, args.stat) {
                (true, true) => out.print_json(&render::stat(&report)),
                (true, false) => out.print_json(&report),
                (false, true) => print!("{}", render::stat_text(&report)),
                (false, false) => print!("{}", render::text(&report)),
            }
            Ok(if report.identical {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }),
    );
    result.map_err(trouble)
}
