//! `packreg export` and `import`: air-gap bundles that reproduce digests and refuse a corrupt
//! bundle.

use crate::support as common;

use common::registry::{Registry, Tls};
use common::{ok, s, stderr, Sandbox};

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

/// A summary count under its camelCase key, or the snake_case one older output used.
pub(crate) fn count(summary: &serde_json::Value, camel: &str) -> serde_json::Value {
    let snake: String = camel
        .chars()
        .flat_map(|c| {
            if c.is_ascii_uppercase() {
                vec!['_', c.to_ascii_lowercase()]
            } else {
                vec![c]
            }
        })
        .collect();
    summary
        .get(camel)
        .or_else(|| summary.get(&snake))
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

/// An error's kind, whatever its case style.
fn kind(error: &serde_json::Value) -> String {
    error["kind"]
        .as_str()
        .unwrap()
        .replace('_', "")
        .to_lowercase()
}

/// Entries of the tar `bundle`: (name, header offset, content offset, size).
fn tar_entries(bundle: &std::path::Path) -> Vec<(String, u64, u64, u64)> {
    let mut archive = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    archive
        .entries_with_seek()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            (
                name,
                e.raw_header_position(),
                e.raw_file_position(),
                e.size(),
            )
        })
        .collect()
}

/// Exported bundles of every good pack from a fresh registry: (sandbox, registry, bundle).
fn exported() -> (Sandbox, Registry, std::path::PathBuf) {
    let a = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    fill(&sb, &a.addr);
    let bundle = sb.path("bundle.tar");
    ok(&sb.run(&["-r", &a.addr, "export", "--all", "-o", s(&bundle)]));
    (sb, a, bundle)
}

#[test]
fn export_refuses_to_replace_a_file_unless_forced() {
    require_peers!("docker-registry");
    let (sb, a, bundle) = exported();
    let written = std::fs::read(&bundle).unwrap();
    std::fs::write(&bundle, b"an earlier bundle").unwrap();
    let out = sb.run(&["-r", &a.addr, "export", "--all", "-o", s(&bundle)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("exists"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&bundle).unwrap(), b"an earlier bundle");
    let out = sb.run(&["--json", "-r", &a.addr, "export", "--all", "-o", s(&bundle)]);
    let error: serde_json::Value = serde_json::from_str(&stderr(&out)).unwrap();
    assert_eq!(kind(&error), "conflict", "{error}");

    ok(&sb.run(&[
        "-r",
        &a.addr,
        "export",
        "--all",
        "--force",
        "-o",
        s(&bundle),
    ]));
    let replaced = std::fs::read(&bundle).unwrap();
    assert!(
        replaced.len() == written.len() && replaced.starts_with(b"packreg-bundle.json"),
        "replaced with --force"
    );
}

#[test]
fn a_truncated_bundle_says_where_it_ends_and_tags_nothing() {
    require_peers!("docker-registry");
    let (sb, _a, bundle) = exported();
    let dst = Registry::start(Tls::None, None);
    let bytes = std::fs::read(&bundle).unwrap();
    let entries = tar_entries(&bundle);
    assert_eq!(
        entries[0].0, "packreg-bundle.json",
        "the contents come first"
    );

    // Cut inside the content of the largest entry.
    let (name, _, start, size) = entries.iter().max_by_key(|e| e.3).unwrap().clone();
    let cut = start + size / 2;
    let inside = sb.path("inside.tar");
    std::fs::write(&inside, &bytes[..cut as usize]).unwrap();
    let out = sb.run(&["-r", &dst.addr, "import", s(&inside)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let expected = format!("the bundle ends inside entry {name} at byte {cut}");
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    assert!(stderr(&out).contains("it is truncated"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("failed to read"), "{}", stderr(&out));

    // Cut at an entry boundary near 70%: a valid, shorter tar without its end marker.
    let boundary = entries
        .iter()
        .map(|e| (e.2 + e.3).div_ceil(512) * 512)
        .filter(|at| *at <= bytes.len() as u64 * 7 / 10)
        .max()
        .unwrap();
    let at_boundary = sb.path("boundary.tar");
    std::fs::write(&at_boundary, &bytes[..boundary as usize]).unwrap();
    let out = sb.run(&["--json", "-r", &dst.addr, "import", s(&at_boundary)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let error: serde_json::Value = serde_json::from_str(&stderr(&out)).unwrap();
    // `message`, or `error` as older output named it.
    let message = error
        .get("message")
        .or_else(|| error.get("error"))
        .and_then(|m| m.as_str())
        .unwrap();
    assert!(
        message.contains(&format!("at byte {boundary} without the tar end marker")),
        "{message}"
    );
    assert_eq!(kind(&error), "invalidinput", "{error}");
    assert_eq!(
        sb.json(&["-r", &dst.addr, "ls"]),
        serde_json::json!([]),
        "nothing tagged"
    );
}

#[test]
fn a_bundle_lacking_what_its_contents_list_is_refused_and_an_old_one_imports() {
    require_peers!("docker-registry");
    let (sb, a, bundle) = exported();
    let dst = Registry::start(Tls::None, None);
    // The bundle rewritten whole (with its end marker) without probe's entries, as an edit or
    // a copy that lost a folder leaves it.
    let rewrite = |out: &std::path::Path, keep: &dyn Fn(&str) -> bool| {
        let mut input = tar::Archive::new(std::fs::File::open(&bundle).unwrap());
        let mut output = tar::Builder::new(std::fs::File::create(out).unwrap());
        for entry in input.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if keep(&path) {
                let mut header = entry.header().clone();
                output.append_data(&mut header, &path, &mut entry).unwrap();
            }
        }
        output.finish().unwrap();
    };
    let edited = sb.path("edited.tar");
    rewrite(&edited, &|p| !p.starts_with("spectro-packs/archive/probe"));
    let out = sb.run(&["-r", &dst.addr, "import", s(&edited)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the bundle's contents list pack probe tag"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        sb.json(&["-r", &dst.addr, "ls"]),
        serde_json::json!([]),
        "nothing tagged"
    );

    // A bundle written before bundles carried their contents still imports whole.
    let old = sb.path("old.tar");
    rewrite(&old, &|p| p != "packreg-bundle.json");
    let imported = sb.json(&["-r", &dst.addr, "import", s(&old)]);
    assert_eq!(count(&imported, "packs"), 4, "{imported}");
    assert_eq!(
        digest_of(&sb, &a.addr, "shop:2.1.0_build.7"),
        digest_of(&sb, &dst.addr, "shop:2.1.0_build.7")
    );
}

#[test]
fn import_brings_the_images_a_bundle_holds_without_being_asked() {
    require_peers!("docker-registry", "skopeo");
    use crate::images::{pack_with_images, push_image, skopeo_digest};
    let upstream = Registry::start(Tls::None, None);
    let app = push_image(&upstream.addr, "team/app", "1.0");
    let sb = Sandbox::new();
    let u = upstream.addr.clone();
    let store = pack_with_images(&sb, "withimages", &[format!("{u}/team/app:1.0")]);
    let bundle = sb.path("bundle.tar");
    ok(&sb.run(&[
        "-r",
        &store,
        "--plain-http",
        "export",
        "--all",
        "--with-images",
        "-o",
        s(&bundle),
    ]));
    let plain = sb.path("plain.tar");
    ok(&sb.run(&["-r", &store, "export", "--all", "-o", s(&plain)]));
    drop(upstream);

    let airgap = Registry::start(Tls::None, None);
    let imported = sb.json(&["-r", &airgap.addr, "import", s(&bundle)]);
    let images = imported["images"].as_array().unwrap();
    assert_eq!(images.len(), 1, "{imported}");
    assert_eq!(images[0]["copied"], true, "{imported}");
    let host = u.replace(':', "_");
    assert_eq!(
        skopeo_digest(&format!("{}/{host}/team/app:1.0", airgap.addr)),
        app.to_string()
    );
    // Said in words too.
    let again = sb.run(&["-r", &airgap.addr, "import", s(&bundle)]);
    assert!(
        common::stdout(&again).contains("images copied 0, already there 1"),
        "{}",
        common::stdout(&again)
    );

    // A bundle without the images imports its packs and names what it left out, reaching
    // no registry for it.
    let other = Registry::start(Tls::None, None);
    let out = sb.run(&["-r", &other.addr, "import", s(&plain)]);
    ok(&out);
    assert!(
        stderr(&out).contains("team/app:1.0 is not in the source; left out")
            || common::stdout(&out).contains("team/app:1.0 is not in the source; left out"),
        "{}{}",
        common::stdout(&out),
        stderr(&out)
    );
}

#[test]
fn import_of_a_pack_whose_image_list_cannot_be_read_brings_the_pack_and_warns() {
    require_peers!("docker-registry");
    use crate::images::pack_with_images;
    let sb = Sandbox::new();
    let store = pack_with_images(&sb, "oddimages", &["Not A::Valid ref".to_string()]);
    let bundle = sb.path("bundle.tar");
    ok(&sb.run(&["-r", &store, "export", "--all", "-o", s(&bundle)]));
    let dst = Registry::start(Tls::None, None);
    let out = sb.run(&["-r", &dst.addr, "import", s(&bundle)]);
    ok(&out);
    assert!(
        stderr(&out).contains("oddimages:1.0.0: its images were not read"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        sb.json(&["-r", &dst.addr, "ls"]).as_array().unwrap().len(),
        1,
        "the pack came"
    );
}
