//! Which pack repositories a store holds: its catalog, else its pack index. Shared by `ls`,
//! `mirror` and `export`.

use super::OpError;
use crate::reference::{pack_repository, PACKS_PREFIX};
use crate::store::{Store, StoreError};

/// The pack repositories of `store`: from its catalog, else (where the catalog is refused)
/// from its pack index. The bool says whether the index gave them.
pub async fn pack_repositories(store: &dyn Store) -> Result<(Vec<String>, bool), OpError> {
    match store.repositories(PACKS_PREFIX).await {
        Ok(repos) => Ok((repos, false)),
        Err(StoreError::CatalogRefused { .. } | StoreError::Unsupported(_)) => {
            let state = super::index::read_state(store).await?;
            if !state.exists() {
                return Err(OpError::NoPackNames {
                    location: store.location(),
                });
            }
            Ok((
                state.names().iter().map(|n| pack_repository(n)).collect(),
                true,
            ))
        }
        Err(e) => Err(e.into()),
    }
}
