//! What a catalogue folder remembers between runs (`.packreg-catalog.json`): the store it
//! shows, and per pack the digest of every tag and its card. A run whose tags of a pack point
//! where they did reads nothing more of it and leaves its page alone.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::model::{Card, Presence};
use crate::digest::Digest;

/// The state file's name, inside the catalogue folder.
pub const STATE_FILE: &str = ".packreg-catalog.json";
/// The state file's format.
const FORMAT: u32 = 1;
/// The packreg that renders the pages.
const GENERATOR: &str = env!("CARGO_PKG_VERSION");
/// A state file larger than this is not ours: it is ignored (and everything rewritten).
const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;

/// The state of a catalogue folder.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// [`FORMAT`].
    pub format: u32,
    /// The packreg version that wrote the pages: another one renders them again.
    #[serde(default)]
    pub generator: String,
    /// The store shown.
    pub store: String,
    /// The packs shown, by name.
    pub packs: BTreeMap<String, PackState>,
}

/// What the catalogue holds of one pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackState {
    /// Every tag and the digest it pointed at when the page was written.
    pub tags: BTreeMap<String, Digest>,
    /// The card on the index.
    pub card: Card,
    /// What could not be shown of the pack (repeated by runs that keep its page).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The latest version's images, as the page lists them.
    #[serde(default)]
    pub images: Vec<String>,
    /// With `--check`: the registry checked and whether each image was at its mapped place
    /// there, as the page shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<Presence>,
}

impl State {
    /// An empty state of `store`, written by this packreg.
    pub fn new(store: &str) -> State {
        State {
            format: FORMAT,
            generator: GENERATOR.to_string(),
            store: store.to_string(),
            packs: BTreeMap::new(),
        }
    }

    /// The state in `dir`, when there is one that parses (of any store or packreg: its pages
    /// are the ones to remove when they are not written again).
    pub fn read(dir: &Path) -> Option<State> {
        let path = dir.join(STATE_FILE);
        let fits =
            std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() <= MAX_STATE_BYTES);
        fits.then(|| std::fs::read(&path).ok())
            .flatten()
            .and_then(|bytes| serde_json::from_slice::<State>(&bytes).ok())
    }

    /// Whether pages this state lists can be kept by a run of this packreg on `store`: the
    /// same store, rendered by the same packreg.
    pub fn reusable_for(&self, store: &str) -> bool {
        self.format == FORMAT && self.generator == GENERATOR && self.store == store
    }

    /// The state as its file holds it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}
