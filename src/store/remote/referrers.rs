//! The Referrers API where the registry has it, following its `Link` pages. None (use the
//! `sha256-<hex>` tag fallback) on 404, 400, 406, or a 200 that is not an index; a 404 with
//! `NAME_UNKNOWN` means the repository is missing, not the API.

use std::collections::HashSet;

use http::Method;

use super::auth::repository_scope;
use super::listing::next_link;
use super::transport::Request;
use super::RemoteStore;
use crate::digest::Digest;
use crate::limits::MANIFEST_LIMIT;
use crate::oci::{self, Descriptor, MEDIA_TYPE_INDEX};
use crate::store::{Store, StoreError};

impl RemoteStore {
    /// Remembers that the registry has no Referrers API.
    fn without_referrers_api(&self) -> Option<Vec<Descriptor>> {
        self.capabilities.learn(|c| c.referrers_api = Some(false));
        None
    }

    pub(super) async fn list_referrers(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<Vec<Descriptor>>, StoreError> {
        if self.capabilities.get().referrers_api == Some(false) {
            return Ok(None);
        }
        let full = self.full_repo(repo)?;
        let what = self.reference(repo, digest.as_str());
        let mut url = self.url(&full, &format!("referrers/{digest}"));
        let mut seen = HashSet::new();
        let mut all = Vec::new();
        loop {
            if !seen.insert(url.clone()) {
                return Err(StoreError::Remote {
                    location: what,
                    message: "the registry's referrers pages loop".into(),
                });
            }
            let request = Request::new(Method::GET, url.clone())
                .header("accept", MEDIA_TYPE_INDEX)
                .scope(repository_scope(&full, "pull"));
            let resp = self.transport.send(request).await?;
            match resp.status.as_u16() {
                200 => {}
                404 => {
                    let error = resp.registry_error(&what, "the referrers list").await;
                    if error.code.as_deref() == Some("NAME_UNKNOWN") {
                        return Err(error.into_store_error());
                    }
                    return Ok(self.without_referrers_api());
                }
                400 | 406 => return Ok(self.without_referrers_api()),
                _ => return Err(resp.error(&what, "the referrers list").await),
            }
            let is_index = resp
                .header("content-type")
                .is_some_and(|t| t.starts_with(MEDIA_TYPE_INDEX));
            if !is_index {
                return Ok(self.without_referrers_api());
            }
            self.capabilities.learn(|c| c.referrers_api = Some(true));
            let next = next_link(&resp.headers);
            let body = resp.bytes(MANIFEST_LIMIT, &what, "referrers index").await?;
            let index: oci::Index =
                serde_json::from_slice(&body).map_err(|e| StoreError::Corrupt {
                    location: what.clone(),
                    message: format!("the Referrers API answered an unreadable index: {e}"),
                })?;
            all.extend(index.manifests);
            match next {
                Some(next) => url = self.transport.absolute(&next)?,
                None => return Ok(Some(all)),
            }
        }
    }
}
