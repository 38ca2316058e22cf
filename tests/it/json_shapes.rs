//! `--json` output a script can rely on: every command prints the shape docs/json.md documents
//! (the test reads the page's field tables), all keys camelCase; every error, usage errors
//! included, is one JSON object on stderr with `kind`, `message` and `code`.

use crate::support as common;

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use common::{ok, pack, pack_with_version, s, stderr, stdout, Backend, Sandbox, TestStore};
use serde_json::Value;

/// The one JSON error object of a failed run; stdout empty.
fn error_object(out: &std::process::Output) -> Value {
    assert!(!out.status.success());
    assert_eq!(stdout(out), "", "nothing on stdout");
    let text = stderr(out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {text}");
    let value: Value = serde_json::from_str(lines[0]).expect("stderr is JSON");
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "kind", "message"], "{value}");
    value
}

// What clap refuses (an unknown flag, a missing argument, an unknown command, a bad value) is
// an error object with --json, wherever --json stands, and keeps clap's text without it.
#[test]
fn usage_errors_under_json_are_error_objects() {
    let sb = Sandbox::new();
    for args in [
        &["--json", "ls", "--bogus"][..],
        &["inspect", "--json"],
        &["--json", "frobnicate"],
        &["--json", "tag"],
        &["--json", "--timeout", "0", "ls"],
    ] {
        let out = sb.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = error_object(&out);
        assert_eq!(err["kind"], "invalid_input", "{err}");
        assert_eq!(err["code"], 2, "{err}");
        let message = err["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && !message.starts_with("error:"),
            "{err}"
        );
        assert!(!message.contains("Usage:"), "{err}");
    }
    let plain = sb.run(&["ls", "--bogus"]);
    assert_eq!(plain.status.code(), Some(2));
    assert!(
        stderr(&plain).starts_with("error: unexpected argument"),
        "{}",
        stderr(&plain)
    );
    // Help is still help.
    let help = sb.run(&["--json", "ls", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("Usage:"));
}

// A failure of the command itself is the same object.
#[test]
fn command_failures_under_json_are_error_objects() {
    let sb = Sandbox::new();
    let out = sb.run(&[
        "--json",
        "-r",
        &sb.registry(),
        "inspect",
        "nothing-here:1.0.0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = error_object(&out);
    assert_eq!(err["kind"], "not_found", "{err}");
}

/// What docs/json.md says of one shape: each documented path (`layers[].mediaType`) with the
/// types it may have and whether it may be absent.
#[derive(Debug, Default)]
struct Shape {
    fields: BTreeMap<String, (BTreeSet<String>, bool)>,
}

/// Every shape docs/json.md documents, by the command names in backticks in its heading
/// (`packreg ls`, `error`): the rows of the `| Field | Type | Meaning |` table under it.
fn documented_shapes() -> BTreeMap<String, Rc<Shape>> {
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json.md"),
    )
    .unwrap();
    let mut shapes = BTreeMap::new();
    let mut current: Option<(Vec<String>, Shape)> = None;
    let mut in_fields_table = false;
    let mut finish = |current: Option<(Vec<String>, Shape)>| {
        if let Some((names, shape)) = current {
            if !shape.fields.is_empty() {
                let shape = Rc::new(shape);
                for name in names {
                    shapes.insert(name, shape.clone());
                }
            }
        }
    };
    for line in page.lines() {
        if line.starts_with('#') {
            finish(current.take());
            let names: Vec<String> = line
                .split('`')
                .skip(1)
                .step_by(2)
                .map(String::from)
                .collect();
            current = Some((names, Shape::default()));
            in_fields_table = false;
            continue;
        }
        if !line.starts_with('|') {
            in_fields_table = false;
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells.first() == Some(&"Field") {
            assert_eq!(cells, ["Field", "Type", "Meaning"], "{line}");
            in_fields_table = true;
            continue;
        }
        if !in_fields_table || cells[0].starts_with("---") {
            continue;
        }
        let path = cells[0].trim_matches('`').to_string();
        let (types, optional) = match cells[1].strip_suffix(", optional") {
            Some(types) => (types, true),
            None => (cells[1], false),
        };
        let types: BTreeSet<String> = types.split(" or ").map(String::from).collect();
        for t in &types {
            assert!(
                ["string", "number", "boolean", "array", "object", "map", "any", "null"]
                    .contains(&t.as_str()),
                "unknown type {t} in: {line}"
            );
        }
        let shape = &mut current.as_mut().expect("a table under a heading").1;
        assert!(
            shape.fields.insert(path, (types, optional)).is_none(),
            "twice: {line}"
        );
    }
    finish(current);
    shapes
}

/// The JSON type name of `value`.
fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The path of field `key` under `parent` ("" for the root).
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The path its parent has: `a` of `a.b` and of `a[]`, "" (the root) of `a` and `[]`.
fn parent_of(path: &str) -> &str {
    if let Some(array) = path.strip_suffix("[]") {
        return array;
    }
    path.rfind('.').map(|i| &path[..i]).unwrap_or("")
}

/// Walks `value` at `path`, noting each path met in `seen` and each disagreement with `shape`
/// in `problems`. Maps and `any` are not walked into: their keys are data.
fn walk(
    shape: &Shape,
    path: &str,
    value: &Value,
    seen: &mut BTreeSet<String>,
    problems: &mut Vec<String>,
) {
    if !path.is_empty() {
        seen.insert(path.to_string());
        let Some((types, _)) = shape.fields.get(path) else {
            problems.push(format!("`{path}` ({}) is not documented", type_of(value)));
            return;
        };
        let actual = type_of(value);
        let allowed = types.contains(actual)
            || types.contains("any")
            || (actual == "object" && types.contains("map"));
        if !allowed {
            problems.push(format!("`{path}` is {actual}, documented as {types:?}"));
        }
        if types.contains("map") || types.contains("any") {
            return;
        }
    }
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                let camel = key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && key.chars().all(|c| c.is_ascii_alphanumeric());
                if !camel {
                    problems.push(format!("key `{}` is not camelCase", join(path, key)));
                }
                walk(shape, &join(path, key), field, seen, problems);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(shape, &format!("{path}[]"), item, seen, problems);
            }
        }
        _ => {}
    }
}

/// Checks what `command` printed against its documented shape: every key documented, of a
/// documented type and camelCase; every documented key that is not optional present where
/// its parent is.
fn check(shapes: &BTreeMap<String, Rc<Shape>>, command: &str, value: &Value) {
    let shape = shapes
        .get(command)
        .unwrap_or_else(|| panic!("docs/json.md documents no shape for `{command}`"));
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    walk(shape, "", value, &mut seen, &mut problems);
    for (path, (_, optional)) in &shape.fields {
        let parent = parent_of(path);
        let parent_here = parent.is_empty() || seen.contains(parent);
        // An array's elements may be none.
        let element = path.ends_with("[]");
        if !optional && !element && parent_here && !seen.contains(path) {
            problems.push(format!("documented `{path}` is missing"));
        }
    }
    assert!(
        problems.is_empty(),
        "`{command}` --json against docs/json.md:\n{}\n{value:#}",
        problems.join("\n")
    );
}

/// Runs packreg with `--json` and parses stdout; the exit code must be one of `codes`.
fn json_of(sb: &Sandbox, args: &[&str], codes: &[i32]) -> Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = sb.run(&full);
    assert!(
        codes.contains(&out.status.code().unwrap_or(-1)),
        "{args:?}: exit {:?}\n{}",
        out.status.code(),
        stderr(&out)
    );
    serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{args:?}: {e}\n{}", stdout(&out)))
}

/// A new ECDSA P-256 key pair: the private key (PKCS#8 PEM) at `key`, the public at `public`.
fn write_signing_key(key: &std::path::Path, public: &std::path::Path) {
    use openssl::{ec, nid::Nid, pkey::PKey};
    let group = ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let pair = PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap();
    std::fs::write(key, pair.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(public, pair.public_key_to_pem().unwrap()).unwrap();
}

/// The pack hello-manifests at `version`, declaring one image.
fn pack_declaring_an_image(sb: &Sandbox, version: &str) -> std::path::PathBuf {
    let dir = pack_with_version(
        &sb.path(&format!("src-{version}")),
        "hello-manifests",
        version,
    );
    let path = dir.join("pack.json");
    let mut meta: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    meta["content"] = serde_json::json!({"images": [{"image": "docker.io/library/nginx:1.25"}]});
    std::fs::write(&path, serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
    dir
}

// Every command's --json output, on a registry and on a local store, has the keys, types and
// camelCase names docs/json.md documents for it, and every documented shape is exercised.
fn every_command_prints_the_documented_json(backend: Backend) {
    let shapes = documented_shapes();
    let sb = Sandbox::new();
    let store = TestStore::start(backend, &sb);
    let target = store.at("");
    let r = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["-r".to_string(), target.clone()];
        full.extend(args.iter().map(|a| a.to_string()));
        full
    };
    let mut checked = BTreeSet::new();
    let mut run = |command: &str, args: Vec<String>, codes: &[i32]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let value = json_of(&sb, &args, codes);
        check(&shapes, command, &value);
        checked.insert(command.to_string());
        value
    };
    // A pack with warnings, so that findings are there to check.
    let warnings = pack("warnings").join("no-logo-no-readme");
    run(
        "packreg validate",
        vec!["validate".into(), s(&warnings).into()],
        &[0],
    );
    let chart = common::testdata().join("charts/web-1.2.0.tgz");
    let built = sb.path("built");
    run(
        "packreg build",
        vec!["build".into(), s(&chart).into(), s(&built).into()],
        &[0],
    );

    let v1 = pack_with_version(&sb.path("src-1.0.0"), "hello-manifests", "1.0.0");
    let v2 = pack_with_version(&sb.path("src-1.1.0"), "hello-manifests", "1.1.0");
    let v3 = pack_declaring_an_image(&sb, "1.2.0");
    for dir in [&v1, &v2, &v3] {
        run("packreg push", r(&["push", s(dir)]), &[0]);
    }
    run(
        "packreg tag add",
        r(&["tag", "add", "hello-manifests:1.0.0", "stable", "-g", "lts"]),
        &[0],
    );
    let rows = run("packreg ls", r(&["ls"]), &[0]);
    assert_eq!(rows[0]["labels"][0], "lts__stable", "{rows}");
    run("packreg ls", r(&["ls", "hello-manifests"]), &[0]);
    run(
        "packreg inspect",
        r(&["inspect", "hello-manifests:1.0.0"]),
        &[0],
    );
    let (key, public) = (sb.path("key.pem"), sb.path("pub.pem"));
    write_signing_key(&key, &public);
    run(
        "packreg sign",
        r(&["sign", "hello-manifests:1.0.0", "--key", s(&key)]),
        &[0],
    );
    let verified = run(
        "packreg verify",
        r(&["verify", "hello-manifests:1.0.0", "--key", s(&public)]),
        &[0],
    );
    assert_eq!(verified["verified"], true, "{verified}");
    let signed = run(
        "packreg inspect",
        r(&[
            "inspect",
            "hello-manifests:1.0.0",
            "--verify-key",
            s(&public),
        ]),
        &[0],
    );
    assert_eq!(signed["signaturesVerified"], true, "{signed}");
    assert_eq!(signed["signatures"][0], "cosign", "{signed}");
    let rows = run(
        "packreg ls",
        r(&[
            "ls",
            "hello-manifests",
            "--signatures",
            "--verify-key",
            s(&public),
        ]),
        &[0],
    );
    assert_eq!(rows[0]["signatures"][0], "cosign", "{rows}");
    let pulled = sb.path("pulled");
    run(
        "packreg pull",
        r(&["pull", "hello-manifests:1.0.0", "-o", s(&pulled)]),
        &[0],
    );
    let elsewhere = format!("oci:{}", s(&sb.path("elsewhere")));
    let images = run(
        "packreg images",
        r(&["images", "hello-manifests:1.2.0", "--check", &elsewhere]),
        &[0, 1],
    );
    assert_eq!(images["images"][0]["present"], false, "{images}");
    run(
        "packreg diff",
        r(&["diff", "hello-manifests:1.0.0", "hello-manifests:1.2.0"]),
        &[1],
    );
    run(
        "packreg diff --stat",
        r(&[
            "diff",
            "--stat",
            "hello-manifests:1.0.0",
            "hello-manifests:1.2.0",
        ]),
        &[1],
    );
    let mirrored = format!("oci:{}", s(&sb.path("mirrored")));
    run("packreg mirror", r(&["mirror", &target, &mirrored]), &[0]);
    // A version selection that leaves the label on 1.0.0 behind reports it.
    let newest = format!("oci:{}", s(&sb.path("newest")));
    let filtered = run(
        "packreg mirror",
        r(&["mirror", &target, &newest, "--latest", "1"]),
        &[0],
    );
    assert_eq!(
        filtered["labelsLeftOut"][0]["label"], "lts__stable",
        "{filtered}"
    );
    let bundle = sb.path("bundle.tar");
    run(
        "packreg export",
        r(&["export", "--all", "-o", s(&bundle)]),
        &[0],
    );
    let imported = format!("oci:{}", s(&sb.path("imported")));
    run(
        "packreg import",
        vec!["-r".into(), imported, "import".into(), s(&bundle).into()],
        &[0],
    );
    let site = sb.path("site");
    let catalogue = run("packreg catalog", r(&["catalog", "-o", s(&site)]), &[0]);
    assert_eq!(catalogue["versions"], 3, "{catalogue}");
    run(
        "packreg catalog",
        vec![
            "catalog".into(),
            "--bundle".into(),
            s(&bundle).into(),
            "-o".into(),
            s(&sb.path("bundle-site")).into(),
        ],
        &[0],
    );
    run("packreg index rebuild", r(&["index", "rebuild"]), &[0]);
    run("packreg index verify", r(&["index", "verify"]), &[0, 1]);
    run(
        "packreg tag rm",
        r(&["tag", "rm", "hello-manifests:lts__stable"]),
        &[0],
    );
    run("packreg rm", r(&["rm", "hello-manifests:1.1.0"]), &[0]);
    run("packreg config show", r(&["config", "show"]), &[0]);
    run(
        "packreg man",
        vec!["man".into(), "-o".into(), s(&sb.path("man")).into()],
        &[0],
    );
    run(
        "packreg logout",
        vec!["logout".into(), "127.0.0.1:1".into()],
        &[0],
    );
    if let Some(registry) = &store.registry {
        run(
            "packreg doctor",
            vec!["doctor".into(), registry.addr.clone()],
            &[0],
        );
        let out = sb.run_with_stdin(
            &[
                "--json",
                "login",
                &registry.addr,
                "-u",
                "alice",
                "--password-stdin",
            ],
            Some("secret-pw\n"),
        );
        let value: Value = serde_json::from_str(&ok(&out)).unwrap();
        check(&shapes, "packreg login", &value);
        checked.insert("packreg login".into());
    }

    let error = error_object(&sb.run(&["--json", "-r", &target, "inspect", "nothing-here:1.0.0"]));
    check(&shapes, "error", &error);
    checked.insert("error".into());

    // Every documented shape was run (doctor and login need a registry).
    let mut expected: BTreeSet<String> = shapes.keys().cloned().collect();
    if store.registry.is_none() {
        expected.remove("packreg doctor");
        expected.remove("packreg login");
    }
    assert_eq!(checked, expected);
}
over_backends!(every_command_prints_the_documented_json);
