//! `packreg build`: packs generated from a chart archive and from a chart folder pass
//! validation and carry the chart and its values.

use crate::support as common;

use common::{packreg, stderr, testdata};
use serde_json::Value;

fn yaml(path: &std::path::Path) -> serde_norway::Value {
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn build_from_archive_makes_a_valid_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("web-pack");
    let chart = testdata().join("charts/web-1.2.0.tgz");
    let out = packreg(&["build", chart.to_str().unwrap(), out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    let meta: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("pack.json")).unwrap()).unwrap();
    assert_eq!(meta["name"], "web");
    assert_eq!(meta["version"], "1.2.0");
    assert_eq!(meta["layer"], "addon");
    assert_eq!(meta["cloudTypes"], serde_json::json!(["all"]));
    assert_eq!(meta["charts"], serde_json::json!(["charts/web-1.2.0.tgz"]));
    assert_eq!(
        std::fs::read(out_dir.join("charts/web-1.2.0.tgz")).unwrap(),
        std::fs::read(&chart).unwrap(),
        "chart archive copied untouched"
    );
    let values = yaml(&out_dir.join("values.yaml"));
    assert_eq!(
        values["pack"]["namespace"],
        serde_norway::Value::from("web")
    );
    assert_eq!(
        values["charts"]["web"]["replicaCount"],
        serde_norway::Value::from(1)
    );
    let text = std::fs::read_to_string(out_dir.join("values.yaml")).unwrap();
    assert!(
        text.contains("# Number of web pods."),
        "chart comments kept: {text}"
    );
    assert!(out_dir.join("README.md").is_file());

    let check = packreg(&["validate", out_dir.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", common::stdout(&check));
}

#[test]
fn build_from_folder_packages_the_chart_reproducibly() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = testdata().join("charts/cache");
    let mut archives = Vec::new();
    for n in ["a", "b"] {
        let out_dir = tmp.path().join(n);
        let out = packreg(&[
            "build",
            chart.to_str().unwrap(),
            out_dir.to_str().unwrap(),
            "--name",
            "redis-cache",
            "--version",
            "0.3.1-rc.1",
            "--namespace",
            "cache-system",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let check = packreg(&["validate", out_dir.to_str().unwrap()]);
        assert_eq!(check.status.code(), Some(0), "{}", common::stdout(&check));
        archives.push(std::fs::read(out_dir.join("charts/cache-0.3.1.tgz")).unwrap());
        let meta: Value =
            serde_json::from_slice(&std::fs::read(out_dir.join("pack.json")).unwrap()).unwrap();
        assert_eq!(meta["name"], "redis-cache");
        assert_eq!(meta["version"], "0.3.1-rc.1");
        let values = yaml(&out_dir.join("values.yaml"));
        assert_eq!(
            values["pack"]["namespace"],
            serde_norway::Value::from("cache-system")
        );
    }
    assert_eq!(archives[0], archives[1], "same folder, same archive bytes");

    let gz = flate2::read::GzDecoder::new(archives[0].as_slice());
    let names: Vec<String> = tar::Archive::new(gz)
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"cache/Chart.yaml".to_string()), "{names:?}");
    assert!(
        names.contains(&"cache/templates/statefulset.yaml".to_string()),
        "{names:?}"
    );
}

#[test]
fn build_refuses_a_non_empty_output_folder_and_a_non_chart() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.txt"), "x").unwrap();
    let chart = testdata().join("charts/web-1.2.0.tgz");
    let out = packreg(&[
        "build",
        chart.to_str().unwrap(),
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
    assert!(tmp.path().join("keep.txt").is_file());

    let not_chart = testdata().join("packs/hello-manifests/README.md");
    let out_dir = tmp.path().join("new");
    let out = packreg(&[
        "--json",
        "build",
        not_chart.to_str().unwrap(),
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert!(
        err["message"].as_str().unwrap().contains("README.md"),
        "{err}"
    );
    assert!(!out_dir.exists(), "nothing written on failure");
}

#[test]
fn build_refuses_a_version_or_name_validate_would_reject_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = testdata().join("charts/web-1.2.0.tgz");
    let out_dir = tmp.path().join("web-pack");
    for (flag, value, said) in [
        ("--version", "v2.0", "write \"2.0\""),
        ("--version", "2.0/beta", "valid registry tag"),
        ("--name", "Web", "registry repository name"),
    ] {
        let out = packreg(&[
            "build",
            chart.to_str().unwrap(),
            out_dir.to_str().unwrap(),
            flag,
            value,
        ]);
        assert_eq!(out.status.code(), Some(1), "{value}: {}", stderr(&out));
        assert!(stderr(&out).contains(said), "{value}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(flag),
            "names the flag: {}",
            stderr(&out)
        );
        assert!(!out_dir.exists(), "{value}: nothing written");
    }
    let out = packreg(&[
        "build",
        chart.to_str().unwrap(),
        out_dir.to_str().unwrap(),
        "--version",
        "2.0",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let check = packreg(&["validate", out_dir.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", common::stdout(&check));
}

fn images_of(dir: &std::path::Path) -> Vec<String> {
    let values = yaml(&dir.join("values.yaml"));
    values["pack"]["content"]["images"]
        .as_sequence()
        .map(|items| {
            items
                .iter()
                .map(|i| i["image"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn build_proposes_the_images_of_the_chart_and_says_there_is_no_icon() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("web-pack");
    let chart = testdata().join("charts/web-1.2.0.tgz");
    let out = packreg(&["build", chart.to_str().unwrap(), out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(images_of(&out_dir), vec!["docker.io/library/nginx:1.25.3"]);
    let said = stderr(&out);
    assert!(
        said.contains("  docker.io/library/nginx:1.25.3 (web: image)"),
        "{said}"
    );
    assert!(
        said.contains("no logo.png: the chart has no icon"),
        "{said}"
    );
    assert!(!out_dir.join("logo.png").exists());
    // validate no longer warns that the add-on lists no images.
    let check = packreg(&["validate", out_dir.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0));
    assert!(
        !common::stdout(&check).contains("pack.content.images"),
        "{}",
        common::stdout(&check)
    );
}

/// A chart folder with a subchart folder, a packaged subchart, both image shapes and a PNG
/// icon.
fn umbrella_chart(dir: &std::path::Path) {
    let write = |rel: &str, text: &[u8]| {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "Chart.yaml",
        b"apiVersion: v2\nname: shop\nversion: 2.0.0\nappVersion: \"2.0.0\"\nicon: ./assets/logo.png\n",
    );
    write(
        "values.yaml",
        b"image:\n  registry: ghcr.io\n  repository: acme/shop\nworker:\n  image: acme/worker:2.0.0\n\
          cache:\n  image:\n    tag: \"7.4\"\n",
    );
    write("assets/logo.png", b"\x89PNG\r\n\x1a\nshop logo");
    write("templates/deploy.yaml", b"kind: Deployment\n");
    write(
        "charts/cache/Chart.yaml",
        b"apiVersion: v2\nname: cache\nversion: 0.3.1\nappVersion: \"7.2\"\n",
    );
    write(
        "charts/cache/values.yaml",
        b"image:\n  repository: docker.io/library/redis\n  tag: \"7.2\"\n",
    );
    let sub = dir.join("charts/metrics-0.1.0.tgz");
    packreg::archive::write_tar_gz(
        std::fs::File::create(&sub).unwrap(),
        &[
            packreg::archive::TarEntry {
                name: "metrics/Chart.yaml".into(),
                kind: packreg::archive::TarEntryKind::Bytes(
                    b"apiVersion: v2\nname: metrics\nversion: 0.1.0\nappVersion: \"0.9.0\"\n"
                        .to_vec(),
                ),
            },
            packreg::archive::TarEntry {
                name: "metrics/values.yaml".into(),
                kind: packreg::archive::TarEntryKind::Bytes(
                    b"image:\n  repository: prom/exporter\n".to_vec(),
                ),
            },
        ],
    )
    .unwrap();
}

#[test]
fn build_finds_images_in_subcharts_and_takes_a_png_icon_from_the_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("shop");
    umbrella_chart(&chart);
    let out_dir = tmp.path().join("shop-pack");
    let out = packreg(&[
        "--json",
        "build",
        chart.to_str().unwrap(),
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = vec![
        "ghcr.io/acme/shop:2.0.0",
        "docker.io/acme/worker:2.0.0",
        "docker.io/library/redis:7.4",
        "docker.io/prom/exporter:0.9.0",
    ];
    assert_eq!(images_of(&out_dir), expected);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["images"], serde_json::json!(expected));
    assert_eq!(
        report["foundImages"][0]["tagFromAppVersion"], true,
        "{report:#}"
    );
    assert_eq!(
        report["foundImages"][2]["chart"], "shop/cache",
        "{report:#}"
    );
    assert_eq!(report["icon"]["kind"], "found", "{report:#}");
    assert_eq!(
        std::fs::read(out_dir.join("logo.png")).unwrap(),
        b"\x89PNG\r\n\x1a\nshop logo"
    );
    let check = packreg(&["validate", out_dir.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", common::stdout(&check));
}

#[test]
fn build_takes_the_images_from_a_file_and_refuses_a_bad_line_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = testdata().join("charts/web-1.2.0.tgz");
    let list = tmp.path().join("images.txt");
    std::fs::write(
        &list,
        "# the images of web\nregistry.example.com/web/nginx:1.25.3\n\nbusybox:1.36\n",
    )
    .unwrap();
    let out_dir = tmp.path().join("web-pack");
    let out = packreg(&[
        "build",
        chart.to_str().unwrap(),
        out_dir.to_str().unwrap(),
        "--images",
        list.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        images_of(&out_dir),
        vec!["registry.example.com/web/nginx:1.25.3", "busybox:1.36"]
    );
    assert!(stderr(&out).contains("images: 2 from"), "{}", stderr(&out));

    std::fs::write(&list, "nginx:1.25\nNot An Image\n").unwrap();
    let out_dir = tmp.path().join("other");
    let out = packreg(&[
        "build",
        chart.to_str().unwrap(),
        out_dir.to_str().unwrap(),
        "--images",
        list.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{}:2:", list.display())),
        "{}",
        stderr(&out)
    );
    assert!(!out_dir.exists(), "nothing written");
}
