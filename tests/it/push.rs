//! `packreg push`: packs stored in both formats, on a local store and a registry, with
//! reproducible digests, blobs shared rather than sent again, and what other OCI tools read.

use crate::support as common;

use std::path::PathBuf;

use common::local::{blob_accounting, Env};
use common::registry::{Registry, Tls};
use common::{
    copy_dir, ok, pack, packreg, s, snapshot, stderr, Backend, Sandbox, TestStore, GOOD_PACKS,
};
use serde_json::Value;

over_backends!(round_trip);

/// Every good pack, in both formats: push, a second push that changes nothing (and uploads
/// nothing to a registry), inspect showing its pack.json, pull back byte-identical, ls listing
/// it; and the digest does not depend on the store it was pushed to.
fn round_trip(backend: Backend) {
    let sb = Sandbox::new();
    let store = TestStore::start(backend, &sb);
    for format in ["native", "palette"] {
        // A base path per format keeps the two sets of packs apart in one store.
        let target = store.at(format);
        let mut digests = Vec::new();
        for name in GOOD_PACKS {
            let pushed = sb.json(&["-r", &target, "push", "--format", format, s(&pack(name))]);
            assert_eq!(pushed["status"], "pushed", "{name}");
            assert_eq!(pushed["format"], format);

            let info = sb.json(&["-r", &target, "inspect", name]);
            assert_eq!(info["format"], format);
            assert_eq!(info["digest"], pushed["digest"]);
            let meta: Value =
                serde_json::from_slice(&std::fs::read(pack(name).join("pack.json")).unwrap())
                    .unwrap();
            assert_eq!(info["pack"], meta, "inspect shows pack.json");

            let out = sb.path(&format!("{format}-{name}"));
            let pulled = sb.json(&["-r", &target, "pull", name, "-o", s(&out)]);
            assert_eq!(pulled["digest"], pushed["digest"]);
            assert_eq!(
                snapshot(&out),
                snapshot(&pack(name)),
                "{format} {name}: byte-identical"
            );
            digests.push(pushed["digest"].clone());
        }
        let rows = sb.json(&["-r", &target, "ls"]);
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), GOOD_PACKS.len(), "{rows:?}");
        for row in rows {
            assert_eq!(row["format"], format);
            for key in ["name", "version", "digest", "layer", "displayName"] {
                assert!(row[key].is_string(), "{key} in {row}");
            }
        }
        let shop = rows.iter().find(|r| r["name"] == "shop").unwrap();
        assert_eq!(shop["version"], "2.1.0+build.7");
        assert_eq!(shop["tag"], "2.1.0_build.7");

        // A second push of the same packs is a no-op: same digest, no upload session.
        let before = store.upload_requests();
        for (name, digest) in GOOD_PACKS.iter().zip(&digests) {
            let again = sb.json(&["-r", &target, "push", "--format", format, s(&pack(name))]);
            assert_eq!(again["status"], "unchanged", "re-push is a no-op");
            assert_eq!(&again["digest"], digest);
        }
        assert_eq!(
            store.upload_requests(),
            before,
            "re-push opened upload sessions"
        );
    }
    // The same folder gives the same digest in another local store as in this store.
    let local = sb.json(&[
        "-r",
        &format!("oci:{}", s(&sb.path("other-store"))),
        "push",
        s(&pack("shop")),
    ]);
    let here = sb.json(&["-r", &store.at("native"), "inspect", "shop"]);
    assert_eq!(local["digest"], here["digest"]);
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
    "sha256:348d37b3be21efd0f3c1716c39123a0d4c66b35eedec3f7a94aa8470f2915bce";

const GOLDEN_HELLO_PALETTE: &str =
    "sha256:63c87d1b94c212691a9f42abd02ae16a955d0e48fc0d3b8a7ba998e69b5f9d09";

const GOLDEN_SHOP_NATIVE: &str =
    "sha256:6bae8a92698905c1195b252cd67ebdc5c9b369c803600f65742596ab5ee4a2cc";

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

over_backends!(a_chart_shared_by_two_packs_is_stored_once);

/// A chart archive two packs carry (shop and probe share the web chart) is stored once: a
/// registry mounts it from the first pack's repository rather than receive it again (a 201
/// mount in its log), a local store links the two files (one inode); the second pack pulls
/// back whole.
fn a_chart_shared_by_two_packs_is_stored_once(backend: Backend) {
    use std::os::unix::fs::MetadataExt;
    let sb = Sandbox::new();
    let store = TestStore::start(backend, &sb);
    let r = store.at("");
    let shop = sb.json(&["-r", &r, "push", s(&pack("shop"))]);
    assert_eq!(shop["status"], "pushed");
    let info = sb.json(&["-r", &r, "inspect", "shop"]);
    let web = info["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["title"] == "charts/web-1.2.0.tgz")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let probe = sb.json(&["-r", &r, "push", s(&pack("probe"))]);
    assert_eq!(probe["status"], "pushed");
    match (&store.registry, &store.dir) {
        (Some(reg), _) => {
            let log = reg.log();
            let mounted = log.lines().any(|l| {
                l.contains("\"POST /v2/spectro-packs/archive/probe/blobs/uploads/?")
                    && l.contains("mount=")
                    && l.contains(&web)
                    && l.contains("\" 201 ")
            });
            assert!(
                mounted,
                "no 201 mount of the shared chart in the registry log:\n{log}"
            );
        }
        (None, Some(dir)) => {
            let chart = std::fs::read(pack("probe").join("charts/web-1.2.0.tgz")).unwrap();
            let hex = packreg::digest::Digest::of(&chart).hex().to_string();
            assert_eq!(hex, web);
            let a = dir
                .join("spectro-packs/archive/shop/blobs/sha256")
                .join(&hex);
            let b = dir
                .join("spectro-packs/archive/probe/blobs/sha256")
                .join(&hex);
            assert_eq!(
                std::fs::metadata(&a).unwrap().ino(),
                std::fs::metadata(&b).unwrap().ino(),
                "the chart is stored once"
            );
        }
        (None, None) => unreachable!("a store is local or a registry"),
    }
    let out = sb.path("probe");
    ok(&sb.run(&["-r", &r, "pull", "probe", "-o", s(&out)]));
    assert_eq!(snapshot(&out), snapshot(&pack("probe")));
}

#[test]
fn a_large_file_is_sent_while_hashed_and_skipped_when_the_registry_has_it() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    // Past the size from which push sends a file while it hashes the pack.
    let v1 = common::pack_with_version(&sb.path("v1"), "hello-manifests", "1.0.0");
    common::write_random(&v1.join("payload.bin"), 40 << 20);
    let first = sb.json(&["-r", &reg.addr, "push", s(&v1)]);
    assert_eq!(first["status"], "pushed");
    assert!(
        first["bytesUploaded"].as_u64().unwrap() > 40 << 20,
        "{first}"
    );
    let out = sb.path("out1");
    ok(&sb.run(&[
        "-r",
        &reg.addr,
        "pull",
        "hello-manifests:1.0.0",
        "-o",
        s(&out),
    ]));
    assert_eq!(snapshot(&out), snapshot(&v1));

    // A new version with the same large file: the early upload is cancelled, the blob skipped.
    let v2 = sb.path("v2");
    common::copy_dir(&v1, &v2);
    common::set_pack_field(&v2, "version", "1.1.0");
    let second = sb.json(&["-r", &reg.addr, "push", s(&v2)]);
    assert_eq!(second["status"], "pushed");
    assert!(
        second["bytesUploaded"].as_u64().unwrap() < 1 << 20,
        "{second}"
    );
    let cancelled = "DELETE /v2/spectro-packs/archive/hello-manifests/blobs/uploads/";
    assert!(
        reg.log().contains(cancelled),
        "no cancelled session: {}",
        reg.log()
    );
    let out = sb.path("out2");
    ok(&sb.run(&[
        "-r",
        &reg.addr,
        "pull",
        "hello-manifests:1.1.0",
        "-o",
        s(&out),
    ]));
    assert_eq!(snapshot(&out), snapshot(&v2));
    let info = sb.json(&["-r", &reg.addr, "inspect", "hello-manifests:1.1.0"]);
    let payload = info["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["title"] == "payload.bin")
        .unwrap();
    assert_eq!(payload["size"], 40 << 20);
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
fn oras_sdk_and_skopeo_interoperate() {
    require_peers!(
        "docker-registry",
        "skopeo",
        "python3",
        "python3:oras.client"
    );
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();

    // A native pack pushed by packreg, pulled by the ORAS Python SDK into the pack's files.
    for name in ["shop", "hardened-os", "probe"] {
        let pushed = sb.json(&["-r", &reg.addr, "push", s(&pack(name))]);
        let out = sb.path(&format!("oras-{name}"));
        let target = format!(
            "{}/spectro-packs/archive/{name}:{}",
            reg.addr,
            pushed["tag"].as_str().unwrap()
        );
        let py = common::oras::pull(&reg.addr, &target, &out);
        assert!(
            py.status.success(),
            "oras pull {name}: {}",
            String::from_utf8_lossy(&py.stderr)
        );
        let got: Vec<(String, Vec<u8>)> = snapshot(&out)
            .into_iter()
            .filter_map(|(p, c)| c.map(|(bytes, _)| (p, bytes)))
            .collect();
        let want: Vec<(String, Vec<u8>)> = snapshot(&pack(name))
            .into_iter()
            .filter_map(|(p, c)| c.map(|(bytes, _)| (p, bytes)))
            .collect();
        assert_eq!(got, want, "ORAS SDK pull of {name} gives the pack's files");
    }

    // A pack pushed with the ORAS SDK as Palette's docs show, pulled by packreg.
    let work = sb.path("oras-push");
    std::fs::create_dir_all(&work).unwrap();
    copy_dir(
        &pack("hello-manifests"),
        &work.join("hello-manifests-1.0.0"),
    );
    let tar = std::process::Command::new("tar")
        .args([
            "-czf",
            "hello-manifests-1.0.0.tar.gz",
            "hello-manifests-1.0.0",
        ])
        .current_dir(&work)
        .status()
        .unwrap();
    assert!(tar.success());
    let target = format!("{}/spectro-packs/archive/hello-manifests:1.0.0", reg.addr);
    let py = common::oras::push(&reg.addr, &target, &work, "hello-manifests-1.0.0.tar.gz");
    assert!(
        py.status.success(),
        "oras push: {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let info = sb.json(&["-r", &reg.addr, "inspect", "hello-manifests:1.0.0"]);
    assert_eq!(info["format"], "palette");
    assert_eq!(info["pack"]["name"], "hello-manifests");
    let rows = sb.json(&["-r", &reg.addr, "ls", "hello-manifests"]);
    assert_eq!(
        rows[0]["version"], "1.0.0",
        "a tag without annotations lists by its tag"
    );
    let out = sb.path("from-oras");
    ok(&sb.run(&[
        "-r",
        &reg.addr,
        "pull",
        "hello-manifests:1.0.0",
        "-o",
        s(&out),
    ]));
    assert_eq!(snapshot(&out), snapshot(&pack("hello-manifests")));

    // skopeo copy of a packreg pack to another repository: same digest, pulled unchanged.
    let source = format!("{}/src", reg.addr);
    let pushed = sb.json(&[
        "-r",
        &source,
        "push",
        "--format",
        "palette",
        s(&pack("probe")),
    ]);
    let src = format!("docker://{source}/spectro-packs/archive/probe:0.1.0");
    let dst = format!(
        "docker://{}/mirror/spectro-packs/archive/probe:0.1.0",
        reg.addr
    );
    let copy = std::process::Command::new("skopeo")
        .args([
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--preserve-digests",
            &src,
            &dst,
        ])
        .output()
        .unwrap();
    assert!(
        copy.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&copy.stderr)
    );
    let mirror = format!("{}/mirror", reg.addr);
    let copied = sb.json(&[
        "-r",
        &mirror,
        "pull",
        "probe:0.1.0",
        "-o",
        s(&sb.path("copied")),
    ]);
    assert_eq!(copied["digest"], pushed["digest"]);
    assert_eq!(snapshot(&sb.path("copied")), snapshot(&pack("probe")));
}

/// A push whose tag another writer moves right after its manifest PUT (a concurrent push of
/// the same version that landed last) fails as a conflict rather than report success, and
/// the pack index records what the registry holds, not the digest that lost.
#[test]
fn a_push_whose_tag_moves_meanwhile_is_a_conflict_and_the_index_says_what_is_there() {
    use common::store::HookedStore;
    use packreg::config::{builtin_store_options, ConnectionFlags};
    use packreg::ops::{push, OpError, PushOptions};
    use packreg::store::remote::RemoteStore;
    use packreg::store::Store;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let reg = Registry::start(Tls::None, None);
    let sb = Arc::new(Sandbox::new());
    let mine = common::pack_with_version(&sb.path("mine"), "hello-manifests", "1.0.0");
    let theirs = common::pack_with_version(&sb.path("theirs"), "hello-manifests", "1.0.0");
    std::fs::write(theirs.join("README.md"), "# Theirs\n").unwrap();
    let repo = "spectro-packs/archive/hello-manifests";

    let rt = tokio::runtime::Runtime::new().unwrap();
    let opts = builtin_store_options(&ConnectionFlags {
        plain_http: true,
        ..ConnectionFlags::default()
    });
    let store = rt.block_on(RemoteStore::connect(&reg.addr, &opts)).unwrap();
    // The other push runs (as its own process) right after this one's manifest PUT.
    let put = Arc::new(AtomicBool::new(false));
    let raced = Arc::new(AtomicBool::new(false));
    let (other, addr, theirs_dir) = (sb.clone(), reg.addr.clone(), theirs.clone());
    let (put_seen, race_done) = (put.clone(), raced.clone());
    let hooked = HookedStore::new(store, move |call| {
        if let common::store::Call::PutManifest { repo: r, tag } = call {
            if *r == repo && *tag == Some("1.0.0") {
                put_seen.store(true, Ordering::SeqCst);
                return Ok(());
            }
        }
        if put_seen.load(Ordering::SeqCst) && !race_done.swap(true, Ordering::SeqCst) {
            ok(&other.run(&["-r", &addr, "push", "--force", s(&theirs_dir)]));
        }
        Ok(())
    });
    let result = rt.block_on(push(&hooked, &mine, &PushOptions::default()));
    assert!(raced.load(Ordering::SeqCst), "the other push ran");
    let held = rt
        .block_on(hooked.inner().resolve(repo, "1.0.0"))
        .unwrap()
        .unwrap();
    match result {
        Err(OpError::TagMoved { written, now, .. }) => {
            assert_ne!(written, held);
            assert_eq!(now.as_ref(), Some(&held));
        }
        other => panic!("the push reported {other:?}"),
    }
    let index = rt
        .block_on(packreg::ops::index::read_state(hooked.inner()))
        .unwrap();
    let entry = index
        .slots
        .entries()
        .into_iter()
        .find(|e| e.name == "hello-manifests" && e.tag == "1.0.0")
        .cloned()
        .expect("the index lists the version");
    assert_eq!(
        entry.digest, held,
        "the index records what the registry holds"
    );
}

/// Staging folders a killed run left in the temporary folder (their lock held by no process,
/// or, without one, over a day old) are removed by the next command; others stay.
#[test]
fn staging_folders_killed_runs_left_are_swept() {
    let sb = Sandbox::new();
    let tmp = sb.dir("tmp");
    let dead = tmp.join("packreg-push-dead");
    std::fs::create_dir(&dead).unwrap();
    std::fs::write(dead.join(".packreg-staging.lock"), b"").unwrap();
    std::fs::write(dead.join("layer.tar.gz"), vec![0u8; 4096]).unwrap();
    let old = tmp.join("packreg-import-old");
    std::fs::create_dir(&old).unwrap();
    std::fs::File::open(&old)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86400))
        .unwrap();
    let recent = tmp.join("packreg-diff-recent");
    std::fs::create_dir(&recent).unwrap();
    let other = tmp.join("packreg-something-else");
    std::fs::create_dir(&other).unwrap();
    let tmp_str = s(&tmp).to_string();
    ok(&sb.run_env(
        &sb.path(""),
        &[("TMPDIR", tmp_str.as_str())],
        &["validate", s(&pack("probe"))],
    ));
    assert!(!dead.exists() && !old.exists());
    assert!(recent.exists() && other.exists());
}
