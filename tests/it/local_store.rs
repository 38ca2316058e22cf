//! Push, ls, inspect, pull and rm against the local OCI layout store, through the CLI.

use crate::support as common;

use std::path::{Path, PathBuf};

use common::{copy_dir, ok, pack, packreg, packreg_env, snapshot, stderr, stdout, GOOD_PACKS};
use serde_json::Value;

struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    registry: String,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let registry = format!("oci:{}", root.join("store").display());
        Env {
            _tmp: tmp,
            root,
            registry,
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut full = vec!["-r", self.registry.as_str()];
        full.extend_from_slice(args);
        packreg(&full)
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.run(&full);
        serde_json::from_str(&ok(&out)).unwrap()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn repo_dir(&self, name: &str) -> PathBuf {
        self.root.join("store/spectro-packs/archive").join(name)
    }

    /// Writes a copy of testdata pack `name` with pack.json's version set to `version`.
    fn pack_version(&self, name: &str, version: &str) -> PathBuf {
        common::pack_with_version(&self.path(&format!("src-{name}-{version}")), name, version)
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Blobs stored in a repository and blobs its index reaches.
fn blob_accounting(repo_dir: &Path) -> (usize, usize) {
    let stored = std::fs::read_dir(repo_dir.join("blobs/sha256"))
        .unwrap()
        .count();
    let index: Value =
        serde_json::from_slice(&std::fs::read(repo_dir.join("index.json")).unwrap()).unwrap();
    let mut reached = std::collections::BTreeSet::new();
    for desc in index["manifests"].as_array().unwrap() {
        let digest = desc["digest"].as_str().unwrap().to_string();
        let hex = digest.trim_start_matches("sha256:");
        let manifest: Value = serde_json::from_slice(
            &std::fs::read(repo_dir.join("blobs/sha256").join(hex)).unwrap(),
        )
        .unwrap();
        reached.insert(digest);
        reached.insert(manifest["config"]["digest"].as_str().unwrap().to_string());
        for layer in manifest["layers"].as_array().unwrap() {
            reached.insert(layer["digest"].as_str().unwrap().to_string());
        }
    }
    (stored, reached.len())
}

#[test]
fn every_pack_round_trips_in_both_formats() {
    for format in ["native", "palette"] {
        let env = Env::new();
        for name in GOOD_PACKS {
            let pushed = env.json(&["push", "--format", format, s(&pack(name))]);
            assert_eq!(pushed["status"], "pushed");
            assert_eq!(pushed["format"], format);

            let again = env.json(&["push", "--format", format, s(&pack(name))]);
            assert_eq!(again["status"], "unchanged", "re-push is a no-op");
            assert_eq!(again["digest"], pushed["digest"]);

            let info = env.json(&["inspect", name]);
            assert_eq!(info["format"], format);
            assert_eq!(info["digest"], pushed["digest"]);
            let meta: Value =
                serde_json::from_slice(&std::fs::read(pack(name).join("pack.json")).unwrap())
                    .unwrap();
            assert_eq!(info["pack"], meta, "inspect shows pack.json");

            let out = env.path(&format!("{format}-{name}"));
            let pulled = env.json(&["pull", name, "-o", s(&out)]);
            assert_eq!(pulled["digest"], pushed["digest"]);
            assert_eq!(
                snapshot(&out),
                snapshot(&pack(name)),
                "{format} {name}: byte-identical"
            );
        }
        let rows = env.json(&["ls"]);
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), GOOD_PACKS.len());
        for row in rows {
            assert_eq!(row["format"], format);
            for key in ["name", "version", "digest", "layer", "displayName"] {
                assert!(row[key].is_string(), "{key} in {row}");
            }
        }
        let shop = rows.iter().find(|r| r["name"] == "shop").unwrap();
        assert_eq!(shop["version"], "2.1.0+build.7");
        assert_eq!(shop["tag"], "2.1.0_build.7");
    }
}

#[test]
fn digests_are_reproducible_and_golden() {
    // Golden digests: if packreg's output for the same folder changes, these fail, so an
    // upgrade never changes artifact digests silently. Update them only on purpose.
    let golden = [
        ("hello-manifests", "native", GOLDEN_HELLO_NATIVE),
        ("hello-manifests", "palette", GOLDEN_HELLO_PALETTE),
        ("shop", "native", GOLDEN_SHOP_NATIVE),
    ];
    for (name, format, expected) in golden {
        let a = Env::new();
        let b = Env::new();
        let da = a.json(&["push", "--format", format, s(&pack(name))])["digest"].clone();
        // A copy elsewhere, with other mtimes, gives the same digest.
        let copy = b.path("copy");
        copy_dir(&pack(name), &copy);
        let db = b.json(&["push", "--format", format, s(&copy)])["digest"].clone();
        assert_eq!(da, db, "{name} {format}");
        assert_eq!(da, expected, "{name} {format}: golden digest changed");
    }
}

const GOLDEN_HELLO_NATIVE: &str =
    "sha256:c9af695c1b73fae3f3a4e7d27494a0e42db162e49247efcb8d90da365fabbb38";
const GOLDEN_HELLO_PALETTE: &str =
    "sha256:0e49ec8a6112999b2b7dd25ad351425d4329f58a4a4c7e70b9a91e58ef851d24";
const GOLDEN_SHOP_NATIVE: &str =
    "sha256:6bae8a92698905c1195b252cd67ebdc5c9b369c803600f65742596ab5ee4a2cc";

#[test]
fn latest_version_parent_tags_and_rm() {
    let env = Env::new();
    for v in ["1.0.0", "1.1.0", "1.10.0", "1.9.3", "2.0.0-rc.1"] {
        ok(&env.run(&["push", s(&env.pack_version("hello-manifests", v))]));
    }
    let tags = |env: &Env| -> Vec<String> {
        let index: Value = serde_json::from_slice(
            &std::fs::read(env.repo_dir("hello-manifests").join("index.json")).unwrap(),
        )
        .unwrap();
        let mut t: Vec<String> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["annotations"]["org.opencontainers.image.ref.name"].as_str())
            .map(str::to_string)
            .collect();
        t.sort();
        t
    };
    let digest_of = |env: &Env, tag: &str| {
        env.json(&["inspect", &format!("hello-manifests:{tag}")])["digest"].clone()
    };
    assert_eq!(digest_of(&env, "1.x"), digest_of(&env, "1.10.0"));
    assert_eq!(digest_of(&env, "1.1.x"), digest_of(&env, "1.1.0"));
    assert_eq!(digest_of(&env, "2.x"), digest_of(&env, "2.0.0-rc.1"));

    let latest = env.json(&["pull", "hello-manifests", "-o", s(&env.path("latest"))]);
    assert_eq!(latest["version"], "2.0.0-rc.1");
    let by_parent = env.json(&["pull", "hello-manifests:1.x", "-o", s(&env.path("one"))]);
    assert_eq!(by_parent["version"], "1.10.0");

    let removed = env.json(&["rm", "hello-manifests:1.10.0"]);
    assert_eq!(
        removed["reference"].as_str().unwrap().rsplit(':').next(),
        Some("1.10.0")
    );
    assert_eq!(
        digest_of(&env, "1.x"),
        digest_of(&env, "1.9.3"),
        "1.x re-pointed"
    );
    assert!(
        !tags(&env).contains(&"1.10.x".to_string()),
        "empty line's parent tag removed"
    );
    ok(&env.run(&["rm", "hello-manifests:2.0.0-rc.1"]));
    assert!(!tags(&env).iter().any(|t| t.starts_with("2.")));
    assert_eq!(
        tags(&env),
        vec!["1.0.0", "1.0.x", "1.1.0", "1.1.x", "1.9.3", "1.9.x", "1.x"]
    );
    let (stored, reached) = blob_accounting(&env.repo_dir("hello-manifests"));
    assert_eq!(stored, reached, "rm leaves no unreferenced blob");

    let missing = env.run(&["rm", "hello-manifests:7.0.0"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("7.0.0"), "{}", stderr(&missing));
}

#[test]
fn changed_content_needs_force_and_leaves_no_garbage() {
    let env = Env::new();
    let src = env.pack_version("hello-manifests", "1.0.0");
    let first = env.json(&["push", s(&src)]);
    std::fs::write(src.join("README.md"), "# Changed\n").unwrap();

    let refused = env.run(&["push", s(&src)]);
    assert_eq!(refused.status.code(), Some(1));
    let msg = stderr(&refused);
    assert!(
        msg.contains("already exists with different content") && msg.contains("--force"),
        "{msg}"
    );
    assert_eq!(
        env.json(&["inspect", "hello-manifests:1.0.0"])["digest"],
        first["digest"]
    );

    let forced = env.json(&["push", "--force", "--message", "fix readme", s(&src)]);
    assert_eq!(forced["status"], "replaced");
    let info = env.json(&["inspect", "hello-manifests:1.0.0"]);
    assert_eq!(info["annotations"]["io.packreg.push.message"], "fix readme");
    assert_eq!(info["digest"], forced["digest"]);
    let (stored, reached) = blob_accounting(&env.repo_dir("hello-manifests"));
    assert_eq!(stored, reached, "--force leaves no unreferenced blob");

    // Same content with only another message is identical content: a no-op.
    let same = env.json(&["push", "--force", "--message", "other words", s(&src)]);
    assert_eq!(same["status"], "unchanged");
    // A message needs --force.
    assert_eq!(
        env.run(&["push", "--message", "x", s(&src)]).status.code(),
        Some(2)
    );
}

#[test]
fn invalid_packs_are_not_pushed() {
    let env = Env::new();
    let out = env.run(&["push", s(&pack("broken/bad-layer"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("pack.json: layer"),
        "{}",
        stderr(&out)
    );
    assert!(!env.path("store").join("spectro-packs").exists());
}

#[test]
fn pull_refuses_non_empty_output_unless_forced() {
    let env = Env::new();
    ok(&env.run(&["push", s(&pack("shop"))]));
    let dest = env.path("dest");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("mine.txt"), "keep").unwrap();
    let out = env.run(&["pull", "shop", "-o", s(&dest)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert!(dest.join("mine.txt").is_file());
    ok(&env.run(&["pull", "shop", "-o", s(&dest), "--force"]));
    assert_eq!(snapshot(&dest), snapshot(&pack("shop")));
    // Nothing left behind beside it.
    let leftovers: Vec<_> = std::fs::read_dir(&env.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".packreg"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn pull_by_digest_and_default_folder() {
    let env = Env::new();
    let pushed = env.json(&["push", "--format", "palette", s(&pack("hardened-os"))]);
    let digest = pushed["digest"].as_str().unwrap();
    let cwd = env.path("work");
    std::fs::create_dir(&cwd).unwrap();
    let out = common::packreg_in(
        Some(&cwd),
        &[
            "-r",
            &env.registry,
            "pull",
            &format!("hardened-os@{digest}"),
        ],
    );
    ok(&out);
    assert_eq!(
        snapshot(&cwd.join("hardened-os-22.4.1")),
        snapshot(&pack("hardened-os"))
    );
}

#[test]
fn a_corrupted_blob_is_refused_and_nothing_is_written() {
    let env = Env::new();
    ok(&env.run(&["push", s(&pack("shop"))]));
    let info = env.json(&["inspect", "shop"]);
    let layer = info["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["title"] == "charts/web-1.2.0.tgz")
        .unwrap();
    let hex = layer["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:");
    let blob = env.repo_dir("shop").join("blobs/sha256").join(hex);
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    let dest = env.path("dest");
    let out = env.run(&["pull", "shop", "-o", s(&dest)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("does not match its digest"),
        "{}",
        stderr(&out)
    );
    assert!(!dest.exists(), "a failed pull writes nothing");
    let leftovers = std::fs::read_dir(&env.root)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".packreg")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn tar_slip_in_a_palette_layer_is_refused() {
    use packreg::digest::Digest;
    use packreg::oci::{Descriptor, Manifest, ANNOTATION_TITLE, MEDIA_TYPE_MANIFEST};
    use packreg::store::{layout::LayoutStore, Store};

    let env = Env::new();
    // A hand-made tarball: pack.json, then an entry that climbs out of the destination.
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in [
        (
            "evil-1.0.0/pack.json",
            &b"{\"name\":\"evil\",\"version\":\"1.0.0\"}"[..],
        ),
        ("../escaped.txt", b"gotcha"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    let layer = gz.finish().unwrap();

    let store = LayoutStore::new(env.path("store"));
    let repo = "spectro-packs/archive/evil";
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cfg = b"{}".to_vec();
        store
            .put_blob(
                repo,
                &Digest::of(&cfg),
                2,
                Box::pin(std::io::Cursor::new(cfg.clone())),
            )
            .await
            .unwrap();
        store
            .put_blob(
                repo,
                &Digest::of(&layer),
                layer.len() as u64,
                Box::pin(std::io::Cursor::new(layer.clone())),
            )
            .await
            .unwrap();
        let mut desc = Descriptor::new(
            "application/vnd.oci.image.layer.v1.tar",
            Digest::of(&layer),
            layer.len() as u64,
        );
        desc.annotations
            .insert(ANNOTATION_TITLE.into(), "evil-1.0.0.tar.gz".into());
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_MANIFEST.into()),
            artifact_type: None,
            config: Descriptor::new(
                "application/vnd.unknown.config.v1+json",
                Digest::of(&cfg),
                2,
            ),
            layers: vec![desc],
            subject: None,
            annotations: Default::default(),
            extra: Default::default(),
        };
        store
            .put_manifest(
                repo,
                Some("1.0.0"),
                &manifest.to_bytes(),
                MEDIA_TYPE_MANIFEST,
            )
            .await
            .unwrap();
    });

    let work = env.path("work");
    std::fs::create_dir(&work).unwrap();
    let dest = work.join("out");
    let out = env.run(&["pull", "evil:1.0.0", "-o", s(&dest)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
    assert!(!dest.exists());
    assert!(!work.join("escaped.txt").exists() && !env.path("escaped.txt").exists());
    assert_eq!(
        std::fs::read_dir(&work).unwrap().count(),
        0,
        "no staging folder left"
    );
}

#[test]
fn skopeo_reads_the_layout() {
    require_peers!("skopeo");
    let env = Env::new();
    for format in ["native", "palette"] {
        let src = env.pack_version("shop", if format == "native" { "1.0.0" } else { "2.0.0" });
        ok(&env.run(&["push", "--format", format, s(&src)]));
    }
    for tag in ["1.0.0", "2.0.0", "2.x"] {
        let layout = format!("oci:{}:{tag}", env.repo_dir("shop").display());
        let out = std::process::Command::new("skopeo")
            .args(["inspect", "--raw", &layout])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let info = env.json(&["inspect", &format!("shop:{tag}")]);
        let digest = packreg::digest::Digest::of(&out.stdout);
        assert_eq!(
            info["digest"],
            digest.to_string(),
            "skopeo sees the same manifest bytes"
        );
    }
    // skopeo can copy it to another layout, blobs and all, and packreg reads the copy.
    let copy = env.path("copy/spectro-packs/archive/shop");
    std::fs::create_dir_all(&copy).unwrap();
    let out = std::process::Command::new("skopeo")
        .args([
            "copy",
            &format!("oci:{}:1.0.0", env.repo_dir("shop").display()),
            &format!("oci:{}:1.0.0", copy.display()),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pulled = env.path("from-copy");
    ok(&packreg(&[
        "-r",
        &format!("oci:{}", env.path("copy").display()),
        "pull",
        "shop:1.0.0",
        "-o",
        s(&pulled),
    ]));
    let original = env.path("src-shop-1.0.0");
    assert_eq!(snapshot(&pulled), snapshot(&original));
}

#[test]
fn embedded_default_store_and_env_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let env = [("XDG_DATA_HOME", data.as_path()), ("HOME", tmp.path())];
    ok(&packreg_env(
        Some(&work),
        &env,
        &["push", s(&pack("probe"))],
    ));
    assert!(data
        .join("packreg/store/spectro-packs/archive/probe/index.json")
        .is_file());
    ok(&packreg_env(Some(&work), &env, &["pull", "probe"]));
    assert_eq!(
        snapshot(&work.join("probe-0.1.0")),
        snapshot(&pack("probe"))
    );

    let other = tmp.path().join("other");
    let reg = format!("oci:{}", other.display());
    let out = common::packreg_command(tmp.path())
        .args(["push", s(&pack("probe"))])
        .env("PACKREG_REGISTRY", &reg)
        .env("PACKREG_FORMAT", "palette")
        .output()
        .unwrap();
    ok(&out);
    assert!(other
        .join("spectro-packs/archive/probe/index.json")
        .is_file());
    let ls: Value = serde_json::from_str(&ok(&common::packreg_command(tmp.path())
        .args(["ls", "--json"])
        .env("PACKREG_REGISTRY", &reg)
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(ls[0]["format"], "palette");
}

#[test]
fn errors_are_json_with_json_and_name_the_reference() {
    let env = Env::new();
    let out = env.run(&["--json", "pull", "nothing-here"]);
    assert_eq!(out.status.code(), Some(1));
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert!(
        err["error"].as_str().unwrap().contains("nothing-here"),
        "{err}"
    );
    let bad = env.run(&["pull", "Bad/Name"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stdout(&bad).is_empty());
}

#[test]
fn ls_filters_and_lists_one_pack() {
    let env = Env::new();
    for name in GOOD_PACKS {
        ok(&env.run(&["push", s(&pack(name))]));
    }
    let filtered = env.json(&["ls", "--name", "o"]);
    let names: Vec<&str> = filtered
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["hardened-os", "hello-manifests", "probe", "shop"]
    );
    let filtered = env.json(&["ls", "--name", "sh"]);
    assert_eq!(filtered.as_array().unwrap().len(), 1);
    let one = env.json(&["ls", "probe"]);
    assert_eq!(one.as_array().unwrap().len(), 1);
    let text = stdout(&env.run(&["ls"]));
    assert!(text.starts_with("NAME"), "{text}");
    assert!(text.contains("Shop (web and cache)"), "{text}");
}

#[test]
fn concurrent_pushes_to_one_pack_all_land() {
    let env = Env::new();
    let versions = ["3.0.0", "3.0.1", "3.1.0", "3.2.0", "3.2.1", "3.3.0"];
    let dirs: Vec<PathBuf> = versions
        .iter()
        .map(|v| env.pack_version("probe", v))
        .collect();
    let children: Vec<_> = dirs
        .iter()
        .map(|d| {
            common::packreg_command(&env.path("home"))
                .args(["-r", &env.registry, "push", s(d)])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        ok(&child.wait_with_output().unwrap());
    }
    let rows = env.json(&["ls", "probe"]);
    let got: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(got, versions);
    let x = env.json(&["inspect", "probe:3.x"]);
    assert_eq!(x["pack"]["version"], "3.3.0");
}

#[cfg(unix)]
#[test]
fn a_shared_chart_is_linked_not_copied_in_a_local_store() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let store = home.join("store");
    let reg = format!("oci:{}", store.display());
    let env = [("HOME", home), ("XDG_CACHE_HOME", home)];
    ok(&packreg_env(
        Some(home),
        &env,
        &["-r", &reg, "push", s(&pack("shop"))],
    ));
    ok(&packreg_env(
        Some(home),
        &env,
        &["-r", &reg, "push", s(&pack("probe"))],
    ));
    let chart = std::fs::read(pack("probe").join("charts/web-1.2.0.tgz")).unwrap();
    let hex = packreg::digest::Digest::of(&chart).hex().to_string();
    let a = store
        .join("spectro-packs/archive/shop/blobs/sha256")
        .join(&hex);
    let b = store
        .join("spectro-packs/archive/probe/blobs/sha256")
        .join(&hex);
    assert_eq!(
        std::fs::metadata(&a).unwrap().ino(),
        std::fs::metadata(&b).unwrap().ino(),
        "the chart is stored once"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_a_pull_leaves_nothing_behind() {
    let env = Env::new();
    // A pack with a large file, which takes a moment to pull and verify in a test build.
    let src = env.path("big");
    common::copy_dir(&pack("hello-manifests"), &src);
    common::write_random(&src.join("payload.bin"), 96 << 20);
    common::set_pack_field(&src, "name", "big");
    ok(&env.run(&["push", s(&src)]));

    let work = env.path("work");
    std::fs::create_dir_all(&work).unwrap();
    let child = common::packreg_command(&env.path("home"))
        .args(["-r", &env.registry, "pull", "big", "-o", "out"])
        .current_dir(&work)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the staging folder, then interrupt as Ctrl-C would.
    let start = std::time::Instant::now();
    while std::fs::read_dir(&work).unwrap().next().is_none() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the pull never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    if out.status.code() == Some(0) {
        // Finished before the signal landed: the pack must then be whole.
        eprintln!("the pull finished before the interrupt");
        assert_eq!(snapshot(&work.join("out")), snapshot(&src));
        return;
    }
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    let left: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
