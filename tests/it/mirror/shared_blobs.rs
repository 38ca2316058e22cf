//! A first mirror of packs that share files: each shared blob is uploaded once to the
//! destination and mounted into the other repositories, and not asked about again; each
//! version's manifest is read once, and nothing is asked about a repository that was empty.

use crate::support as common;

use std::collections::BTreeMap;

use common::registry::{Registry, Tls};
use common::{ok, Sandbox};

/// Per blob digest, how often `log` shows `what` (`"PUT /v2/` uploads end with the digest,
/// `"HEAD /v2/` checks name it in the path).
fn per_digest(log: &str, method: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in log.lines() {
        let Some(start) = line.find(&format!("\"{method} /v2/")) else {
            continue;
        };
        let path = line[start..].split(' ').nth(1).unwrap_or("");
        if !path.contains("/blobs/") {
            continue;
        }
        let digest = match path.split_once("digest=") {
            Some((_, rest)) => rest.split('&').next().unwrap_or(""),
            None => path.rsplit('/').next().unwrap_or(""),
        };
        let digest = digest.replace("%3A", ":").replace("%3a", ":");
        if digest.starts_with("sha256:") {
            *out.entry(digest).or_insert(0) += 1;
        }
    }
    out
}

/// Pack repository manifest requests with `method` in `log`.
fn manifest_requests(log: &str, method: &str) -> usize {
    log.lines()
        .filter(|l| l.contains(&format!("\"{method} /v2/spectro-packs/archive/")))
        .filter(|l| l.contains("/manifests/"))
        .count()
}

/// Two registries, the first holding 4 packs of 2 versions each made from one pack (so they
/// share files).
fn shared_source(sb: &Sandbox) -> (Registry, Registry) {
    let (a, b) = (
        Registry::start(Tls::None, None),
        Registry::start(Tls::None, None),
    );
    for i in 0..4 {
        for version in ["1.0.0", "1.1.0"] {
            let dir = common::named_pack(sb, &format!("shared-{i}"), version);
            ok(&sb.run(&[
                "-r",
                &a.addr,
                "--plain-http",
                "-q",
                "push",
                dir.to_str().unwrap(),
            ]));
        }
    }
    (a, b)
}

#[test]
fn a_first_mirror_reads_each_manifest_once_and_asks_nothing_of_new_repositories() {
    require_peers!("docker-registry");
    let sb = Sandbox::new();
    let (a, b) = shared_source(&sb);
    let skip = a.log().len();
    let summary = sb.json(&["--plain-http", "mirror", &a.addr, &b.addr]);
    assert_eq!(summary["tagsCopied"], 8, "{summary}");
    let (src, dst) = (&a.log()[skip..], b.log());
    assert_eq!(manifest_requests(src, "GET"), 8, "{src}");
    assert_eq!(manifest_requests(src, "HEAD"), 0, "{src}");
    assert_eq!(manifest_requests(&dst, "HEAD"), 0, "{dst}");
    // Neither the parent tags nor the pack index read back what was written.
    assert_eq!(manifest_requests(&dst, "GET"), 0, "{dst}");
    assert_eq!(
        manifest_requests(&dst, "PUT"),
        8 + 4 * 3,
        "versions, then 1.x, 1.0.x, 1.1.x of each pack"
    );
}

#[test]
fn a_first_mirror_uploads_a_shared_blob_once_and_mounts_it_elsewhere() {
    require_peers!("docker-registry");
    let sb = Sandbox::new();
    let (a, b) = shared_source(&sb);
    let summary = sb.json(&["--plain-http", "mirror", &a.addr, &b.addr]);
    assert_eq!(summary["tagsCopied"], 8, "{summary}");
    assert!(summary["blobsMounted"].as_u64().unwrap() > 0, "{summary}");
    let log = b.log();
    let uploads = per_digest(&log, "PUT");
    // The pack index's own document is written more than once, by design.
    let index_docs = per_digest(
        &log.lines()
            .filter(|l| l.contains("packreg-index"))
            .collect::<Vec<_>>()
            .join("\n"),
        "PUT",
    );
    let shared: Vec<_> = uploads
        .iter()
        .filter(|(d, n)| **n > 1 && !index_docs.contains_key(*d))
        .collect();
    assert!(shared.is_empty(), "uploaded more than once: {shared:?}");
    let mounts = log
        .lines()
        .filter(|l| l.contains("\"POST /v2/") && l.contains("mount="))
        .count();
    assert!(mounts >= 4, "{mounts} mounts");
    let checked: Vec<_> = per_digest(&log, "HEAD")
        .into_iter()
        .filter(|(d, n)| *n > 1 && !index_docs.contains_key(d))
        .collect();
    assert!(
        checked.is_empty(),
        "asked about more than once: {checked:?}"
    );
    for i in 0..4 {
        ok(&sb.run(&[
            "-r",
            &b.addr,
            "--plain-http",
            "pull",
            &format!("shared-{i}:1.1.0"),
            "-o",
            sb.path(&format!("out-{i}")).to_str().unwrap(),
        ]));
    }
}
