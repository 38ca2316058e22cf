//! The container images a pack declares (`pack.content.images` of its values), read from the
//! artifact without downloading its charts; what each resolves to; and whether each is present
//! at its mapped place in another store (an air-gap readiness check).

use serde::Serialize;

use super::resolve::resolve_ref;
use super::transfer::{parse_manifest, read_blob, read_small_blob};
use super::OpError;
use crate::artifact::unpack::read_file_from_tarball;
use crate::artifact::{classify, ArtifactError, Format};
use crate::digest::Digest;
use crate::image::{declared, ImageRef};
use crate::reference::PackRef;
use crate::store::{Store, StoreError, StoreOptions};

/// One image of a pack.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackImage {
    /// As the pack writes it.
    pub declared: String,
    /// Normalised (`docker.io/library/nginx:1.25`).
    pub image: String,
    /// Registry, repository, tag, digest.
    #[serde(skip)]
    pub parsed: ImageRef,
    /// What its tag resolves to (`--resolve`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// Where it belongs in the checked store (`--check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapped: Option<String>,
    /// Whether it is there (`--check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    /// Why it could not be resolved or checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The typed error behind `error`, for the front end to add what to do.
    #[serde(skip)]
    pub cause: Option<std::sync::Arc<StoreError>>,
}

impl PackImage {
    /// Records why the image could not be resolved or checked.
    fn failed(&mut self, err: StoreError) {
        self.error = Some(err.to_string());
        self.cause = Some(std::sync::Arc::new(err));
    }
}

/// The images `pack_ref` declares, normalised, in the order written (duplicates once).
pub async fn pack_images(
    store: &dyn Store,
    pack_ref: &PackRef,
) -> Result<(String, Vec<PackImage>), OpError> {
    let repo = pack_ref.repository();
    let (reference, raw) = resolve_ref(store, pack_ref).await?;
    let full = store.reference(&repo, &reference);
    let manifest = parse_manifest(store, &repo, &raw)?;
    let values = match classify(&manifest)? {
        Format::Native | Format::Oras => {
            match manifest
                .layers
                .iter()
                .find(|l| l.title() == Some("values.yaml"))
            {
                Some(layer) => Some(read_small_blob(store, &repo, layer).await?),
                None => None,
            }
        }
        Format::Palette => {
            let layer = &manifest.layers[0];
            let title = layer.title().unwrap_or("layer").to_string();
            let size = layer.size;
            // Only the head of the tarball is read, up to values.yaml.
            read_blob(store, &repo, layer, false, move |r| {
                read_file_from_tarball(&title, size, r, "values.yaml")
            })
            .await?
        }
    };
    let values: serde_json::Value = match values {
        Some(bytes) if !bytes.is_empty() => serde_norway::from_slice(&bytes).map_err(|e| {
            ArtifactError::NotAPack(format!("values.yaml of {full} does not parse: {e}"))
        })?,
        _ => serde_json::Value::Null,
    };
    let mut out: Vec<PackImage> = Vec::new();
    for text in declared(&values) {
        let parsed = ImageRef::parse(&text).map_err(|source| OpError::BadImage {
            reference: full.clone(),
            source,
        })?;
        let image = parsed.to_string();
        if out.iter().any(|i| i.image == image) {
            continue;
        }
        out.push(PackImage {
            declared: text,
            image,
            parsed,
            digest: None,
            mapped: None,
            present: None,
            error: None,
            cause: None,
        });
    }
    Ok((full, out))
}

/// Asks each image's registry what its tag resolves to, with the usual credentials (docker
/// config per host; Docker Hub's under `https://index.docker.io/v1/`). An image that cannot be
/// resolved keeps its error; the others go on.
pub async fn resolve_images(images: &mut [PackImage], opts: &StoreOptions) {
    for image in images.iter_mut() {
        if let Some(digest) = &image.parsed.digest {
            image.digest = Some(digest.clone());
            continue;
        }
        let store = match crate::store::open_registry(image.parsed.api_host(), opts).await {
            Ok(store) => store,
            Err(e) => {
                image.failed(e);
                continue;
            }
        };
        match store
            .resolve(&image.parsed.repository, &image.parsed.reference())
            .await
        {
            Ok(Some(digest)) => image.digest = Some(digest),
            Ok(None) => image.error = Some(format!("{} not found", image.image)),
            Err(e) => image.failed(e),
        }
    }
}

/// Whether `image` is at its mapped place in `dest` (`<source host>/<path>`): the same tag,
/// or the digest it names.
pub async fn is_at_mapped_place(dest: &dyn Store, image: &ImageRef) -> Result<bool, StoreError> {
    let found = dest
        .resolve(&image.mapped_repository(), &image.reference())
        .await?;
    Ok(match (found, &image.digest) {
        (Some(d), Some(want)) => d == *want,
        (found, _) => found.is_some(),
    })
}

/// Whether each image is at its mapped place in `dest` (`<source host>/<path>`, same tag or
/// digest). Returns how many are missing.
pub async fn check_images(images: &mut [PackImage], dest: &dyn Store) -> usize {
    let mut missing = 0;
    for image in images.iter_mut() {
        let repo = image.parsed.mapped_repository();
        let reference = image.parsed.reference();
        image.mapped = Some(dest.reference(&repo, &reference));
        match is_at_mapped_place(dest, &image.parsed).await {
            Ok(present) => {
                image.present = Some(present);
                if !present {
                    missing += 1;
                }
            }
            Err(e) => {
                image.present = Some(false);
                image.failed(e);
                missing += 1;
            }
        }
    }
    missing
}
