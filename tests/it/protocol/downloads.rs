//! Downloads: stalled and cut blobs resumed with Range, a registry ignoring Range, manifests bounded in size and in memory.

use super::*;

#[tokio::test]
async fn a_stalled_blob_download_resumes_then_fails_within_bounded_time() {
    let digest = Digest::of(b"big");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &format!("/v2/{REPO}/blobs/{digest}"), 200).raw(Body::Stall {
            first: vec![1; 100],
            len: 1_000_000,
        }),
    ]);
    let store = RemoteStore::connect(&server.addr, &options(1))
        .await
        .unwrap();
    let start = Instant::now();
    let mut reader = store.get_blob(REPO, &digest).await.unwrap();
    let mut sink = Vec::new();
    let err = tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut sink)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert_eq!(sink.len(), 100);
    // Each stall is given up after the idle timeout and resumed from byte 100, three times.
    let gets = server.requests("GET", &format!("/v2/{REPO}/blobs/"));
    assert_eq!(gets.len(), 4);
    assert!(gets[1..]
        .iter()
        .all(|g| g.header("range") == Some("bytes=100-")));
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_cut_blob_download_resumes_with_a_range_request() {
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let digest = Digest::of(&content);
    let path = format!("/v2/{REPO}/blobs/{digest}");
    let half = content.len() / 2;
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &path, 200).times(1).raw(Body::Cut {
            first: content[..half].to_vec(),
            len: content.len() as u64,
        }),
        Rule::new("GET", &path, 206)
            .header(
                "content-range",
                &format!("bytes {half}-{}/{}", content.len() - 1, content.len()),
            )
            .body(content[half..].to_vec()),
    ]);
    let store = connect(&server).await;
    let mut reader = store.get_blob(REPO, &digest).await.unwrap();
    let mut got = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut got)
        .await
        .unwrap();
    assert!(
        got == content,
        "resumed content differs: {} bytes of {}: {:?}",
        got.len(),
        content.len(),
        server
            .log()
            .iter()
            .map(|l| (
                l.method.clone(),
                l.path.clone(),
                l.header("range").map(str::to_string)
            ))
            .collect::<Vec<_>>()
    );
    let gets = server.requests("GET", &path);
    assert_eq!(gets.len(), 2);
    assert_eq!(
        gets[1].header("range"),
        Some(format!("bytes={half}-").as_str())
    );
}

#[tokio::test]
async fn a_registry_ignoring_range_sends_all_and_the_delivered_part_is_skipped() {
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let digest = Digest::of(&content);
    let path = format!("/v2/{REPO}/blobs/{digest}");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &path, 200).times(1).raw(Body::Cut {
            first: content[..30_000].to_vec(),
            len: content.len() as u64,
        }),
        Rule::new("GET", &path, 200).body(content.clone()),
    ]);
    let store = connect(&server).await;
    let mut reader = store.get_blob(REPO, &digest).await.unwrap();
    let mut got = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut got)
        .await
        .unwrap();
    assert!(got == content, "restarted content differs");
}

#[tokio::test]
async fn a_huge_manifest_is_refused_naming_the_limit() {
    let server = FakeRegistry::start(vec![
        open_v2(),
        manifest_rule(200)
            .header("content-type", MANIFEST)
            .raw(Body::Zeros { len: 50 << 20 }),
    ]);
    let store = connect(&server).await;
    let err = store.get_manifest(REPO, "1.0.0").await.unwrap_err();
    assert!(err.to_string().contains("4 MiB"), "{err}");
}

#[test]
fn a_huge_manifest_keeps_packreg_memory_bounded() {
    isolate();
    let server = FakeRegistry::start(vec![
        open_v2(),
        manifest_rule(200)
            .header("content-type", MANIFEST)
            .raw(Body::Zeros { len: 50 << 20 }),
    ]);
    // GNU time forks packreg from a small process of its own, so the peak it reports is
    // packreg's, not this test process's (which a vfork-style spawn would count).
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("rss");
    let out = std::process::Command::new("/usr/bin/time")
        .arg("-o")
        .arg(&report)
        .args(["-f", "%M", env!("CARGO_BIN_EXE_packreg")])
        .args(["inspect", "app:1.0.0", "--plain-http", "-r", &server.addr])
        .output()
        .expect("GNU time (Debian package time) is installed");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("larger than 4 MiB"), "{stderr}");
    // The last line; a line before it notes the non-zero exit.
    let report = std::fs::read_to_string(&report).unwrap();
    let peak_kib: u64 = report.lines().last().unwrap().trim().parse().unwrap();
    assert!(peak_kib < 64 * 1024, "peak RSS {} MiB", peak_kib / 1024);
}
