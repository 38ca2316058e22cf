//! A pull disturbed: its destination filled meanwhile, or SIGTERM part-way.

use std::path::PathBuf;

use super::common::{self, ok, pack};
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
#[cfg(unix)]
#[test]
fn sigterm_during_a_pull_leaves_nothing_behind() {
    crate::pull::signal_during_a_pull_leaves_nothing_behind("TERM", 143, "terminated");
}
