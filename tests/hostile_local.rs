//! Hostile local stores and bundles (issue 9): every test crafts the hostile input itself (a
//! local OCI layout or a bundle tar) and checks that nothing escapes, nothing explodes and
//! nothing is lost.

mod hostile;

use std::path::{Path, PathBuf};

use hostile::{gz, put_artifact, raw_tar, Layer, Sandbox, ORAS_CONFIG};
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

#[test]
fn a_link_chain_in_a_folder_layer_does_not_carry_a_file_layer_outside() {
    let sb = Sandbox::new();
    // A deep link that resolves to the extraction root, then a second link that climbs two
    // more levels through the first: judged by its text alone, each stays inside.
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
    let work = sb.dir("work");
    let out = sb.run_in(
        &work,
        &["pull", "chain:1.0.0", "-o", "out", "--concurrency", "1"],
    );
    assert!(
        !work.join("pwned.txt").exists() && !sb.path("pwned.txt").exists(),
        "a file layer was written outside the pull folder"
    );
    assert_eq!(out.status.code(), Some(1), "{}", hostile::stderr(&out));
    assert!(
        hostile::stderr(&out).contains("symbolic link"),
        "{}",
        hostile::stderr(&out)
    );
    assert!(!work.join("out").exists());
    assert_eq!(
        std::fs::read_dir(&work).unwrap().count(),
        0,
        "no staging left"
    );
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
    assert_eq!(out.status.code(), Some(1), "{}", hostile::stderr(&out));
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
        hostile::ok(&out);
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
}
