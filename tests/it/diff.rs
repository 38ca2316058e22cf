//! `packreg diff`: two versions of a pack made here (a chart bumped, a values key changed, a
//! manifest added, an image retagged) compared in local stores, across formats and on a real
//! registry, with every blob download counted.

use crate::support as common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::registry::{Registry, Tls};
use common::store::HookedStore;
use common::{ok, stderr, stdout, Sandbox};
use packreg::archive::{write_tar, write_tar_gz, TarEntry, TarEntryKind};
use packreg::digest::Digest;
use packreg::ops::diff::{diff, DiffOptions};
use packreg::reference::PackRef;
use packreg::store::layout::LayoutStore;
use packreg::store::Store;
use serde_json::{json, Value};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn entry(name: &str, text: &str) -> TarEntry {
    TarEntry {
        name: name.into(),
        kind: TarEntryKind::Bytes(text.as_bytes().to_vec()),
    }
}

fn chart_entries(name: &str, version: &str, template: &str) -> Vec<TarEntry> {
    vec![
        entry(
            &format!("{name}/Chart.yaml"),
            &format!("apiVersion: v2\nname: {name}\nversion: {version}\n"),
        ),
        entry(&format!("{name}/values.yaml"), "replicaCount: 1\n"),
        entry(&format!("{name}/templates/deploy.yaml"), template),
    ]
}

/// A chart archive as `helm package` would make it.
fn write_chart(path: &Path, name: &str, version: &str, template: &str) {
    let file = std::fs::File::create(path).unwrap();
    write_tar_gz(file, &chart_entries(name, version, template)).unwrap();
}

/// The same chart files compressed another way: other archive bytes, same content.
fn write_chart_repackaged(path: &Path, name: &str, version: &str, template: &str) {
    let file = std::fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::new(1));
    write_tar(gz, &chart_entries(name, version, template))
        .unwrap()
        .finish()
        .unwrap();
}

const VALUES_V1: &str = "\
pack:
  namespace: demo
  content:
    images:
      - image: docker.io/library/nginx:1.25.3
      - image: docker.io/library/redis:7.2
charts:
  web:
    # One pod is enough for a demo.
    replicaCount: 1
    podLabels:
      app.kubernetes.io/name: web
  cache:
    size: 1Gi
";

/// Version 2: replicaCount changed, a dotted label key added, redis retagged; comments
/// moved and reworded, which is no difference.
const VALUES_V2: &str = "\
# Values of the demo pack.
pack:
  namespace: demo
  content:
    images:
      - image: docker.io/library/nginx:1.25.3
      - image: docker.io/library/redis:7.4
charts:
  web:
    replicaCount: 2 # two now
    podLabels:
      app.kubernetes.io/name: web
      app.kubernetes.io/part-of: demo
  cache:
    size: 1Gi
";

/// Writes version 1 (`second` false) or 2 of the demo pack into `dir`.
fn make_pack(dir: &Path, second: bool) {
    std::fs::create_dir_all(dir.join("charts")).unwrap();
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    let (version, web) = if second {
        ("1.1.0", "1.1.0")
    } else {
        ("1.0.0", "1.0.0")
    };
    let pack_json = json!({
        "name": "demo",
        "displayName": "Demo",
        "version": version,
        "layer": "addon",
        "addonType": "app services",
        "cloudTypes": ["all"],
        "charts": [format!("charts/web-{web}.tgz"), "charts/cache-0.3.0.tgz"],
    });
    std::fs::write(
        dir.join("pack.json"),
        serde_json::to_vec_pretty(&pack_json).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("values.yaml"),
        if second { VALUES_V2 } else { VALUES_V1 },
    )
    .unwrap();
    let template = if second {
        "kind: Deployment\nspec:\n  replicas: {{ .Values.replicaCount }}\n  minReadySeconds: 5\n"
    } else {
        "kind: Deployment\nspec:\n  replicas: {{ .Values.replicaCount }}\n"
    };
    write_chart(
        &dir.join(format!("charts/web-{web}.tgz")),
        "web",
        web,
        template,
    );
    write_chart(
        &dir.join("charts/cache-0.3.0.tgz"),
        "cache",
        "0.3.0",
        "kind: StatefulSet\n",
    );
    std::fs::write(
        dir.join("manifests/namespace.yaml"),
        "kind: Namespace\nmetadata:\n  name: demo\n",
    )
    .unwrap();
    if second {
        std::fs::write(
            dir.join("manifests/configmap.yaml"),
            "kind: ConfigMap\nmetadata:\n  name: demo\n",
        )
        .unwrap();
    }
    // A folder no version changes: its layer is shared.
    std::fs::create_dir_all(dir.join("extras")).unwrap();
    std::fs::write(dir.join("extras/notes.txt"), "unchanged\n").unwrap();
    std::fs::write(dir.join("README.md"), "# Demo\n").unwrap();
    std::fs::write(dir.join("logo.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
}

/// Pushes both versions into `registry`, native unless `format` says otherwise.
fn push_both(sb: &Sandbox, registry: &str, format: &str) {
    for (second, name) in [(false, "v1"), (true, "v2")] {
        let dir = sb.path(&format!("{format}-{name}"));
        make_pack(&dir, second);
        ok(&sb.run(&["-r", registry, "push", "--format", format, s(&dir)]));
    }
}

/// The differences the two versions have, as `--json` reports them.
fn expected_sections() -> Value {
    json!({
        "packJson": [
            {"change": "changed", "path": "/version", "from": "1.0.0", "to": "1.1.0"},
            {"change": "changed", "path": "/charts/0",
             "from": "charts/web-1.0.0.tgz", "to": "charts/web-1.1.0.tgz"}
        ],
        "values": [
            {"change": "changed", "path": "/pack/content/images/1/image",
             "from": "docker.io/library/redis:7.2", "to": "docker.io/library/redis:7.4"},
            {"change": "changed", "path": "/charts/web/replicaCount", "from": 1, "to": 2},
            {"change": "added", "path": "/charts/web/podLabels/app.kubernetes.io~1part-of",
             "to": "demo"}
        ],
        "charts": [
            {"change": "changed", "name": "web", "from": "1.0.0", "to": "1.1.0",
             "contentChanged": true,
             "files": [
                {"change": "changed", "path": "Chart.yaml"},
                {"change": "changed", "path": "templates/deploy.yaml"}
             ]}
        ],
        "files": [
            {"change": "added", "path": "manifests/configmap.yaml"}
        ],
        "images": [
            {"change": "retagged", "repository": "docker.io/library/redis",
             "from": "7.2", "to": "7.4"}
        ]
    })
}

fn sections(report: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in ["packJson", "values", "charts", "files", "images"] {
        out.insert(key.into(), report[key].clone());
    }
    Value::Object(out)
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

#[test]
fn reports_every_difference_and_nothing_else() {
    let sb = Sandbox::new();
    let store = format!("oci:{}", s(&sb.path("store")));
    push_both(&sb, &store, "native");

    let out = sb.run(&["-r", &store, "--json", "diff", "demo:1.0.0", "demo:1.1.0"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sections(&report), expected_sections(), "{report:#}");
    assert_eq!(report["identical"], false);
    assert_eq!(report["listsComparedBy"], "index");
    assert_eq!(report["from"]["format"], "native");

    let text = sb.run(&["-r", &store, "diff", "demo:1.0.0", "demo:1.1.0"]);
    assert_eq!(code(&text), 1);
    let text = stdout(&text);
    for line in [
        "  ~ version: \"1.0.0\" -> \"1.1.0\"",
        "values.yaml (lists compared by index):",
        "  ~ charts.web.replicaCount: 1 -> 2",
        "  + charts.web.podLabels.\"app.kubernetes.io/part-of\": \"demo\"",
        "  ~ web 1.0.0 -> 1.1.0 (content changed: 2 file(s))",
        "  + manifests/configmap.yaml",
        "  ~ docker.io/library/redis: 7.2 -> 7.4",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing from:\n{text}"
        );
    }

    let stat = sb.run(&["-r", &store, "diff", "--stat", "demo:1.0.0", "demo:1.1.0"]);
    assert_eq!(code(&stat), 1);
    assert!(
        stdout(&stat).contains("values.yaml: 1 added, 0 removed, 2 changed"),
        "{}",
        stdout(&stat)
    );

    // The same version twice: identical, exit 0.
    let same = sb.run(&["-r", &store, "diff", "demo:1.0.0", "demo:1.0.0"]);
    assert_eq!(code(&same), 0, "{}", stderr(&same));
    assert!(stdout(&same).contains("identical content"));

    // Errors leave with 2, naming what is wrong.
    let missing = sb.run(&["-r", &store, "diff", "demo:1.0.0", "demo:9.9.9"]);
    assert_eq!(code(&missing), 2);
    assert!(stderr(&missing).contains("9.9.9"), "{}", stderr(&missing));
    let bad = sb.run(&["-r", &store, "diff", "demo:1.0.0", "Demo"]);
    assert_eq!(code(&bad), 2);
}

#[test]
fn patch_shows_text_changes_and_names_binary_ones() {
    let sb = Sandbox::new();
    let store = format!("oci:{}", s(&sb.path("store")));
    let v1 = sb.path("v1");
    make_pack(&v1, false);
    ok(&sb.run(&["-r", &store, "push", s(&v1)]));
    let v2 = sb.path("v2");
    make_pack(&v2, false);
    common::set_pack_field(&v2, "version", "1.0.1");
    std::fs::write(v2.join("README.md"), "# Demo\n\nNow with more words.\n").unwrap();
    std::fs::write(v2.join("logo.png"), b"\x89PNG\r\n\x1a\n\0other").unwrap();
    ok(&sb.run(&["-r", &store, "push", s(&v2)]));

    let out = sb.run(&["-r", &store, "diff", "--patch", "demo:1.0.0", "demo:1.0.1"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "--- a/README.md\n+++ b/README.md\n@@ -1 +1,3 @@\n # Demo\n+\n+Now with more words.\n"
        ),
        "{text}"
    );
    assert!(text.contains("  ~ logo.png (binary file)"), "{text}");
    let out = sb.run(&[
        "-r",
        &store,
        "--json",
        "diff",
        "--patch",
        "demo:1.0.0",
        "demo:1.0.1",
    ]);
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let readme = &json["files"][0];
    assert_eq!(readme["path"], "README.md", "{json:#}");
    assert!(readme["patch"]
        .as_str()
        .unwrap()
        .contains("+Now with more words.\n"));
}

#[test]
fn native_and_palette_formats_of_one_pack_show_no_content_difference() {
    let sb = Sandbox::new();
    let native = format!("oci:{}", s(&sb.path("native")));
    let palette = format!("oci:{}", s(&sb.path("palette")));
    push_both(&sb, &native, "native");
    push_both(&sb, &palette, "palette");

    let same = sb.run(&[
        "diff",
        &format!("{native}/spectro-packs/archive/demo:1.0.0"),
        &format!("{palette}/spectro-packs/archive/demo:1.0.0"),
    ]);
    assert_eq!(code(&same), 0, "{}{}", stdout(&same), stderr(&same));
    assert!(stdout(&same).contains("identical content"));

    // Across formats and stores the same differences show, here with the side flags.
    let out = sb.run(&[
        "--json",
        "diff",
        "--from-registry",
        &palette,
        "--to-registry",
        &native,
        "demo:1.0.0",
        "demo:1.1.0",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sections(&report), expected_sections(), "{report:#}");
    assert_eq!(report["from"]["format"], "palette");
    assert_eq!(report["to"]["format"], "native");
}

#[test]
fn a_chart_packaged_again_with_the_same_files_is_no_difference() {
    let sb = Sandbox::new();
    let store = format!("oci:{}", s(&sb.path("store")));
    let v1 = sb.path("v1");
    make_pack(&v1, false);
    ok(&sb.run(&["-r", &store, "push", s(&v1)]));
    let again = sb.path("again");
    make_pack(&again, false);
    common::set_pack_field(&again, "version", "1.0.0-r1");
    let chart = again.join("charts/cache-0.3.0.tgz");
    let before = std::fs::read(&chart).unwrap();
    write_chart_repackaged(&chart, "cache", "0.3.0", "kind: StatefulSet\n");
    assert_ne!(
        before,
        std::fs::read(&chart).unwrap(),
        "the archive bytes differ"
    );
    ok(&sb.run(&["-r", &store, "push", s(&again)]));

    let report = sb.run(&[
        "-r",
        &store,
        "--json",
        "diff",
        "demo:1.0.0",
        "demo:1.0.0-r1",
    ]);
    assert_eq!(code(&report), 1);
    let report: Value = serde_json::from_str(&stdout(&report)).unwrap();
    assert_eq!(report["charts"], json!([]), "{report:#}");
    assert_eq!(report["files"], json!([]), "{report:#}");
    assert_eq!(
        report["packJson"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );
}

/// The digests of the layers of a manifest, with their titles.
async fn blobs_of(store: &dyn Store, tag: &str) -> Vec<(String, Digest)> {
    let raw = store
        .get_manifest("spectro-packs/archive/demo", tag)
        .await
        .unwrap();
    let manifest: packreg::oci::Manifest = serde_json::from_slice(&raw.bytes).unwrap();
    let mut out = Vec::new();
    for layer in &manifest.layers {
        out.push((
            layer.title().unwrap_or_default().to_string(),
            layer.digest.clone(),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_blob_whose_digest_both_sides_share_is_read() {
    let sb = Sandbox::new();
    let store = format!("oci:{}", s(&sb.path("store")));
    push_both(&sb, &store, "native");
    // The local store, recording every blob read from it.
    let reads = Arc::new(Mutex::new(Vec::new()));
    let counting = {
        let reads = reads.clone();
        HookedStore::new(LayoutStore::new(sb.path("store")), move |call| {
            if let Some(digest) = call.blob_read() {
                reads.lock().unwrap().push(digest.clone());
            }
            Ok(())
        })
    };
    let v1 = blobs_of(&counting, "1.0.0").await;
    let v2 = blobs_of(&counting, "1.1.0").await;
    let report = diff(
        &counting,
        &PackRef::parse("demo:1.0.0").unwrap(),
        &counting,
        &PackRef::parse("demo:1.1.0").unwrap(),
        &DiffOptions::default(),
    )
    .await
    .unwrap();
    assert!(!report.identical);

    let reads = reads.lock().unwrap().clone();
    let read: BTreeSet<&Digest> = reads.iter().collect();
    assert_eq!(read.len(), reads.len(), "a blob was read twice: {reads:?}");
    let shared: BTreeSet<&Digest> = v1
        .iter()
        .map(|(_, d)| d)
        .filter(|d| v2.iter().any(|(_, e)| e == *d))
        .collect();
    let titles_of = |set: &BTreeSet<&Digest>| -> BTreeSet<String> {
        v1.iter()
            .chain(&v2)
            .filter(|(_, d)| set.contains(d))
            .map(|(t, _)| t.clone())
            .collect()
    };
    assert!(
        read.is_disjoint(&shared),
        "read unchanged blobs: {:?}",
        titles_of(&read.intersection(&shared).copied().collect())
    );
    // What changed was read, once per side: pack.json, values.yaml, the web chart and the
    // manifests folder.
    assert_eq!(
        titles_of(&read),
        BTreeSet::from(
            [
                "pack.json",
                "values.yaml",
                "charts/web-1.0.0.tgz",
                "charts/web-1.1.0.tgz",
                "manifests"
            ]
            .map(String::from)
        )
    );
    assert_eq!(report.read.blobs, reads.len());
    // Unchanged: the cache chart, README.md, logo.png and the extras folder.
    assert_eq!(
        titles_of(&shared),
        BTreeSet::from(
            ["charts/cache-0.3.0.tgz", "README.md", "logo.png", "extras"].map(String::from)
        )
    );
}

/// Blob GETs in the registry's access log, by digest.
fn blob_gets(reg: &Registry) -> Vec<String> {
    reg.log()
        .lines()
        .filter(|l| l.contains("\"GET /v2/") && l.contains("/blobs/sha256:"))
        .filter_map(|l| {
            let at = l.find("/blobs/")? + "/blobs/".len();
            let digest: String = l[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == ':')
                .collect();
            Some(digest)
        })
        .collect()
}

#[test]
fn on_a_registry_unchanged_blobs_are_never_downloaded() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    push_both(&sb, &reg.addr, "native");
    let layers = |tag: &str| -> Vec<String> {
        let info = sb.json(&["-r", &reg.addr, "inspect", &format!("demo:{tag}")]);
        info["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_string())
            .collect()
    };
    let (v1, v2) = (layers("1.0.0"), layers("1.1.0"));
    let shared: BTreeSet<&String> = v1.iter().filter(|d| v2.contains(d)).collect();
    assert_eq!(shared.len(), 4, "cache chart, README.md, logo.png, extras/");

    let before = blob_gets(&reg).len();
    let out = sb.run(&[
        "-r",
        &reg.addr,
        "--json",
        "diff",
        "demo:1.0.0",
        "demo:1.1.0",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sections(&report), expected_sections(), "{report:#}");

    let gets = blob_gets(&reg)[before..].to_vec();
    assert!(
        !gets.is_empty(),
        "the access log shows the diff's downloads"
    );
    for digest in &gets {
        assert!(
            !shared.contains(digest),
            "downloaded {digest}, which both versions share"
        );
    }
    // pack.json, values.yaml, manifests/ and the web chart, from each side.
    assert_eq!(gets.len(), 8, "{gets:?}");
}

#[test]
fn patch_shows_the_text_changes_inside_a_chart_under_the_archive_path() {
    let sb = Sandbox::new();
    let store = format!("oci:{}", s(&sb.path("store")));
    push_both(&sb, &store, "native");

    let out = sb.run(&["-r", &store, "diff", "--patch", "demo:1.0.0", "demo:1.1.0"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "      ~ templates/deploy.yaml\n\
             --- a/charts/web-1.0.0.tgz/web/templates/deploy.yaml\n\
             +++ b/charts/web-1.1.0.tgz/web/templates/deploy.yaml\n\
             @@ -1,3 +1,4 @@\n \
             kind: Deployment\n \
             spec:\n   \
             replicas: {{ .Values.replicaCount }}\n\
             +  minReadySeconds: 5\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "--- a/charts/web-1.0.0.tgz/web/Chart.yaml\n+++ b/charts/web-1.1.0.tgz/web/Chart.yaml\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("-version: 1.0.0\n+version: 1.1.0\n"),
        "{text}"
    );

    let out = sb.run(&[
        "-r",
        &store,
        "--json",
        "diff",
        "--patch",
        "demo:1.0.0",
        "demo:1.1.0",
    ]);
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let files = &json["charts"][0]["files"];
    assert_eq!(files[1]["path"], "templates/deploy.yaml", "{json:#}");
    assert!(files[1]["patch"]
        .as_str()
        .unwrap()
        .contains("+  minReadySeconds: 5\n"));
}

/// A pack whose README.md is `text`.
fn pack_with_readme(sb: &Sandbox, dir: &str, version: &str, text: &str) -> std::path::PathBuf {
    let dir = sb.path(dir);
    make_pack(&dir, false);
    common::set_pack_field(&dir, "version", version);
    std::fs::write(dir.join("README.md"), text).unwrap();
    dir
}

/// Lines that differ throughout: the worst case of a line diff.
fn scrambled(lines: usize, seed: u64) -> String {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..lines)
        .map(|_| format!("line {}\n", rng.u32(..1000)))
        .collect()
}

#[test]
fn patch_notes_a_file_too_large_to_diff_instead_of_diffing_it() {
    let sb = Sandbox::new();
    let store = format!("oci:{}", s(&sb.path("store")));
    // About 1.6 MB each, over the 1 MiB a file.
    let v1 = pack_with_readme(&sb, "v1", "1.0.0", &scrambled(200_000, 1));
    let v2 = pack_with_readme(&sb, "v2", "1.0.1", &scrambled(200_000, 2));
    ok(&sb.run(&["-r", &store, "push", s(&v1)]));
    ok(&sb.run(&["-r", &store, "push", s(&v2)]));

    let started = std::time::Instant::now();
    let out = sb.run(&["-r", &store, "diff", "--patch", "demo:1.0.0", "demo:1.0.1"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.starts_with("  ~ README.md (no patch: ") && l.contains("too large to diff")),
        "{text}"
    );
    assert!(!text.contains("+++ b/README.md"), "no patch: {text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_stops_searching_at_the_deadline_and_says_so() {
    let sb = Sandbox::new();
    let store_dir = sb.path("store");
    let store = format!("oci:{}", s(&store_dir));
    let v1 = pack_with_readme(&sb, "v1", "1.0.0", &scrambled(5_000, 1));
    let v2 = pack_with_readme(&sb, "v2", "1.0.1", &scrambled(5_000, 2));
    ok(&sb.run(&["-r", &store, "push", s(&v1)]));
    ok(&sb.run(&["-r", &store, "push", s(&v2)]));
    let layout = LayoutStore::new(&store_dir);
    let opts = DiffOptions {
        patch: true,
        budget: packreg::ops::diff::PatchBudget {
            file_time: std::time::Duration::ZERO,
            ..Default::default()
        },
        ..DiffOptions::default()
    };
    let report = diff(
        &layout,
        &PackRef::parse("demo:1.0.0").unwrap(),
        &layout,
        &PackRef::parse("demo:1.0.1").unwrap(),
        &opts,
    )
    .await
    .unwrap();
    let readme = report.files.iter().find(|f| f.path == "README.md").unwrap();
    assert!(
        readme
            .note
            .as_deref()
            .unwrap_or("")
            .contains("slow to diff"),
        "{readme:?}"
    );
    assert!(readme
        .patch
        .as_deref()
        .unwrap()
        .starts_with("--- a/README.md\n+++ b/README.md\n@@ "));

    // With the whole budget spent before the first file, no file is diffed at all.
    let opts = DiffOptions {
        patch: true,
        budget: packreg::ops::diff::PatchBudget {
            total_time: std::time::Duration::ZERO,
            ..Default::default()
        },
        ..DiffOptions::default()
    };
    let report = diff(
        &layout,
        &PackRef::parse("demo:1.0.0").unwrap(),
        &layout,
        &PackRef::parse("demo:1.0.1").unwrap(),
        &opts,
    )
    .await
    .unwrap();
    let readme = report.files.iter().find(|f| f.path == "README.md").unwrap();
    assert_eq!(readme.patch, None);
    assert!(
        readme.note.as_deref().unwrap_or("").contains("budget"),
        "{readme:?}"
    );
}

#[test]
fn a_pack_folder_is_compared_with_a_pushed_pack_without_uploading_anything() {
    let sb = Sandbox::new();
    // run_in runs against this store.
    let store = sb.registry();
    let v1 = sb.path("v1");
    make_pack(&v1, false);
    ok(&sb.run(&["-r", &store, "push", s(&v1)]));
    let work = sb.path("work");
    make_pack(&work.join("demo-next"), true);
    let tags_before = std::fs::read(sb.path("store/index.json")).ok();

    // ./PATH is a folder; the other side a pack in -r.
    let out = sb.run_in(&work, &["--json", "diff", "demo:1.0.0", "./demo-next"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sections(&report), expected_sections(), "{report:#}");
    assert_eq!(report["to"]["folder"], true, "{report:#}");
    assert_eq!(report["to"]["reference"], "./demo-next");
    assert!(report["from"].get("folder").is_none(), "{report:#}");
    // Only what differs was read from the store: pack.json, values.yaml, the web chart and
    // the manifests folder; nothing of the folder counts as a download.
    assert_eq!(report["read"]["blobs"], 4, "{report:#}");
    assert_eq!(
        std::fs::read(sb.path("store/index.json")).ok(),
        tags_before,
        "nothing was pushed"
    );

    // The text header names the folder; --patch works on it as on a pushed pack.
    let out = sb.run_in(&work, &["diff", "--patch", "./demo-next", "demo:1.0.0"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.lines()
            .next()
            .unwrap()
            .starts_with("--- ./demo-next (folder, as pushed: native, sha256:"),
        "{text}"
    );
    assert!(text.contains("-  minReadySeconds: 5\n"), "{text}");

    // The folder the pushed pack came from: identical.
    let out = sb.run(&["-r", &store, "diff", s(&v1), "demo:1.0.0"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("identical content"));
}

#[test]
fn two_pack_folders_are_compared_with_no_store_at_all() {
    let sb = Sandbox::new();
    let (v1, v2) = (sb.path("v1"), sb.path("v2"));
    make_pack(&v1, false);
    make_pack(&v2, true);
    let out = sb.run(&["--json", "diff", s(&v1), s(&v2)]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sections(&report), expected_sections(), "{report:#}");
    assert_eq!(report["read"]["blobs"], 0, "{report:#}");
    assert!(
        !sb.path("store").exists() && !sb.path(".local/share/packreg").exists(),
        "no store was touched"
    );
}

#[test]
fn how_a_diff_argument_is_taken_for_a_folder_or_a_reference() {
    let sb = Sandbox::new();
    // run_in runs against this store.
    let store = sb.registry();
    let work = sb.path("work");
    make_pack(&work.join("demo"), false);
    ok(&sb.run(&["-r", &store, "push", s(&work.join("demo"))]));

    // A bare name that is also a folder holding pack.json is the folder, and a note says so.
    let out = sb.run_in(&work, &["diff", "demo", "demo:1.0.0"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("demo is read as the pack folder ./demo"),
        "{}",
        stderr(&out)
    );
    // Without such a folder it is the pack in the store, highest version.
    let out = sb.run(&["-r", &store, "diff", "demo", "demo:1.0.0"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(!stderr(&out).contains("pack folder"), "{}", stderr(&out));
    // A path-like argument is always a folder: one without pack.json is a usage error.
    let out = sb.run_in(&work, &["diff", "./nothing", "demo:1.0.0"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("./nothing: not a pack folder"),
        "{}",
        stderr(&out)
    );
    // A store flag for a folder side is a usage error.
    let out = sb.run_in(
        &work,
        &["diff", "--from-registry", &store, "./demo", "demo:1.0.0"],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--from-registry"), "{}", stderr(&out));
}
