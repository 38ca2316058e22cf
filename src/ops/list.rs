//! Listing pack versions from manifests alone.

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::index::{read_state, IndexEntry, IndexState};
use super::transfer::parse_manifest;
use super::OpError;
use crate::artifact::classify;
use crate::artifact::media::{ANNOTATION_DISPLAY_NAME, ANNOTATION_LAYER};
use crate::digest::Digest;
use crate::oci::ANNOTATION_VERSION;
use crate::reference::{pack_repository, PACKS_PREFIX};
use crate::store::{Store, StoreError};
use crate::tag_grammar::{
    compare_version_tags, is_parent_tag, is_referrers_tag, is_version_tag, parent_tags,
    tag_to_version,
};

/// One pack version in a listing.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackVersion {
    /// Pack name.
    pub name: String,
    /// Version (from the manifest's annotation, else from the tag).
    pub version: String,
    /// The tag.
    pub tag: String,
    /// Full reference of the version tag (what `ls -q` prints).
    pub reference: String,
    /// Layer, when the manifest says.
    pub layer: Option<String>,
    /// Display name, when the manifest says.
    pub display_name: Option<String>,
    /// native, palette, oras, or unknown.
    pub format: String,
    /// Manifest digest.
    pub digest: Digest,
    /// Labels (`group__label`, `label`) pointing at this version.
    pub labels: Vec<String>,
    /// Parent tags (`1.x`, `1.2.x`) pointing at this version.
    pub parent_tags: Vec<String>,
    /// The formats of the signatures the version carries, when asked for
    /// ([`add_signatures`]); None otherwise, or when they could not be listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatures: Option<Vec<crate::sign::SignatureFormat>>,
    /// With trust given to [`add_signatures`]: whether a signature verifies against it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatures_verified: Option<bool>,
}

/// Fills in each row's signature formats, and with `trust` whether one verifies: one or two
/// requests a version (the `.sig` tag, the referrers) and the envelopes when checked, which
/// a plain listing does not pay.
pub async fn add_signatures(
    store: &dyn Store,
    rows: &mut [PackVersion],
    trust: Option<&crate::sign::Trust>,
) {
    let found: Vec<_> = stream::iter(rows.iter())
        .map(|row| async move {
            let repo = pack_repository(&row.name);
            let formats = super::signatures::formats_of(store, &repo, &row.digest).await;
            let verified = match trust {
                Some(trust) => super::signatures::verifies(store, &repo, &row.digest, trust).await,
                None => None,
            };
            (formats, verified)
        })
        .buffered(LIST_CONCURRENCY)
        .collect()
        .await;
    for (row, (formats, verified)) in rows.iter_mut().zip(found) {
        row.signatures = formats;
        row.signatures_verified = verified;
    }
}

/// The tags of a repository other than its versions: labels and parent tags, which point at
/// a version's manifest.
#[derive(Debug, Clone, Default)]
pub struct OtherTags {
    /// Labels and the digest each points at.
    labels: Vec<(String, Digest)>,
    /// Parent tags and what each points at.
    parents: Vec<(String, Target)>,
}

/// What a parent tag points at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    /// The digest the store resolved it to.
    Digest(Digest),
    /// The version tag it follows: the highest of its line, as packreg keeps it.
    Version(String),
}

impl OtherTags {
    /// Resolves the labels and parent tags among `tags` of `repo` (referrers tags and
    /// versions are left out), each to the digest the store says. A tag that vanished
    /// meanwhile is left out.
    pub async fn resolve(store: &dyn Store, repo: &str, tags: &[String]) -> Result<Self, OpError> {
        let mut out = Self::resolve_labels(store, repo, tags, true).await?;
        out.parents.sort();
        Ok(out)
    }

    /// [`OtherTags::resolve`] for a listing of many versions: the labels are resolved, and
    /// each parent tag in `tags` is taken to follow the highest version of its line, as
    /// push, rm, tag and mirror keep it, which saves a request per parent tag.
    pub async fn listed(store: &dyn Store, repo: &str, tags: &[String]) -> Result<Self, OpError> {
        let mut out = Self::resolve_labels(store, repo, tags, false).await?;
        for parent in tags.iter().filter(|t| is_parent_tag(t)) {
            let best = tags
                .iter()
                .filter(|t| is_version_tag(t) && parent_tags(t).contains(parent))
                .max_by(|a, b| compare_version_tags(a, b));
            if let Some(version) = best {
                out.parents
                    .push((parent.clone(), Target::Version(version.clone())));
            }
        }
        out.parents.sort();
        Ok(out)
    }

    async fn resolve_labels(
        store: &dyn Store,
        repo: &str,
        tags: &[String],
        with_parents: bool,
    ) -> Result<Self, OpError> {
        let wanted = tags
            .iter()
            .filter(|t| !is_version_tag(t) && !is_referrers_tag(t))
            .filter(|t| with_parents || !is_parent_tag(t))
            .cloned();
        let resolved: Vec<Result<Option<(String, Digest)>, OpError>> =
            stream::iter(wanted)
                .map(|tag| async move {
                    Ok(store.resolve(repo, &tag).await?.map(|digest| (tag, digest)))
                })
                .buffered(LIST_CONCURRENCY)
                .collect()
                .await;
        let mut out = OtherTags::default();
        for item in resolved {
            if let Some((tag, digest)) = item? {
                if is_parent_tag(&tag) {
                    out.parents.push((tag, Target::Digest(digest)));
                } else {
                    out.labels.push((tag, digest));
                }
            }
        }
        out.labels.sort();
        Ok(out)
    }

    /// The labels pointing at `digest`.
    pub fn labels_of(&self, digest: &Digest) -> Vec<String> {
        self.labels
            .iter()
            .filter(|(_, d)| d == digest)
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// The parent tags pointing at `digest`, the manifest of version tag `version` (when
    /// known).
    pub fn parents_of(&self, digest: &Digest, version: Option<&str>) -> Vec<String> {
        self.parents
            .iter()
            .filter(|(_, target)| match target {
                Target::Digest(d) => d == digest,
                Target::Version(v) => Some(v.as_str()) == version,
            })
            .map(|(t, _)| t.clone())
            .collect()
    }
}

/// Manifests fetched at once while listing.
const LIST_CONCURRENCY: usize = 8;

/// The row of one version tag; None when the tag vanished meanwhile.
async fn version_row(
    store: &dyn Store,
    repo: &str,
    pack: &str,
    tag: String,
    others: &OtherTags,
) -> Result<Option<PackVersion>, OpError> {
    let raw = match store.get_manifest(repo, &tag).await {
        Ok(raw) => raw,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let manifest = parse_manifest(store, repo, &raw).ok();
    let note = |key: &str| {
        manifest
            .as_ref()
            .and_then(|m| m.annotations.get(key))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let format = manifest
        .as_ref()
        .and_then(|m| classify(m).ok())
        .map(|f| f.to_string())
        .unwrap_or_else(|| "unknown".into());
    Ok(Some(PackVersion {
        name: pack.to_string(),
        version: note(ANNOTATION_VERSION).unwrap_or_else(|| tag_to_version(&tag)),
        layer: note(ANNOTATION_LAYER),
        display_name: note(ANNOTATION_DISPLAY_NAME),
        reference: store.reference(repo, &tag),
        labels: others.labels_of(&raw.digest),
        parent_tags: others.parents_of(&raw.digest, Some(&tag)),
        tag,
        format,
        digest: raw.digest,
        signatures: None,
        signatures_verified: None,
    }))
}

/// A listing and where its pack names came from.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The versions.
    pub rows: Vec<PackVersion>,
    /// Whether the pack names came from the pack index (the store refused `_catalog`).
    pub from_index: bool,
}

/// Lists the versions of pack `name`, or of every pack whose name contains `filter`. Reads
/// tags and manifests only. Sorted by name, then version.
pub async fn list(
    store: &dyn Store,
    name: Option<&str>,
    filter: Option<&str>,
) -> Result<Vec<PackVersion>, OpError> {
    Ok(list_packs(store, name, filter).await?.rows)
}

/// [`list`], saying where the pack names came from. The versions of each pack are read from
/// its tags in any case, so a listing from the index shows what the registry has now.
///
/// Listing every pack, the pack index is read too: a version it lists (with the format of
/// its manifest) makes its row without a manifest read, so a listing costs one tag list a
/// pack. Versions tagged since the index was written (by another tool) are read from their
/// manifests; entries whose tag is gone are not shown. A tag another tool moved to other
/// content keeps the index's row until the index is updated (`index verify` finds it).
/// Without an index, or with one that does not read, every manifest is read.
pub async fn list_packs(
    store: &dyn Store,
    name: Option<&str>,
    filter: Option<&str>,
) -> Result<Listing, OpError> {
    let (repos, from_index, index) = match name {
        Some(name) => (vec![pack_repository(name)], false, None),
        None => repositories_and_index(store).await?,
    };
    let index = index.as_ref();
    let packs = repos.iter().filter_map(|repo| {
        let pack = repo.strip_prefix(PACKS_PREFIX)?;
        filter
            .is_none_or(|f| pack.contains(f))
            .then_some((repo.as_str(), pack))
    });
    // Packs are listed several at once: with the index, a listing is one tag list a pack.
    let listed: Vec<Result<Vec<PackVersion>, OpError>> = stream::iter(packs)
        .map(|(repo, pack)| pack_rows(store, repo, pack, index))
        .buffered(LIST_CONCURRENCY)
        .collect()
        .await;
    let mut out = Vec::new();
    for rows in listed {
        out.extend(rows?);
    }
    Ok(Listing {
        rows: out,
        from_index,
    })
}

/// The pack repositories of `store` (from its catalog, else its pack index, as
/// [`super::pack_repositories::pack_repositories`]), whether the index gave them, and the
/// index when it exists and reads.
async fn repositories_and_index(
    store: &dyn Store,
) -> Result<(Vec<String>, bool, Option<IndexState>), OpError> {
    let (catalog, index) = tokio::join!(store.repositories(PACKS_PREFIX), read_state(store));
    let index = match index {
        Ok(state) if state.exists() => Ok(state),
        Ok(_) => Err(None),
        Err(e) => {
            tracing::debug!("the pack index is not used: {e}");
            Err(Some(e))
        }
    };
    match (catalog, index) {
        (Ok(repos), index) => Ok((repos, false, index.ok())),
        (Err(StoreError::CatalogRefused { .. } | StoreError::Unsupported(_)), Ok(state)) => {
            let repos = state.names().iter().map(|n| pack_repository(n)).collect();
            Ok((repos, true, Some(state)))
        }
        (Err(StoreError::CatalogRefused { .. } | StoreError::Unsupported(_)), Err(e)) => Err(e
            .unwrap_or_else(|| OpError::NoPackNames {
                location: store.location(),
            })),
        (Err(e), _) => Err(e.into()),
    }
}

/// The rows of one pack, in version order: from `index` where it lists the version with its
/// format, else from the version's manifest.
async fn pack_rows(
    store: &dyn Store,
    repo: &str,
    pack: &str,
    index: Option<&IndexState>,
) -> Result<Vec<PackVersion>, OpError> {
    let all_tags = store.tags(repo).await?;
    let others = OtherTags::listed(store, repo, &all_tags).await?;
    let mut tags: Vec<String> = all_tags.into_iter().filter(|t| is_version_tag(t)).collect();
    tags.sort_by(|a, b| compare_version_tags(a, b));
    let others = &others;
    // Manifests are small: fetch several at once, keeping the version order.
    let fetched: Vec<Result<Option<PackVersion>, OpError>> = stream::iter(tags)
        .map(|tag| async move {
            match index.and_then(|i| i.entry(pack, &tag)) {
                Some((entry, Some(format))) => {
                    Ok(Some(indexed_row(store, repo, tag, entry, format, others)))
                }
                _ => version_row(store, repo, pack, tag, others).await,
            }
        })
        .buffered(LIST_CONCURRENCY)
        .collect()
        .await;
    fetched.into_iter().filter_map(Result::transpose).collect()
}

/// The row of version tag `tag` from its index entry: what [`version_row`] reads from the
/// manifest, the index holds.
fn indexed_row(
    store: &dyn Store,
    repo: &str,
    tag: String,
    entry: &IndexEntry,
    format: &str,
    others: &OtherTags,
) -> PackVersion {
    let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    PackVersion {
        name: entry.name.clone(),
        version: entry.version.clone(),
        layer: given(&entry.layer),
        display_name: given(&entry.display_name),
        reference: store.reference(repo, &tag),
        labels: others.labels_of(&entry.digest),
        parent_tags: others.parents_of(&entry.digest, Some(&tag)),
        tag,
        format: format.to_string(),
        digest: entry.digest.clone(),
        signatures: None,
        signatures_verified: None,
    }
}
