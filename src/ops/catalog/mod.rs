//! `catalog`: a static site of a store's packs that opens from the file system or any web
//! server, with no network request: `index.html` with a card per pack and a page per pack
//! under `packs/`. Everything read from the store is untrusted: text is escaped, the README
//! sanitised ([`markdown`]), logos written only as raster images ([`logo`]), file names made
//! from validated pack names, and every page carries a policy that forbids network access
//! ([`html`]). A second run into the same folder reads each pack's tags and their digests only,
//! and rewrites only the pages of packs that changed ([`state`]).

mod files;
mod gather;
mod html;
mod index_page;
mod logo;
mod markdown;
mod model;
mod page;
mod state;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

pub use gather::PullStyle;
pub use logo::LogoKind;
pub use model::Card;
pub use model::Presence;
pub use state::STATE_FILE;

use super::OpError;
use crate::reference::{is_repository_component, PACKS_PREFIX};
use crate::store::Store;
use state::{PackState, State};

/// Packs whose tags are listed at once.
const PACKS_AT_ONCE: usize = 4;

/// A pack's tags and what each points at.
type TagMap = BTreeMap<String, crate::digest::Digest>;

/// The folder of the pack pages and logos, inside the catalogue folder.
pub const PACKS_DIR: &str = "packs";

/// What a catalogue run takes.
#[derive(Debug, Clone)]
pub struct CatalogOptions {
    /// The packs to show; every pack of the store when empty.
    pub names: Vec<String>,
    /// How the pull command names a version.
    pub pull: PullStyle,
    /// The command the pages show pulling a version with, before its reference (the front
    /// end's, as a user types it).
    pub pull_command: String,
    /// What the pages call the store (its location, or the bundle's file).
    pub store_label: String,
}

/// Errors of a catalogue run.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Reading the store failed.
    #[error(transparent)]
    Op(#[from] OpError),
    /// A name given is not a pack name.
    #[error("{0:?} is not a pack name (lowercase letters, digits, '.', '_' and '-')")]
    BadName(String),
    /// Writing the site failed.
    #[error("{}: {source}", .path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What a catalogue run did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogSummary {
    /// The index page.
    pub index: PathBuf,
    /// Packs shown.
    pub packs: usize,
    /// Versions shown, all packs together.
    pub versions: usize,
    /// Pack pages written (new or changed packs).
    pub pages_written: usize,
    /// Pack pages left as they were (packs whose tags did not move).
    pub pages_kept: usize,
    /// Pack pages removed (packs no longer in the store or not asked for).
    pub pages_removed: usize,
    /// Whether index.html was written (it is left alone when no card changed).
    pub index_written: bool,
    /// What could not be shown, `name: note` (an oversized README, a logo that is no image).
    pub notes: Vec<String>,
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> CatalogError + '_ {
    move |source| CatalogError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` unless it already holds them; says whether it wrote.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, CatalogError> {
    let same = std::fs::metadata(path).is_ok_and(|m| m.len() == bytes.len() as u64)
        && std::fs::read(path).is_ok_and(|old| old == bytes);
    if same {
        return Ok(false);
    }
    crate::fsutil::write_atomic(path, bytes, false).map_err(write_error(path))?;
    Ok(true)
}

/// Removes `path` when it is there.
fn remove_file(path: &Path) -> Result<(), CatalogError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(write_error(path)(e)),
        _ => Ok(()),
    }
}

/// The pack names to show: those given (checked), else every pack of the store.
async fn pack_names(store: &dyn Store, opts: &CatalogOptions) -> Result<Vec<String>, CatalogError> {
    if !opts.names.is_empty() {
        for name in &opts.names {
            if !is_repository_component(name) {
                return Err(CatalogError::BadName(name.clone()));
            }
        }
        let mut names = opts.names.clone();
        names.sort();
        names.dedup();
        return Ok(names);
    }
    let (repos, _) = super::pack_repositories::pack_repositories(store).await?;
    let mut names: Vec<String> = repos
        .iter()
        .filter_map(|r| r.strip_prefix(PACKS_PREFIX))
        // A name that could not be a pack's (a nested path) would not make a safe file name.
        .filter(|n| is_repository_component(n))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Writes (or brings up to date) the catalogue of `store` in `dir`.
pub async fn catalog(
    store: &dyn Store,
    dir: &Path,
    opts: &CatalogOptions,
) -> Result<CatalogSummary, CatalogError> {
    catalog_checking(store, None, dir, opts).await
}

/// [`catalog`], with each pack's images looked for at their mapped place in `check` (as
/// `mirror --with-images` puts them there): every run looks again, and a page whose answers
/// changed is written again.
pub async fn catalog_checking(
    store: &dyn Store,
    check: Option<&dyn Store>,
    dir: &Path,
    opts: &CatalogOptions,
) -> Result<CatalogSummary, CatalogError> {
    let packs_dir = dir.join(PACKS_DIR);
    std::fs::create_dir_all(&packs_dir).map_err(write_error(&packs_dir))?;
    let old = State::read(dir).unwrap_or_else(|| State::new(&opts.store_label));
    let reusable = old.reusable_for(&opts.store_label);
    let mut new = State::new(&opts.store_label);
    let mut summary = CatalogSummary {
        index: dir.join("index.html"),
        packs: 0,
        versions: 0,
        pages_written: 0,
        pages_kept: 0,
        pages_removed: 0,
        index_written: false,
        notes: Vec::new(),
    };
    let named = !opts.names.is_empty();
    // Every pack's tags first, several packs at once: all a no-op run reads.
    let listed: Vec<(String, Result<TagMap, OpError>)> =
        stream::iter(pack_names(store, opts).await?)
            .map(|name| async move {
                let tags = gather::tag_map(store, &name).await;
                (name, tags)
            })
            .buffered(PACKS_AT_ONCE)
            .collect()
            .await;
    for (name, tags) in listed {
        let tags = match tags {
            Ok(tags) => tags,
            Err(OpError::Store(e)) if named && e.is_not_found() => BTreeMap::new(),
            Err(e) => return Err(e.into()),
        };
        if !tags.keys().any(|t| crate::tag_grammar::is_version_tag(t)) {
            if named {
                return Err(missing(store, &name).await.into());
            }
            // A repository with no version (all removed) is no pack to show.
            continue;
        }
        let kept = old
            .packs
            .get(&name)
            .filter(|p| reusable && p.card.name == name && p.tags == tags)
            .filter(|p| pack_files_present(&packs_dir, &p.card));
        let presence = match (kept, check) {
            (Some(previous), Some(check)) => Some(presence_in(check, &previous.images).await?),
            _ => None,
        };
        let kept = kept.filter(|p| p.presence == presence);
        let state = match kept {
            Some(previous) => {
                summary.pages_kept += 1;
                previous.clone()
            }
            None => {
                let mut page = gather::gather_pack(store, &name, &tags, opts.pull).await?;
                if let Some(check) = check {
                    page.presence = Some(presence_in(check, &page.images).await?);
                }
                write_pack(&packs_dir, &page, opts, old.packs.get(&name))?;
                summary.pages_written += 1;
                PackState {
                    tags,
                    card: page.card,
                    notes: page.notes,
                    images: page.images,
                    presence: page.presence,
                }
            }
        };
        summary
            .notes
            .extend(state.notes.iter().map(|n| format!("{name}: {n}")));
        summary.packs += 1;
        summary.versions += state.card.versions;
        new.packs.insert(name, state);
    }
    for (name, gone) in old
        .packs
        .iter()
        .filter(|(n, _)| !new.packs.contains_key(*n))
    {
        remove_pack_files(&packs_dir, name, &gone.card)?;
        summary.pages_removed += 1;
    }
    let cards: Vec<Card> = new.packs.values().map(|p| p.card.clone()).collect();
    let index = index_page::render_index(&cards, &opts.store_label);
    summary.index_written = write_if_changed(&summary.index, index.as_bytes())?;
    let state_path = dir.join(STATE_FILE);
    write_if_changed(&state_path, &new.to_bytes())?;
    Ok(summary)
}

/// Whether each of `images` is at its mapped place in `check`: the same tag, or the digest
/// it names. An image that does not parse is not there; a store that cannot answer fails
/// the run rather than show every image as missing.
async fn presence_in(check: &dyn Store, images: &[String]) -> Result<Presence, OpError> {
    let mut found = BTreeMap::new();
    for image in images {
        let present = match crate::image::ImageRef::parse(image) {
            Ok(parsed) => super::images::is_at_mapped_place(check, &parsed).await?,
            Err(_) => false,
        };
        found.insert(image.clone(), present);
    }
    Ok(Presence {
        store: check.location(),
        images: found,
    })
}

/// The error for a pack named but not in the store, with the nearest names there are.
async fn missing(store: &dyn Store, name: &str) -> OpError {
    let pack = crate::reference::PackRef {
        name: name.to_string(),
        selector: crate::reference::Selector::Latest,
    };
    match super::not_found::explain_missing(store, &pack).await {
        Some(missing) => OpError::PackNotFound(Box::new(missing)),
        None => OpError::NoVersions {
            name: name.to_string(),
            location: store.location(),
        },
    }
}

/// Whether the page (and logo) a card needs are in `packs_dir`.
fn pack_files_present(packs_dir: &Path, card: &Card) -> bool {
    let page = packs_dir.join(page::page_file(&card.name)).is_file();
    let logo = page::logo_file(card).is_none_or(|f| packs_dir.join(f).is_file());
    page && logo
}

/// Writes the page and logo of a pack, removing a logo of another kind it had before.
fn write_pack(
    packs_dir: &Path,
    page: &model::PackPage,
    opts: &CatalogOptions,
    before: Option<&PackState>,
) -> Result<(), CatalogError> {
    let html = page::render_pack(page, &opts.store_label, &opts.pull_command);
    write_if_changed(
        &packs_dir.join(page::page_file(&page.card.name)),
        html.as_bytes(),
    )?;
    let old_logo = before
        .filter(|b| b.card.name == page.card.name)
        .and_then(|b| page::logo_file(&b.card));
    let new_logo = page::logo_file(&page.card);
    if let Some(old) = old_logo.filter(|old| Some(old) != new_logo.as_ref()) {
        remove_file(&packs_dir.join(old))?;
    }
    if let (Some(file), Some(bytes)) = (new_logo, &page.logo) {
        write_if_changed(&packs_dir.join(file), bytes)?;
    }
    Ok(())
}

/// Removes the page and logo of a pack no longer shown.
fn remove_pack_files(packs_dir: &Path, name: &str, card: &Card) -> Result<(), CatalogError> {
    if !is_repository_component(name) || card.name != name {
        return Ok(());
    }
    remove_file(&packs_dir.join(page::page_file(name)))?;
    if let Some(logo) = page::logo_file(card) {
        remove_file(&packs_dir.join(logo))?;
    }
    Ok(())
}
