//! A pull disturbed: its destination filled meanwhile, or SIGTERM part-way.

use std::path::PathBuf;

use super::common::{self, ok, pack, stderr};
use super::{s, Env};

/// Fills a folder the moment the first blob transfer starts: another program writing into the
/// pull's destination while it downloads.
struct FillOnStart(PathBuf);

struct Quiet;

impl packreg::ops::progress::Bar for Quiet {
    fn inc(&self, _n: u64) {}
    fn finish(&self) {}
}

impl packreg::ops::progress::Progress for FillOnStart {
    fn start(&self, _label: &str, _total: u64) -> std::sync::Arc<dyn packreg::ops::progress::Bar> {
        std::fs::create_dir_all(&self.0).unwrap();
        std::fs::write(self.0.join("theirs.txt"), "written during the pull").unwrap();
        std::sync::Arc::new(Quiet)
    }
}

/// A destination filled during the pull is not replaced without --force.
#[test]
fn pull_refuses_a_destination_filled_meanwhile() {
    use packreg::ops::{pull, OpError, PullOptions};
    let env = Env::new();
    ok(&env.run(&["push", s(&pack("shop"))]));
    let dest = env.path("work/out");
    std::fs::create_dir_all(&dest).unwrap();
    let store = packreg::store::layout::LayoutStore::new(env.path("store"));
    let pack_ref = packreg::reference::PackRef::parse("shop").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let opts = PullOptions {
        output: Some(dest.clone()),
        concurrency: 1,
        progress: std::sync::Arc::new(FillOnStart(dest.clone())),
        ..PullOptions::default()
    };
    let result = rt.block_on(pull(&store, &pack_ref, &opts));
    assert!(
        matches!(&result, Err(OpError::OutputExists(d)) if d == &dest),
        "{:?}",
        result.map(|o| o.dir)
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("theirs.txt")).unwrap(),
        "written during the pull"
    );
    assert_eq!(
        std::fs::read_dir(&dest).unwrap().count(),
        1,
        "nothing mixed in"
    );
    let left: Vec<_> = std::fs::read_dir(env.path("work"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("out")],
        "no staging left"
    );

    // With --force the pack replaces it.
    let forced = PullOptions {
        force: true,
        ..opts
    };
    rt.block_on(pull(&store, &pack_ref, &forced)).unwrap();
    assert_eq!(common::snapshot(&dest), common::snapshot(&pack("shop")));
}

/// SIGTERM (what `kill`, systemd and CI runners send) cleans up as Ctrl-C does.
#[test]
fn sigterm_during_a_pull_leaves_nothing_behind() {
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
    let start = std::time::Instant::now();
    while std::fs::read_dir(&work).unwrap().next().is_none() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the pull never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    if out.status.code() == Some(0) {
        // Finished before the signal landed: the pack must then be whole.
        eprintln!("the pull finished before SIGTERM");
        assert_eq!(common::snapshot(&work.join("out")), common::snapshot(&src));
        return;
    }
    assert_eq!(
        out.status.code(),
        Some(143),
        "{:?} {}",
        out.status,
        stderr(&out)
    );
    assert!(stderr(&out).contains("terminated"), "{}", stderr(&out));
    let left: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
