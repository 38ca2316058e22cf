//! Transfers through faults: a fault-injecting proxy in front of a real docker-registry
//! (with a fixed http.secret, so upload sessions survive a restart) cuts uploads and downloads,
//! answers 429 and 503, and resets connections; the registry itself is killed and restarted.

use crate::support as common;
use crate::support::fault_proxy;

use std::time::{Duration, Instant};

use common::registry::{Registry, Tls};
use common::{ok, snapshot, stderr, Sandbox};
use fault_proxy::{Cut, FaultProxy, Inject};

const MIB: u64 = 1024 * 1024;

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// A pack with a `size`-byte random payload.bin, version `version`.
fn big_pack(sb: &Sandbox, version: &str, size: u64) -> std::path::PathBuf {
    let dir =
        common::pack_with_version(&sb.path(&format!("p{version}")), "hello-manifests", version);
    common::write_random(&dir.join("payload.bin"), size);
    dir
}

fn pulled_matches(sb: &Sandbox, registry: &str, version: &str, dir: &std::path::Path) {
    static PULLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = PULLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = sb.path(&format!("out-{version}-{n}"));
    ok(&sb.run(&[
        "-r",
        registry,
        "--plain-http",
        "pull",
        &format!("hello-manifests:{version}"),
        "-o",
        s(&out),
    ]));
    assert!(snapshot(&out) == snapshot(dir), "pulled pack differs");
}

#[test]
fn an_upload_cut_half_way_resumes_from_the_last_confirmed_chunk() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let proxy = FaultProxy::start(&reg.addr);
    let sb = Sandbox::new();
    let size = 64 * MIB;
    let dir = big_pack(&sb, "1.0.0", size);
    // Near half the blob and not on a chunk boundary.
    proxy.cut_upload_at(size / 2 + 123_457, Cut::Drop);
    let pushed = sb.run(&[
        "-r",
        &proxy.addr,
        "--plain-http",
        "--chunk-size",
        "8",
        "push",
        s(&dir),
    ]);
    assert!(pushed.status.success(), "{}", stderr(&pushed));
    assert!(
        proxy.log().iter().any(|(_, _, status)| *status == 0),
        "nothing was cut"
    );
    let sent = proxy.uploaded();
    assert!(
        sent <= size + 9 * MIB,
        "sent {sent} bytes for a {size}-byte blob"
    );
    pulled_matches(&sb, &reg.addr, "1.0.0", &dir);
}

#[test]
fn an_interrupted_push_continues_where_it_stopped_when_run_again() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let proxy = FaultProxy::start(&reg.addr);
    let sb = Sandbox::new();
    let size = 64 * MIB;
    let dir = big_pack(&sb, "1.0.0", size);
    proxy.cut_upload_at(size / 2 + 98_765, Cut::Hold);
    let args = [
        "-r",
        &proxy.addr,
        "--plain-http",
        "--chunk-size",
        "8",
        "push",
        s(&dir),
    ];
    let mut child = sb.command().args(args).spawn().unwrap();
    let start = Instant::now();
    // Interrupted while a chunk is in flight (held by the proxy): the chunks before it were
    // confirmed and recorded.
    let held = || proxy.log().iter().any(|(_, _, status)| *status == 0);
    while !held() && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(held(), "the push never got half way");
    child.kill().unwrap();
    child.wait().unwrap();
    let before = proxy.uploaded();
    let again = sb.run(&args);
    assert!(again.status.success(), "{}", stderr(&again));
    let total = proxy.uploaded();
    assert!(
        total <= size + 9 * MIB,
        "sent {total} bytes over both runs ({before} before the interruption) for a {size}-byte blob"
    );
    pulled_matches(&sb, &reg.addr, "1.0.0", &dir);
}

#[test]
fn a_download_cut_half_way_resumes_in_the_same_run() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let size = 64 * MIB;
    let dir = big_pack(&sb, "1.0.0", size);
    ok(&sb.run(&["-r", &reg.addr, "--plain-http", "push", s(&dir)]));
    let proxy = FaultProxy::start(&reg.addr);
    proxy.cut_download_at(size / 2, Cut::Drop);
    pulled_matches(&sb, &proxy.addr, "1.0.0", &dir);
    let served = proxy.served();
    assert!(
        served <= size + size / 10,
        "served {served} bytes for a {size}-byte blob"
    );
    assert!(
        proxy.log().iter().any(|(_, _, status)| *status == 206),
        "no Range request"
    );
}

#[test]
fn an_interrupted_pull_continues_from_the_bytes_kept_in_the_cache_and_moves_them_into_the_pack() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let size = 64 * MIB;
    let dir = big_pack(&sb, "1.0.0", size);
    ok(&sb.run(&["-r", &reg.addr, "--plain-http", "push", s(&dir)]));
    let proxy = FaultProxy::start(&reg.addr);
    proxy.cut_download_at(size / 2, Cut::Hold);
    let out = sb.path("interrupted");
    let mut child = sb
        .command()
        .args([
            "-r",
            &proxy.addr,
            "--plain-http",
            "pull",
            "hello-manifests:1.0.0",
            "-o",
            s(&out),
        ])
        .spawn()
        .unwrap();
    let start = Instant::now();
    while proxy.served() < size / 2 && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(proxy.served() >= size / 2, "the pull never got half way");
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let partial_dir = sb.path(".cache/packreg/downloads");
    let kept = dir_size(&partial_dir);
    assert!(kept >= size / 4, "only {kept} bytes kept");
    // The kept file is the file the pack gets: moved there, its bytes never written again.
    let kept_inode = kept_file_inode(&partial_dir);
    let before = proxy.served();
    let resumed = sb.path("resumed");
    ok(&sb.run(&[
        "-r",
        &proxy.addr,
        "--plain-http",
        "pull",
        "hello-manifests:1.0.0",
        "-o",
        s(&resumed),
    ]));
    assert!(snapshot(&resumed) == snapshot(&dir), "pulled pack differs");
    let placed = std::fs::metadata(resumed.join("payload.bin")).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&placed),
        kept_inode,
        "the pulled file is a copy of the kept download, not the download itself"
    );
    let again = proxy.served() - before;
    assert!(
        again <= size - kept + MIB,
        "the second run downloaded {again} bytes with {kept} kept"
    );
    assert_eq!(
        dir_size(&partial_dir),
        0,
        "the partial download was not removed"
    );
}

#[test]
fn rate_limits_server_errors_and_resets_are_ridden_out() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let proxy = FaultProxy::start(&reg.addr);
    let inject = |method, path: &str, status, headers: Vec<(&str, &str)>, times| Inject {
        method,
        path_contains: path.to_string(),
        status,
        headers: headers
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        times,
    };
    proxy.inject(inject(
        "PUT",
        "/manifests/",
        Some(429),
        vec![("Retry-After", "2")],
        1,
    ));
    proxy.inject(inject("HEAD", "/blobs/", Some(503), vec![], 2));
    proxy.inject(inject("POST", "/blobs/uploads/", None, vec![], 1));
    let sb = Sandbox::new();
    let dir = big_pack(&sb, "1.0.0", MIB);
    let start = Instant::now();
    let pushed = sb.run(&["-r", &proxy.addr, "--plain-http", "push", s(&dir)]);
    assert!(pushed.status.success(), "{}", stderr(&pushed));
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "did not wait for Retry-After"
    );
    proxy.inject(inject("GET", "/manifests/", None, vec![], 1));
    proxy.inject(inject("GET", "/blobs/sha256:", Some(503), vec![], 2));
    pulled_matches(&sb, &proxy.addr, "1.0.0", &dir);
    let log = proxy.log();
    for status in [429, 503, 0] {
        assert!(
            log.iter().any(|(_, _, s)| *s == status),
            "no {status} injected: {log:?}"
        );
    }
}

#[test]
fn a_registry_killed_mid_push_and_mid_mirror_leaves_no_tag_on_a_partial_artifact() {
    require_peers!("docker-registry");
    let mut reg = Registry::start(Tls::None, None);
    let addr = reg.addr.clone();
    let sb = Sandbox::new();
    let size = 48 * MIB;
    let dir = big_pack(&sb, "1.0.0", size);
    let push = [
        "-r",
        &addr,
        "--plain-http",
        "--chunk-size",
        "4",
        "push",
        s(&dir),
    ];
    crash_during(&sb, &mut reg, &push, size);
    pulled_matches(&sb, &addr, "1.0.0", &dir);

    // The same for a mirror into a second registry.
    let mut dst = Registry::start(Tls::None, None);
    let dst_addr = dst.addr.clone();
    let mirror = [
        "--plain-http",
        "--chunk-size",
        "4",
        "mirror",
        &addr,
        &dst_addr,
        "hello-manifests:1.0.0",
    ];
    crash_during(&sb, &mut dst, &mirror, size);
    pulled_matches(&sb, &dst_addr, "1.0.0", &dir);
}

/// Runs packreg with `args`, kills `reg` once a quarter of `size` bytes reached its storage and
/// restarts it 2 s later. When the command failed, no tag may point at the partial artifact,
/// and running it again completes.
fn crash_during(sb: &Sandbox, reg: &mut Registry, args: &[&str], size: u64) {
    let child = sb
        .command()
        .args(args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let data = reg.dir.path().join("data");
    let start = Instant::now();
    while dir_size(&data) < size / 4 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    reg.kill();
    std::thread::sleep(Duration::from_secs(2));
    reg.restart();
    let first = child.wait_with_output().unwrap();
    if !first.status.success() {
        let tags = sb.run(&["-r", &reg.addr, "--plain-http", "ls", "hello-manifests"]);
        let listed = common::stdout(&tags);
        assert!(!listed.contains("1.0.0"), "{listed}");
        ok(&sb.run(args));
    }
}

/// Bytes in the files below `dir`.
/// The inode of the one partial download in `dir`.
fn kept_file_inode(dir: &std::path::Path) -> u64 {
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert_eq!(files.len(), 1, "one partial download expected");
    std::os::unix::fs::MetadataExt::ino(&files[0].metadata().unwrap())
}

fn dir_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

#[test]
fn many_concurrent_pulls_and_pushes_all_succeed() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let base = common::pack("hello-manifests");
    ok(&sb.run(&["-r", &reg.addr, "--plain-http", "push", s(&base)]));
    let pushes: Vec<_> = (0..10)
        .map(|i| {
            let dir = sb.path(&format!("push-{i}"));
            common::copy_dir(&base, &dir);
            common::set_pack_field(&dir, "name", &format!("concurrent-{i}"));
            sb.command()
                .args(["-r", &reg.addr, "--plain-http", "-q", "push", s(&dir)])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let pulls: Vec<_> = (0..50)
        .map(|i| {
            let out = sb.path(&format!("pull-{i}"));
            sb.command()
                .args([
                    "-r",
                    &reg.addr,
                    "--plain-http",
                    "-q",
                    "pull",
                    "hello-manifests",
                    "-o",
                    s(&out),
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in pushes.into_iter().chain(pulls) {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    for i in 0..50 {
        assert!(
            snapshot(&sb.path(&format!("pull-{i}"))) == snapshot(&base),
            "pull {i} differs"
        );
    }
    let listed = sb.json(&["-r", &reg.addr, "--plain-http", "ls"]);
    let names: std::collections::BTreeSet<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    for i in 0..10 {
        assert!(
            names.contains(&format!("concurrent-{i}")),
            "concurrent-{i} lost: {names:?}"
        );
    }
}

/// Sends `signal` to `child` and returns its stderr once it exited with `code`.
#[cfg(unix)]
fn stopped_with(child: std::process::Child, signal: &str, code: i32) -> String {
    let kill = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    stderr(&out)
}

#[cfg(unix)]
#[test]
fn a_stopped_transfer_says_what_the_next_run_reuses() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let size = 64 * MIB;
    let dir = big_pack(&sb, "1.0.0", size);

    // A push stopped by Ctrl-C while a chunk is held: the session and what it holds.
    let proxy = FaultProxy::start(&reg.addr);
    proxy.cut_upload_at(size / 2 + 98_765, Cut::Hold);
    let child = sb
        .command()
        .args([
            "-r",
            &proxy.addr,
            "--plain-http",
            "--chunk-size",
            "8",
            "push",
            s(&dir),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let held = || proxy.log().iter().any(|(_, _, status)| *status == 0);
    while !held() && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(held(), "the push never got half way");
    let said = stopped_with(child, "INT", 130);
    eprintln!("{said}");
    assert!(
        said.contains("run the same command again to continue")
            && said.contains("the upload session to")
            && said.contains("MiB"),
        "{said}"
    );
    ok(&sb.run(&["-r", &reg.addr, "--plain-http", "push", s(&dir)]));

    // A pull stopped by SIGTERM while the download is held: the bytes kept in the cache.
    let proxy = FaultProxy::start(&reg.addr);
    proxy.cut_download_at(size / 2, Cut::Hold);
    let child = sb
        .command()
        .args([
            "-r",
            &proxy.addr,
            "--plain-http",
            "pull",
            "hello-manifests:1.0.0",
            "-o",
        ])
        .arg(sb.path("out"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while proxy.served() < size / 2 && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(proxy.served() >= size / 2, "the pull never got half way");
    std::thread::sleep(Duration::from_millis(300));
    let said = stopped_with(child, "TERM", 143);
    eprintln!("{said}");
    assert!(
        said.contains("run the same command again to continue")
            && said.contains("of 64.0 MiB of blob sha256:")
            && said.contains("already downloaded (kept in")
            && said.contains("downloads"),
        "{said}"
    );
}
