//! Hostile local stores and bundles: each test crafts the bad input itself and checks
//! that nothing is lost, nothing escapes and the user is told what happened.

use crate::support as common;

mod craft;
mod files;
mod fuzz_corpus;
// The fuzz targets' entry points (fuzz/src/harness.rs), replayed and property-tested here.
mod gc;
#[path = "../../../fuzz/src/harness.rs"]
mod harness;
mod local;
mod mirror;
mod poisoned_partial;
mod properties;
mod pull;
mod rm;
mod terminal;

use std::path::Path;

use serde_json::Value;

/// The local store the hostile tests craft their input in.
pub(crate) use common::local::Env;

pub(crate) use common::s;

/// Tags of a pack in a local store tree `root`.
pub(crate) fn tags_in(root: &Path, name: &str) -> Vec<String> {
    let path = root
        .join("spectro-packs/archive")
        .join(name)
        .join("index.json");
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let index: Value = serde_json::from_slice(&bytes).unwrap();
    let mut tags: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .map(str::to_string)
        .collect();
    tags.sort();
    tags
}
