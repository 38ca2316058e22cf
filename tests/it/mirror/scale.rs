//! Request counts of a mirror with nothing to copy, read from the registries' access logs: one
//! tag list per repository and one manifest request per tag on each side, no blob request but
//! the one read of the destination's pack index, one `/v2/` ping per side, and no Referrers
//! API request where the registry has none (the capability record of an earlier run knows).

use crate::support as common;

use std::collections::BTreeMap;

use common::registry::{Registry, Tls};
use common::{ok, Sandbox};

/// Requests in `log` after its first `skip` bytes, by kind (`GET tags`, `HEAD manifests`, ...).
fn requests(log: &str, skip: usize) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in log[skip..].lines() {
        let Some(start) = line
            .find("\"GET /v2/")
            .or_else(|| line.find("\"HEAD /v2/"))
            .or_else(|| {
                ["PUT", "POST", "PATCH", "DELETE"]
                    .iter()
                    .find_map(|m| line.find(&format!("\"{m} /v2/")))
            })
        else {
            continue;
        };
        let request = &line[start + 1..];
        let mut parts = request.split(' ');
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let kind = if path == "/v2/" {
            "ping"
        } else if path.starts_with("/v2/_catalog") {
            "catalog"
        } else if path.contains("/tags/list") {
            "tags"
        } else if path.contains("/manifests/") {
            "manifests"
        } else if path.contains("/referrers/") {
            "referrers"
        } else if path.contains("/blobs/") {
            "blobs"
        } else {
            "other"
        };
        *out.entry(format!("{method} {kind}")).or_insert(0) += 1;
    }
    out
}

#[test]
fn a_mirror_with_nothing_to_copy_asks_each_tag_once() {
    require_peers!("docker-registry");
    let (a, b) = (
        Registry::start(Tls::None, None),
        Registry::start(Tls::None, None),
    );
    let sb = Sandbox::new();
    let (packs, versions) = (4, ["1.0.0", "1.1.0", "2.0.0"]);
    for i in 0..packs {
        for version in versions {
            let dir = common::named_pack(&sb, &format!("scale-{i}"), version);
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
    ok(&sb.run(&["--plain-http", "-q", "mirror", &a.addr, &b.addr]));
    let (before_a, before_b) = (a.log().len(), b.log().len());
    let summary = sb.json(&["--plain-http", "mirror", &a.addr, &b.addr]);
    assert_eq!(summary["tagsCopied"], 0, "{summary}");
    let (src, dst) = (requests(&a.log(), before_a), requests(&b.log(), before_b));
    let version_tags = packs * versions.len();
    // Every tag of the destination: versions and their parent tags (1.x, 2.x, 1.0.x, 1.1.x,
    // 2.0.x).
    let dst_tags = packs * (versions.len() + 5);
    let expected_src: BTreeMap<String, usize> = [
        ("GET ping", 1),
        ("GET catalog", 1),
        ("GET tags", packs),
        ("HEAD manifests", version_tags),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // And one read of its pack index (its tag list, `latest` and the document), to find
    // tags it lacks.
    let expected_dst: BTreeMap<String, usize> = [
        ("GET ping", 1),
        ("GET tags", packs + 1),
        ("HEAD manifests", dst_tags),
        ("GET manifests", 1),
        ("GET blobs", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(src, expected_src, "source requests");
    assert_eq!(dst, expected_dst, "destination requests");

    // A version selection reads each version tag of the source once too (the tags it takes
    // are not asked again), and no parent tag.
    let before_a = a.log().len();
    let summary = sb.json(&[
        "--plain-http",
        "mirror",
        &a.addr,
        &b.addr,
        "--versions",
        "<2",
        "--latest",
        "1",
    ]);
    assert_eq!(summary["tagsUnchanged"], packs, "{summary}");
    let src = requests(&a.log(), before_a);
    assert_eq!(
        src.get("HEAD manifests").copied(),
        Some(version_tags),
        "{src:?}"
    );

    // Told to learn again, packreg asks the Referrers API again: once, or once for each pack
    // copied at the same time before the first answer came, never once per version.
    let before_a = a.log().len();
    ok(&sb.run(&[
        "--plain-http",
        "--refresh-capabilities",
        "-q",
        "mirror",
        &a.addr,
        &b.addr,
    ]));
    let src = requests(&a.log(), before_a);
    let asked = src.get("GET referrers").copied().unwrap_or(0);
    assert!((1..=packs).contains(&asked), "{src:?}");
}
