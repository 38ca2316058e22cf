//! Garbage collection of a layout: every blob no tagged or listed manifest reaches goes.

use std::collections::HashSet;
use std::path::Path;

use super::files::{read_verified, INDEX_FILE};
use super::LayoutStore;
use crate::digest::Digest;
use crate::limits::MAX_MANIFEST_BYTES;
use crate::oci::{self, Descriptor, Index};
use crate::store::StoreError;

/// Every blob reachable from `index`. A reachable manifest that cannot be read, does not
/// verify, is too large or is not a manifest type packreg knows could reference any blob: then
/// nothing may be collected, and the error says which manifest and why.
pub(super) fn reachable_blobs(dir: &Path, index: &Index) -> Result<HashSet<Digest>, StoreError> {
    let doubt = |digest: &Digest, why: String| {
        StoreError::Corrupt {
        location: dir.join(INDEX_FILE).display().to_string(),
        message: format!(
            "manifest {digest} {why}; garbage collection kept every blob, since that manifest may reference any of them (fix or remove its entry, then run the command again)"
        ),
    }
    };
    let mut keep: HashSet<Digest> = HashSet::new();
    let mut pending: Vec<Descriptor> = index.manifests.clone();
    while let Some(desc) = pending.pop() {
        if !keep.insert(desc.digest.clone()) {
            continue;
        }
        if !oci::is_manifest_media_type(&desc.media_type) {
            return Err(doubt(
                &desc.digest,
                format!(
                    "has media type {:?}, which packreg does not recognise",
                    desc.media_type
                ),
            ));
        }
        let path = LayoutStore::blob_path(dir, &desc.digest);
        let bytes = read_verified(&path, &desc.digest, MAX_MANIFEST_BYTES)
            .map_err(|e| doubt(&desc.digest, format!("cannot be read ({e})")))?;
        let refs = oci::references(&desc.media_type, &bytes)
            .map_err(|e| doubt(&desc.digest, format!("does not parse ({e})")))?;
        keep.extend(refs.blobs.into_iter().map(|b| b.digest));
        pending.extend(refs.manifests);
    }
    Ok(keep)
}
