//! Hostile local stores and bundles: every test crafts the hostile input itself (a
//! local OCI layout or a bundle tar) and checks that nothing escapes, nothing explodes and
//! nothing is lost.

use super::common;
use super::craft as hostile;

use std::path::{Path, PathBuf};

use common::Sandbox;
use hostile::{gz, put_artifact, raw_tar, GzTar, Layer, ORAS_CONFIG};
use tar::EntryType::{Directory, Regular, Symlink};

/// Symbolic links under `root` whose target, resolved, lies outside `root`.
fn links_outside(root: &Path) -> Vec<PathBuf> {
    let Ok(base) = root.canonicalize() else {
        return Vec::new();
    };
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path_is_symlink())
        .filter(|e| match e.path().canonicalize() {
            Ok(real) => !real.starts_with(&base),
            // Dangling: judge the text lexically against the link's folder.
            Err(_) => true,
        })
        .map(|e| e.path().to_path_buf())
        .collect()
}

const CHAIN_PACK_JSON: &[u8] = br#"{"name":"chain","version":"1.0.0"}"#;

/// `chain:1.0.0` in the sandbox's store: a folder layer with a deep link that resolves to the
/// extraction root and a second link climbing two more levels through it (judged by its text
/// alone, each stays inside), then a file layer titled through the second.
fn put_link_chain(sb: &Sandbox) {
    let tree = raw_tar(&[
        ("d/", Directory, b"", None),
        ("d/x1/", Directory, b"", None),
        ("d/x1/x2/", Directory, b"", None),
        ("d/x1/x2/x3/", Directory, b"", None),
        ("d/x1/x2/x3/up", Symlink, b"", Some("../../../..")),
        ("d/esc", Symlink, b"", Some("x1/x2/x3/up/../..")),
    ]);
    put_artifact(
        &sb.store(),
        "chain",
        "1.0.0",
        ORAS_CONFIG,
        b"{}",
        &[
            Layer::file("pack.json", CHAIN_PACK_JSON),
            Layer::dir("d", &gz(&tree)),
            Layer::file("d/esc/pwned.txt", b"gotcha"),
        ],
    );
}

#[test]
fn a_link_chain_in_a_folder_layer_does_not_carry_a_file_layer_outside() {
    let sb = Sandbox::new();
    put_link_chain(&sb);
    let work = sb.dir("work");
    let out = sb.run_in(
        &work,
        &["pull", "chain:1.0.0", "-o", "out", "--concurrency", "1"],
    );
    assert!(
        !work.join("pwned.txt").exists() && !sb.path("pwned.txt").exists(),
        "a file layer was written outside the pull folder"
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("symbolic link"),
        "{}",
        common::stderr(&out)
    );
    assert!(!work.join("out").exists());
    assert_eq!(
        std::fs::read_dir(&work).unwrap().count(),
        0,
        "no staging left"
    );
    // Layers extract concurrently by default: whichever lands first, nothing escapes.
    for _ in 0..5 {
        let out = sb.run_in(&work, &["pull", "chain:1.0.0", "-o", "out"]);
        assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
        assert!(!work.join("pwned.txt").exists() && !sb.path("pwned.txt").exists());
        assert_eq!(
            std::fs::read_dir(&work).unwrap().count(),
            0,
            "no staging left"
        );
    }
}

#[test]
fn a_palette_tarball_leaves_no_link_pointing_outside_the_pulled_folder() {
    let sb = Sandbox::new();
    let tarball = raw_tar(&[
        ("p-1.0.0/", Directory, b"", None),
        (
            "p-1.0.0/pack.json",
            Regular,
            br#"{"name":"p","version":"1.0.0"}"#,
            None,
        ),
        ("p-1.0.0/a/", Directory, b"", None),
        ("p-1.0.0/a/b/", Directory, b"", None),
        // Inside the extraction folder, but above the pack folder that becomes the pull's.
        ("p-1.0.0/a/b/up", Symlink, b"", Some("../../..")),
        ("p-1.0.0/esc", Symlink, b"", Some("a/b/up/..")),
    ]);
    put_artifact(
        &sb.store(),
        "p",
        "1.0.0",
        ORAS_CONFIG,
        b"{}",
        &[Layer::palette("p-1.0.0.tar.gz", &gz(&tarball))],
    );
    let work = sb.dir("work");
    let out = sb.run_in(&work, &["pull", "p:1.0.0", "-o", "out"]);
    let pulled = work.join("out");
    assert_eq!(links_outside(&pulled), Vec::<PathBuf>::new());
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(!pulled.exists());
}

/// A pack whose pack.json says `name` and `version`, stored as `evil:1.0.0`.
fn evil_pack(sb: &Sandbox, name: &str, version: &str) {
    let pack_json = serde_json::json!({ "name": name, "version": version }).to_string();
    put_artifact(
        &sb.store(),
        "evil",
        "1.0.0",
        ORAS_CONFIG,
        b"{}",
        &[
            Layer::file("pack.json", pack_json.as_bytes()),
            Layer::file("values.yaml", b"a: 1\n"),
        ],
    );
}

#[test]
fn the_default_pull_folder_never_leaves_the_working_folder() {
    let sb = Sandbox::new();
    let outside = sb.dir("outside");
    let victim = sb.dir("victim-1.0.0");
    std::fs::write(victim.join("keep.txt"), b"mine").unwrap();
    let cases = [
        ("../escaped", "1.0.0", false),
        (&*format!("{}/abs", outside.display()), "1.0.0", false),
        ("evil", "9/../../x", false),
        ("../victim", "1.0.0", true),
    ];
    for (name, version, force) in cases {
        evil_pack(&sb, name, version);
        let work = sb.dir("a/work");
        // Lets `evil-9/../../x` resolve: the folder it climbs through exists.
        std::fs::create_dir_all(work.join("evil-9")).unwrap();
        let mut args = vec!["pull", "evil:1.0.0"];
        if force {
            args.push("--force");
        }
        let out = sb.run_in(&work, &args);
        common::ok(&out);
        assert!(
            work.join("evil-1.0.0/pack.json").is_file(),
            "{name} {version}: the default folder is built from the reference"
        );
        assert_eq!(
            std::fs::read_dir(&outside).unwrap().count(),
            0,
            "{name} {version}"
        );
        assert!(!sb.path("a/escaped-1.0.0").exists(), "{name} {version}");
        assert!(!sb.path("x").exists() && !sb.path("a/x").exists());
        assert_eq!(std::fs::read(victim.join("keep.txt")).unwrap(), b"mine");
        std::fs::remove_dir_all(&work).unwrap();
    }
    // By digest there is no typed tag to fall back on: refused, pointing at -o.
    let digest = put_artifact(
        &sb.store(),
        "evil",
        "2.0.0",
        ORAS_CONFIG,
        b"{}",
        &[Layer::file(
            "pack.json",
            br#"{"name":"evil","version":"9/../../x"}"#,
        )],
    );
    let work = sb.dir("a/work");
    let out = sb.run_in(&work, &["pull", &format!("evil@{digest}")]);
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("-o"),
        "{}",
        common::stderr(&out)
    );
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0);
}

const BOMB_PACK_JSON: &[u8] = br#"{"name":"bomb","version":"1.0.0"}"#;

/// A Palette pack `bomb:1.0.0` whose one layer is `tarball`.
fn palette_pack(sb: &Sandbox, tarball: &[u8]) {
    put_artifact(
        &sb.store(),
        "bomb",
        "1.0.0",
        ORAS_CONFIG,
        b"{}",
        &[Layer::palette("bomb-1.0.0.tar.gz", tarball)],
    );
}

#[test]
fn a_long_name_bomb_is_refused_before_it_is_read() {
    let sb = Sandbox::new();
    // 64 MiB of long name compress to about 64 KiB; the tar crate would read them whole.
    let mut tar = GzTar::new();
    tar.zeros("././@LongLink", tar::EntryType::GNULongName, 64 << 20)
        .file("bomb-1.0.0/pack.json", BOMB_PACK_JSON);
    let layer = tar.finish();
    assert!(layer.len() < 1 << 20, "{}", layer.len());
    palette_pack(&sb, &layer);
    let work = sb.dir("work");
    for args in [
        &["inspect", "bomb:1.0.0"][..],
        &["pull", "bomb:1.0.0", "-o", "out"],
    ] {
        let out = sb.run_in(&work, args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            common::stderr(&out)
        );
        let err = common::stderr(&out);
        assert!(
            err.contains("long name header declaring 67108864 bytes")
                && err.contains("PACKREG_MAX_TAR_HEADER_BYTES"),
            "{args:?}: {err}"
        );
    }
    assert!(!work.join("out").exists());
}

#[test]
fn unpacked_bytes_and_entries_are_capped() {
    let sb = Sandbox::new();
    // 100 MiB of zeros in a layer of about 100 KiB: far past 100 times its size.
    let mut tar = GzTar::new();
    tar.file("bomb-1.0.0/pack.json", BOMB_PACK_JSON).zeros(
        "bomb-1.0.0/zeros",
        tar::EntryType::Regular,
        100 << 20,
    );
    palette_pack(&sb, &tar.finish());
    let work = sb.dir("work");
    let out = sb.run_in(&work, &["pull", "bomb:1.0.0", "-o", "out"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("PACKREG_MAX_UNPACK_RATIO"),
        "{}",
        common::stderr(&out)
    );
    assert!(!work.join("out").exists());
    // The limits are the user's to raise, for content they trust.
    let out = sb.run_env(
        &work,
        &[("PACKREG_MAX_UNPACK_RATIO", "2000")],
        &["pull", "bomb:1.0.0", "-o", "out"],
    );
    common::ok(&out);
    assert_eq!(
        std::fs::metadata(work.join("out/zeros")).unwrap().len(),
        100 << 20
    );
    let out = sb.run_env(
        &work,
        &[
            ("PACKREG_MAX_UNPACK_RATIO", "2000"),
            ("PACKREG_MAX_UNPACKED_BYTES", "1048576"),
        ],
        &["pull", "bomb:1.0.0", "-o", "out2"],
    );
    assert!(
        common::stderr(&out).contains("PACKREG_MAX_UNPACKED_BYTES"),
        "{}",
        common::stderr(&out)
    );
    assert!(!work.join("out2").exists());

    // Entries: 300 empty files against a limit of 100.
    let mut tar = GzTar::new();
    tar.file("bomb-1.0.0/pack.json", BOMB_PACK_JSON);
    for i in 0..300 {
        tar.file(&format!("bomb-1.0.0/f{i}"), b"");
    }
    palette_pack(&sb, &tar.finish());
    let out = sb.run_env(
        &work,
        &[("PACKREG_MAX_ENTRIES", "100")],
        &["pull", "bomb:1.0.0", "-o", "out3"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("more than 100 tar entries"),
        "{}",
        common::stderr(&out)
    );
    assert!(!work.join("out3").exists());
}

/// A valid JSON document of `bytes` bytes or more: `doc` followed by spaces.
fn padded_json(doc: &[u8], bytes: usize) -> Vec<u8> {
    let mut out = doc.to_vec();
    out.resize(bytes.max(doc.len()), b' ');
    out
}

const BIG: usize = 5 << 20;

#[test]
fn oversized_indexes_manifests_and_pack_json_are_refused_naming_the_limit() {
    let sb = Sandbox::new();
    let work = sb.dir("work");
    let repo = sb.store().join("spectro-packs/archive/big");
    let small = br#"{"name":"big","version":"1.0.0"}"#;
    let digest = put_artifact(
        &sb.store(),
        "big",
        "1.0.0",
        ORAS_CONFIG,
        b"{}",
        &[Layer::file("pack.json", small)],
    );
    common::ok(&sb.run_in(&work, &["pull", "big:1.0.0", "-o", "ok"]));

    // A bundle of this store with its index.json grown past 4 MiB.
    let index = repo.join("index.json");
    let original = std::fs::read(&index).unwrap();
    std::fs::write(&index, padded_json(&original, BIG)).unwrap();
    let bundle = sb.path("big.tar");
    std::fs::write(&bundle, hostile::tar_of_dir(&sb.store())).unwrap();
    let dst = format!("oci:{}", sb.path("dst").display());
    let runs = [
        sb.run_in(&work, &["ls", "big"]),
        sb.run_in(&work, &["pull", "big:1.0.0", "-o", "a"]),
        sb.run_at(&work, &dst, &[], &["import", bundle.to_str().unwrap()]),
    ];
    for out in runs {
        assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
        assert!(
            common::stderr(&out).contains("index.json is larger than 4 MiB"),
            "{}",
            common::stderr(&out)
        );
    }
    std::fs::write(&index, &original).unwrap();

    // A manifest past 4 MiB.
    let manifest = std::fs::read(repo.join("blobs/sha256").join(digest.hex())).unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    doc["annotations"] = serde_json::json!({ "pad": "x".repeat(BIG) });
    hostile::put_manifest_bytes(&sb.store(), "big", "2.0.0", doc.to_string().as_bytes());
    let out = sb.run_in(&work, &["pull", "big:2.0.0", "-o", "b"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("manifest is larger than 4 MiB"),
        "{}",
        common::stderr(&out)
    );

    // pack.json past 4 MiB, in a file layer and in a Palette tarball.
    put_artifact(
        &sb.store(),
        "big",
        "3.0.0",
        ORAS_CONFIG,
        b"{}",
        &[Layer::file("pack.json", &padded_json(small, BIG))],
    );
    let mut tar = GzTar::new();
    tar.file("big-4.0.0/pack.json", &padded_json(small, BIG));
    put_artifact(
        &sb.store(),
        "big",
        "4.0.0",
        ORAS_CONFIG,
        b"{}",
        &[Layer::palette("big-4.0.0.tar.gz", &tar.finish())],
    );
    for args in [
        &["pull", "big:3.0.0", "-o", "c"][..],
        &["pull", "big:4.0.0", "-o", "d"],
        &["inspect", "big:4.0.0"],
    ] {
        let out = sb.run_in(&work, args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            common::stderr(&out)
        );
        assert!(
            common::stderr(&out).contains("pack.json is larger than 4 MiB"),
            "{args:?}: {}",
            common::stderr(&out)
        );
    }
    for dir in ["a", "b", "c", "d"] {
        assert!(!work.join(dir).exists(), "{dir}");
    }
}

#[test]
fn declared_sizes_that_overflow_are_refused_not_wrapped() {
    let sb = Sandbox::new();
    let pack_json = br#"{"name":"huge","version":"1.0.0"}"#;
    let mut layers = vec![Layer::file("a", b"a"), Layer::file("b", b"b")];
    for layer in &mut layers {
        layer.declared_size = Some(u64::MAX / 2 + 1);
    }
    put_artifact(
        &sb.store(),
        "huge",
        "1.0.0",
        "application/vnd.packreg.pack.config.v1+json",
        pack_json,
        &layers,
    );
    let out = sb.run_in(&sb.dir("work"), &["inspect", "huge:1.0.0"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("declared sizes add up to more than 2^64 bytes"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn a_bundle_holding_links_is_refused() {
    let sb = Sandbox::new();
    put_artifact(
        &sb.store(),
        "linked",
        "1.0.0",
        ORAS_CONFIG,
        b"{}",
        &[Layer::file(
            "pack.json",
            br#"{"name":"linked","version":"1.0.0"}"#,
        )],
    );
    // The store as a bundle, plus a chain of links that climbs out of the import folder.
    let mut bundle = hostile::tar_of_dir(&sb.store());
    bundle.truncate(bundle.len() - 1024);
    bundle.extend(raw_tar(&[
        ("a/", Directory, b"", None),
        ("a/b/", Directory, b"", None),
        ("a/b/up", Symlink, b"", Some("../..")),
        ("esc", Symlink, b"", Some("a/b/up/..")),
    ]));
    let path = sb.path("linked.tar");
    std::fs::write(&path, bundle).unwrap();
    let dst = format!("oci:{}", sb.path("dst").display());
    let out = sb.run_at(
        &sb.dir("work"),
        &dst,
        &[],
        &["import", path.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("\"a/b/up\" refused: links are not allowed here"),
        "{}",
        common::stderr(&out)
    );
    assert!(!sb.path("dst").exists(), "nothing imported");
}

#[test]
fn inspect_says_a_palette_pack_json_is_unverified() {
    let sb = Sandbox::new();
    let mut tar = GzTar::new();
    tar.file(
        "shown-1.0.0/pack.json",
        br#"{"name":"shown","version":"1.0.0"}"#,
    )
    .zeros("shown-1.0.0/data", Regular, 1 << 20);
    let layer = tar.finish();
    put_artifact(
        &sb.store(),
        "shown",
        "1.0.0",
        ORAS_CONFIG,
        b"{}",
        &[Layer::palette("shown-1.0.0.tar.gz", &layer)],
    );
    // Corrupt the end of the stored layer: its head, pack.json, still reads.
    let blob = sb
        .store()
        .join("spectro-packs/archive/shown/blobs/sha256")
        .join(packreg::digest::Digest::of(&layer).hex());
    let mut bytes = std::fs::read(&blob).unwrap();
    let n = bytes.len();
    bytes[n - 20] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    let work = sb.dir("work");
    let json: serde_json::Value = serde_json::from_str(&common::ok(
        &sb.run_in(&work, &["--json", "inspect", "shown:1.0.0"]),
    ))
    .unwrap();
    assert_eq!(json["pack"]["name"], "shown");
    assert_eq!(json["packVerified"], false);
    let text = common::ok(&sb.run_in(&work, &["inspect", "shown:1.0.0"]));
    assert!(
        text.contains("not checked against the layer's digest"),
        "{text}"
    );
    // Pull reads the whole layer and catches it.
    let out = sb.run_in(&work, &["pull", "shown:1.0.0", "-o", "out"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(!work.join("out").exists());

    // A native pack's pack.json is its verified config.
    let src = sb.dir("src");
    std::fs::write(src.join("pack.json"), br#"{"name":"nat","version":"1.0.0","layer":"addon","displayName":"Nat","cloudTypes":["all"],"addonType":"system app"}"#).unwrap();
    std::fs::write(src.join("values.yaml"), b"pack:\n  namespace: nat\n").unwrap();
    common::ok(&sb.run_in(&work, &["push", src.to_str().unwrap()]));
    let json: serde_json::Value = serde_json::from_str(&common::ok(
        &sb.run_in(&work, &["--json", "inspect", "nat:1.0.0"]),
    ))
    .unwrap();
    assert_eq!(json["packVerified"], true);
}

#[test]
fn validate_reads_a_pulled_chart_within_the_limits() {
    let sb = Sandbox::new();
    let pack = sb.dir("pack");
    std::fs::create_dir(pack.join("charts")).unwrap();
    std::fs::write(pack.join("pack.json"), br#"{"name":"c","displayName":"C","version":"1.0.0","layer":"addon","cloudTypes":["all"],"addonType":"system app","charts":["charts/bomb-0.1.0.tgz"]}"#).unwrap();
    std::fs::write(pack.join("values.yaml"), b"pack:\n  namespace: c\n").unwrap();
    let mut tar = GzTar::new();
    tar.zeros("././@LongLink", tar::EntryType::GNULongName, 64 << 20)
        .file("bomb/Chart.yaml", b"name: bomb\nversion: 0.1.0\n");
    std::fs::write(pack.join("charts/bomb-0.1.0.tgz"), tar.finish()).unwrap();
    let out = sb.run_in(&sb.dir("work"), &["validate", pack.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = format!("{}{}", common::stdout(&out), common::stderr(&out));
    assert!(text.contains("PACKREG_MAX_TAR_HEADER_BYTES"), "{text}");
}

#[test]
fn a_registry_serving_a_link_chain_gets_it_refused_as_a_local_store_does() {
    use common::registry::{Registry, Tls};
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    put_link_chain(&sb);
    // Into a real registry byte for byte (mirror never re-serialises), then pulled from it.
    let work = sb.dir("work");
    let copied = sb.run_at(
        &work,
        &sb.registry(),
        &[],
        &[
            "--plain-http",
            "mirror",
            &sb.registry(),
            &reg.addr,
            "chain:1.0.0",
        ],
    );
    assert!(copied.status.success(), "{}", common::stderr(&copied));
    let out = sb.run_at(
        &work,
        &reg.addr,
        &[],
        &["--plain-http", "pull", "chain:1.0.0", "-o", "out"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("symbolic link"),
        "{}",
        common::stderr(&out)
    );
    assert!(!work.join("pwned.txt").exists() && !sb.path("pwned.txt").exists());
    assert_eq!(
        std::fs::read_dir(&work).unwrap().count(),
        0,
        "no staging left"
    );
}
