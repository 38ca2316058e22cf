//! `packreg images`: the images a pack declares, normalised, resolved against a real registry,
//! and checked at their mapped place in another (the air-gap readiness check).

mod common;

use common::registry::{peers_available, Registry, Tls};
use common::{ok, stderr, Sandbox};
use packreg::digest::Digest;
use packreg::store::{open_store, StoreOptions};
use serde_json::Value;

/// A one-layer image pushed to `registry` as `repo:tag`; returns its manifest digest.
fn push_image(registry: &str, repo: &str, tag: &str) -> Digest {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let opts = StoreOptions {
            plain_http: true,
            ..StoreOptions::default()
        };
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
    if !peers_available(&["docker-registry", "skopeo"]) {
        return;
    }
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
