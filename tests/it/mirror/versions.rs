//! `--versions RANGE` and `--latest N`: a mirror, an export and an import take exactly the
//! versions selected, the labels on them and parent tags derived from them, and say which
//! labels they leave behind.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::registry::{Registry, Tls};
use crate::support::{ok, pack_with_version, s, stderr, Sandbox};

const PACKS: [&str; 2] = ["probe", "hello-manifests"];
const VERSIONS: [&str; 8] = [
    "1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.4.1", "2.0.0", "2.1.0",
];

/// Each pack in 8 versions, with `lts__stable` on 1.2.0 and `edge` on 2.1.0.
fn fill(sb: &Sandbox, reg: &str) {
    for name in PACKS {
        for version in VERSIONS {
            let dir = pack_with_version(&sb.path(&format!("{name}-{version}")), name, version);
            sb.json(&["-r", reg, "push", s(&dir)]);
        }
        sb.json(&[
            "-r",
            reg,
            "tag",
            "add",
            &format!("{name}:1.2.0"),
            "stable",
            "-g",
            "lts",
        ]);
        sb.json(&["-r", reg, "tag", "add", &format!("{name}:2.1.0"), "edge"]);
    }
}

/// The tags of pack `name` in the registry `at` (host:port[/base]), as the registry lists them.
fn tags_at(at: &str, name: &str) -> BTreeSet<String> {
    let (host, base) = match at.split_once('/') {
        Some((host, base)) => (host, format!("{base}/")),
        None => (at, String::new()),
    };
    let url = format!("http://{host}/v2/{base}spectro-packs/archive/{name}/tags/list");
    let out = std::process::Command::new("curl")
        .args(["-sS", &url])
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    listed["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// One selection and what it must copy of each pack.
struct Case {
    flags: &'static [&'static str],
    /// Versions, the labels that go with them, the parent tags derived from them.
    tags: &'static [&'static str],
    /// The labels left behind, with the version each points at.
    left_out: &'static [(&'static str, &'static str)],
}

const CASES: [Case; 3] = [
    Case {
        flags: &["--versions", ">=1.2, <2"],
        tags: &[
            "1.2.0",
            "1.3.0",
            "1.4.0",
            "1.4.1",
            "lts__stable",
            "1.x",
            "1.2.x",
            "1.3.x",
            "1.4.x",
        ],
        left_out: &[("edge", "2.1.0")],
    },
    Case {
        flags: &["--latest", "3"],
        tags: &[
            "1.4.1", "2.0.0", "2.1.0", "edge", "1.x", "1.4.x", "2.x", "2.0.x", "2.1.x",
        ],
        left_out: &[("lts__stable", "1.2.0")],
    },
    Case {
        flags: &["--versions", "~1.4", "--latest", "1"],
        tags: &["1.4.1", "1.x", "1.4.x"],
        left_out: &[("lts__stable", "1.2.0"), ("edge", "2.1.0")],
    },
];

fn set(tags: &[&str]) -> BTreeSet<String> {
    tags.iter().map(|t| t.to_string()).collect()
}

/// `copiedTags` of a summary, sorted.
fn copied(summary: &Value) -> BTreeSet<String> {
    summary["copiedTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// Each pack's tags as `name:tag`, as a summary lists them.
fn qualified(tags: &[&str]) -> BTreeSet<String> {
    PACKS
        .iter()
        .flat_map(|name| tags.iter().map(move |t| format!("{name}:{t}")))
        .collect()
}

/// The summary reports each label left behind, in `labelsLeftOut` and as a warning naming
/// the label, its version and the flags.
fn check_left_out(summary: &Value, case: &Case) {
    let left: BTreeSet<(String, String, String)> = summary["labelsLeftOut"]
        .as_array()
        .unwrap_or_else(|| panic!("no labelsLeftOut: {summary}"))
        .iter()
        .map(|l| {
            let field = |k: &str| l[k].as_str().unwrap().to_string();
            (field("pack"), field("label"), field("version"))
        })
        .collect();
    let expected: BTreeSet<(String, String, String)> = PACKS
        .iter()
        .flat_map(|name| {
            case.left_out
                .iter()
                .map(|(l, v)| (name.to_string(), l.to_string(), v.to_string()))
        })
        .collect();
    assert_eq!(left, expected, "{summary}");
    let warnings: Vec<&str> = summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let filter = case.flags[1];
    for (name, label, version) in &expected {
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&format!("{name}: label {label} "))
                    && w.contains(version.as_str())
                    && w.contains(filter)),
            "{name} {label} {version} not in {warnings:?}"
        );
    }
}

#[test]
fn a_filtered_mirror_takes_exactly_the_selected_versions_and_their_labels() {
    require_peers!("docker-registry", "curl");
    let a = Registry::start(Tls::None, None);
    let b = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    fill(&sb, &a.addr);
    for name in PACKS {
        assert_eq!(tags_at(&a.addr, name).len(), 8 + 2 + 9, "the source");
    }
    for (i, case) in CASES.iter().enumerate() {
        let dst = format!("{}/site{i}", b.addr);
        let mut args = vec!["mirror", a.addr.as_str(), dst.as_str()];
        args.extend_from_slice(case.flags);
        let mut dry_args = args.clone();
        dry_args.push("--dry-run");
        let planned = sb.json(&dry_args);
        for name in PACKS {
            assert!(tags_at(&dst, name).is_empty(), "a dry run writes nothing");
        }
        let done = sb.json(&args);
        assert_eq!(copied(&planned), copied(&done), "{:?}", case.flags);
        assert_eq!(planned["tagsCopied"], done["tagsCopied"]);
        assert_eq!(copied(&done), qualified(case.tags), "{:?}", case.flags);
        assert_site_holds(&dst, case);
        check_left_out(&done, case);
        check_left_out(&planned, case);
    }
    // Parent tags follow the highest version that went, not the source's.
    let dst = format!("{}/site0", b.addr);
    let digest = |at: &str, r: &str| sb.json(&["-r", at, "inspect", r])["digest"].clone();
    assert_eq!(digest(&dst, "probe:1.x"), digest(&a.addr, "probe:1.4.1"));
    assert_eq!(
        digest(&dst, "probe:lts__stable"),
        digest(&a.addr, "probe:1.2.0")
    );
    // Without --json the warning is a line on stderr.
    let out = sb.run(&[
        "mirror",
        &a.addr,
        &format!("{}/text", b.addr),
        "probe",
        "--latest",
        "2",
    ]);
    ok(&out);
    assert!(
        stderr(&out).contains(
            "warning: probe: label lts__stable points at 1.2.0, which --latest 2 leaves out"
        ),
        "{}",
        stderr(&out)
    );
    // A pack named that loses every version says so.
    let none = sb.json(&[
        "mirror",
        &a.addr,
        &format!("{}/none", b.addr),
        "probe",
        "--versions",
        ">=3",
    ]);
    assert_eq!(none["packs"], 0, "{none}");
    assert!(
        none["warnings"][0]
            .as_str()
            .is_some_and(|w| w.starts_with("probe: none of its versions")),
        "{none}"
    );
}

#[test]
fn a_filtered_export_carries_exactly_the_selected_versions_through_a_bundle() {
    require_peers!("docker-registry", "curl");
    let a = Registry::start(Tls::None, None);
    let b = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    fill(&sb, &a.addr);
    for (i, case) in CASES.iter().enumerate() {
        let bundle = sb.path(&format!("bundle{i}.tar"));
        let mut args = vec!["-r", a.addr.as_str(), "export", "--all", "-o", s(&bundle)];
        args.extend_from_slice(case.flags);
        let mut dry_args = args.clone();
        dry_args.push("--dry-run");
        let planned = sb.json(&dry_args);
        assert!(!bundle.exists(), "a dry run writes no bundle");
        let exported = sb.json(&args);
        assert_eq!(copied(&planned), copied(&exported), "{:?}", case.flags);
        assert_eq!(copied(&exported), qualified(case.tags), "{:?}", case.flags);
        check_left_out(&exported, case);
        let site = format!("{}/site{i}", b.addr);
        sb.json(&["-r", &site, "import", s(&bundle)]);
        assert_site_holds(&site, case);
    }
}

/// Every pack at `site` holds exactly the tags `case` selects.
fn assert_site_holds(site: &str, case: &Case) {
    for name in PACKS {
        assert_eq!(
            tags_at(site, name),
            set(case.tags),
            "{name} {:?}",
            case.flags
        );
    }
}

/// `import` takes the same filters: from one bundle of everything, each selection brings
/// exactly its versions, their labels and the parent tags derived from them.
#[test]
fn a_filtered_import_takes_exactly_the_selected_versions_of_a_bundle() {
    require_peers!("docker-registry", "curl");
    let a = Registry::start(Tls::None, None);
    let b = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    fill(&sb, &a.addr);
    let bundle = sb.path("all.tar");
    sb.json(&["-r", a.addr.as_str(), "export", "--all", "-o", s(&bundle)]);
    for (i, case) in CASES.iter().enumerate() {
        let site = format!("{}/site{i}", b.addr);
        let mut args = vec!["-r", site.as_str(), "import", s(&bundle)];
        args.extend_from_slice(case.flags);
        let imported = sb.json(&args);
        assert_eq!(copied(&imported), qualified(case.tags), "{:?}", case.flags);
        check_left_out(&imported, case);
        assert_site_holds(&site, case);
    }
}

#[test]
fn a_bad_range_or_a_tag_with_a_version_filter_is_a_usage_error() {
    let sb = Sandbox::new();
    let out = sb.run(&["mirror", "oci:a", "oci:b", "--versions", ">=1.x.y"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--versions") && err.contains(">=1.x.y"),
        "{err}"
    );
    let out = sb.run(&["mirror", "oci:a", "oci:b", "--latest", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = sb.run(&["mirror", "oci:a", "oci:b", "probe:1.0.0", "--latest", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("probe:1.0.0"), "{}", stderr(&out));
    let out = sb.run(&["export", "--all", "-o", "x.tar", "--versions", ""]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--versions"), "{}", stderr(&out));
}
