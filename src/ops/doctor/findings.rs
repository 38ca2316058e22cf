//! What `doctor` found: one finding per check, in the order checked, each named by a stable id.

use serde::Serialize;

use crate::ops::Remedy;

/// What a finding is about. Its id (`referrers-api`) is stable across versions, for scripts;
/// its title (`Referrers API`) is for people and may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// The scheme the registry is reached over (HTTPS or plain HTTP).
    Connection,
    /// `GET /v2/`.
    ApiVersion,
    /// The authentication scheme the registry asks for.
    Authentication,
    /// Whether `_catalog` lists repositories.
    Catalog,
    /// The largest `_catalog` page the registry serves.
    CatalogPageSize,
    /// The repository checks that need a pack repository, when there is none.
    RepositoryChecksSkipped,
    /// Link headers on tag lists.
    TagListPaging,
    /// The Referrers API.
    ReferrersApi,
    /// Range requests on blobs.
    BlobRange,
    /// A blob uploaded in one PUT.
    BlobUpload,
    /// A blob uploaded in chunks.
    ChunkedUpload,
    /// A blob mounted from another repository.
    CrossRepositoryMount,
    /// A native pack manifest (artifactType, packreg's media types).
    NativeManifest,
    /// A Palette-format manifest.
    PaletteManifest,
    /// The largest manifest accepted.
    LargestManifest,
    /// Deleting a tag.
    TagDelete,
    /// Deleting a manifest by digest.
    ManifestDelete,
    /// The scratch repositories the write probes used.
    ScratchRepositories,
    /// Probe manifests a stopped `--write` run left, removed.
    LeftScratch,
}

impl Check {
    /// Every check, in the order doctor runs them.
    pub const ALL: [Check; 19] = [
        Check::Connection,
        Check::ApiVersion,
        Check::Authentication,
        Check::Catalog,
        Check::CatalogPageSize,
        Check::RepositoryChecksSkipped,
        Check::TagListPaging,
        Check::ReferrersApi,
        Check::BlobRange,
        Check::LeftScratch,
        Check::BlobUpload,
        Check::ChunkedUpload,
        Check::CrossRepositoryMount,
        Check::NativeManifest,
        Check::PaletteManifest,
        Check::LargestManifest,
        Check::TagDelete,
        Check::ManifestDelete,
        Check::ScratchRepositories,
    ];

    /// The stable id (`referrers-api`), as `--json` writes it.
    pub fn id(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// What the table shows.
    pub fn title(self) -> &'static str {
        match self {
            Check::Connection => "connection",
            Check::ApiVersion => "API version check (GET /v2/)",
            Check::Authentication => "authentication",
            Check::Catalog => "_catalog",
            Check::CatalogPageSize => "_catalog page size",
            Check::RepositoryChecksSkipped => "tag paging, Referrers API, Range",
            Check::TagListPaging => "tag-list paging (n=1)",
            Check::ReferrersApi => "Referrers API",
            Check::BlobRange => "Range on blob GETs",
            Check::BlobUpload => "blob upload, one PUT",
            Check::ChunkedUpload => "chunked upload (PATCH with Content-Range)",
            Check::CrossRepositoryMount => "cross-repository mount",
            Check::NativeManifest => "native pack manifest (artifactType, custom media types)",
            Check::PaletteManifest => "Palette-format manifest",
            Check::LargestManifest => "largest manifest (up to 4 MiB)",
            Check::TagDelete => "tag DELETE",
            Check::ManifestDelete => "manifest DELETE by digest",
            Check::ScratchRepositories => "scratch repositories",
            Check::LeftScratch => "scratch repositories of a stopped run",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// What was checked, by its stable id.
    pub id: Check,
    /// What was checked, for people (`Referrers API`).
    pub check: String,
    /// What the registry did (`absent (404)`).
    pub result: String,
    /// Whether it is what packreg prefers.
    pub ok: bool,
    /// What packreg does about it (empty where a remedy says what the user can do).
    pub action: String,
    /// What the user can do, for the front end to word as the action.
    #[serde(skip)]
    pub remedy: Option<Remedy>,
}

/// The findings so far.
#[derive(Debug, Default)]
pub(super) struct Findings(Vec<Finding>);

impl Findings {
    /// Adds a finding.
    pub(super) fn note(&mut self, check: Check, result: impl Into<String>, ok: bool, action: &str) {
        self.0.push(Finding {
            id: check,
            check: check.title().to_string(),
            result: result.into(),
            ok,
            action: action.to_string(),
            remedy: None,
        });
    }

    /// Adds a finding whose action is a step for the user.
    pub(super) fn note_remedy(
        &mut self,
        check: Check,
        result: impl Into<String>,
        ok: bool,
        remedy: Remedy,
    ) {
        self.0.push(Finding {
            id: check,
            check: check.title().to_string(),
            result: result.into(),
            ok,
            action: String::new(),
            remedy: Some(remedy),
        });
    }

    pub(super) fn into_vec(self) -> Vec<Finding> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_has_a_distinct_kebab_id_documented_in_json_md() {
        let page = include_str!("../../../docs/json.md");
        let mut seen = std::collections::BTreeSet::new();
        for check in Check::ALL {
            let id = check.id();
            assert!(!id.is_empty() && id.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            assert!(seen.insert(id.clone()), "{id} twice");
            assert!(
                page.contains(&format!("`{id}`")),
                "{id} not in docs/json.md"
            );
        }
    }
}
