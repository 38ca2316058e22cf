//! Protocol-level tests of the registry transport against an in-process server driven by
//! request/response tables: what CNCF distribution 2.8 cannot be made to do.

mod auth;
mod deadlines;
mod downloads;
mod endless_listings;
mod foreign_sessions;
mod listing;
mod network;
mod proxy;
mod retries;
mod stuck_uploads;
mod uploads;

use crate::support::fake_registry as fake;

use std::time::{Duration, Instant};

use fake::{Body, FakeRegistry, Rule};
use packreg::config::{builtin_store_options, ConnectionFlags};
use packreg::digest::Digest;
use packreg::store::remote::{NetworkCause, RemoteStore};
use packreg::store::{Store, StoreError, StoreOptions};

const REPO: &str = "spectro-packs/archive/app";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// The HTTP client's proxy matcher is the one part of packreg that reads the environment
/// itself (HTTP_PROXY and friends): none may send this binary's loopback requests elsewhere.
/// Every other setting is given to the store explicitly (see [`store_options`]).
fn isolate() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for var in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            std::env::remove_var(var);
        }
    });
}

/// A private cache folder (capabilities, upload sessions) for the whole test binary.
fn cache_dir() -> std::path::PathBuf {
    static CACHE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    CACHE
        .get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .to_path_buf()
}

/// Plain HTTP and an idle timeout of `timeout_secs`.
fn flags(timeout_secs: u64) -> ConnectionFlags {
    ConnectionFlags {
        plain_http: true,
        timeout: Some(timeout_secs),
        ..ConnectionFlags::default()
    }
}

/// `flags` over the built-in settings, with this binary's cache folder; no docker config but
/// the one the flags name, no settings file, no variables.
fn store_options(flags: ConnectionFlags) -> StoreOptions {
    isolate();
    StoreOptions {
        cache_dir: Some(cache_dir()),
        ..builtin_store_options(&flags)
    }
}

/// A docker config in `dir` holding `user:secret` for `addr`.
fn basic_credentials(dir: &std::path::Path, addr: &str) -> std::path::PathBuf {
    let config = dir.join("config.json");
    let auth = format!(r#"{{"auths":{{"{addr}":{{"auth":"dXNlcjpzZWNyZXQ="}}}}}}"#);
    std::fs::write(&config, auth).unwrap();
    config
}

fn options(timeout_secs: u64) -> StoreOptions {
    store_options(flags(timeout_secs))
}

async fn connect(server: &FakeRegistry) -> RemoteStore {
    RemoteStore::connect(&server.addr, &options(5))
        .await
        .unwrap()
}

fn open_v2() -> Rule {
    Rule::new("GET", "/v2/", 200).body("{}")
}

fn manifest_bytes() -> Vec<u8> {
    let empty = Digest::of(b"{}");
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{empty}","size":2}},"layers":[]}}"#
    )
    .into_bytes()
}

fn manifest_rule(status: u16) -> Rule {
    Rule::new("GET", &format!("/v2/{REPO}/manifests/1.0.0"), status)
}

fn ok_manifest() -> Rule {
    manifest_rule(200)
        .header("content-type", MANIFEST)
        .body(manifest_bytes())
}
