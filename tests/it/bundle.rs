//! `packreg export` and `import`: air-gap bundles that reproduce digests and refuse a corrupt
//! bundle.

use crate::support as common;

use common::registry::{Registry, Tls};
use common::{s, stderr, Sandbox};

use crate::mirror::{digest_of, fill};

#[test]
fn export_then_import_reproduces_digests_and_refuses_a_corrupt_bundle() {
    require_peers!("docker-registry", "skopeo");
    let a = Registry::start(Tls::None, None);
    let empty = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let refs = fill(&sb, &a.addr);
    let bundle = sb.path("bundle.tar");
    let exported = sb.json(&["-r", &a.addr, "export", "--all", "-o", s(&bundle)]);
    assert_eq!(exported["packs"], 4);
    assert!(bundle.is_file());

    // skopeo reads the untarred layout tree.
    let untarred = sb.path("untarred");
    std::fs::create_dir_all(&untarred).unwrap();
    assert!(std::process::Command::new("tar")
        .arg("-xf")
        .arg(&bundle)
        .arg("-C")
        .arg(&untarred)
        .status()
        .unwrap()
        .success());
    let raw = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            &format!(
                "oci:{}:2.1.0_build.7",
                s(&untarred.join("spectro-packs/archive/shop"))
            ),
        ])
        .output()
        .unwrap();
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );

    let imported = sb.json(&["-r", &empty.addr, "import", s(&bundle)]);
    assert_eq!(imported["tagsCopied"], refs.len());
    for (name, tag) in &refs {
        let r = format!("{name}:{tag}");
        assert_eq!(
            digest_of(&sb, &a.addr, &r),
            digest_of(&sb, &empty.addr, &r),
            "{r}"
        );
    }
    let again = sb.json(&["-r", &empty.addr, "import", s(&bundle)]);
    assert_eq!(again["blobsCopied"], 0, "import is incremental");

    // One flipped byte in a blob: nothing is imported.
    let corrupt = Registry::start(Tls::None, None);
    let blobs = untarred.join("spectro-packs/archive/shop/blobs/sha256");
    let victim = std::fs::read_dir(&blobs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[0] ^= 0x55;
    std::fs::write(&victim, bytes).unwrap();
    let bad = sb.path("bad.tar");
    assert!(std::process::Command::new("tar")
        .arg("-cf")
        .arg(&bad)
        .arg("-C")
        .arg(&untarred)
        .arg("spectro-packs")
        .status()
        .unwrap()
        .success());
    let out = sb.run(&["-r", &corrupt.addr, "import", s(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("corrupt"), "{}", stderr(&out));
    let rows = sb.json(&["-r", &corrupt.addr, "ls"]);
    assert_eq!(rows, serde_json::json!([]), "nothing tagged");
}
