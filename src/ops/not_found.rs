//! A pack or version a store does not have, with what it has instead: the nearest pack names,
//! or the pack's versions nearest to the one asked for. Facts only; the command line words
//! them ("did you mean …?").

use std::fmt;

use super::OpError;
use crate::reference::{PackRef, Selector, PACKS_PREFIX};
use crate::store::Store;
use crate::tag_grammar::{compare_version_tags, is_referrers_tag, is_version_tag, tag_to_version};

/// At most this many pack names are proposed.
const MAX_SIMILAR_PACKS: usize = 5;
/// At most this many versions are listed.
pub const MAX_LISTED_VERSIONS: usize = 10;

/// A pack, or a tag or digest of one, that a store does not have.
#[derive(Debug, Clone, thiserror::Error)]
pub struct PackNotFound {
    /// What was asked for.
    pub pack: PackRef,
    /// The store.
    pub location: String,
    /// Whether the pack itself is there (only the tag or digest is missing).
    pub pack_exists: bool,
    /// When the pack is missing: the store's pack names nearest to it, nearest first.
    pub similar_packs: Vec<String>,
    /// When the pack is there: its versions (as written in pack.json) nearest to the tag asked
    /// for, at most [`MAX_LISTED_VERSIONS`], in version order.
    pub versions: Vec<String>,
    /// How many versions the pack has in all.
    pub version_count: usize,
    /// When a tag that is no version is missing: the pack's labels and parent tags nearest to
    /// it, nearest first.
    pub similar_tags: Vec<String>,
}

impl fmt::Display for PackNotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.pack.selector, self.pack_exists) {
            (Selector::Latest, _) | (_, false) => {
                write!(f, "pack {} not found in {}", self.pack.name, self.location)
            }
            (_, true) => write!(f, "{} not found in {}", self.pack, self.location),
        }
    }
}

impl PackNotFound {
    /// The tag asked for, as the user wrote it (a version's `+` as is); None for a digest or
    /// no tag.
    pub fn wanted_version(&self) -> Option<String> {
        match &self.pack.selector {
            Selector::Tag(tag) => Some(tag_to_version(tag)),
            _ => None,
        }
    }
}

/// Why `pack_ref` is not found in `store`, with the candidates; None when it is there after
/// all (the not-found came from something else, a blob say) or the store cannot tell.
pub async fn explain_missing(store: &dyn Store, pack_ref: &PackRef) -> Option<PackNotFound> {
    let repo = pack_ref.repository();
    let tags = store.tags(&repo).await.ok()?;
    let pack_exists = !tags.is_empty();
    if pack_exists {
        let present = match &pack_ref.selector {
            Selector::Latest => true,
            Selector::Tag(tag) => tags.contains(tag),
            Selector::Digest(digest) => {
                !matches!(store.resolve(&repo, &digest.to_string()).await, Ok(None))
            }
        };
        if present {
            return None;
        }
    }
    let similar_tags = match &pack_ref.selector {
        // Referrer and cosign tags (`sha256-…`) are no tags a user names.
        Selector::Tag(tag) if !is_version_tag(tag) => nearest_names(
            tag,
            tags.iter()
                .map(String::as_str)
                .filter(|t| !is_version_tag(t) && !is_referrers_tag(t)),
        ),
        _ => Vec::new(),
    };
    let mut versions: Vec<String> = tags.into_iter().filter(|t| is_version_tag(t)).collect();
    let version_count = versions.len();
    if let Selector::Tag(tag) = &pack_ref.selector {
        // The nearest first, then the newest among equally near.
        versions.sort_by(|a, b| {
            strsim::damerau_levenshtein(tag, a)
                .cmp(&strsim::damerau_levenshtein(tag, b))
                .then_with(|| compare_version_tags(b, a))
        });
    } else {
        // No tag to be near: the newest.
        versions.sort_by(|a, b| compare_version_tags(b, a));
    }
    versions.truncate(MAX_LISTED_VERSIONS);
    versions.sort_by(|a, b| compare_version_tags(a, b));
    let similar_packs = if pack_exists {
        Vec::new()
    } else {
        similar_packs(store, &pack_ref.name).await
    };
    Some(PackNotFound {
        pack: pack_ref.clone(),
        location: store.location(),
        pack_exists,
        similar_packs,
        versions: versions.iter().map(|t| tag_to_version(t)).collect(),
        version_count,
        similar_tags,
    })
}

/// `result`, with a store's not-found (or a tag refused as no version) replaced by the
/// explained one when `pack_ref` is indeed missing.
pub async fn explained<T>(
    store: &dyn Store,
    pack_ref: &PackRef,
    result: Result<T, OpError>,
) -> Result<T, OpError> {
    match result {
        // A tag that is no version (`v1.5.0`) is not there either, when the pack lacks it.
        Err(e @ (OpError::Store(_) | OpError::NotAVersion(_))) if is_missing(&e) => {
            match explain_missing(store, pack_ref).await {
                Some(missing) => Err(OpError::PackNotFound(Box::new(missing))),
                None => Err(e),
            }
        }
        other => other,
    }
}

fn is_missing(err: &OpError) -> bool {
    match err {
        OpError::Store(e) => e.is_not_found(),
        OpError::NotAVersion(_) => true,
        _ => false,
    }
}

/// The store's pack names nearest to `name`; none when the store cannot list them.
async fn similar_packs(store: &dyn Store, name: &str) -> Vec<String> {
    let Ok((repos, _)) = super::pack_repositories::pack_repositories(store).await else {
        return Vec::new();
    };
    nearest_names(
        name,
        repos.iter().filter_map(|r| r.strip_prefix(PACKS_PREFIX)),
    )
}

/// The names near enough to `name` to be what was meant: a few edits away for its length, or
/// one holding the other. Nearest first.
fn nearest_names<'a>(name: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let limit = 2 + name.chars().count() / 4;
    let mut near: Vec<(usize, &str)> = names
        .filter(|n| *n != name)
        .filter_map(|n| {
            let distance = strsim::damerau_levenshtein(name, n);
            let contains = name.len() >= 3 && (n.contains(name) || name.contains(n));
            (distance <= limit || contains).then_some((distance, n))
        })
        .collect();
    near.sort();
    near.into_iter()
        .take(MAX_SIMILAR_PACKS)
        .map(|(_, n)| n.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names_are_a_few_edits_away_or_hold_the_name() {
        let names = ["webapp", "webapi", "netpol", "database", "web-frontend"];
        assert_eq!(
            nearest_names("webap", names.into_iter()),
            vec!["webapi", "webapp"]
        );
        assert_eq!(
            nearest_names("datbase", names.into_iter()),
            vec!["database"]
        );
        assert_eq!(
            nearest_names("frontend", names.into_iter()),
            vec!["web-frontend"]
        );
        assert!(nearest_names("zzzzzz", names.into_iter()).is_empty());
    }
}
