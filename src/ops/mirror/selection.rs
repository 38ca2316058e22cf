//! Which packs a mirror copies.

use super::options::MirrorOptions;
use crate::ops::OpError;
use crate::reference::PACKS_PREFIX;
use crate::store::Store;

/// The packs to copy: explicit names, else the source's catalog (or, where it refuses
/// `_catalog`, its pack index) filtered by name. The bool says whether the index named them.
pub(super) async fn selection(
    src: &dyn Store,
    opts: &MirrorOptions,
) -> Result<(Vec<(String, Option<String>)>, bool), OpError> {
    if !opts.names.is_empty() {
        return Ok((opts.names.clone(), false));
    }
    let mut out = Vec::new();
    let (repos, from_index) = crate::ops::pack_repositories::pack_repositories(src).await?;
    for repo in repos {
        let Some(name) = repo.strip_prefix(PACKS_PREFIX) else {
            continue;
        };
        if opts.filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        out.push((name.to_string(), None));
    }
    Ok((out, from_index))
}
