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

#[tokio::test]
async fn a_version_selection_carries_the_referrers_of_the_versions_it_takes_only() {
    let a = tempfile::tempdir().unwrap();
    let src = LayoutStore::new(a.path());
    let (pack, _sbom, sig, sig_tag) = signed_pack(&src).await;
    let (newer, _) =
        crate::ops::copy::fixtures::put_image(&src, Some("2.0.0"), b"version 2", None).await;
    let older = MirrorOptions {
        versions: Some("<2".parse().unwrap()),
        ..MirrorOptions::default()
    };
    let b = tempfile::tempdir().unwrap();
    let dst = LayoutStore::new(b.path());
    let summary = mirror(&src, &dst, &older).await.unwrap();
    assert_eq!(
        summary.copied_tags,
        ["demo:1.0.0", "demo:1.0.x", "demo:1.x"]
    );
    assert_eq!(summary.referrers_copied, 2, "{summary:?}");
    assert_eq!(dst.resolve(REPO, &sig_tag).await.unwrap(), Some(sig));
    assert_eq!(dst.resolve(REPO, "2.0.0").await.unwrap(), None);

    // The highest version, named with its tag: nothing about 1.0.0 goes.
    let newest = MirrorOptions {
        latest: Some(1),
        names: vec![("demo".into(), Some("2.0.0".into()))],
        ..MirrorOptions::default()
    };
    let c = tempfile::tempdir().unwrap();
    let dst = LayoutStore::new(c.path());
    let summary = mirror(&src, &dst, &newest).await.unwrap();
    assert_eq!(
        summary.copied_tags,
        ["demo:2.0.0", "demo:2.0.x", "demo:2.x"]
    );
    assert_eq!(summary.referrers_copied, 0, "{summary:?}");
    assert_eq!(dst.resolve(REPO, "2.0.0").await.unwrap(), Some(newer));
    for tag in [sig_tag.as_str(), &referrers_tag(&pack), "1.0.0"] {
        assert_eq!(dst.resolve(REPO, tag).await.unwrap(), None, "{tag}");
    }
    // Named with a tag the selection leaves out: nothing goes, and the summary says so.
    let outside = MirrorOptions {
        latest: Some(1),
        names: vec![("demo".into(), Some("1.0.0".into()))],
        ..MirrorOptions::default()
    };
    let summary = mirror(&src, &dst, &outside).await.unwrap();
    assert!(summary.copied_tags.is_empty(), "{summary:?}");
    assert!(
        summary.warnings[0]
            .text
            .starts_with("demo:1.0.0: not among"),
        "{summary:?}"
    );
    // Named with a tag the source lacks: a failure, as without a selection.
    let missing = MirrorOptions {
        latest: Some(1),
        names: vec![("demo".into(), Some("9.9.9".into()))],
        ..MirrorOptions::default()
    };
    let summary = mirror(&src, &dst, &missing).await.unwrap();
    assert_eq!(summary.failures.len(), 1, "{summary:?}");
    assert_eq!(summary.failures[0].tag.as_deref(), Some("9.9.9"));
}
