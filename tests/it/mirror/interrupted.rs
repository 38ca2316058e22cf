//! The destination's pack index after a mirror that was stopped part-way: the packs it
//! finished are indexed as each completes, and a rerun indexes the tags an earlier run copied
//! without recording (they are "unchanged" then).

use std::time::{Duration, Instant};

use crate::support as common;

use common::fault_proxy::{Cut, FaultProxy};
use common::registry::{Registry, Tls};
use common::{ok, s, Sandbox};
use packreg::config::{builtin_store_options, ConnectionFlags};
use packreg::ops::index::{read_state, INDEX_REPO};
use packreg::store::open_store;

use super::fill;

/// The pack names the index of `registry` lists; with `forget`, the index is deleted first.
fn index_names(registry: &str, forget: bool) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let opts = builtin_store_options(&ConnectionFlags {
            plain_http: true,
            ..ConnectionFlags::default()
        });
        let store = open_store(Some(registry), &opts).await.unwrap();
        if forget {
            for tag in store.tags(INDEX_REPO).await.unwrap() {
                if let Some(digest) = store.resolve(INDEX_REPO, &tag).await.unwrap() {
                    let _ = store.delete_manifest(INDEX_REPO, &digest).await;
                }
            }
        }
        read_state(store.as_ref()).await.unwrap().names()
    })
}

#[test]
fn a_rerun_indexes_the_tags_an_earlier_run_copied_without_recording() {
    require_peers!("docker-registry");
    let (a, b) = (
        Registry::start(Tls::None, None),
        Registry::start(Tls::None, None),
    );
    let sb = Sandbox::new();
    fill(&sb, &a.addr);
    ok(&sb.run(&["-q", "mirror", &a.addr, &b.addr]));
    // As a run killed after its copies and before its index write leaves it.
    assert!(index_names(&b.addr, true).is_empty());
    let again = sb.json(&["mirror", &a.addr, &b.addr]);
    assert_eq!(crate::bundle::count(&again, "tagsCopied"), 0, "{again}");
    let mut expected: Vec<String> = common::GOOD_PACKS.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(index_names(&b.addr, false), expected);
}

#[test]
fn a_mirror_killed_part_way_leaves_the_packs_it_finished_indexed() {
    require_peers!("docker-registry");
    let (a, b) = (
        Registry::start(Tls::None, None),
        Registry::start(Tls::None, None),
    );
    let sb = Sandbox::new();
    fill(&sb, &a.addr);
    // One pack with a large blob, whose upload the proxy holds for ever.
    let big = common::pack_with_version(&sb.path("big"), "hello-manifests", "9.0.0");
    // Named to come first: the packs after it complete, and are indexed, while it is held.
    common::set_pack_field(&big, "name", "aa-big");
    common::write_random(&big.join("payload.bin"), 16 << 20);
    ok(&sb.run(&["-r", &a.addr, "-q", "push", s(&big)]));
    let proxy = FaultProxy::start(&b.addr);
    proxy.cut_upload_at(8 << 20, Cut::Hold);
    let mut child = sb
        .command()
        .args(["--plain-http", "-q", "mirror", &a.addr, &proxy.addr])
        .spawn()
        .unwrap();
    let start = Instant::now();
    let held = || proxy.log().iter().any(|(_, _, status)| *status == 0);
    while !held() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(held(), "the big upload never got half way");
    // The small packs completed long before; their index update follows each of them.
    let mut expected: Vec<String> = common::GOOD_PACKS.iter().map(|s| s.to_string()).collect();
    expected.sort();
    let mut names = Vec::new();
    while start.elapsed() < Duration::from_secs(30) {
        names = index_names(&b.addr, false);
        if names == expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        names, expected,
        "the packs finished before the kill are indexed"
    );
}
