//! `index verify` (where the index and the tags disagree) and `index rebuild` (make the index
//! say what the tags say), for the packs the index knows, the catalog lists, or the user names.

use std::collections::BTreeMap;

use serde::Serialize;

use super::update::{read_state, read_state_with, update_with, IndexState};
use super::{entry_and_format_in_store, is_indexed_tag, Change, INDEX_REPO, LATEST};
use crate::digest::Digest;
use crate::ops::resolve::tag_digests;
use crate::ops::OpError;
use crate::reference::{pack_repository, PACKS_PREFIX};
use crate::store::{Store, StoreError};

/// How the index and the registry disagree about one tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftKind {
    /// The registry has the tag, the index does not list it.
    Missing,
    /// The index lists a tag the registry no longer has.
    Stale,
    /// The tag points at another digest than the index says.
    Moved,
}

/// One disagreement.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// Pack name.
    pub name: String,
    /// The tag.
    pub tag: String,
    /// How they disagree.
    pub kind: DriftKind,
    /// What the index says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<Digest>,
    /// What the registry has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<Digest>,
}

/// The result of [`verify`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// The index's reference.
    pub index: String,
    /// Whether an index exists at all.
    pub exists: bool,
    /// Packs compared.
    pub packs: Vec<String>,
    /// Whether the registry's catalog was read too (else only the index's names were).
    pub catalog: bool,
    /// Disagreements; empty when the index is right.
    pub drift: Vec<Drift>,
}

/// The result of [`rebuild`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rebuilt {
    /// The index's reference.
    pub index: String,
    /// Packs whose entries were rebuilt.
    pub packs: Vec<String>,
    /// Tags listed for them now.
    pub entries: usize,
    /// Entries dropped (tags gone from the registry).
    pub removed: usize,
}

/// The packs to look at: those given, else the index's and the catalog's (where the registry
/// lists its repositories). The bool says whether the catalog was read.
async fn names(
    store: &dyn Store,
    state: &IndexState,
    given: &[String],
) -> Result<(Vec<String>, bool), OpError> {
    if !given.is_empty() {
        return Ok((given.to_vec(), false));
    }
    let mut names = state.names();
    let catalog = match store.repositories(PACKS_PREFIX).await {
        Ok(repos) => {
            names.extend(
                repos
                    .iter()
                    .filter_map(|r| r.strip_prefix(PACKS_PREFIX))
                    .map(str::to_string),
            );
            true
        }
        Err(StoreError::CatalogRefused { .. } | StoreError::Unsupported(_)) => false,
        Err(e) => return Err(e.into()),
    };
    names.sort();
    names.dedup();
    if names.is_empty() && !catalog {
        return Err(OpError::NoPackNames {
            location: store.location(),
        });
    }
    Ok((names, catalog))
}

/// The indexed tags of `name` with their digests, as the registry has them.
async fn live(store: &dyn Store, name: &str) -> Result<BTreeMap<String, Digest>, OpError> {
    Ok(tag_digests(store, &pack_repository(name))
        .await?
        .into_iter()
        .filter(|(t, _)| is_indexed_tag(t))
        .collect())
}

fn indexed(state: &IndexState, name: &str) -> BTreeMap<String, Digest> {
    state
        .slots
        .entries()
        .into_iter()
        .filter(|e| e.name == name)
        .map(|e| (e.tag.clone(), e.digest.clone()))
        .collect()
}

/// Compares the index with the tags of the packs `names` (default: every pack the index or
/// the catalog knows) and reports every disagreement.
pub async fn verify(store: &dyn Store, given: &[String]) -> Result<Verification, OpError> {
    let state = read_state(store).await?;
    let (packs, catalog) = names(store, &state, given).await?;
    let mut drift = Vec::new();
    for name in &packs {
        let live = live(store, name).await?;
        let indexed = indexed(&state, name);
        for (tag, registry) in &live {
            let kind = match indexed.get(tag) {
                None => DriftKind::Missing,
                Some(d) if d != registry => DriftKind::Moved,
                Some(_) => continue,
            };
            drift.push(Drift {
                name: name.clone(),
                tag: tag.clone(),
                kind,
                index: indexed.get(tag).cloned(),
                registry: Some(registry.clone()),
            });
        }
        for (tag, d) in indexed.iter().filter(|(t, _)| !live.contains_key(*t)) {
            drift.push(Drift {
                name: name.clone(),
                tag: tag.clone(),
                kind: DriftKind::Stale,
                index: Some(d.clone()),
                registry: None,
            });
        }
    }
    Ok(Verification {
        index: store.reference(INDEX_REPO, LATEST),
        exists: state.exists(),
        packs,
        catalog,
        drift,
    })
}

/// Makes the index list exactly the tags the registry has for the packs `names` (default:
/// every pack the index or the catalog knows); entries of other packs stay.
pub async fn rebuild(store: &dyn Store, given: &[String]) -> Result<Rebuilt, OpError> {
    // A document that cannot be read is replaced: its entries come back from the tags.
    let state = read_state_with(store, true).await?;
    let (packs, _) = names(store, &state, given).await?;
    let mut changes = Vec::new();
    let mut formats = BTreeMap::new();
    let (mut entries, mut removed) = (0, 0);
    for name in &packs {
        let live = live(store, name).await?;
        for tag in live.keys() {
            if let Some((entry, format)) = entry_and_format_in_store(store, name, tag).await? {
                formats.insert(entry.digest.clone(), format);
                changes.push(Change::Put(entry));
                entries += 1;
            }
        }
        for tag in indexed(&state, name).into_keys() {
            if !live.contains_key(&tag) {
                changes.push(Change::Remove {
                    name: name.clone(),
                    tag,
                });
                removed += 1;
            }
        }
    }
    update_with(store, &changes, &formats, true).await?;
    Ok(Rebuilt {
        index: store.reference(INDEX_REPO, LATEST),
        packs,
        entries,
        removed,
    })
}
