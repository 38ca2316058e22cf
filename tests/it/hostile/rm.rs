//! rm interrupted after each of its writes in turn.

use packreg::store::{Store, StoreError};

use super::common::ok;
use super::common::store::HookedStore;
use super::{tags_in, Env};

/// rm interrupted after any of its steps never loses a tag that should stay.
#[test]
fn an_interrupted_rm_never_loses_a_tag_that_should_stay() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let repo = "spectro-packs/archive/hello-manifests";
    for allowed in 0..12 {
        let env = Env::new();
        for v in ["1.0.0", "1.1.0", "1.2.0"] {
            env.push_version("hello-manifests", v);
        }
        // Another version tag and a label on the manifest of 1.2.0.
        let store = packreg::store::layout::LayoutStore::new(env.path("store"));
        let raw = rt.block_on(store.get_manifest(repo, "1.2.0")).unwrap();
        rt.block_on(store.put_manifest(repo, Some("1.2.0-copy"), &raw.bytes, &raw.media_type))
            .unwrap();
        ok(&env.run(&["tag", "add", "hello-manifests:1.2.0", "stable"]));
        let before: std::collections::BTreeMap<String, String> =
            tags_in(&env.path("store"), "hello-manifests")
                .into_iter()
                .map(|t| {
                    let d = rt
                        .block_on(store.resolve(repo, &t))
                        .unwrap()
                        .unwrap()
                        .to_string();
                    (t, d)
                })
                .collect();

        // The local store, with every write after the first `allowed` failing: an rm
        // interrupted at each step in turn.
        let left = std::sync::atomic::AtomicUsize::new(allowed);
        let location = store.location();
        let faulty = HookedStore::new(store.clone(), move |call| {
            use std::sync::atomic::Ordering;
            if !call.is_write() {
                return Ok(());
            }
            if left.load(Ordering::SeqCst) == 0 {
                return Err(StoreError::Remote {
                    location: location.clone(),
                    message: "interrupted here by the test".into(),
                });
            }
            left.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        });
        let result = rt.block_on(packreg::ops::remove(&faulty, "hello-manifests", "1.2.0"));
        for (tag, digest) in &before {
            if tag == "1.2.0" || tag == "stable" {
                continue;
            }
            let now = rt.block_on(store.resolve(repo, tag)).unwrap();
            assert_eq!(
                now.map(|d| d.to_string()).as_deref(),
                Some(digest.as_str()),
                "interrupted after {allowed} write(s) ({:?}): {tag} was lost or moved",
                result.as_ref().err().map(|e| e.to_string())
            );
        }
        if result.is_ok() {
            assert_eq!(
                tags_in(&env.path("store"), "hello-manifests"),
                vec![
                    "1.0.0",
                    "1.0.x",
                    "1.1.0",
                    "1.1.x",
                    "1.2.0-copy",
                    "1.2.x",
                    "1.x"
                ]
            );
            return;
        }
    }
    panic!("rm never completed");
}
