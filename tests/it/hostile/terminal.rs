//! Registry text cannot drive the terminal.

use packreg::store::Store;

use super::common::{self, ok, pack};
use super::{s, Env};

/// Control characters a hostile pack can carry, by their UTF-8 bytes: ESC, BEL, CR, DEL and
/// the 8-bit CSI (U+009B), and a right-to-left override (U+202E).
const CONTROLS: &[&[u8]] = &[
    b"\x1b",
    b"\x07",
    b"\r",
    b"\x7f",
    b"\xc2\x9b",
    b"\xe2\x80\xae",
];

fn assert_no_controls(what: &str, bytes: &[u8]) {
    for c in CONTROLS {
        assert!(
            !bytes.windows(c.len()).any(|w| w == *c),
            "{what} prints {c:?} raw: {}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// Text from a registry is printed with control characters escaped.
#[test]
fn registry_text_cannot_drive_the_terminal() {
    let env = Env::new();
    let src = env.path("evil");
    common::copy_dir(&pack("hello-manifests"), &src);
    let hostile = "Evil\u{1b}]0;owned\u{7}\u{1b}[2J\r\u{7f}\u{9b}31m\u{202e}txt.exe";
    common::set_pack_field(&src, "displayName", hostile);
    let pushed = env.json(&["push", s(&src)]);
    let digest = pushed["digest"].as_str().unwrap().to_string();
    // A media type listed in index.json ends up in an error message.
    let dir = env.repo_dir("hello-manifests");
    let raw = std::fs::read(env.blob("hello-manifests", &digest)).unwrap();
    let store = packreg::store::layout::LayoutStore::new(env.path("store"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(store.put_manifest(
        "spectro-packs/archive/hello-manifests",
        Some("odd"),
        &raw,
        "application/vnd.oci.image.manifest.v1+json",
    ))
    .unwrap();
    env.edit_index("hello-manifests", |index| {
        for d in index["manifests"].as_array_mut().unwrap() {
            if d["annotations"]["org.opencontainers.image.ref.name"] == "odd" {
                d["mediaType"] = "application/x-\u{1b}[2Jwiped".into();
            }
        }
    });
    assert!(dir.join("index.json").is_file());

    for args in [
        vec!["ls"],
        vec!["ls", "hello-manifests"],
        vec!["inspect", "hello-manifests:1.0.0"],
        vec!["--json", "ls"],
        vec!["--json", "inspect", "hello-manifests:1.0.0"],
        vec!["pull", "hello-manifests:odd", "-o", "/nonexistent/x"],
        vec![
            "--json",
            "pull",
            "hello-manifests:odd",
            "-o",
            "/nonexistent/x",
        ],
    ] {
        let out = env.run(&args);
        assert_no_controls(&format!("{args:?} stdout"), &out.stdout);
        assert_no_controls(&format!("{args:?} stderr"), &out.stderr);
        if args[0] == "ls" || args[0] == "inspect" {
            let text = ok(&out);
            assert!(text.contains("Evil\\u{1b}]0;owned"), "{args:?}: {text}");
        }
    }
    let json = env.json(&["inspect", "hello-manifests:1.0.0"]);
    assert_eq!(
        json["pack"]["displayName"], hostile,
        "JSON keeps the text itself"
    );
}
