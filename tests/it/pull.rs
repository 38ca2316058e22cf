//! `packreg pull`: what it writes, where, and what it refuses (a filled folder, a corrupted
//! blob, an entry climbing out, a name that is no pack), interrupted or not.

use crate::support as common;

use common::local::Env;
use common::registry::{Registry, Tls};
use common::{ok, pack, s, snapshot, stderr, stdout, Sandbox};
use serde_json::Value;

#[test]
fn pull_refuses_non_empty_output_unless_forced() {
    let env = Env::new();
    ok(&env.run(&["push", s(&pack("shop"))]));
    let dest = env.path("dest");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("mine.txt"), "keep").unwrap();
    let out = env.run(&["pull", "shop", "-o", s(&dest)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert!(dest.join("mine.txt").is_file());
    ok(&env.run(&["pull", "shop", "-o", s(&dest), "--force"]));
    assert_eq!(snapshot(&dest), snapshot(&pack("shop")));
    // Nothing left behind beside it.
    let leftovers: Vec<_> = std::fs::read_dir(&env.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".packreg"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn pull_by_digest_and_default_folder() {
    let env = Env::new();
    let pushed = env.json(&["push", "--format", "palette", s(&pack("hardened-os"))]);
    let digest = pushed["digest"].as_str().unwrap();
    let cwd = env.path("work");
    std::fs::create_dir(&cwd).unwrap();
    let out = common::packreg_in(
        Some(&cwd),
        &[
            "-r",
            &env.registry,
            "pull",
            &format!("hardened-os@{digest}"),
        ],
    );
    ok(&out);
    assert_eq!(
        snapshot(&cwd.join("hardened-os-22.4.1")),
        snapshot(&pack("hardened-os"))
    );
}

#[test]
fn a_corrupted_blob_is_refused_and_nothing_is_written() {
    let env = Env::new();
    ok(&env.run(&["push", s(&pack("shop"))]));
    let info = env.json(&["inspect", "shop"]);
    let layer = info["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["title"] == "charts/web-1.2.0.tgz")
        .unwrap();
    let hex = layer["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:");
    let blob = env.repo_dir("shop").join("blobs/sha256").join(hex);
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    let dest = env.path("dest");
    let out = env.run(&["pull", "shop", "-o", s(&dest)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("does not match its digest"),
        "{}",
        stderr(&out)
    );
    assert!(!dest.exists(), "a failed pull writes nothing");
    let leftovers = std::fs::read_dir(&env.root)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".packreg")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn tar_slip_in_a_palette_layer_is_refused() {
    use packreg::digest::Digest;
    use packreg::oci::{Descriptor, Manifest, ANNOTATION_TITLE, MEDIA_TYPE_MANIFEST};
    use packreg::store::{layout::LayoutStore, Store};

    let env = Env::new();
    // A hand-made tarball: pack.json, then an entry that climbs out of the destination.
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in [
        (
            "evil-1.0.0/pack.json",
            &b"{\"name\":\"evil\",\"version\":\"1.0.0\"}"[..],
        ),
        ("../escaped.txt", b"gotcha"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    let layer = gz.finish().unwrap();

    let store = LayoutStore::new(env.path("store"));
    let repo = "spectro-packs/archive/evil";
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cfg = b"{}".to_vec();
        store
            .put_blob(
                repo,
                &Digest::of(&cfg),
                2,
                Box::pin(std::io::Cursor::new(cfg.clone())),
            )
            .await
            .unwrap();
        store
            .put_blob(
                repo,
                &Digest::of(&layer),
                layer.len() as u64,
                Box::pin(std::io::Cursor::new(layer.clone())),
            )
            .await
            .unwrap();
        let mut desc = Descriptor::new(
            "application/vnd.oci.image.layer.v1.tar",
            Digest::of(&layer),
            layer.len() as u64,
        );
        desc.annotations
            .insert(ANNOTATION_TITLE.into(), "evil-1.0.0.tar.gz".into());
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_MANIFEST.into()),
            artifact_type: None,
            config: Descriptor::new(
                "application/vnd.unknown.config.v1+json",
                Digest::of(&cfg),
                2,
            ),
            layers: vec![desc],
            subject: None,
            annotations: Default::default(),
            extra: Default::default(),
        };
        store
            .put_manifest(
                repo,
                Some("1.0.0"),
                &manifest.to_bytes(),
                MEDIA_TYPE_MANIFEST,
            )
            .await
            .unwrap();
    });

    let work = env.path("work");
    std::fs::create_dir(&work).unwrap();
    let dest = work.join("out");
    let out = env.run(&["pull", "evil:1.0.0", "-o", s(&dest)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
    assert!(!dest.exists());
    assert!(!work.join("escaped.txt").exists() && !env.path("escaped.txt").exists());
    assert_eq!(
        std::fs::read_dir(&work).unwrap().count(),
        0,
        "no staging folder left"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_a_pull_leaves_nothing_behind() {
    signal_during_a_pull_leaves_nothing_behind("INT", 130, "interrupted");
}

/// A pull of a large pack sent `signal` once it has started either finishes whole or exits
/// with `code`, says `said`, and leaves nothing in its working folder.
#[cfg(unix)]
pub(crate) fn signal_during_a_pull_leaves_nothing_behind(signal: &str, code: i32, said: &str) {
    let env = Env::new();
    // A pack with a large file, which takes a moment to pull and verify in a test build.
    let src = env.path("big");
    common::copy_dir(&pack("hello-manifests"), &src);
    common::write_random(&src.join("payload.bin"), 96 << 20);
    common::set_pack_field(&src, "name", "big");
    ok(&env.run(&["push", s(&src)]));

    let work = env.path("work");
    std::fs::create_dir_all(&work).unwrap();
    let child = common::packreg_command(&env.path("home"))
        .args(["-r", &env.registry, "pull", "big", "-o", "out"])
        .current_dir(&work)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the staging folder, then send the signal.
    let start = std::time::Instant::now();
    while std::fs::read_dir(&work).unwrap().next().is_none() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the pull never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let kill = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    if out.status.code() == Some(0) {
        // Finished before the signal landed: the pack must then be whole.
        eprintln!("the pull finished before SIG{signal}");
        assert_eq!(snapshot(&work.join("out")), snapshot(&src));
        return;
    }
    assert_eq!(
        out.status.code(),
        Some(code),
        "{:?} {}",
        out.status,
        stderr(&out)
    );
    assert!(stderr(&out).contains(said), "{}", stderr(&out));
    let left: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn errors_are_json_with_json_and_name_the_reference() {
    let env = Env::new();
    let out = env.run(&["--json", "pull", "nothing-here"]);
    assert_eq!(out.status.code(), Some(1));
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert!(
        err["message"].as_str().unwrap().contains("nothing-here"),
        "{err}"
    );
    let bad = env.run(&["pull", "Bad/Name"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stdout(&bad).is_empty());
}

#[test]
fn redirected_blob_downloads_get_no_registry_credentials() {
    require_peers!("docker-registry", "htpasswd", "python3");
    const PASSWORD: &str = "redirect-pw-41d";
    let reg = Registry::start(Tls::None, Some(("alice", PASSWORD)));
    let sb = Sandbox::new();
    let ports = sb.path("ports");
    let record = sb.path("storage.log");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/redirect_proxy.py");
    let mut proxy = std::process::Command::new("python3")
        .arg(script)
        .args([reg.addr.as_str(), "alice", PASSWORD])
        .arg(&ports)
        .arg(&record)
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let front = loop {
        if let Ok(text) = std::fs::read_to_string(&ports) {
            break format!("127.0.0.1:{}", text.split_whitespace().next().unwrap());
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "proxy did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let login = sb.run_with_stdin(
        &["login", &front, "-u", "alice", "--password-stdin"],
        Some(PASSWORD),
    );
    let pushed = sb.run(&["-r", &front, "push", s(&pack("probe"))]);
    let pulled = sb.run(&["-r", &front, "pull", "probe", "-o", s(&sb.path("p"))]);
    let _ = proxy.kill();
    let _ = proxy.wait();
    assert!(login.status.success(), "{}", stderr(&login));
    assert!(pushed.status.success(), "{}", stderr(&pushed));
    assert!(pulled.status.success(), "{}", stderr(&pulled));
    assert_eq!(snapshot(&sb.path("p")), snapshot(&pack("probe")));
    let log = std::fs::read_to_string(&record).unwrap_or_default();
    assert!(
        log.contains("request"),
        "the blob downloads were redirected to storage"
    );
    assert!(
        !log.contains("authorization=yes"),
        "registry credentials went to another host:\n{log}"
    );
}

/// A `--json` error names its class in a stable `kind`, beside the sentence and the exit code:
/// a pack missing from a local store is `not_found`, a registry port nobody listens on is
/// `network`, and a malformed reference is `invalid_input` with exit code 2.
#[test]
fn json_errors_carry_a_stable_kind() {
    let env = Env::new();
    ok(&env.run(&["push", s(&pack("shop"))]));
    let error = |out: &std::process::Output| -> Value {
        serde_json::from_str(stderr(out).trim()).unwrap_or_else(|e| panic!("{e}: {}", stderr(out)))
    };
    let dest = env.path("missing");
    let missing = env.run(&["--json", "pull", "nosuchpack:1.0.0", "-o", s(&dest)]);
    assert_eq!(missing.status.code(), Some(1));
    let missing = error(&missing);
    assert_eq!(missing["kind"], "not_found", "{missing}");
    assert_eq!(missing["code"], 1);
    assert!(missing["message"].as_str().unwrap().contains("not found"));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sb = Sandbox::new();
    let registry = format!("127.0.0.1:{port}");
    let unreachable = sb.run(&[
        "--json",
        "--plain-http",
        "--timeout",
        "5",
        "-r",
        &registry,
        "pull",
        "shop:1.0.0",
        "-o",
        s(&sb.path("out")),
    ]);
    assert_eq!(unreachable.status.code(), Some(1));
    let unreachable = error(&unreachable);
    assert_eq!(unreachable["kind"], "network", "{unreachable}");
    assert!(unreachable["message"]
        .as_str()
        .unwrap()
        .contains("cannot connect"));

    let bad = env.run(&["--json", "pull", "Not A Name"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(error(&bad)["kind"], "invalid_input");
}

/// The message of a pull names the manifest pulled with its digest once: pulled by digest, the
/// reference already is the digest; pulled by tag, the tag and the digest it pointed at.
#[test]
fn a_pull_names_the_digest_once() {
    require_peers!("docker-registry");
    let registry = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let reg = registry.addr.as_str();
    let pushed = sb.json(&["-r", reg, "push", s(&pack("probe"))]);
    let digest = pushed["digest"].as_str().unwrap();
    let by_digest = sb.run(&[
        "-r",
        reg,
        "pull",
        &format!("probe@{digest}"),
        "-o",
        s(&sb.path("a")),
    ]);
    ok(&by_digest);
    let said = stderr(&by_digest);
    assert!(
        said.contains(&format!(
            "Pulled {reg}/spectro-packs/archive/probe@{digest} ("
        )),
        "{said}"
    );
    assert_eq!(said.matches(digest).count(), 1, "{said}");
    let by_tag = sb.run(&["-r", reg, "pull", "probe:0.1.0", "-o", s(&sb.path("b"))]);
    ok(&by_tag);
    let said = stderr(&by_tag);
    assert!(
        said.contains(&format!(
            "Pulled {reg}/spectro-packs/archive/probe:0.1.0@{digest} ("
        )),
        "{said}"
    );
}

/// Over TLS the body comes through a read buffer under OpenSSL and in gathered buffers to the
/// file: a pack of several MiB (a large file, many small ones, in both formats) arrives whole.
#[test]
fn a_large_pack_pulled_over_https_arrives_whole_in_both_formats() {
    require_peers!("docker-registry", "openssl");
    let reg = Registry::start(Tls::SelfSigned, None);
    let sb = Sandbox::new();
    let ca = reg.ca.clone().unwrap();
    let dir = common::pack_with_version(&sb.path("src"), "hello-manifests", "1.0.0");
    common::write_random(&dir.join("payload.bin"), 20 * 1024 * 1024 + 12_345);
    std::fs::create_dir_all(dir.join("extra")).unwrap();
    for i in 0..50 {
        common::write_random(&dir.join(format!("extra/f{i}.bin")), 70_001 + i);
    }
    for format in ["native", "palette"] {
        let repo = format!("{}/{format}", reg.addr);
        ok(&sb.run(&[
            "-r",
            &repo,
            "--ca-file",
            s(&ca),
            "push",
            "--format",
            format,
            s(&dir),
        ]));
        let out = sb.path(&format!("out-{format}"));
        ok(&sb.run(&[
            "-r",
            &repo,
            "--ca-file",
            s(&ca),
            "pull",
            "hello-manifests:1.0.0",
            "-o",
            s(&out),
        ]));
        assert!(
            snapshot(&out) == snapshot(&dir),
            "{format}: pulled pack differs"
        );
    }
}
