//! A bundle's table of contents, its first entry: every repository (packs and images), its
//! tags and their digests. `import` checks that everything listed arrived before it tags
//! anything, so a bundle cut at an entry boundary, or with entries removed, is refused.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::BundleError;
use crate::digest::Digest;
use crate::oci::ANNOTATION_REF_NAME;
use crate::reference::PACKS_PREFIX;
use crate::store::layout::LayoutStore;
use crate::store::{Store, StoreError};

/// The entry's name in the tar (at the top, beside `spectro-packs/`).
pub const CONTENTS_ENTRY: &str = "packreg-bundle.json";
/// Largest contents entry read: some thousand packs' worth of tags.
const CONTENTS_LIMIT: u64 = 16 * 1024 * 1024;
const SCHEMA_VERSION: u32 = 1;

/// What a bundle holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleContents {
    /// The format of this document.
    pub schema_version: u32,
    /// Every repository of the layout tree, packs (`spectro-packs/archive/NAME`) and images.
    pub repositories: Vec<RepositoryContents>,
}

/// One repository of a bundle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryContents {
    /// Its path in the layout tree.
    pub repository: String,
    /// Its tags and the digest each points at.
    pub tags: BTreeMap<String, Digest>,
    /// Manifests listed without a tag (referrers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untagged: Vec<Digest>,
}

impl RepositoryContents {
    /// The pack's name, when this is a pack's repository.
    pub fn pack(&self) -> Option<&str> {
        self.repository.strip_prefix(PACKS_PREFIX)
    }
}

impl BundleContents {
    /// The contents of the layout tree `layout`.
    pub async fn of(layout: &LayoutStore) -> Result<BundleContents, StoreError> {
        let mut repositories = Vec::new();
        for repository in layout.repositories("").await? {
            let index = layout.index(&repository)?;
            let mut repo = RepositoryContents {
                repository,
                ..RepositoryContents::default()
            };
            for top in &index.manifests {
                match top.annotations.get(ANNOTATION_REF_NAME) {
                    Some(tag) => {
                        repo.tags.insert(tag.clone(), top.digest.clone());
                    }
                    None => repo.untagged.push(top.digest.clone()),
                }
            }
            repositories.push(repo);
        }
        Ok(BundleContents {
            schema_version: SCHEMA_VERSION,
            repositories,
        })
    }

    /// The document's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Reads the contents entry extracted into `tree`; None for a bundle written before
    /// bundles carried one.
    pub(super) fn read(bundle: &Path, tree: &Path) -> Result<Option<BundleContents>, BundleError> {
        let bad = |message: String| BundleError::BadContents {
            path: bundle.to_path_buf(),
            entry: CONTENTS_ENTRY.into(),
            message,
        };
        let path = tree.join(CONTENTS_ENTRY);
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(bad(e.to_string())),
        };
        let mut bytes = Vec::new();
        file.take(CONTENTS_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(e.to_string()))?;
        if bytes.len() as u64 > CONTENTS_LIMIT {
            return Err(bad(format!("larger than {CONTENTS_LIMIT} bytes")));
        }
        let contents: BundleContents =
            serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if contents.schema_version != SCHEMA_VERSION {
            return Err(bad(format!(
                "schema version {} (this packreg reads {SCHEMA_VERSION}; a newer packreg wrote it)",
                contents.schema_version
            )));
        }
        Ok(Some(contents))
    }

    /// Checks that the extracted `layout` holds every repository, tag and manifest listed.
    pub(super) async fn check(
        &self,
        bundle: &Path,
        layout: &LayoutStore,
    ) -> Result<(), BundleError> {
        let missing = |what: String| BundleError::Incomplete {
            path: bundle.to_path_buf(),
            what,
        };
        for repo in &self.repositories {
            let label = match repo.pack() {
                Some(name) => format!("pack {name}"),
                None => format!("image repository {}", repo.repository),
            };
            for (tag, digest) in &repo.tags {
                let found = layout.resolve(&repo.repository, tag).await.ok().flatten();
                if found.as_ref() != Some(digest) {
                    return Err(missing(format!("{label} tag {tag} ({digest})")));
                }
            }
            for digest in &repo.untagged {
                let found = layout
                    .resolve(&repo.repository, digest.as_str())
                    .await
                    .ok()
                    .flatten();
                if found.is_none() {
                    return Err(missing(format!("{label} manifest {digest}")));
                }
            }
        }
        Ok(())
    }
}
