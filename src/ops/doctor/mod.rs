//! `packreg doctor`: what a registry supports, each finding backed by the requests that showed
//! it, and what packreg does about it. Read-only unless asked to write, and then only in two
//! scratch repositories whose names start with `packreg-doctor`, outside
//! `spectro-packs/archive/`, removed again where the registry allows. The requests are the
//! typed probes of [`crate::store::remote::probe`]; this module judges and explains them.

mod findings;
mod scratch;
mod write;

pub use scratch::{clean_left_scratch, ScratchCleaning};

use serde::Serialize;

use crate::digest::Digest;
use crate::oci;
use crate::ops::Remedy;
use crate::reference::PACKS_PREFIX;
use crate::store::remote::probe::{Challenge, Probe, RemoteStore};
use crate::store::{Store, StoreError};
use findings::Findings;
pub use findings::{Check, Finding};

/// The report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The registry.
    pub registry: String,
    /// `https`, or `http` for plain HTTP.
    pub scheme: String,
    /// The findings, in the order checked.
    pub findings: Vec<Finding>,
    /// Requests sent.
    pub requests: usize,
}

/// Probes `store`; with `write`, also what needs writing, in scratch repositories.
pub async fn doctor(store: &RemoteStore, write: bool) -> Result<Report, StoreError> {
    let mut p = Probe::new(store);
    let mut f = Findings::default();
    let scheme = store.scheme();
    match scheme {
        crate::name::Scheme::Https => f.note(Check::Connection, "HTTPS", true, "none needed"),
        crate::name::Scheme::Http => f.note(
            Check::Connection,
            "plain HTTP (no TLS)",
            true,
            "none; credentials and content go unencrypted",
        ),
    }
    api_and_auth(&mut p, &mut f).await?;
    let repo = catalog(&mut p, &mut f, store).await?;
    match repo {
        Some(repo) => existing_repository(&mut p, &mut f, &repo).await?,
        None => f.note(
            Check::RepositoryChecksSkipped,
            "not checked: no pack repository found",
            true,
            "push a pack and run doctor again to check these",
        ),
    }
    if write {
        write::probe(&mut p, &mut f, store).await?;
    }
    Ok(Report {
        registry: store.location(),
        scheme: scheme.as_str().to_string(),
        findings: f.into_vec(),
        requests: p.requests(),
    })
}

async fn api_and_auth(p: &mut Probe<'_>, f: &mut Findings) -> Result<(), StoreError> {
    let api = p.api_version().await?;
    let ok = (200..300).contains(&api.status);
    let check = Check::ApiVersion;
    let result = format!(
        "HTTP {}{}",
        api.status,
        api.version
            .filter(|v| !v.is_empty())
            .map(|v| format!(", {v}"))
            .unwrap_or_default()
    );
    if ok {
        f.note(check, result, ok, "none needed");
    } else {
        f.note_remedy(check, result, ok, Remedy::CheckAddressAndCredentials);
    }
    let auth = match p.authentication().await? {
        Challenge::Open => "none".to_string(),
        Challenge::Basic => "basic".to_string(),
        Challenge::Bearer { realm, service, .. } => format!(
            "bearer (realm {realm}{})",
            service
                .map(|s| format!(", service {s}"))
                .unwrap_or_default()
        ),
    };
    f.note(
        Check::Authentication,
        auth,
        true,
        "credentials from the docker config; tokens per scope, renewed when they expire",
    );
    Ok(())
}

/// The `_catalog` checks; returns a pack repository to probe further, if one is listed.
async fn catalog(
    p: &mut Probe<'_>,
    f: &mut Findings,
    store: &RemoteStore,
) -> Result<Option<String>, StoreError> {
    let page = p.catalog(1000).await?;
    if !(200..300).contains(&page.status) {
        f.note_remedy(
            Check::Catalog,
            format!("refused (HTTP {})", page.status),
            false,
            Remedy::NameThePacks,
        );
        return Ok(None);
    }
    f.note(
        Check::Catalog,
        "allowed",
        true,
        "`ls` and `mirror` list every pack",
    );
    let result = if p.catalog_page_accepted(10_000, 1000).await? {
        "pages of 10000 accepted"
    } else {
        "pages over 1000 refused"
    };
    f.note_remedy(
        Check::CatalogPageSize,
        result,
        true,
        Remedy::PageSizeSetting,
    );
    let base = store.full_name(PACKS_PREFIX.trim_end_matches('/')) + "/";
    Ok(page.entries.iter().find_map(|full| {
        full.strip_prefix(&base)
            .map(|name| format!("{PACKS_PREFIX}{name}"))
    }))
}

async fn existing_repository(
    p: &mut Probe<'_>,
    f: &mut Findings,
    repo: &str,
) -> Result<(), StoreError> {
    let tags = p.tags(repo, 1).await?;
    f.note(
        Check::TagListPaging,
        if tags.more {
            "Link header sent"
        } else {
            "no Link header (one tag, or no paging)"
        },
        true,
        "packreg follows Link pages, refusing a loop",
    );
    let Some(tag) = tags.entries.into_iter().next() else {
        return Ok(());
    };
    let Some(bytes) = p.manifest(repo, &tag).await? else {
        return Ok(());
    };
    let referrers = p.referrers(repo, &Digest::of(&bytes)).await?;
    f.note(
        Check::ReferrersApi,
        if referrers.api {
            "present".to_string()
        } else {
            format!("absent (HTTP {})", referrers.status)
        },
        true,
        if referrers.api {
            "referrers are listed through the API"
        } else {
            "referrers travel through sha256-<hex> fallback tags"
        },
    );
    let config = serde_json::from_slice::<oci::Manifest>(&bytes)
        .ok()
        .map(|m| m.config.digest);
    if let Some(blob) = config {
        let status = p.first_byte(repo, &blob).await?;
        let honoured = status == 206;
        f.note(
            Check::BlobRange,
            if honoured {
                "honoured (206)".to_string()
            } else {
                format!("ignored (HTTP {status})")
            },
            honoured,
            if honoured {
                "a cut download resumes from where it stopped"
            } else {
                "a cut download starts again (the bytes already received are skipped)"
            },
        );
    }
    Ok(())
}
