//! The Referrers API where the registry has it, following its `Link` pages (within the
//! listing bounds of `listing.rs`). None (use the
//! `sha256-<hex>` tag fallback) on 404, 400, 406, or a 200 that is not an index; a 404 with
//! `NAME_UNKNOWN` means the repository is missing, not the API.

use std::collections::HashSet;

use http::Method;

use super::capabilities::Support;
use super::error::Action;
use super::listing::{limit_error, next_link, ListingBudget};
use super::transport::{Request, Response};
use super::RemoteStore;
use crate::digest::Digest;
use crate::limits::MANIFEST_LIMIT;
use crate::oci::{self, Descriptor, MEDIA_TYPE_INDEX};
use crate::store::{Store, StoreError};

/// A page of the referrers of a manifest in repository `full`.
fn referrers_page(full: &str, url: &str) -> Request<'static> {
    Request::new(Method::GET, url)
        .header("accept", MEDIA_TYPE_INDEX)
        .repository(full)
}

/// Whether an answer is an image index (a Referrers API answer is one).
pub(super) fn is_index(resp: &Response) -> bool {
    resp.header("content-type")
        .is_some_and(|t| t.starts_with(MEDIA_TYPE_INDEX))
}

impl RemoteStore {
    fn referrers_url(&self, full: &str, digest: &Digest) -> String {
        self.url(full, &format!("referrers/{digest}"))
    }

    /// The first page of the referrers of `digest` in repository `full`.
    pub(super) fn referrers_request(&self, full: &str, digest: &Digest) -> Request<'static> {
        referrers_page(full, &self.referrers_url(full, digest))
    }

    /// Remembers that the registry has no Referrers API.
    fn without_referrers_api(&self) -> Option<Vec<Descriptor>> {
        self.capabilities.learn(|c| c.referrers_api = Support::No);
        None
    }

    pub(super) async fn list_referrers(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<Vec<Descriptor>>, StoreError> {
        if self.capabilities.get().referrers_api == Support::No {
            return Ok(None);
        }
        let full = self.full_repo(repo)?;
        let what = self.reference(repo, digest.as_str());
        let mut url = self.referrers_url(&full, digest);
        let mut seen = HashSet::new();
        let mut all = Vec::new();
        let mut budget = ListingBudget::default();
        loop {
            budget.page().map_err(|limit| limit_error(&what, limit))?;
            if !seen.insert(url.clone()) {
                return Err(StoreError::Remote {
                    location: what,
                    message: "the registry's referrers pages loop".into(),
                });
            }
            let resp = self.transport.send(referrers_page(&full, &url)).await?;
            match resp.status.as_u16() {
                200 => {}
                404 => {
                    let error = resp.registry_error(&what, Action::ReferrersListing).await;
                    if error.code.as_deref() == Some("NAME_UNKNOWN") {
                        return Err(error.into_store_error());
                    }
                    return Ok(self.without_referrers_api());
                }
                400 | 406 => return Ok(self.without_referrers_api()),
                _ => return Err(resp.error(&what, Action::ReferrersListing).await),
            }
            if !is_index(&resp) {
                return Ok(self.without_referrers_api());
            }
            self.capabilities.learn(|c| c.referrers_api = Support::Yes);
            let next = next_link(&resp.headers);
            let body = resp.bytes(MANIFEST_LIMIT, &what, "referrers index").await?;
            budget
                .bytes(body.len() as u64)
                .map_err(|limit| limit_error(&what, limit))?;
            let index: oci::Index =
                serde_json::from_slice(&body).map_err(|e| StoreError::Corrupt {
                    location: what.clone(),
                    message: format!("the Referrers API answered an unreadable index: {e}"),
                })?;
            budget
                .entries(index.manifests.len() as u64)
                .map_err(|limit| limit_error(&what, limit))?;
            all.extend(index.manifests);
            match next {
                Some(next) => url = self.transport.absolute(&next)?,
                None => return Ok(Some(all)),
            }
        }
    }
}
