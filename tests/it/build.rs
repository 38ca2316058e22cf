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
        err["error"].as_str().unwrap().contains("README.md"),
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
