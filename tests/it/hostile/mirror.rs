//! Mirror and import with missing manifests and blobs, refused writes, truncated bundles.

use serde_json::Value;

use super::common::{ok, pack, packreg, stderr};
use super::{s, tags_in, Env};

/// A source store for the mirror tests: hello-manifests 1.0.0 (its manifest then removed) and
/// 2.0.0, probe (a layer blob then removed), shop and hardened-os, all whole otherwise.
fn damaged_source(env: &Env) {
    let gone = env.push_version("hello-manifests", "1.0.0");
    env.push_version("hello-manifests", "2.0.0");
    let probe = env.json(&["push", s(&pack("probe"))])["digest"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&env.run(&["push", s(&pack("shop"))]));
    ok(&env.run(&["push", s(&pack("hardened-os"))]));
    std::fs::remove_file(env.blob("hello-manifests", &gone)).unwrap();
    // A layer of probe's own: one another pack shares is mounted from where that pack's copy
    // put it at the destination, not read from the source.
    let others: std::collections::BTreeSet<String> = ["hello-manifests", "shop", "hardened-os"]
        .iter()
        .flat_map(|name| env.stored_blobs(name))
        .collect();
    let layer = env
        .referenced("probe", &probe)
        .into_iter()
        .rev()
        .find(|d| !others.contains(d.trim_start_matches("sha256:")))
        .unwrap();
    std::fs::remove_file(env.blob("probe", &layer)).unwrap();
}

/// Mirror copies what it can, names every pack and version that failed, exits 1.
#[test]
fn mirror_goes_past_failing_packs_and_names_every_failure() {
    let env = Env::new();
    damaged_source(&env);
    // The destination refuses hardened-os: a file stands where its repository would go.
    let dst = env.path("dst");
    std::fs::create_dir_all(dst.join("spectro-packs/archive")).unwrap();
    std::fs::write(dst.join("spectro-packs/archive/hardened-os"), "in the way").unwrap();
    let to = format!("oci:{}", dst.display());

    let out = packreg(&["--json", "mirror", &env.registry, &to]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let failures = summary["failures"].as_array().unwrap();
    let named: Vec<(String, Option<String>)> = failures
        .iter()
        .map(|f| {
            (
                f["pack"].as_str().unwrap().to_string(),
                f["tag"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        named,
        vec![
            ("hardened-os".to_string(), None),
            ("hello-manifests".to_string(), Some("1.0.0".to_string())),
            ("probe".to_string(), Some("0.1.0".to_string())),
        ],
        "{summary}"
    );
    assert!(
        failures[1]["error"]
            .as_str()
            .unwrap()
            .contains("manifest of this tag is missing"),
        "{summary}"
    );
    assert!(
        failures[2]["error"].as_str().unwrap().contains("blob"),
        "{summary}"
    );
    // Everything else was copied.
    assert_eq!(tags_in(&dst, "shop"), vec!["2.1.0_build.7", "2.1.x", "2.x"]);
    assert_eq!(
        tags_in(&dst, "hello-manifests"),
        vec!["2.0.0", "2.0.x", "2.x"]
    );
    assert!(tags_in(&dst, "probe").is_empty());

    // In text, every failure is named on stderr.
    let dst2 = env.path("dst2");
    let text = packreg(&["mirror", &env.registry, &format!("oci:{}", dst2.display())]);
    assert_eq!(text.status.code(), Some(1));
    let msg = stderr(&text);
    assert!(
        msg.contains("hello-manifests:1.0.0") && msg.contains("probe:0.1.0"),
        "{msg}"
    );

    // --fail-fast stops at the first failure: hardened-os, before the other packs.
    let dst3 = env.path("dst3");
    std::fs::create_dir_all(dst3.join("spectro-packs/archive")).unwrap();
    std::fs::write(dst3.join("spectro-packs/archive/hardened-os"), "in the way").unwrap();
    let fast = packreg(&[
        "--json",
        "mirror",
        "--fail-fast",
        &env.registry,
        &format!("oci:{}", dst3.display()),
    ]);
    assert_eq!(fast.status.code(), Some(1), "{}", stderr(&fast));
    let summary: Value = serde_json::from_slice(&fast.stdout).unwrap();
    assert_eq!(
        summary["failures"].as_array().unwrap().len(),
        1,
        "{summary}"
    );
    assert!(
        tags_in(&dst3, "shop").is_empty(),
        "nothing after the first failure"
    );

    // export writes no bundle that would lack a pack, and says which.
    let bundle = env.path("bundle.tar");
    let out = env.run(&["export", "--all", "-o", s(&bundle)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("hello-manifests:1.0.0"),
        "{}",
        stderr(&out)
    );
    assert!(!bundle.exists());
    let left: Vec<_> = std::fs::read_dir(&env.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".packreg"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A bundle missing a blob is refused before anything is tagged at the destination.
#[test]
fn import_of_a_truncated_bundle_tags_nothing() {
    let env = Env::new();
    for name in ["hello-manifests", "probe", "shop"] {
        ok(&env.run(&["push", s(&pack(name))]));
    }
    let bundle = env.path("bundle.tar");
    ok(&env.run(&["export", "--all", "-o", s(&bundle)]));
    // The bundle again without shop's largest blob, as an interrupted copy or an edit leaves it.
    let shop = env.json(&["inspect", "shop"]);
    let victim = shop["layers"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|l| l["size"].as_u64().unwrap())
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let edited = env.path("edited.tar");
    let mut input = tar::Archive::new(std::fs::File::open(&bundle).unwrap());
    let mut output = tar::Builder::new(std::fs::File::create(&edited).unwrap());
    let mut dropped = 0;
    for entry in input.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if path.starts_with("spectro-packs/archive/shop/") && path.ends_with(&victim) {
            dropped += 1;
            continue;
        }
        let mut header = entry.header().clone();
        output.append_data(&mut header, &path, &mut entry).unwrap();
    }
    output.finish().unwrap();
    assert_eq!(dropped, 1);

    let dst = env.path("dst");
    let out = packreg(&[
        "-r",
        &format!("oci:{}", dst.display()),
        "import",
        s(&edited),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for name in ["hello-manifests", "probe", "shop"] {
        assert!(tags_in(&dst, name).is_empty(), "{name} was tagged");
    }
    let msg = stderr(&out);
    assert!(
        msg.contains("shop") && msg.contains("2.1.0_build.7") && msg.contains(&victim),
        "names the pack, the version and the blob: {msg}"
    );
}
