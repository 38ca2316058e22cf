//! `packreg images <NAME>[:<TAG>|@<DIGEST>] [--resolve] [--check REG]`.

use std::process::ExitCode;

use packreg::ops::images::{check_images, pack_images, resolve_images};
use packreg::reference::PackRef;
use packreg::store::{open_store, Store, StoreOptions};
use serde::Serialize;

use super::output::escape_controls;
use super::{Failure, Output};

/// Arguments of `images`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The pack: NAME (highest version), NAME:TAG (a version, `1.2.x`, a label) or NAME@DIGEST, in
    /// the store of -r; or a full reference naming its store,
    /// REGISTRY/spectro-packs/archive/NAME[:TAG|@DIGEST] (REGISTRY is host[:port][/base] or
    /// oci:PATH).
    pub reference: String,
    /// Also ask each image's registry what its tag resolves to (each unreachable registry
    /// costs a connect timeout: off by default for air-gapped sites).
    #[arg(long)]
    pub resolve: bool,
    /// Check that every image is at its mapped place in this registry or store
    /// (<REG>/<source host>/<source path>); exit 1 when one is missing.
    #[arg(long, value_name = "REGISTRY")]
    pub check: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    pack: &'a str,
    images: &'a [packreg::ops::images::PackImage],
    #[serde(skip_serializing_if = "Option::is_none")]
    missing: Option<usize>,
}

pub async fn run(
    args: &Args,
    pack_ref: &PackRef,
    store: &dyn Store,
    opts: &StoreOptions,
    image_opts: &StoreOptions,
    out: &Output,
) -> Result<ExitCode, Failure> {
    let (pack, mut images) = pack_images(store, pack_ref).await?;
    if args.resolve {
        resolve_images(&mut images, image_opts).await;
    }
    let missing = match &args.check {
        Some(registry) => {
            let dest = open_store(Some(registry), opts)
                .await
                .map_err(Failure::from)?;
            Some(check_images(&mut images, dest.as_ref()).await)
        }
        None => None,
    };
    super::advice::word_images(&mut images);
    if out.json {
        out.print_json(&Report {
            pack: &pack,
            images: &images,
            missing,
        });
    } else {
        if images.is_empty() {
            out.status(format!("{pack} declares no images (pack.content.images)"));
        }
        for image in &images {
            let mut line = escape_controls(&image.image, false).into_owned();
            if let Some(digest) = &image.digest {
                line.push_str(&format!("  {digest}"));
            }
            match (image.present, &image.mapped) {
                (Some(true), Some(at)) => line.push_str(&format!("  present at {at}")),
                (Some(false), Some(at)) => line.push_str(&format!("  MISSING at {at}")),
                _ => {}
            }
            if let Some(error) = &image.error {
                line.push_str(&format!("  ({})", escape_controls(error, false)));
            }
            out.data(line);
        }
    }
    match missing {
        Some(n) if n > 0 => Err(Failure {
            message: format!(
                "{n} image(s) of {pack} missing from {}",
                args.check.as_deref().unwrap_or_default()
            ),
            code: 1,
            kind: super::failure::Kind::NotFound,
        }),
        _ => Ok(ExitCode::SUCCESS),
    }
}
