//! Listing pack versions from manifests alone.

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::transfer::parse_manifest;
use super::OpError;
use crate::artifact::classify;
use crate::artifact::media::{ANNOTATION_DISPLAY_NAME, ANNOTATION_LAYER};
use crate::digest::Digest;
use crate::oci::ANNOTATION_VERSION;
use crate::reference::{pack_repository, PACKS_PREFIX};
use crate::store::Store;
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
pub async fn list_packs(
    store: &dyn Store,
    name: Option<&str>,
    filter: Option<&str>,
) -> Result<Listing, OpError> {
    let (repos, from_index) = match name {
        Some(name) => (vec![pack_repository(name)], false),
        None => super::pack_repositories::pack_repositories(store).await?,
    };
    let mut out = Vec::new();
    for repo in repos {
        let Some(pack) = repo.strip_prefix(PACKS_PREFIX) else {
            continue;
        };
        if filter.is_some_and(|f| !pack.contains(f)) {
            continue;
        }
        let all_tags = store.tags(&repo).await?;
        let others = OtherTags::listed(store, &repo, &all_tags).await?;
        let mut tags: Vec<String> = all_tags.into_iter().filter(|t| is_version_tag(t)).collect();
        tags.sort_by(|a, b| compare_version_tags(a, b));
        // Manifests are small: fetch several at once, keeping the version order.
        let repo_ref = repo.as_str();
        let others = &others;
        let fetched: Vec<Result<Option<PackVersion>, OpError>> = stream::iter(tags)
            .map(|tag| async move { version_row(store, repo_ref, pack, tag, others).await })
            .buffered(LIST_CONCURRENCY)
            .collect()
            .await;
        for row in fetched {
            out.extend(row?);
        }
    }
    Ok(Listing {
        rows: out,
        from_index,
    })
}
