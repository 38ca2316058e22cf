//! The gzip packreg writes (parallel, in 1 MiB blocks) as other tools read it, and a pack's
//! identity across compressor changes: a re-push over an artifact an earlier packreg made is
//! "unchanged" when the files are the same, whatever the compressed bytes.

use crate::support as common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::registry::{Registry, Tls};
use common::{copy_dir, pack, s, snapshot, stderr, testdata, write_random, Sandbox};
use serde_json::Value;

/// Files under `root` (relative path, bytes), folders left out.
fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    snapshot(root)
        .into_iter()
        .filter_map(|(p, c)| c.map(|(bytes, _)| (p, bytes)))
        .collect()
}

/// hello-manifests with a `data` folder of several MiB: random bytes (stored blocks) and YAML
/// (deflated blocks), so its layers span several compression blocks.
fn big_pack(sb: &Sandbox) -> PathBuf {
    let src = sb.path("big");
    copy_dir(&pack("hello-manifests"), &src);
    std::fs::create_dir(src.join("data")).unwrap();
    write_random(&src.join("data/payload.bin"), 3 << 20);
    let mut yaml = String::new();
    let mut i = 0u64;
    while yaml.len() < 4 << 20 {
        i += 1;
        yaml.push_str(&format!(
            "- name: item-{i}\n  image: registry.example.com/img-{}:{}.{}\n",
            i * 7919 % 1000,
            i % 7,
            i % 13
        ));
    }
    std::fs::write(src.join("data/big.yaml"), yaml).unwrap();
    src
}

/// A blob of an OCI layout at `layout` (a pack repository), by digest.
fn blob(repo: &Path, digest: &str) -> PathBuf {
    let hex = digest.strip_prefix("sha256:").unwrap();
    repo.join("blobs/sha256").join(hex)
}

/// Extracts the gzip tar `archive` into `dest` with GNU tar.
fn gnu_untar(archive: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    let out = Command::new("tar")
        .arg("-xzf")
        .arg(archive)
        .arg("-C")
        .arg(dest)
        .output()
        .unwrap();
    assert!(out.status.success(), "tar -xzf: {out:?}");
}

/// Pulls `target` with the ORAS Python SDK into `out` (it unpacks folder layers itself).
fn oras_pull(registry: &str, target: &str, out: &Path) {
    let py = common::oras::pull(registry, target, out);
    assert!(
        py.status.success(),
        "oras pull: {}",
        String::from_utf8_lossy(&py.stderr)
    );
}

#[test]
fn gzip_layers_of_several_blocks_unpack_with_gnu_tar_and_the_oras_sdk() {
    require_peers!("docker-registry", "tar", "python3", "python3:oras.client");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let src = big_pack(&sb);
    let data: Vec<_> = files(&src.join("data"));

    // Native: the `data` folder layer, as the ORAS SDK unpacks it and as GNU tar does.
    let pushed = sb.json(&["-r", &format!("{}/native", reg.addr), "push", s(&src)]);
    let target = format!(
        "{}/native/spectro-packs/archive/hello-manifests:1.0.0",
        reg.addr
    );
    let out = sb.path("oras-native");
    oras_pull(&reg.addr, &target, &out);
    assert_eq!(files(&out), files(&src), "ORAS SDK pull of the native pack");

    let layout = sb.path("layout");
    let local = sb.json(&["-r", &format!("oci:{}", s(&layout)), "push", s(&src)]);
    assert_eq!(
        local["digest"], pushed["digest"],
        "same bytes in both stores"
    );
    let repo = layout.join("spectro-packs/archive/hello-manifests");
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(blob(&repo, local["digest"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let layer = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["annotations"]["org.opencontainers.image.title"] == "data")
        .unwrap();
    assert!(
        layer["size"].as_u64().unwrap() > 3 << 20,
        "the layer spans several blocks"
    );
    let untarred = sb.path("tar-native");
    gnu_untar(&blob(&repo, layer["digest"].as_str().unwrap()), &untarred);
    assert_eq!(
        files(&untarred.join("data")),
        data,
        "GNU tar of the native folder layer"
    );

    // Palette: the one tarball, as the ORAS SDK downloads it, read by GNU tar and by Python's
    // streaming tarfile (which stops at the end of the first gzip member).
    sb.json(&[
        "-r",
        &format!("{}/palette", reg.addr),
        "push",
        "--format",
        "palette",
        s(&src),
    ]);
    let target = format!(
        "{}/palette/spectro-packs/archive/hello-manifests:1.0.0",
        reg.addr
    );
    let out = sb.path("oras-palette");
    oras_pull(&reg.addr, &target, &out);
    let tarball = out.join("hello-manifests-1.0.0.tar.gz");
    let untarred = sb.path("tar-palette");
    gnu_untar(&tarball, &untarred);
    assert_eq!(
        files(&untarred.join("hello-manifests-1.0.0")),
        files(&src),
        "GNU tar of the Palette tarball"
    );
    let streamed = sb.path("python-palette");
    let script = "import sys, tarfile\nwith tarfile.open(sys.argv[1], mode='r|gz') as t:\n    t.extractall(sys.argv[2])\n";
    let py = Command::new("python3")
        .args(["-c", script, s(&tarball), s(&streamed)])
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    assert_eq!(
        files(&streamed.join("hello-manifests-1.0.0")),
        files(&src),
        "Python's streaming tarfile of the Palette tarball"
    );
}

#[test]
fn a_pack_pushed_by_an_earlier_compressor_is_unchanged_and_a_changed_file_conflicts() {
    let sb = Sandbox::new();
    for format in ["native", "palette"] {
        // testdata/layouts/v0.1-miniz: hello-manifests pushed by packreg before pargz.
        let layout = sb.path(&format!("earlier-{format}"));
        copy_dir(
            &testdata().join(format!("layouts/v0.1-miniz/{format}")),
            &layout,
        );
        let target = format!("oci:{}", s(&layout));
        let stored =
            sb.json(&["-r", &target, "inspect", "hello-manifests:1.0.0"])["digest"].clone();
        let fresh = sb.json(&[
            "-r",
            &format!("oci:{}", s(&sb.path(&format!("fresh-{format}")))),
            "push",
            "--format",
            format,
            s(&pack("hello-manifests")),
        ]);
        assert_ne!(
            fresh["digest"], stored,
            "{format}: today's bytes differ from the fixture's"
        );

        let again = sb.json(&[
            "-r",
            &target,
            "push",
            "--format",
            format,
            s(&pack("hello-manifests")),
        ]);
        assert_eq!(again["status"], "unchanged", "{format}: {again}");
        assert_eq!(
            again["digest"], stored,
            "{format}: the stored version stays"
        );

        let changed = sb.path(&format!("changed-{format}"));
        copy_dir(&pack("hello-manifests"), &changed);
        let yaml = changed.join("manifests/namespace.yaml");
        let mut text = std::fs::read_to_string(&yaml).unwrap();
        text.push_str("# changed\n");
        std::fs::write(&yaml, text).unwrap();
        let refused = sb.run(&["-r", &target, "push", "--format", format, s(&changed)]);
        assert_eq!(refused.status.code(), Some(1), "{format}");
        assert!(
            stderr(&refused).contains("already exists with different content"),
            "{format}: {}",
            stderr(&refused)
        );
    }
}

#[test]
fn a_palette_tarball_pushed_by_another_tool_is_judged_by_its_uncompressed_content() {
    require_peers!("docker-registry", "python3", "python3:oras.client");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    // The tarball an earlier packreg made (other gzip bytes than today's, the same tar),
    // pushed with the ORAS SDK as Palette's docs show: no packreg annotation on the layer.
    let repo = testdata().join("layouts/v0.1-miniz/palette/spectro-packs/archive/hello-manifests");
    let index: Value =
        serde_json::from_slice(&std::fs::read(repo.join("index.json")).unwrap()).unwrap();
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(blob(
            &repo,
            index["manifests"][0]["digest"].as_str().unwrap(),
        ))
        .unwrap(),
    )
    .unwrap();
    let work = sb.path("oras-push");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::copy(
        blob(&repo, manifest["layers"][0]["digest"].as_str().unwrap()),
        work.join("hello-manifests-1.0.0.tar.gz"),
    )
    .unwrap();
    let target = format!("{}/spectro-packs/archive/hello-manifests:1.0.0", reg.addr);
    let py = common::oras::push(&reg.addr, &target, &work, "hello-manifests-1.0.0.tar.gz");
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let stored = sb.json(&["-r", &reg.addr, "inspect", "hello-manifests:1.0.0"])["digest"].clone();

    let again = sb.json(&[
        "-r",
        &reg.addr,
        "push",
        "--format",
        "palette",
        s(&pack("hello-manifests")),
    ]);
    assert_eq!(again["status"], "unchanged", "{again}");
    assert_eq!(again["digest"], stored);

    let changed = sb.path("changed");
    copy_dir(&pack("hello-manifests"), &changed);
    std::fs::write(changed.join("README.md"), "# Changed\n").unwrap();
    let refused = sb.run(&["-r", &reg.addr, "push", "--format", "palette", s(&changed)]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("already exists with different content"),
        "{}",
        stderr(&refused)
    );
}
