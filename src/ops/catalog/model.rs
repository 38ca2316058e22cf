//! What the catalogue shows, as plain values: gathered from a store ([`super::gather`]),
//! rendered to HTML ([`super::page`], [`super::index_page`]), and the cards kept in the state
//! file between runs ([`super::state`]). Every string here is untrusted store content.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::logo::LogoKind;
use crate::digest::Digest;

/// One pack as its card on `index.html` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    /// Pack name (a valid repository component: safe in a file name).
    pub name: String,
    /// pack.json's displayName of the latest version.
    pub display_name: Option<String>,
    /// pack.json's layer (`addon`, `os`, `k8s`, `cni`, `csi`).
    pub layer: Option<String>,
    /// pack.json's addonType.
    pub addon_type: Option<String>,
    /// The highest version.
    pub latest: Option<String>,
    /// Every label of the pack (`lts__stable`).
    pub labels: Vec<String>,
    /// How many versions.
    pub versions: usize,
    /// The logo written next to the pages, by its checked kind.
    pub logo: Option<LogoKind>,
}

/// One version of a pack.
#[derive(Debug, Clone)]
pub struct VersionRow {
    /// Version (from the tag).
    pub version: String,
    /// The version tag.
    pub tag: String,
    /// Manifest digest.
    pub digest: Digest,
    /// Config plus layers as the manifest declares them; None when they overflow.
    pub size: Option<u64>,
    /// `native`, `palette`, `oras` or `unknown`.
    pub format: String,
    /// The `org.opencontainers.image.created` annotation, when there.
    pub created: Option<String>,
    /// Labels pointing at this version.
    pub labels: Vec<String>,
    /// Parent tags pointing at this version.
    pub parent_tags: Vec<String>,
    /// Formats of the signatures found; None when they could not be listed.
    pub signatures: Option<Vec<String>>,
    /// This version's values.yaml, as text; None when it has none or it could not be read.
    pub values: Option<String>,
}

/// A chart of the latest version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// Chart name (from its file name).
    pub name: String,
    /// Chart version (from its file name), when it has one.
    pub version: Option<String>,
    /// The path pack.json gives.
    pub path: String,
}

/// A dependency pack.json's constraints state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The pack depended on.
    pub pack: String,
    /// Its layer.
    pub layer: Option<String>,
    /// `minVersion`.
    pub min_version: Option<String>,
    /// `maxVersion`.
    pub max_version: Option<String>,
    /// `optional`, `required`, `notSupported`.
    pub kind: Option<String>,
}

/// Everything one pack's page shows.
#[derive(Debug, Clone)]
pub struct PackPage {
    /// The card (also on the index).
    pub card: Card,
    /// The versions, highest first.
    pub versions: Vec<VersionRow>,
    /// The latest version's README, as Markdown; None when it has none.
    pub readme: Option<String>,
    /// The latest version's charts.
    pub charts: Vec<Chart>,
    /// The latest version's container images, normalised.
    pub images: Vec<String>,
    /// With `--check`: where the images were looked for, and which are there.
    pub presence: Option<Presence>,
    /// The dependencies pack.json states.
    pub dependencies: Vec<Dependency>,
    /// pack.json's constraints other than dependencies (resources, ...), as pretty JSON.
    pub other_constraints: Option<String>,
    /// The reference that pulls the latest version.
    pub pull_reference: Option<String>,
    /// The logo's bytes, checked to be of `card.logo`'s kind.
    pub logo: Option<Vec<u8>>,
    /// What could not be read (an oversized README, a logo that is no image).
    pub notes: Vec<String>,
}

/// Where a pack's images were found, as a page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Presence {
    /// The store checked (its location).
    pub store: String,
    /// Each image, and whether it is at its mapped place there.
    pub images: BTreeMap<String, bool>,
}
