//! `packreg images`: the images a pack declares, normalised, resolved against a real registry,
//! and checked at their mapped place in another (the air-gap readiness check).

use crate::support as common;

use common::registry::{Registry, Tls};
use common::{ok, stderr, Sandbox};
use packreg::config::{builtin_store_options, ConnectionFlags};
use packreg::digest::Digest;
use packreg::store::open_store;
use serde_json::Value;

/// A one-layer image pushed to `registry` as `repo:tag`; returns its manifest digest.
pub(crate) fn push_image(registry: &str, repo: &str, tag: &str) -> Digest {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let opts = builtin_store_options(&ConnectionFlags {
            plain_http: true,
            ..ConnectionFlags::default()
        });
        let store = open_store(Some(registry), &opts).await.unwrap();
        let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let layer = format!("layer of {repo}:{tag}").into_bytes();
        for blob in [&config[..], &layer[..]] {
            let digest = Digest::of(blob);
            store
                .put_blob(repo, &digest, blob.len() as u64, Box::pin(std::io::Cursor::new(blob.to_vec())))
                .await
                .unwrap();
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": Digest::of(config).to_string(), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": Digest::of(&layer).to_string(), "size": layer.len()}]
        })
        .to_string();
        store
            .put_manifest(repo, Some(tag), manifest.as_bytes(), "application/vnd.oci.image.manifest.v1+json")
            .await
            .unwrap()
    })
}

#[test]
fn images_are_listed_resolved_and_checked_where_they_belong() {
    require_peers!("docker-registry", "skopeo");
    let upstream = Registry::start(Tls::None, None);
    let airgap = Registry::start(Tls::None, None);
    let app = push_image(&upstream.addr, "team/app", "1.0");
    let tool = push_image(&upstream.addr, "team/tool", "2.0");
    let sb = Sandbox::new();
    let dir = sb.path("pack");
    common::copy_dir(&common::pack("hello-manifests"), &dir);
    std::fs::write(
        dir.join("values.yaml"),
        format!(
            "pack:\n  content:\n    images:\n      - image: {u}/team/app:1.0\n      - image: {u}/team/tool@{tool}\n      - {u}/team/app:1.0\n",
            u = upstream.addr
        ),
    )
    .unwrap();
    let store = format!("oci:{}", sb.path("packs").display());
    ok(&sb.run(&["-r", &store, "push", dir.to_str().unwrap()]));

    let listed = sb.json(&[
        "-r",
        &store,
        "images",
        "hello-manifests",
        "--resolve",
        "--plain-http",
    ]);
    let images = listed["images"].as_array().unwrap();
    assert_eq!(images.len(), 2, "{listed}");
    assert_eq!(
        images[0]["image"],
        format!("{}/team/app:1.0", upstream.addr)
    );
    assert_eq!(images[0]["digest"], app.to_string());
    assert_eq!(
        images[1]["image"],
        format!("{}/team/tool@{tool}", upstream.addr)
    );
    assert_eq!(images[1]["digest"], tool.to_string());

    // The air-gap check: missing first, naming the image and where it belongs.
    let check = sb.run(&[
        "-r",
        &store,
        "--plain-http",
        "images",
        "hello-manifests",
        "--check",
        &airgap.addr,
    ]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let mapped_app = format!(
        "{}/{}/team/app:1.0",
        airgap.addr,
        upstream.addr.replace(':', "_")
    );
    assert!(
        common::stdout(&check).contains(&format!("MISSING at {mapped_app}")),
        "{}",
        common::stdout(&check)
    );
    assert!(stderr(&check).contains("2 image(s)"), "{}", stderr(&check));

    // Copied where they belong (by tag, and by digest for the one referenced by digest).
    let host = upstream.addr.replace(':', "_");
    for (src, dst) in [
        (
            format!("{}/team/app:1.0", upstream.addr),
            format!("{}/{host}/team/app:1.0", airgap.addr),
        ),
        (
            format!("{}/team/tool@{tool}", upstream.addr),
            format!("{}/{host}/team/tool@{tool}", airgap.addr),
        ),
    ] {
        let copied = std::process::Command::new("skopeo")
            .args([
                "copy",
                "--preserve-digests",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
            ])
            .arg(format!("docker://{src}"))
            .arg(format!("docker://{dst}"))
            .output()
            .unwrap();
        assert!(
            copied.status.success(),
            "{}",
            String::from_utf8_lossy(&copied.stderr)
        );
    }
    let report: Value = sb.json(&[
        "-r",
        &store,
        "--plain-http",
        "images",
        "hello-manifests",
        "--check",
        &airgap.addr,
    ]);
    assert_eq!(report["missing"], 0, "{report}");
    assert!(report["images"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["present"] == true));
}

#[test]
fn images_are_normalised_as_docker_does_without_asking_any_registry() {
    let sb = Sandbox::new();
    let store = format!("oci:{}", sb.path("packs").display());
    ok(&sb.run(&[
        "-r",
        &store,
        "push",
        common::pack("hello-manifests").to_str().unwrap(),
    ]));
    let listed = sb.json(&["-r", &store, "images", "hello-manifests"]);
    assert_eq!(
        listed["images"][0]["image"],
        "docker.io/library/busybox:1.36"
    );
    assert_eq!(
        listed["images"][0]["declared"],
        "docker.io/library/busybox:1.36"
    );
    assert!(listed["images"][0].get("digest").is_none());
}

/// A two-platform index pushed to `registry` as `repo:tag`; returns its digest.
fn push_index(registry: &str, repo: &str, tag: &str) -> Digest {
    let amd = push_image(registry, repo, "amd64-part");
    let arm = push_image(registry, repo, "arm64-part");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let opts = builtin_store_options(&ConnectionFlags {
            plain_http: true,
            ..ConnectionFlags::default()
        });
        let store = open_store(Some(registry), &opts).await.unwrap();
        let size = |d: &Digest| {
            let d = d.clone();
            let store = &store;
            async move { store.get_manifest(repo, d.as_str()).await.unwrap().bytes.len() }
        };
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd.to_string(), "size": size(&amd).await, "platform": {"architecture": "amd64", "os": "linux"}},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm.to_string(), "size": size(&arm).await, "platform": {"architecture": "arm64", "os": "linux"}}
            ]
        })
        .to_string();
        store
            .put_manifest(repo, Some(tag), index.as_bytes(), "application/vnd.oci.image.index.v1+json")
            .await
            .unwrap()
    })
}

/// A pack in a local store listing `images`.
pub(crate) fn pack_with_images(sb: &Sandbox, name: &str, images: &[String]) -> String {
    let dir = sb.path(name);
    common::copy_dir(&common::pack("hello-manifests"), &dir);
    common::set_pack_field(&dir, "name", name);
    let list: String = images
        .iter()
        .map(|i| format!("      - image: {i}\n"))
        .collect();
    std::fs::write(
        dir.join("values.yaml"),
        format!("pack:\n  content:\n    images:\n{list}"),
    )
    .unwrap();
    let store = format!("oci:{}", sb.path("packs").display());
    ok(&sb.run(&["-r", &store, "push", dir.to_str().unwrap()]));
    store
}

pub(crate) fn skopeo_digest(reference: &str) -> String {
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Digest::of(&out.stdout).to_string()
}

#[test]
fn mirror_and_bundles_carry_the_images_a_pack_runs() {
    require_peers!("docker-registry", "skopeo");
    let upstream = Registry::start(Tls::None, None);
    let index = push_index(&upstream.addr, "team/multi", "3.0");
    let single = push_image(&upstream.addr, "team/app", "1.0");
    let pinned = push_image(&upstream.addr, "team/pinned", "0.1");
    let sb = Sandbox::new();
    let u = &upstream.addr;
    let store = pack_with_images(
        &sb,
        "withimages",
        &[
            format!("{u}/team/multi:3.0"),
            format!("{u}/team/app:1.0"),
            format!("{u}/team/pinned@{pinned}"),
        ],
    );
    let host = u.replace(':', "_");

    // Mirror from the pack store to a registry: images come from upstream.
    let site = Registry::start(Tls::None, None);
    let summary = sb.json(&[
        "--plain-http",
        "mirror",
        &store,
        &site.addr,
        "--with-images",
    ]);
    let images = summary["images"].as_array().unwrap();
    assert_eq!(images.len(), 3, "{summary}");
    for image in images {
        assert!(image["copied"].as_bool().unwrap(), "{image}");
        assert!(image["source"].as_str().unwrap().starts_with(u.as_str()));
    }
    assert_eq!(
        skopeo_digest(&format!("{}/{host}/team/multi:3.0", site.addr)),
        index.to_string()
    );
    assert_eq!(
        skopeo_digest(&format!("{}/{host}/team/app:1.0", site.addr)),
        single.to_string()
    );
    assert_eq!(
        skopeo_digest(&format!("{}/{host}/team/pinned@{pinned}", site.addr)),
        pinned.to_string()
    );
    // By digest only: no tag invented.
    let tags = sb.run(&["-r", &site.addr, "--plain-http", "ls"]);
    assert!(tags.status.success());

    // Again: nothing copied, no blob touched.
    let before = site.upload_requests();
    let again = sb.json(&[
        "--plain-http",
        "mirror",
        &store,
        &site.addr,
        "--with-images",
    ]);
    assert!(
        again["images"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["copied"] == false),
        "{again}"
    );
    assert_eq!(site.upload_requests(), before);

    // Export with images, then import into an empty registry with upstream gone: the air gap.
    let bundle = sb.path("bundle.tar");
    ok(&sb.run(&[
        "-r",
        &store,
        "export",
        "--all",
        "--with-images",
        "-o",
        bundle.to_str().unwrap(),
    ]));
    drop(upstream);
    let airgap = Registry::start(Tls::None, None);
    ok(&sb.run(&[
        "-r",
        &airgap.addr,
        "--plain-http",
        "import",
        bundle.to_str().unwrap(),
        "--with-images",
    ]));
    assert_eq!(
        skopeo_digest(&format!("{}/{host}/team/multi:3.0", airgap.addr)),
        index.to_string()
    );
    let check = sb.run(&[
        "-r",
        &store,
        "--plain-http",
        "images",
        "withimages",
        "--check",
        &airgap.addr,
    ]);
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn a_missing_image_fails_its_pack_and_not_the_others() {
    require_peers!("docker-registry", "skopeo");
    let upstream = Registry::start(Tls::None, None);
    push_image(&upstream.addr, "team/app", "1.0");
    let sb = Sandbox::new();
    let u = &upstream.addr;
    pack_with_images(&sb, "good", &[format!("{u}/team/app:1.0")]);
    let store = pack_with_images(&sb, "broken", &[format!("{u}/team/gone:9.9")]);
    let site = Registry::start(Tls::None, None);
    let out = sb.run(&[
        "--plain-http",
        "--json",
        "mirror",
        &store,
        &site.addr,
        "--with-images",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let failures = summary["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{summary}");
    assert_eq!(failures[0]["pack"], "broken");
    assert!(
        failures[0]["error"]
            .as_str()
            .unwrap()
            .contains("team/gone:9.9"),
        "{summary}"
    );
    assert_eq!(summary["images"].as_array().unwrap().len(), 1);
    let skipped = sb.run(&[
        "--plain-http",
        "mirror",
        &store,
        &site.addr,
        "--with-images",
        "--skip-missing-images",
    ]);
    assert!(skipped.status.success(), "{}", stderr(&skipped));
    assert!(
        stderr(&skipped).contains("team/gone:9.9"),
        "{}",
        stderr(&skipped)
    );
}

/// `export --with-images` says each image goes into the bundle (text and JSON), not into the
/// staging folder it was gathered in, which is gone when the command ends.
#[test]
fn export_names_the_bundle_as_where_the_images_go() {
    require_peers!("docker-registry");
    let upstream = Registry::start(Tls::None, None);
    push_image(&upstream.addr, "team/app", "1.0");
    let sb = Sandbox::new();
    let image = format!("{}/team/app:1.0", upstream.addr);
    let store = pack_with_images(&sb, "withimages", std::slice::from_ref(&image));
    let bundle = sb.path("bundle.tar");
    let bundle = bundle.to_str().unwrap();
    let out = sb.run(&[
        "-r",
        &store,
        "export",
        "withimages",
        "--with-images",
        "-o",
        bundle,
    ]);
    ok(&out);
    let said = stderr(&out);
    assert!(
        said.contains(&format!("image {image} -> {bundle} ")),
        "{said}"
    );
    assert!(!said.contains(".packreg-export"), "{said}");
    let again = sb.path("again.tar");
    let summary = sb.json(&[
        "-r",
        &store,
        "export",
        "withimages",
        "--with-images",
        "-o",
        again.to_str().unwrap(),
    ]);
    assert_eq!(summary["images"][0]["destination"], again.to_str().unwrap());
}

/// Pack content chooses the image registries: the command's `--insecure` and `--plain-http`
/// are for its own registry only, never for them (credentials would go over unverified TLS or
/// plain text to whatever a pack names); an image registry takes its own settings section.
#[test]
fn image_registries_take_their_own_section_not_the_commands_tls_flags() {
    require_peers!("docker-registry");
    let upstream = Registry::start(Tls::SelfSigned, None);
    let sb = Sandbox::new();
    let dir = sb.path("pack");
    common::copy_dir(&common::pack("hello-manifests"), &dir);
    std::fs::write(
        dir.join("values.yaml"),
        format!(
            "pack:\n  content:\n    images:\n      - image: {}/team/app:1.0\n",
            upstream.addr
        ),
    )
    .unwrap();
    let store = format!("oci:{}", sb.path("packs").display());
    ok(&sb.run(&["-r", &store, "push", dir.to_str().unwrap()]));
    let resolve_error = |flag: &str| {
        let listed = sb.json(&["-r", &store, flag, "images", "hello-manifests", "--resolve"]);
        listed["images"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    for flag in ["--insecure", "--plain-http"] {
        let error = resolve_error(flag);
        assert!(
            error.contains("certificate is not trusted"),
            "{flag}: {error}"
        );
    }
    // Its own section lets it in: the registry is reached (and has no such image).
    let config = sb.path(".config/packreg/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!("[registries.\"{}\"]\ninsecure = true\n", upstream.addr),
    )
    .unwrap();
    let error = resolve_error("--quiet");
    assert!(error.contains("not found"), "{error}");
}

/// An index at `repo:tag` listing the manifests `digests` (a `sha256-<hex>` referrers index).
fn put_referrers_index(registry: &str, repo: &str, tag: &str, digests: &[&Digest]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let opts = builtin_store_options(&ConnectionFlags {
            plain_http: true,
            ..ConnectionFlags::default()
        });
        let store = open_store(Some(registry), &opts).await.unwrap();
        let mut manifests = Vec::new();
        for d in digests {
            let raw = store.get_manifest(repo, d.as_str()).await.unwrap();
            manifests.push(serde_json::json!({
                "mediaType": raw.media_type, "digest": d.to_string(), "size": raw.bytes.len(),
                "artifactType": "application/vnd.example.sig"
            }));
        }
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests
        })
        .to_string();
        store
            .put_manifest(
                repo,
                Some(tag),
                index.as_bytes(),
                "application/vnd.oci.image.index.v1+json",
            )
            .await
            .unwrap();
    });
}

/// The manifests a referrers index at `repo:tag` lists.
fn listed_referrers(registry: &str, repo: &str, tag: &str) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let opts = builtin_store_options(&ConnectionFlags {
            plain_http: true,
            ..ConnectionFlags::default()
        });
        let store = open_store(Some(registry), &opts).await.unwrap();
        let raw = store.get_manifest(repo, tag).await.unwrap();
        let index: Value = serde_json::from_slice(&raw.bytes).unwrap();
        let mut listed: Vec<String> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["digest"].as_str().unwrap().to_string())
            .collect();
        listed.sort();
        listed
    })
}

/// `--with-images` never replaces what the destination holds under an image's tag or a cosign
/// tag when it is another manifest: a conflict, reported with exit 1, the tag left alone, until
/// `--force`. A `sha256-<hex>` referrers index the destination has gains the source's
/// entries and keeps its own.
#[test]
fn image_tags_pointing_elsewhere_at_the_destination_are_conflicts() {
    require_peers!("docker-registry", "skopeo");
    let upstream = Registry::start(Tls::None, None);
    let site = Registry::start(Tls::None, None);
    let u = &upstream.addr;
    let host = u.replace(':', "_");
    let app = push_image(u, "team/app", "1.0");
    let signed = push_image(u, "team/signed", "1.0");
    let sig_tag = format!("sha256-{}.sig", signed.hex());
    let fallback = format!("sha256-{}", signed.hex());
    let upstream_sig = push_image(u, "team/signed", &sig_tag);
    let upstream_referrer = push_image(u, "team/signed", "referrer");
    put_referrers_index(u, "team/signed", &fallback, &[&upstream_referrer]);
    // What the site holds of its own: another image under the app's tag, a signature only it
    // has, and its own referrers index for the signed image.
    let site_app = format!("{host}/team/app");
    let site_signed = format!("{host}/team/signed");
    let other_app = push_image(&site.addr, &site_app, "1.0");
    let site_sig = push_image(&site.addr, &site_signed, &sig_tag);
    let site_referrer = push_image(&site.addr, &site_signed, "referrer");
    put_referrers_index(&site.addr, &site_signed, &fallback, &[&site_referrer]);

    let sb = Sandbox::new();
    let store = pack_with_images(
        &sb,
        "withimages",
        &[format!("{u}/team/app:1.0"), format!("{u}/team/signed:1.0")],
    );
    let out = sb.run(&[
        "--plain-http",
        "--json",
        "mirror",
        &store,
        &site.addr,
        "--with-images",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let conflicts: Vec<&str> = summary["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(conflicts.len(), 2, "{summary}");
    assert!(
        conflicts.iter().any(|c| c.contains("team/app:1.0")),
        "{summary}"
    );
    assert!(conflicts.iter().any(|c| c.contains(&sig_tag)), "{summary}");
    let at = |repo: &str, tag: &str| skopeo_digest(&format!("{}/{repo}:{tag}", site.addr));
    assert_eq!(at(&site_app, "1.0"), other_app.to_string());
    assert_eq!(at(&site_signed, &sig_tag), site_sig.to_string());
    assert_eq!(at(&site_signed, "1.0"), signed.to_string());
    let mut both = vec![upstream_referrer.to_string(), site_referrer.to_string()];
    both.sort();
    assert_eq!(listed_referrers(&site.addr, &site_signed, &fallback), both);

    // --force moves them.
    ok(&sb.run(&[
        "--plain-http",
        "mirror",
        &store,
        &site.addr,
        "--with-images",
        "--force",
    ]));
    assert_eq!(at(&site_app, "1.0"), app.to_string());
    assert_eq!(at(&site_signed, &sig_tag), upstream_sig.to_string());
    assert_eq!(listed_referrers(&site.addr, &site_signed, &fallback), both);
}
