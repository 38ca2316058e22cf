//! The pack index document: entries keyed by (pack, tag), merged last-writer-wins per key, with
//! removals kept as tombstones so a merge of two documents never brings a removed tag back
//! nor drops an added one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::oci::{
    Descriptor, Extra, Manifest, ANNOTATION_TITLE, EMPTY_JSON, MEDIA_TYPE_EMPTY,
    MEDIA_TYPE_MANIFEST,
};
use crate::reference::{is_repository_component, is_valid_tag};

/// `artifactType` of the index manifest.
pub const ARTIFACT_TYPE: &str = "application/vnd.packreg.index.v1";
/// Media type of its one layer, the JSON document.
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.packreg.index.v1+json";

/// One tag of one pack, as the index lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexEntry {
    /// Pack name.
    pub name: String,
    /// The version the tag stands for (for a label, the version it is on).
    pub version: String,
    /// The tag (a version tag or a label).
    pub tag: String,
    /// Manifest digest the tag pointed at.
    pub digest: Digest,
    /// The pack's layer, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// The pack's display name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// When the change was made (ms since the epoch); the newer change of a key wins a merge.
    #[serde(default)]
    pub updated: u64,
}

/// A removed tag, remembered so that merging an older document does not bring it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    /// Pack name.
    pub name: String,
    /// The tag.
    pub tag: String,
    /// When it was removed (ms since the epoch).
    pub updated: u64,
}

/// The JSON layer of the index manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexFile {
    /// Always 1.
    pub schema_version: u32,
    /// Every pack tag, sorted by name and tag.
    #[serde(default)]
    pub packs: Vec<IndexEntry>,
    /// Removed tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Removal>,
    /// Digests of the `pending-` index manifests whose content this one holds, so readers
    /// need not fetch them (see docs/design.md, "The pack index").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<Digest>,
    /// The format (`native`, `palette`, `oras`, `unknown`) of the manifests the entries point
    /// at, by digest, so `ls` lists from the index alone. Kept by digest rather than in each
    /// entry: a digest's format never changes, so merging documents is a plain union.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub formats: BTreeMap<Digest, String>,
}

/// What the index says about one (pack, tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// The tag exists.
    Present(IndexEntry),
    /// The tag was removed at this time.
    Removed(u64),
}

impl Slot {
    fn stamp(&self) -> u64 {
        match self {
            Slot::Present(e) => e.updated,
            Slot::Removed(t) => *t,
        }
    }

    /// Whether `self` wins over `other`: the newer change; at equal times a removal, then the
    /// larger digest, so every writer merges to the same document.
    fn beats(&self, other: &Slot) -> bool {
        let rank = |s: &Slot| match s {
            Slot::Present(e) => (s.stamp(), 0, Some(e.digest.clone())),
            Slot::Removed(t) => (*t, 1, None),
        };
        rank(self) > rank(other)
    }
}

/// A change to the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Add or replace the entry of (`name`, `tag`); its `updated` is set when applied.
    Put(IndexEntry),
    /// Remove (`name`, `tag`).
    Remove {
        /// Pack name.
        name: String,
        /// The tag.
        tag: String,
    },
}

/// The index as a map, for merging and changing; with the formats known by digest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slots(
    pub BTreeMap<(String, String), Slot>,
    pub BTreeMap<Digest, String>,
);

/// The values a format takes in the document: what `ls` shows. Others are left out when a
/// document is read (it comes from the registry).
const FORMATS: [&str; 4] = ["native", "palette", "oras", "unknown"];

impl Slots {
    /// The slots of a document. Entries whose name or tag could not be a pack's are left
    /// out: the document comes from the registry, and its names become repository paths.
    pub fn from_file(file: &IndexFile) -> Slots {
        let valid = |name: &str, tag: &str| is_repository_component(name) && is_valid_tag(tag);
        let mut slots = Slots::default();
        for e in file.packs.iter().filter(|e| valid(&e.name, &e.tag)) {
            slots.offer((e.name.clone(), e.tag.clone()), Slot::Present(e.clone()));
        }
        for r in file.removed.iter().filter(|r| valid(&r.name, &r.tag)) {
            slots.offer((r.name.clone(), r.tag.clone()), Slot::Removed(r.updated));
        }
        for (digest, format) in &file.formats {
            slots.set_format(digest, format);
        }
        slots
    }

    /// Records the format of the manifest `digest` (one of [`FORMATS`], else ignored).
    pub fn set_format(&mut self, digest: &Digest, format: &str) {
        if FORMATS.contains(&format) {
            self.1.insert(digest.clone(), format.to_string());
        }
    }

    /// The format of the manifest `digest`, when known.
    pub fn format_of(&self, digest: &Digest) -> Option<&str> {
        self.1.get(digest).map(String::as_str)
    }

    fn offer(&mut self, key: (String, String), slot: Slot) {
        match self.0.get(&key) {
            Some(current) if !slot.beats(current) => {}
            _ => {
                self.0.insert(key, slot);
            }
        }
    }

    /// Merges `other` in: per key, the newer change wins.
    pub fn merge(&mut self, other: &Slots) {
        for (key, slot) in &other.0 {
            self.offer(key.clone(), slot.clone());
        }
        for (digest, format) in &other.1 {
            self.1.insert(digest.clone(), format.clone());
        }
    }

    /// Applies `changes` made at `now` (ms). Each change is stamped later than what it
    /// replaces, so it wins even against a clock behind the one that wrote the old value.
    /// A change that alters nothing (the same entry, a tag already removed) is skipped.
    pub fn apply(&mut self, changes: &[Change], now: u64) {
        for change in changes {
            let key = match change {
                Change::Put(e) => (e.name.clone(), e.tag.clone()),
                Change::Remove { name, tag } => (name.clone(), tag.clone()),
            };
            let current = self.0.get(&key);
            let stamp = current.map_or(now, |c| now.max(c.stamp() + 1));
            let slot = match change {
                Change::Put(e) => {
                    if let Some(Slot::Present(old)) = current {
                        if same_entry(old, e) {
                            continue;
                        }
                    }
                    Slot::Present(IndexEntry {
                        updated: stamp,
                        ..e.clone()
                    })
                }
                Change::Remove { .. } => match current {
                    Some(Slot::Present(_)) => Slot::Removed(stamp),
                    _ => continue,
                },
            };
            self.0.insert(key, slot);
        }
    }

    /// The entries present, sorted by name and tag.
    pub fn entries(&self) -> Vec<&IndexEntry> {
        self.0
            .values()
            .filter_map(|s| match s {
                Slot::Present(e) => Some(e),
                Slot::Removed(_) => None,
            })
            .collect()
    }

    /// The document, sorted, so equal content always gives equal bytes.
    pub fn to_file(&self, merged: Vec<Digest>) -> IndexFile {
        let mut file = IndexFile {
            schema_version: 1,
            merged,
            ..IndexFile::default()
        };
        for ((name, tag), slot) in &self.0 {
            match slot {
                Slot::Present(e) => {
                    // Only the formats of what is listed: the document stays bounded.
                    if let Some(format) = self.1.get(&e.digest) {
                        file.formats.insert(e.digest.clone(), format.clone());
                    }
                    file.packs.push(e.clone())
                }
                Slot::Removed(t) => file.removed.push(Removal {
                    name: name.clone(),
                    tag: tag.clone(),
                    updated: *t,
                }),
            }
        }
        file.merged.sort();
        file.merged.dedup();
        file
    }
}

fn same_entry(a: &IndexEntry, b: &IndexEntry) -> bool {
    a.name == b.name
        && a.version == b.version
        && a.tag == b.tag
        && a.digest == b.digest
        && a.layer == b.layer
        && a.display_name == b.display_name
}

/// The image manifest of an index document whose bytes have digest `layer` and `size`.
pub fn manifest_for(layer: Digest, size: u64) -> Vec<u8> {
    let mut config = Descriptor::new(MEDIA_TYPE_EMPTY, Digest::of(EMPTY_JSON), 2);
    config
        .extra
        .insert("data".into(), serde_json::Value::from("e30="));
    let mut desc = Descriptor::new(LAYER_MEDIA_TYPE, layer, size);
    desc.annotations
        .insert(ANNOTATION_TITLE.into(), "packreg-index.json".into());
    Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_MANIFEST.into()),
        artifact_type: Some(ARTIFACT_TYPE.into()),
        config,
        layers: vec![desc],
        subject: None,
        annotations: BTreeMap::new(),
        extra: Extra::new(),
    }
    .to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, tag: &str, d: &[u8]) -> IndexEntry {
        IndexEntry {
            name: name.into(),
            version: tag.into(),
            tag: tag.into(),
            digest: Digest::of(d),
            layer: Some("addon".into()),
            display_name: None,
            updated: 0,
        }
    }

    #[test]
    fn concurrent_additions_both_survive_a_merge() {
        let base = Slots::default();
        let (mut a, mut b) = (base.clone(), base.clone());
        a.apply(&[Change::Put(entry("a", "1.0.0", b"a"))], 100);
        b.apply(&[Change::Put(entry("b", "1.0.0", b"b"))], 100);
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba);
        assert_eq!(ab.entries().len(), 2);
    }

    #[test]
    fn a_removal_wins_over_the_older_entry_it_removed() {
        let mut old = Slots::default();
        old.apply(&[Change::Put(entry("a", "1.0.0", b"a"))], 500);
        let mut new = old.clone();
        // A clock behind the first writer's: the removal is still newer.
        new.apply(
            &[Change::Remove {
                name: "a".into(),
                tag: "1.0.0".into(),
            }],
            10,
        );
        let mut merged = old.clone();
        merged.merge(&new);
        assert!(merged.entries().is_empty());
        let file = merged.to_file(Vec::new());
        assert_eq!(file.removed.len(), 1);
        assert_eq!(Slots::from_file(&file), merged);
    }

    #[test]
    fn names_that_are_not_pack_names_are_left_out() {
        let mut file = IndexFile::default();
        for (name, tag) in [
            ("ok", "1.0.0"),
            ("../etc", "1.0.0"),
            ("a/b", "1"),
            ("ok", "x/y"),
        ] {
            file.packs.push(entry(name, tag, b"d"));
        }
        let slots = Slots::from_file(&file);
        assert_eq!(slots.entries().len(), 1);
        assert_eq!(slots.entries()[0].name, "ok");
    }

    #[test]
    fn an_unchanged_entry_is_not_rewritten() {
        let mut s = Slots::default();
        s.apply(&[Change::Put(entry("a", "1.0.0", b"a"))], 5);
        let before = s.clone();
        s.apply(&[Change::Put(entry("a", "1.0.0", b"a"))], 9);
        s.apply(
            &[Change::Remove {
                name: "x".into(),
                tag: "1".into(),
            }],
            9,
        );
        assert_eq!(s, before);
    }

    #[test]
    fn formats_are_kept_for_listed_digests_only_and_only_known_values() {
        let mut s = Slots::default();
        s.apply(&[Change::Put(entry("a", "1.0.0", b"a"))], 5);
        s.apply(&[Change::Put(entry("b", "1.0.0", b"b"))], 5);
        s.set_format(&Digest::of(b"a"), "native");
        s.set_format(&Digest::of(b"b"), "<script>");
        s.set_format(&Digest::of(b"gone"), "oras");
        let file = s.to_file(Vec::new());
        assert_eq!(
            file.formats.into_iter().collect::<Vec<_>>(),
            [(Digest::of(b"a"), "native".to_string())]
        );
        let mut hostile = IndexFile::default();
        hostile.packs.push(entry("a", "1.0.0", b"a"));
        hostile.formats.insert(Digest::of(b"a"), "x".repeat(100));
        assert_eq!(
            Slots::from_file(&hostile).format_of(&Digest::of(b"a")),
            None
        );
    }
}
