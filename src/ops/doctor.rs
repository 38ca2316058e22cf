//! `packreg doctor`: what a registry supports, each finding backed by the requests that showed
//! it, and what packreg does about it. Read-only unless asked to write, and then only in two
//! scratch repositories whose names start with `packreg-doctor`, outside
//! `spectro-packs/archive/`, removed again where the registry allows.

use http::Method;
use serde::Serialize;

use crate::digest::Digest;
use crate::oci::{self, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use crate::reference::PACKS_PREFIX;
use crate::store::remote::{AuthKind, Challenge, RemoteStore, Request, Response, Support};
use crate::store::{Store, StoreError};

/// One finding.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// What was checked (`referrers API`).
    pub check: String,
    /// What the registry did (`absent (404)`).
    pub result: String,
    /// Whether it is what packreg prefers.
    pub ok: bool,
    /// What packreg does about it.
    pub action: String,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The registry.
    pub registry: String,
    /// The findings, in the order checked.
    pub findings: Vec<Finding>,
    /// Requests sent.
    pub requests: usize,
}

struct Probe<'a> {
    store: &'a RemoteStore,
    requests: usize,
    findings: Vec<Finding>,
}

impl Probe<'_> {
    async fn send(&mut self, request: Request<'_>) -> Result<Response, StoreError> {
        self.requests += 1;
        self.store.transport().send(request).await
    }

    fn note(&mut self, check: &str, result: impl Into<String>, ok: bool, action: &str) {
        self.findings.push(Finding {
            check: check.to_string(),
            result: result.into(),
            ok,
            action: action.to_string(),
        });
    }

    fn url(&self, repo: &str, rest: &str) -> String {
        self.store.url(&self.store.full_name(repo), rest)
    }
}

/// Probes `store`; with `write`, also what needs writing, in scratch repositories.
pub async fn doctor(store: &RemoteStore, write: bool) -> Result<Report, StoreError> {
    let mut p = Probe {
        store,
        requests: 0,
        findings: Vec::new(),
    };
    api_and_auth(&mut p).await?;
    let repo = catalog(&mut p).await?;
    match repo {
        Some(repo) => existing_repository(&mut p, &repo).await?,
        None => p.note(
            "tag paging, Referrers API, Range",
            "not checked: no pack repository found",
            true,
            "push a pack and run doctor again to check these",
        ),
    }
    if write {
        super::doctor_write::probe(&mut WriteProbe::new(&mut p)).await?;
    }
    Ok(Report {
        registry: store.location(),
        findings: p.findings,
        requests: p.requests,
    })
}

async fn api_and_auth(p: &mut Probe<'_>) -> Result<(), StoreError> {
    let resp = p
        .send(Request::new(Method::GET, p.store.transport().v2_url()))
        .await?;
    let version = resp
        .header("docker-distribution-api-version")
        .unwrap_or("")
        .to_string();
    let ok = resp.status.is_success();
    p.note(
        "API version check (GET /v2/)",
        format!(
            "HTTP {}{}",
            resp.status.as_u16(),
            if version.is_empty() {
                String::new()
            } else {
                format!(", {version}")
            }
        ),
        ok,
        if ok {
            "none needed"
        } else {
            "check the address, and the credentials (`packreg login`)"
        },
    );
    let challenge = p.store.transport().challenge().await?;
    let kind = match &challenge {
        Challenge::Open => AuthKind::None,
        Challenge::Basic => AuthKind::Basic,
        Challenge::Bearer { .. } => AuthKind::Bearer,
    };
    p.store.learn_capability(|c| c.auth = Some(kind));
    let auth = match challenge {
        Challenge::Open => "none".to_string(),
        Challenge::Basic => "basic".to_string(),
        Challenge::Bearer { realm, service, .. } => format!(
            "bearer (realm {realm}{})",
            service
                .map(|s| format!(", service {s}"))
                .unwrap_or_default()
        ),
    };
    p.note(
        "authentication",
        auth,
        true,
        "credentials from the docker config; tokens per scope, renewed when they expire",
    );
    Ok(())
}

/// The `_catalog` checks; returns a pack repository to probe further, if one is listed.
async fn catalog(p: &mut Probe<'_>) -> Result<Option<String>, StoreError> {
    let url = format!("{}_catalog?n=1000", p.store.transport().v2_url());
    let resp = p.send(Request::new(Method::GET, url).catalog()).await?;
    let status = resp.status.as_u16();
    p.store
        .learn_capability(|c| c.catalog = Support::known(resp.status.is_success()));
    if !resp.status.is_success() {
        p.note(
            "_catalog",
            format!("refused (HTTP {status})"),
            false,
            "`ls` needs a pack name and `mirror` needs names (or --names-from)",
        );
        return Ok(None);
    }
    let body = resp
        .bytes(1024 * 1024, &p.store.location(), "catalog page")
        .await?;
    let page: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let names: Vec<String> = page["repositories"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    p.note(
        "_catalog",
        "allowed",
        true,
        "`ls` and `mirror` list every pack",
    );
    let big = format!("{}_catalog?n=10000", p.store.transport().v2_url());
    let resp = p.send(Request::new(Method::GET, big).catalog()).await?;
    let page_max = if resp.status.is_success() {
        10_000
    } else {
        1000
    };
    p.store
        .learn_capability(|c| c.catalog_page_max = Some(page_max));
    let (result, action) = if resp.status.is_success() {
        (
            "pages of 10000 accepted",
            "packreg asks 1000 at a time (PACKREG_PAGE_SIZE)",
        )
    } else {
        (
            "pages over 1000 refused",
            "packreg asks 1000 at a time (PACKREG_PAGE_SIZE)",
        )
    };
    p.note("_catalog page size", result, true, action);
    let base = p.store.full_name(PACKS_PREFIX.trim_end_matches('/')) + "/";
    Ok(names.iter().find_map(|full| {
        full.strip_prefix(&base)
            .map(|name| format!("{PACKS_PREFIX}{name}"))
    }))
}

async fn existing_repository(p: &mut Probe<'_>, repo: &str) -> Result<(), StoreError> {
    let resp = p
        .send(
            Request::new(Method::GET, p.url(repo, "tags/list?n=1"))
                .repository(&p.store.full_name(repo)),
        )
        .await?;
    let paged = resp.header("link").is_some();
    let body = resp.bytes(1024 * 1024, repo, "tag list").await?;
    let tags: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let tag = tags["tags"][0].as_str().map(str::to_string);
    p.note(
        "tag-list paging (n=1)",
        if paged {
            "Link header sent"
        } else {
            "no Link header (one tag, or no paging)"
        },
        true,
        "packreg follows Link pages, refusing a loop",
    );
    let Some(tag) = tag else {
        return Ok(());
    };
    let resp = p
        .send(
            Request::new(Method::GET, p.url(repo, &format!("manifests/{tag}")))
                .header("accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json")
                .repository(&p.store.full_name(repo)),
        )
        .await?;
    if !resp.status.is_success() {
        return Ok(());
    }
    let bytes = resp.bytes(4 * 1024 * 1024, repo, "manifest").await?;
    let digest = Digest::of(&bytes);
    let resp = p
        .send(
            Request::new(Method::GET, p.url(repo, &format!("referrers/{digest}")))
                .header("accept", MEDIA_TYPE_INDEX)
                .repository(&p.store.full_name(repo)),
        )
        .await?;
    let is_index = resp
        .header("content-type")
        .is_some_and(|t| t.starts_with(MEDIA_TYPE_INDEX));
    let api = resp.status.as_u16() == 200 && is_index;
    p.store
        .learn_capability(|c| c.referrers_api = Support::known(api));
    p.note(
        "Referrers API",
        if api {
            "present".to_string()
        } else {
            format!("absent (HTTP {})", resp.status.as_u16())
        },
        true,
        if api {
            "referrers are listed through the API"
        } else {
            "referrers travel through sha256-<hex> fallback tags"
        },
    );
    let config = serde_json::from_slice::<oci::Manifest>(&bytes)
        .ok()
        .map(|m| m.config.digest);
    if let Some(blob) = config {
        let resp = p
            .send(
                Request::new(Method::GET, p.url(repo, &format!("blobs/{blob}")))
                    .header("range", "bytes=0-0")
                    .repository(&p.store.full_name(repo)),
            )
            .await?;
        let honoured = resp.status.as_u16() == 206;
        p.store
            .learn_capability(|c| c.range = Support::known(honoured));
        p.note(
            "Range on blob GETs",
            if honoured {
                "honoured (206)".to_string()
            } else {
                format!("ignored (HTTP {})", resp.status.as_u16())
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

/// The write probes' view of the probe.
pub(crate) struct WriteProbe<'p, 'a> {
    probe: &'p mut Probe<'a>,
}

impl<'p, 'a> WriteProbe<'p, 'a> {
    fn new(probe: &'p mut Probe<'a>) -> Self {
        WriteProbe { probe }
    }

    pub(crate) async fn send(&mut self, request: Request<'_>) -> Result<Response, StoreError> {
        self.probe.send(request).await
    }

    pub(crate) fn note(&mut self, check: &str, result: impl Into<String>, ok: bool, action: &str) {
        self.probe.note(check, result, ok, action)
    }

    pub(crate) fn url(&self, repo: &str, rest: &str) -> String {
        self.probe.url(repo, rest)
    }

    pub(crate) fn absolute(&self, location: &str) -> Result<String, StoreError> {
        self.probe.store.transport().absolute(location)
    }

    pub(crate) fn full_name(&self, repo: &str) -> String {
        self.probe.store.full_name(repo)
    }

    pub(crate) fn learn(&self, change: impl FnOnce(&mut crate::store::remote::Capabilities)) {
        self.probe.store.learn_capability(change)
    }
}

/// Media type of the manifests the write probes push.
pub(crate) const PROBE_MANIFEST: &str = MEDIA_TYPE_MANIFEST;
