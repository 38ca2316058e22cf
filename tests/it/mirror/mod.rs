//! `packreg mirror` between real registries and local layouts.

use crate::support as common;

mod interrupted;
mod scale;
mod shared_blobs;
mod versions;

use common::registry::{Registry, Tls};

use common::{ok, pack, pack_with_version, snapshot, Sandbox, GOOD_PACKS};

use serde_json::Value;

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

pub(crate) fn digest_of(sb: &Sandbox, reg: &str, reference: &str) -> Value {
    sb.json(&["-r", reg, "inspect", reference])["digest"].clone()
}

/// Pushes every good pack natively and a Palette-format version of probe.
pub(crate) fn fill(sb: &Sandbox, reg: &str) -> Vec<(String, String)> {
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
    assert_eq!(summary["tagsCopied"], refs.len());
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
    assert_eq!(again["tagsCopied"], 0);
    assert_eq!(again["blobsCopied"], 0);
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
    let target = format!("{dst}/spectro-packs/archive/shop:2.1.0_build.7");
    let py = common::oras::pull(&b.addr, &target, &oras_out);
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
    assert_eq!(second["tagsCopied"], 3, "shop and two probes: {second}");
    assert_eq!(
        second["tagsUnchanged"], 1,
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
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["tagsCopied"], refs.len());
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
        use packreg::config::{builtin_store_options, ConnectionFlags};
        use packreg::store::open_store;
        let opts = builtin_store_options(&ConnectionFlags { plain_http: true, ..ConnectionFlags::default() });
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
    assert_eq!(summary["referrersCopied"], 1, "{summary}");
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

/// A summary without the flag that tells a dry run from the real one.
fn without_dry_run_flag(mut summary: Value) -> Value {
    let object = summary.as_object_mut().unwrap();
    object.remove("dry_run");
    object.remove("dryRun");
    summary
}

#[test]
fn a_dry_run_with_images_reports_exactly_what_the_real_run_then_copies() {
    require_peers!("docker-registry", "skopeo");
    use crate::images::{pack_with_images, push_image};
    let upstream = Registry::start(Tls::None, None);
    push_image(&upstream.addr, "team/app", "1.0");
    push_image(&upstream.addr, "team/tool", "2.0");
    let sb = Sandbox::new();
    let u = upstream.addr.clone();
    pack_with_images(&sb, "first", &[format!("{u}/team/app:1.0")]);
    let store = pack_with_images(
        &sb,
        "second",
        &[format!("{u}/team/app:1.0"), format!("{u}/team/tool:2.0")],
    );
    let dst = Registry::start(Tls::None, None);
    let args = [
        "--plain-http",
        "mirror",
        store.as_str(),
        &dst.addr,
        "--with-images",
    ];
    let mut dry: Vec<&str> = args.to_vec();
    dry.push("--dry-run");

    let planned = sb.json(&dry);
    assert_eq!(
        planned["dry_run"].as_bool().or(planned["dryRun"].as_bool()),
        Some(true)
    );
    assert_eq!(dst.upload_requests(), 0, "the dry run wrote nothing");
    let images = planned["images"].as_array().unwrap();
    assert_eq!(images.len(), 2, "{planned}");
    assert!(
        images.iter().all(|i| i["copied"] == true),
        "into an empty registry: {planned}"
    );
    let words = ok(&sb.run(&dry));
    assert!(words.contains("would copy"), "{words}");

    let done = sb.json(&args);
    assert_eq!(
        without_dry_run_flag(planned),
        without_dry_run_flag(done.clone()),
        "the dry run and the real run"
    );
    // And once everything is there, both say so.
    let planned = sb.json(&dry);
    let again = sb.json(&args);
    assert_eq!(
        without_dry_run_flag(planned),
        without_dry_run_flag(again.clone())
    );
    assert!(again["images"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["copied"] == false));
}
