//! The destination's pack index during a mirror: it gains every tag of a copied pack that it
//! lacks, those the destination already had included (an interrupted run copied them without
//! recording them), as each pack completes rather than at the end, so a run stopped part-way
//! leaves the packs it finished listable where the registry refuses `_catalog`.

use std::collections::BTreeMap;

use tokio::sync::mpsc::UnboundedReceiver;

use super::pack::CopiedTag;
use crate::digest::Digest;
use crate::ops::index::{
    entry_and_format_in_store, is_indexed_tag, read_state, record_with_formats, Change,
};
use crate::ops::{Remedy, Warning};
use crate::store::Store;

/// A pack whose copy completed, with the tags the destination now has.
pub(super) type Completed = (String, Vec<CopiedTag>);

/// Records each completed pack that `packs` brings in the pack index of `dst`; several that
/// completed while the last was recorded go in one update. Returns the first warning (one
/// failure usually repeats for every pack).
pub(super) async fn keep_index(
    dst: &dyn Store,
    mut packs: UnboundedReceiver<Completed>,
) -> Option<Warning> {
    // What the index lists, read once; an index that cannot be read is reported by the
    // first update, which reads it again.
    let mut known: BTreeMap<(String, String), Digest> = match read_state(dst).await {
        Ok(state) => state
            .slots
            .entries()
            .into_iter()
            .map(|e| ((e.name.clone(), e.tag.clone()), e.digest.clone()))
            .collect(),
        Err(_) => BTreeMap::new(),
    };
    let mut warning = None;
    while let Some(first) = packs.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = packs.try_recv() {
            batch.push(more);
        }
        let (changes, formats) = match lacking(dst, &known, &batch).await {
            Ok(found) => found,
            Err(w) => {
                warning.get_or_insert(w);
                continue;
            }
        };
        match record_with_formats(dst, &changes, &formats).await {
            Some(w) => {
                warning.get_or_insert(w);
            }
            None => {
                for change in changes {
                    if let Change::Put(entry) = change {
                        known.insert((entry.name, entry.tag), entry.digest);
                    }
                }
            }
        }
    }
    warning
}

/// The entries of `batch` that the index does not list with the digest the destination has,
/// and the formats of the manifests they point at.
async fn lacking(
    dst: &dyn Store,
    known: &BTreeMap<(String, String), Digest>,
    batch: &[Completed],
) -> Result<(Vec<Change>, BTreeMap<Digest, String>), Warning> {
    let mut changes = Vec::new();
    let mut formats = BTreeMap::new();
    for (name, tags) in batch {
        for copied in tags.iter().filter(|t| is_indexed_tag(&t.tag)) {
            let key = (name.clone(), copied.tag.clone());
            if known.get(&key) == Some(&copied.digest) {
                continue;
            }
            // Read by the copy; else as the destination has it.
            let found = match &copied.entry {
                Some(known) => Ok(Some(known.clone())),
                None => entry_and_format_in_store(dst, name, &copied.tag).await,
            };
            match found {
                Ok(Some((entry, format))) => {
                    formats.insert(entry.digest.clone(), format);
                    changes.push(Change::Put(entry));
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(Warning::with_remedy(
                        format!("the destination's pack index was not updated ({e})"),
                        Remedy::RebuildIndex,
                    ))
                }
            }
        }
    }
    Ok((changes, formats))
}
