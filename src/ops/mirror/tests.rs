//! Mirror between two local layouts: what refers to a pack travels with it.

use super::{mirror, MirrorOptions};
use crate::ops::copy::fixtures::{signed_pack, REPO};
use crate::store::layout::LayoutStore;
use crate::store::Store;
use crate::tag_grammar::referrers_tag;

#[tokio::test]
async fn mirror_carries_a_packs_referrers_and_cosign_tags() {
    let a = tempfile::tempdir().unwrap();
    let src = LayoutStore::new(a.path());
    let (pack, sbom, sig, sig_tag) = signed_pack(&src).await;
    let everything = MirrorOptions::default();
    let one_version = MirrorOptions {
        names: vec![("demo".into(), Some("1.0.0".into()))],
        ..MirrorOptions::default()
    };
    // Every tag listed, and one version named (the source's tags then listed by the copier).
    for opts in [everything, one_version] {
        let b = tempfile::tempdir().unwrap();
        let dst = LayoutStore::new(b.path());
        let summary = mirror(&src, &dst, &opts).await.unwrap();
        assert!(summary.failures.is_empty(), "{:?}", summary.failures);
        assert_eq!(summary.tags_copied, 1, "{summary:?}");
        assert_eq!(summary.referrers_copied, 2, "{summary:?}");
        assert_eq!(
            dst.resolve(REPO, "1.0.0").await.unwrap(),
            Some(pack.clone())
        );
        assert_eq!(
            dst.resolve(REPO, &sig_tag).await.unwrap(),
            Some(sig.clone())
        );
        let fallback = dst.get_manifest(REPO, &referrers_tag(&pack)).await.unwrap();
        let index: crate::oci::Index = serde_json::from_slice(&fallback.bytes).unwrap();
        assert_eq!(index.manifests.len(), 1);
        assert_eq!(index.manifests[0].digest, sbom);

        let again = mirror(&src, &dst, &opts).await.unwrap();
        assert_eq!(
            (
                again.tags_copied,
                again.referrers_copied,
                again.manifests_copied
            ),
            (0, 0, 0),
            "{again:?}"
        );
    }
}

/// The counts a summary reports, without the flag that tells a dry run.
fn counts(summary: &super::MirrorSummary) -> serde_json::Value {
    let mut value = serde_json::to_value(summary).unwrap();
    value.as_object_mut().unwrap().remove("dry_run");
    value.as_object_mut().unwrap().remove("dryRun");
    value
}

#[tokio::test]
async fn a_dry_run_reports_what_the_real_run_then_does_and_writes_nothing() {
    let a = tempfile::tempdir().unwrap();
    let src = LayoutStore::new(a.path());
    signed_pack(&src).await;
    let b = tempfile::tempdir().unwrap();
    let dst = LayoutStore::new(b.path());
    let dry = MirrorOptions {
        dry_run: true,
        ..MirrorOptions::default()
    };
    let planned = mirror(&src, &dst, &dry).await.unwrap();
    assert!(planned.dry_run);
    assert!(
        planned.tags_copied > 0 && planned.blobs_copied > 0,
        "{planned:?}"
    );
    assert_eq!(planned.referrers_copied, 2, "{planned:?}");
    assert!(
        std::fs::read_dir(b.path()).unwrap().next().is_none(),
        "the dry run wrote nothing"
    );
    let done = mirror(&src, &dst, &MirrorOptions::default()).await.unwrap();
    assert_eq!(counts(&planned), counts(&done));
    // Against a destination that has everything, both say nothing to do.
    let planned = mirror(&src, &dst, &dry).await.unwrap();
    let done = mirror(&src, &dst, &MirrorOptions::default()).await.unwrap();
    assert_eq!(counts(&planned), counts(&done));
    assert_eq!((done.tags_copied, done.blobs_copied), (0, 0), "{done:?}");
}
