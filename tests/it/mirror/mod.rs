//! mirror, tags and air-gap bundles between real registries and local layouts.

use crate::support as common;

mod scale;

use common::registry::{Registry, Tls};
use common::{ok, pack, pack_with_version, snapshot, stderr, Sandbox, GOOD_PACKS};
use serde_json::Value;

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

fn digest_of(sb: &Sandbox, reg: &str, reference: &str) -> Value {
    sb.json(&["-r", reg, "inspect", reference])["digest"].clone()
}

/// Pushes every good pack natively and a Palette-format version of probe.
fn fill(sb: &Sandbox, reg: &str) -> Vec<(String, String)> {
    let mut refs = Vec::new();
    for name in GOOD_PACKS {
        let pushed = sb.json(&["-r", reg, "push", s(&pack(name))]);
        refs.push((
            name.to_string(),
            pushed["tag"].as_str().unwrap().to_string(),
        ));
    }
    let v2 = pack_with_version(&sb.path("probe-0.2.0"), "probe", "0.2.0");
    sb.json(&["-r", reg, "push", "--format", "palette", s(&v2)]);
    refs.push(("probe".into(), "0.2.0".into()));
    refs
}

#[test]
fn mirror_between_registries_preserves_digests_and_is_incremental() {
    require_peers!("docker-registry", "skopeo");
    let a = Registry::start(Tls::None, None);
    let b = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let refs = fill(&sb, &a.addr);
    // A different base path on the destination.
    let dst = format!("{}/site/packs", b.addr);
    let summary = sb.json(&["mirror", &a.addr, &dst]);
    assert_eq!(summary["packs"], 4);
    assert_eq!(summary["tags_copied"], refs.len());
    for (name, tag) in &refs {
        let r = format!("{name}:{tag}");
        assert_eq!(digest_of(&sb, &a.addr, &r), digest_of(&sb, &dst, &r), "{r}");
    }
    // Parent tags were recomputed at the destination.
    assert_eq!(
        digest_of(&sb, &dst, "probe:0.x"),
        digest_of(&sb, &dst, "probe:0.2.0")
    );

    let uploads = b.upload_requests();
    let again = sb.json(&["mirror", &a.addr, &dst]);
    assert_eq!(again["tags_copied"], 0);
    assert_eq!(again["blobs_copied"], 0);
    assert_eq!(
        b.upload_requests(),
        uploads,
        "a second mirror uploaded blobs"
    );

    // Peers read the mirrored packs.
    let raw = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{dst}/spectro-packs/archive/shop:2.1.0_build.7"),
        ])
        .output()
        .unwrap();
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    assert_eq!(
        Value::from(packreg::digest::Digest::of(&raw.stdout).to_string()),
        digest_of(&sb, &a.addr, "shop:2.1.0_build.7")
    );
    let out = sb.path("pulled-probe");
    ok(&sb.run(&["-r", &dst, "pull", "probe:0.2.0", "-o", s(&out)]));
    assert_eq!(snapshot(&out), snapshot(&sb.path("probe-0.2.0")));

    // The ORAS Python SDK pulls a mirrored native pack into the pack's files.
    let oras_out = sb.path("oras-shop");
    let script = "import sys, oras.client\nc = oras.client.OrasClient(hostname=sys.argv[1], insecure=True)\nc.pull(target=sys.argv[2], outdir=sys.argv[3])\n";
    let target = format!("{dst}/spectro-packs/archive/shop:2.1.0_build.7");
    let py = std::process::Command::new("python3")
        .args(["-c", script, &b.addr, &target, s(&oras_out)])
        .output()
        .unwrap();
    if py.status.success() {
        let files = |root: &std::path::Path| -> Vec<(String, Vec<u8>)> {
            snapshot(root)
                .into_iter()
                .filter_map(|(p, c)| c.map(|(bytes, _)| (p, bytes)))
                .collect()
        };
        assert_eq!(files(&oras_out), files(&pack("shop")));
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "oras pull of a mirrored pack: {}",
            String::from_utf8_lossy(&py.stderr)
        );
    }
}

#[test]
fn mirror_through_a_layout_and_name_selection() {
    require_peers!("docker-registry");
    let a = Registry::start(Tls::None, None);
    let c = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let refs = fill(&sb, &a.addr);
    let layout = format!("oci:{}", s(&sb.path("layout")));
    let first = sb.json(&["mirror", &a.addr, &layout, "--name", "-"]);
    assert_eq!(
        first["packs"], 2,
        "hello-manifests and hardened-os: {first}"
    );
    let names = sb.path("names.txt");
    std::fs::write(&names, "# packs\nshop\nprobe\nhello-manifests:1.0.0\n").unwrap();
    let second = sb.json(&["mirror", &a.addr, &layout, "--names-from", s(&names)]);
    assert_eq!(second["tags_copied"], 3, "shop and two probes: {second}");
    assert_eq!(
        second["tags_unchanged"], 1,
        "hello-manifests was there: {second}"
    );
    sb.json(&["mirror", &layout, &c.addr]);
    for (name, tag) in &refs {
        let r = format!("{name}:{tag}");
        assert_eq!(
            digest_of(&sb, &a.addr, &r),
            digest_of(&sb, &c.addr, &r),
            "{r}"
        );
    }
    let dry = sb.json(&["mirror", &a.addr, &format!("{}/other", c.addr), "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["tags_copied"], refs.len());
    let listed = sb.json(&["-r", &format!("{}/other", c.addr), "ls"]);
    assert_eq!(
        listed.as_array().unwrap().len(),
        0,
        "a dry run writes nothing"
    );
}

#[test]
fn conflicting_destination_tags_are_left_alone_unless_forced() {
    require_peers!("docker-registry");
    let a = Registry::start(Tls::None, None);
    let b = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    sb.json(&["-r", &a.addr, "push", s(&pack("probe"))]);
    let other = sb.path("other");
    common::copy_dir(&pack("probe"), &other);
    std::fs::write(other.join("README.md"), "# Probe, changed\n").unwrap();
    sb.json(&["-r", &b.addr, "push", s(&other)]);
    let before = digest_of(&sb, &b.addr, "probe:0.1.0");
    let out = sb.run(&["--json", "mirror", &a.addr, &b.addr]);
    assert_eq!(out.status.code(), Some(1));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["conflicts"].as_array().unwrap().len(),
        1,
        "{summary}"
    );
    assert_eq!(digest_of(&sb, &b.addr, "probe:0.1.0"), before, "left alone");
    ok(&sb.run(&["mirror", &a.addr, &b.addr, "--force"]));
    assert_eq!(
        digest_of(&sb, &b.addr, "probe:0.1.0"),
        digest_of(&sb, &a.addr, "probe:0.1.0")
    );
}

#[test]
fn a_referrer_travels_with_its_pack() {
    require_peers!("docker-registry", "python3");
    let a = Registry::start(Tls::None, None);
    let b = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let pushed = sb.json(&["-r", &a.addr, "push", s(&pack("probe"))]);
    let subject = pushed["digest"].as_str().unwrap().to_string();
    let info = sb.json(&["-r", &a.addr, "inspect", "probe:0.1.0"]);
    let size = {
        let raw = std::process::Command::new("curl")
            .args([
                "-fsS",
                "-H",
                "Accept: application/vnd.oci.image.manifest.v1+json",
                &format!(
                    "http://{}/v2/spectro-packs/archive/probe/manifests/{subject}",
                    a.addr
                ),
            ])
            .output()
            .unwrap();
        raw.stdout.len()
    };
    assert!(info["digest"].is_string() && size > 0);

    // A signature attached with the ORAS SDK (a manifest whose subject is the pack).
    let work = sb.path("sig");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("probe.sig"), "signature bytes\n").unwrap();
    let script = "import sys, oras.client, oras.oci\nc = oras.client.OrasClient(hostname=sys.argv[1], insecure=True)\nsub = oras.oci.Subject(mediaType='application/vnd.oci.image.manifest.v1+json', digest=sys.argv[3], size=int(sys.argv[4]))\nc.push(target=sys.argv[2], files=['probe.sig'], subject=sub)\n";
    let target = format!("{}/spectro-packs/archive/probe:signature", a.addr);
    let py = std::process::Command::new("python3")
        .args(["-c", script, &a.addr, &target, &subject, &size.to_string()])
        .current_dir(&work)
        .output()
        .unwrap();
    if !py.status.success() {
        assert!(
            std::env::var_os("CI").is_none(),
            "oras push with subject: {}",
            String::from_utf8_lossy(&py.stderr)
        );
        return;
    }
    // CNCF distribution 2.8 has no Referrers API: clients keep the sha256-<hex> fallback tag,
    // as ORAS does. Write it for the signature.
    let fallback = format!("sha256-{}", subject.trim_start_matches("sha256:"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (sig_digest, sig_size) = rt.block_on(async {
        use packreg::store::{open_store, StoreOptions};
        let opts = StoreOptions { plain_http: true, ..StoreOptions::default() };
        let store = open_store(Some(&a.addr), &opts).await.unwrap();
        let repo = "spectro-packs/archive/probe";
        let sig = store.get_manifest(repo, "signature").await.unwrap();
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": sig.media_type, "digest": sig.digest.to_string(), "size": sig.bytes.len(), "artifactType": "application/vnd.unknown.artifact.v1"}]
        });
        store
            .put_manifest(repo, Some(&fallback), index.to_string().as_bytes(), "application/vnd.oci.image.index.v1+json")
            .await
            .unwrap();
        (sig.digest.to_string(), sig.bytes.len())
    });
    assert!(sig_size > 0);

    // Mirror only the version: the referrer comes along.
    let summary = sb.json(&["mirror", &a.addr, &b.addr, "probe:0.1.0"]);
    assert_eq!(summary["referrers_copied"], 1, "{summary}");
    let copied = std::process::Command::new("curl")
        .args([
            "-fsS",
            "-H",
            "Accept: application/vnd.oci.image.manifest.v1+json",
            &format!(
                "http://{}/v2/spectro-packs/archive/probe/manifests/{sig_digest}",
                b.addr
            ),
        ])
        .output()
        .unwrap();
    assert!(
        copied.status.success(),
        "the signature manifest is at the destination"
    );
    assert_eq!(
        packreg::digest::Digest::of(&copied.stdout).to_string(),
        sig_digest,
        "byte-identical"
    );
    let index = std::process::Command::new("curl")
        .args([
            "-fsS",
            "-H",
            "Accept: application/vnd.oci.image.index.v1+json",
            &format!(
                "http://{}/v2/spectro-packs/archive/probe/manifests/{fallback}",
                b.addr
            ),
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&index.stdout).contains(&sig_digest),
        "fallback index lists it"
    );
}

#[test]
fn export_then_import_reproduces_digests_and_refuses_a_corrupt_bundle() {
    require_peers!("docker-registry", "skopeo");
    let a = Registry::start(Tls::None, None);
    let empty = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let refs = fill(&sb, &a.addr);
    let bundle = sb.path("bundle.tar");
    let exported = sb.json(&["-r", &a.addr, "export", "--all", "-o", s(&bundle)]);
    assert_eq!(exported["packs"], 4);
    assert!(bundle.is_file());

    // skopeo reads the untarred layout tree.
    let untarred = sb.path("untarred");
    std::fs::create_dir_all(&untarred).unwrap();
    assert!(std::process::Command::new("tar")
        .arg("-xf")
        .arg(&bundle)
        .arg("-C")
        .arg(&untarred)
        .status()
        .unwrap()
        .success());
    let raw = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            &format!(
                "oci:{}:2.1.0_build.7",
                s(&untarred.join("spectro-packs/archive/shop"))
            ),
        ])
        .output()
        .unwrap();
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );

    let imported = sb.json(&["-r", &empty.addr, "import", s(&bundle)]);
    assert_eq!(imported["tags_copied"], refs.len());
    for (name, tag) in &refs {
        let r = format!("{name}:{tag}");
        assert_eq!(
            digest_of(&sb, &a.addr, &r),
            digest_of(&sb, &empty.addr, &r),
            "{r}"
        );
    }
    let again = sb.json(&["-r", &empty.addr, "import", s(&bundle)]);
    assert_eq!(again["blobs_copied"], 0, "import is incremental");

    // One flipped byte in a blob: nothing is imported.
    let corrupt = Registry::start(Tls::None, None);
    let blobs = untarred.join("spectro-packs/archive/shop/blobs/sha256");
    let victim = std::fs::read_dir(&blobs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[0] ^= 0x55;
    std::fs::write(&victim, bytes).unwrap();
    let bad = sb.path("bad.tar");
    assert!(std::process::Command::new("tar")
        .arg("-cf")
        .arg(&bad)
        .arg("-C")
        .arg(&untarred)
        .arg("spectro-packs")
        .status()
        .unwrap()
        .success());
    let out = sb.run(&["-r", &corrupt.addr, "import", s(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("corrupt"), "{}", stderr(&out));
    let rows = sb.json(&["-r", &corrupt.addr, "ls"]);
    assert_eq!(rows, serde_json::json!([]), "nothing tagged");
}

#[test]
fn labels_and_parent_tags_follow_adds_and_removals() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let layout = format!("oci:{}", s(&sb.path("store")));
    for target in [reg.addr.clone(), layout] {
        for v in ["1.0.0", "1.1.0"] {
            let dir = pack_with_version(&sb.path(&format!("src-{v}")), "hello-manifests", v);
            sb.json(&["-r", &target, "push", s(&dir)]);
        }
        let added = sb.json(&[
            "-r",
            &target,
            "tag",
            "add",
            "hello-manifests:1.0.0",
            "stable",
            "-g",
            "lts",
        ]);
        assert_eq!(added["tag"], "lts__stable");
        assert_eq!(
            digest_of(&sb, &target, "hello-manifests:lts__stable"),
            digest_of(&sb, &target, "hello-manifests:1.0.0")
        );
        assert_eq!(
            digest_of(&sb, &target, "hello-manifests:1.x"),
            digest_of(&sb, &target, "hello-manifests:1.1.0")
        );
        let pulled = sb.json(&[
            "-r",
            &target,
            "pull",
            "hello-manifests:lts__stable",
            "-o",
            s(&sb.path("lts")),
            "--force",
        ]);
        assert_eq!(pulled["version"], "1.0.0");

        ok(&sb.run(&["-r", &target, "tag", "rm", "hello-manifests:lts__stable"]));
        let gone = sb.run(&["-r", &target, "inspect", "hello-manifests:lts__stable"]);
        assert_eq!(gone.status.code(), Some(1), "label removed");
        // The version and its other tags stay.
        assert!(digest_of(&sb, &target, "hello-manifests:1.0.0").is_string());
        assert_eq!(
            digest_of(&sb, &target, "hello-manifests:1.0.x"),
            digest_of(&sb, &target, "hello-manifests:1.0.0")
        );

        let refused = sb.run(&["-r", &target, "tag", "rm", "hello-manifests:1.0.0"]);
        assert_eq!(
            refused.status.code(),
            Some(1),
            "versions are removed with rm"
        );
        let dir = pack_with_version(&sb.path("src-1.2.0"), "hello-manifests", "1.2.0");
        sb.json(&["-r", &target, "push", s(&dir)]);
        assert_eq!(
            digest_of(&sb, &target, "hello-manifests:1.x"),
            digest_of(&sb, &target, "hello-manifests:1.2.0")
        );
        ok(&sb.run(&["-r", &target, "rm", "hello-manifests:1.2.0"]));
        assert_eq!(
            digest_of(&sb, &target, "hello-manifests:1.x"),
            digest_of(&sb, &target, "hello-manifests:1.1.0")
        );
        for v in ["1.0.0", "1.1.0"] {
            ok(&sb.run(&["-r", &target, "rm", &format!("hello-manifests:{v}")]));
        }
    }
}

#[test]
fn without_deletes_rm_and_tag_rm_fail_clearly_and_change_nothing() {
    require_peers!("docker-registry");
    let reg = Registry::start_without_deletes();
    let sb = Sandbox::new();
    let pushed = sb.json(&["-r", &reg.addr, "push", s(&pack("probe"))]);
    sb.json(&["-r", &reg.addr, "tag", "add", "probe:0.1.0", "stable"]);
    for args in [["tag", "rm", "probe:stable"], ["rm", "probe:0.1.0", ""]] {
        let args: Vec<&str> = args.iter().copied().filter(|a| !a.is_empty()).collect();
        let mut full = vec!["-r", reg.addr.as_str()];
        full.extend(args);
        let out = sb.run(&full);
        assert_eq!(out.status.code(), Some(1), "{full:?}");
        assert!(
            stderr(&out).contains("does not allow deletes"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(
        digest_of(&sb, &reg.addr, "probe:stable"),
        pushed["digest"],
        "the label still points at the version"
    );
    assert_eq!(digest_of(&sb, &reg.addr, "probe:0.1.0"), pushed["digest"]);

    // rm moves parent tags before it deletes; a refused delete moves them back.
    let dir = common::pack_with_version(&sb.path("v2"), "probe", "0.2.0");
    let second = sb.json(&["-r", &reg.addr, "push", s(&dir)]);
    let out = sb.run(&["-r", &reg.addr, "rm", "probe:0.2.0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(digest_of(&sb, &reg.addr, "probe:0.x"), second["digest"]);
    assert_eq!(digest_of(&sb, &reg.addr, "probe:0.2.x"), second["digest"]);
}
