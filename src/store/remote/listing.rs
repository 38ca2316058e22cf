//! Tag lists and `_catalog`, following `Link: <…>; rel="next"` pages; a page address seen twice
//! is an error rather than a silently cut list, and so is a listing past packreg's bounds on
//! pages, entries and bytes (a registry could link to a new page for ever).

use std::collections::HashSet;

use http::Method;

use super::capabilities::Support;
use super::error::Action;
use super::transport::Request;
use super::RemoteStore;
use crate::limits::{
    RemoteLimit, MAX_LISTING_BYTES, MAX_LISTING_ENTRIES, MAX_LISTING_PAGES, SMALL_BODY_LIMIT,
};
use crate::store::StoreError;

impl RemoteStore {
    pub(super) async fn list_tags(&self, repo: &str) -> Result<Vec<String>, StoreError> {
        let full = self.full_repo(repo)?;
        let url = self.tags_url(&full, self.page_size);
        let what = format!("{}/{repo}", self.location_name());
        Ok(self
            .list_pages(url, "tags", Some(&full), &what)
            .await?
            .unwrap_or_default())
    }

    pub(super) async fn list_repositories(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let prefix = prefix.trim_end_matches('/');
        let full_prefix = self.full_repo(prefix)? + "/";
        let refused = || StoreError::CatalogRefused {
            location: self.host().to_string(),
        };
        let url = self.catalog_url(self.page_size);
        let names = match self
            .list_pages(url, "repositories", None, self.host())
            .await
        {
            Ok(Some(names)) => {
                self.capabilities.learn(|c| c.catalog = Support::Yes);
                names
            }
            Ok(None)
            | Err(
                StoreError::Unauthorized { .. }
                | StoreError::Denied { .. }
                | StoreError::NotFound { .. }
                | StoreError::CatalogRefused { .. }
                | StoreError::Unsupported(_),
            ) => {
                self.capabilities.learn(|c| c.catalog = Support::No);
                return Err(refused());
            }
            Err(other) => return Err(other),
        };
        Ok(names
            .into_iter()
            .filter_map(|r| {
                r.strip_prefix(&full_prefix)
                    .map(|rest| format!("{prefix}/{rest}"))
            })
            .collect())
    }

    fn tags_url(&self, full: &str, n: usize) -> String {
        self.url(full, &format!("tags/list?n={n}"))
    }

    fn catalog_url(&self, n: usize) -> String {
        format!("{}_catalog?n={n}", self.transport.v2_url())
    }

    /// A GET of a listing page: of repository `full`'s tags, or of the catalog when None.
    fn listing_request(url: String, repository: Option<&str>) -> Request<'static> {
        let request = Request::new(Method::GET, url);
        match repository {
            Some(full) => request.repository(full),
            None => request.catalog(),
        }
    }

    /// The first page of `n` tags of repository `full`.
    pub(super) fn tags_request(&self, full: &str, n: usize) -> Request<'static> {
        Self::listing_request(self.tags_url(full, n), Some(full))
    }

    /// The first page of `n` names of the catalog.
    pub(super) fn catalog_request(&self, n: usize) -> Request<'static> {
        Self::listing_request(self.catalog_url(n), None)
    }

    fn location_name(&self) -> String {
        crate::store::Store::location(self)
    }

    /// GETs a listing of `repository` (the catalog when None) and its further pages,
    /// collecting the strings of `field`, sorted. None when the first page is 404 (no such
    /// repository, or no catalog).
    async fn list_pages(
        &self,
        first: String,
        field: &str,
        repository: Option<&str>,
        what: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let mut url = first;
        let mut seen = HashSet::new();
        let mut all = Vec::new();
        let mut budget = ListingBudget::default();
        loop {
            budget.page().map_err(|limit| limit_error(what, limit))?;
            if !seen.insert(url.clone()) {
                return Err(StoreError::Remote {
                    location: what.to_string(),
                    message: format!(
                        "the registry's listing pages loop (the page {} came twice); the list would be incomplete",
                        super::error::clean(&url, 200)
                    ),
                });
            }
            let request = Self::listing_request(url.clone(), repository);
            let resp = self.transport.send(request).await?;
            match resp.status.as_u16() {
                200..=299 => {}
                404 if seen.len() == 1 => return Ok(None),
                _ => return Err(resp.error(what, Action::Listing).await),
            }
            let next = next_link(&resp.headers);
            let body = resp.bytes(SMALL_BODY_LIMIT, what, "listing page").await?;
            budget
                .bytes(body.len() as u64)
                .map_err(|limit| limit_error(what, limit))?;
            let page: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| StoreError::Remote {
                    location: what.to_string(),
                    message: format!("the registry answered a listing that is not JSON: {e}"),
                })?;
            let entries = page.get(field).and_then(|v| v.as_array());
            budget
                .entries(entries.map_or(0, |e| e.len() as u64))
                .map_err(|limit| limit_error(what, limit))?;
            all.extend(
                entries
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string)),
            );
            match next {
                Some(next) => url = self.transport.absolute(&next)?,
                None => break,
            }
        }
        all.sort();
        all.dedup();
        Ok(Some(all))
    }
}

/// What one listing has taken so far, against packreg's bounds.
#[derive(Debug, Default)]
pub(super) struct ListingBudget {
    pages: u64,
    entries: u64,
    bytes: u64,
}

impl ListingBudget {
    /// Counts a page about to be asked.
    pub(super) fn page(&mut self) -> Result<(), RemoteLimit> {
        self.pages += 1;
        if self.pages > MAX_LISTING_PAGES {
            return Err(RemoteLimit::ListingPages(MAX_LISTING_PAGES));
        }
        Ok(())
    }

    /// Counts the bytes of a page's body.
    pub(super) fn bytes(&mut self, n: u64) -> Result<(), RemoteLimit> {
        self.bytes = self.bytes.saturating_add(n);
        if self.bytes > MAX_LISTING_BYTES {
            return Err(RemoteLimit::ListingBytes(MAX_LISTING_BYTES));
        }
        Ok(())
    }

    /// Counts the entries of a page.
    pub(super) fn entries(&mut self, n: u64) -> Result<(), RemoteLimit> {
        self.entries = self.entries.saturating_add(n);
        if self.entries > MAX_LISTING_ENTRIES {
            return Err(RemoteLimit::ListingEntries(MAX_LISTING_ENTRIES));
        }
        Ok(())
    }
}

/// The error of a listing of `what` past `limit`.
pub(super) fn limit_error(what: &str, limit: RemoteLimit) -> StoreError {
    StoreError::Limit {
        location: what.to_string(),
        limit,
    }
}

/// The target of a `Link: <…>; rel="next"` header, as written.
pub(super) fn next_link(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|part| part.contains("rel=\"next\"") || part.contains("rel=next"))
        .and_then(|part| {
            let start = part.find('<')? + 1;
            let end = part[start..].find('>')? + start;
            Some(part[start..end].to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_budget_stops_at_each_bound() {
        let mut budget = ListingBudget::default();
        for _ in 0..MAX_LISTING_PAGES {
            budget.page().unwrap();
        }
        assert_eq!(
            budget.page(),
            Err(RemoteLimit::ListingPages(MAX_LISTING_PAGES))
        );
        let mut budget = ListingBudget::default();
        budget.entries(MAX_LISTING_ENTRIES).unwrap();
        assert_eq!(
            budget.entries(1),
            Err(RemoteLimit::ListingEntries(MAX_LISTING_ENTRIES))
        );
        let mut budget = ListingBudget::default();
        budget.bytes(MAX_LISTING_BYTES).unwrap();
        assert_eq!(
            budget.bytes(1),
            Err(RemoteLimit::ListingBytes(MAX_LISTING_BYTES))
        );
    }

    #[test]
    fn link_headers() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::LINK,
            "</v2/a/tags/list?last=b&n=2>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        headers.insert(
            http::header::LINK,
            "<https://r.example/v2/_catalog?last=x>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://r.example/v2/_catalog?last=x")
        );
        assert!(next_link(&http::HeaderMap::new()).is_none());
    }
}
