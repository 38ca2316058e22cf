//! `packreg validate` against every testdata pack: good ones pass, each broken one fails with a
//! finding that names the file and field of the rule it breaks.

use crate::support as common;

use common::{copy_dir, pack, packreg, stderr, stdout, GOOD_PACKS};
use serde_json::Value;

fn findings(dir: &std::path::Path) -> (i32, Vec<Value>) {
    let out = packreg(&["validate", "--json", dir.to_str().unwrap()]);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON from validate: {e}: {}", stdout(&out)));
    let list = report["findings"].as_array().unwrap().clone();
    assert_eq!(report["valid"], out.status.code() == Some(0));
    (out.status.code().unwrap(), list)
}

fn has(list: &[Value], severity: &str, file: &str, field: Option<&str>) -> bool {
    list.iter().any(|f| {
        f["severity"] == severity
            && f["file"] == file
            && f.get("field").and_then(Value::as_str) == field
    })
}

#[test]
fn good_packs_are_valid_without_warnings() {
    for name in GOOD_PACKS {
        let (code, list) = findings(&pack(name));
        assert_eq!(code, 0, "{name}: {list:?}");
        assert!(list.is_empty(), "{name}: {list:?}");
    }
}

/// (broken pack, file, field) of the finding each must produce.
const BROKEN: &[(&str, &str, Option<&str>)] = &[
    ("pack-json-syntax", "pack.json", None),
    ("no-pack-json", "pack.json", None),
    ("empty-name", "pack.json", Some("name")),
    ("no-display-name", "pack.json", Some("displayName")),
    ("no-version", "pack.json", Some("version")),
    ("bad-layer", "pack.json", Some("layer")),
    ("no-layer", "pack.json", Some("layer")),
    ("bad-cloud-type", "pack.json", Some("cloudTypes[1]")),
    ("leading-v", "pack.json", Some("version")),
    ("bad-name", "pack.json", Some("name")),
    ("bad-tag", "pack.json", Some("version")),
    ("long-tag", "pack.json", Some("version")),
    (
        "bad-dependency-type",
        "pack.json",
        Some("constraints.dependencies[0].type"),
    ),
    (
        "bad-resource-type",
        "pack.json",
        Some("constraints.resources[0].type"),
    ),
    ("wrong-field-type", "pack.json", Some("cloudTypes")),
    ("no-values", "values.yaml", None),
    ("values-syntax", "values.yaml", None),
    ("missing-manifest", "pack.json", Some("kubeManifests[1]")),
    ("manifest-outside", "pack.json", Some("kubeManifests[0]")),
    ("missing-chart", "pack.json", Some("charts[1]")),
    ("chart-not-gzip", "charts/cache-0.3.1.tgz", None),
    ("chart-without-chart-yaml", "charts/cache-0.3.1.tgz", None),
    (
        "wrong-chart-values-key",
        "values.yaml",
        Some("charts.nginx-ingress"),
    ),
];

#[test]
fn each_broken_pack_is_rejected_naming_file_and_field() {
    let dir = pack("broken");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let (_, file, field) = BROKEN
            .iter()
            .find(|(n, _, _)| *n == name)
            .unwrap_or_else(|| panic!("broken pack {name} has no expectation in BROKEN"));
        let (code, list) = findings(&dir.join(&name));
        assert_eq!(code, 1, "{name} must be rejected: {list:?}");
        assert!(
            has(&list, "error", file, *field),
            "{name}: want {file} {field:?} in {list:?}"
        );
        seen += 1;
    }
    assert_eq!(seen, BROKEN.len());
}

#[test]
fn broken_pack_reports_every_problem_not_just_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    copy_dir(&pack("hello-manifests"), &dir);
    let text = std::fs::read_to_string(dir.join("pack.json")).unwrap();
    let text = text
        .replace("\"layer\": \"addon\"", "\"layer\": \"nope\"")
        .replace("\"version\": \"1.0.0\"", "\"version\": \"v1.0.0\"")
        .replace("\"type\": \"cpu\"", "\"type\": \"gpu\"");
    std::fs::write(dir.join("pack.json"), text).unwrap();
    std::fs::remove_file(dir.join("values.yaml")).unwrap();
    let (code, list) = findings(&dir);
    assert_eq!(code, 1);
    for (file, field) in [
        ("pack.json", Some("layer")),
        ("pack.json", Some("version")),
        ("pack.json", Some("constraints.resources[0].type")),
        ("values.yaml", None),
    ] {
        assert!(
            has(&list, "error", file, field),
            "{file} {field:?} in {list:?}"
        );
    }
}

#[test]
fn warnings_do_not_fail_validation() {
    type Expected<'a> = &'a [(&'a str, Option<&'a str>)];
    let cases: &[(&str, Expected)] = &[
        (
            "no-logo-no-readme",
            &[("logo.png", None), ("README.md", None)],
        ),
        ("logo-not-png", &[("logo.png", None)]),
        (
            "addon-without-images",
            &[("values.yaml", Some("pack.content.images"))],
        ),
    ];
    for (name, expected) in cases {
        let (code, list) = findings(&pack("warnings").join(name));
        assert_eq!(code, 0, "{name}: {list:?}");
        for (file, field) in *expected {
            assert!(
                has(&list, "warning", file, *field),
                "{name}: {file} in {list:?}"
            );
        }
    }
}

#[test]
fn text_output_names_file_and_field() {
    let out = packreg(&[
        "validate",
        pack("broken/wrong-chart-values-key").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("error: values.yaml: charts.nginx-ingress: no chart is named"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("invalid: 1 error(s)"),
        "{}",
        stderr(&out)
    );
}

#[cfg(unix)]
#[test]
fn symlink_out_of_the_pack_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    copy_dir(&pack("hello-manifests"), &dir);
    std::fs::write(tmp.path().join("secret.txt"), "s").unwrap();
    std::os::unix::fs::symlink("../../secret.txt", dir.join("manifests/leak.yaml")).unwrap();
    let (code, list) = findings(&dir);
    assert_eq!(code, 1);
    let msg = list[0]["message"].as_str().unwrap();
    assert!(msg.contains("outside the pack"), "{msg}");

    std::fs::remove_file(dir.join("manifests/leak.yaml")).unwrap();
    std::os::unix::fs::symlink("gone.yaml", dir.join("manifests/dangling.yaml")).unwrap();
    let (code, list) = findings(&dir);
    assert_eq!(code, 1);
    let msg = list[0]["message"].as_str().unwrap();
    assert!(msg.contains("broken symbolic link"), "{msg}");
}

#[test]
fn packregignore_leaves_files_out_and_a_listed_file_then_counts_as_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    copy_dir(&pack("hello-manifests"), &dir);
    std::fs::write(dir.join(".packregignore"), "manifests/deployment.yaml\n").unwrap();
    let (code, list) = findings(&dir);
    assert_eq!(code, 1);
    assert!(
        has(&list, "error", "pack.json", Some("kubeManifests[1]")),
        "{list:?}"
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(packreg(&["validate"]).status.code(), Some(2));
    assert_eq!(packreg(&["no-such-command"]).status.code(), Some(2));
}

#[test]
fn missing_folder_is_an_error_naming_it() {
    let (code, list) = findings(std::path::Path::new("/nonexistent/pack"));
    assert_eq!(code, 1);
    assert!(list[0]["message"]
        .as_str()
        .unwrap()
        .contains("/nonexistent/pack"));
}
