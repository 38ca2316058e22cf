//! The copier between two local layouts: index children, and cosign tags that move only with
//! `force`.

use std::collections::BTreeSet;

use super::fixtures::{put_image, REPO};
use super::*;
use crate::oci::{MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use crate::store::layout::LayoutStore;
use crate::tag_grammar::referrers_tag;

fn sides<'a>(src: &'a LayoutStore, dst: &'a LayoutStore) -> (Side<'a>, Side<'a>) {
    (
        Side {
            store: src,
            repo: REPO,
        },
        Side {
            store: dst,
            repo: REPO,
        },
    )
}

#[tokio::test]
async fn an_index_is_copied_with_its_children_once() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (src, dst) = (LayoutStore::new(a.path()), LayoutStore::new(b.path()));
    let (amd, amd_size) = put_image(&src, None, b"amd64", None).await;
    let (arm, arm_size) = put_image(&src, None, b"arm64", None).await;
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{MEDIA_TYPE_INDEX}","manifests":[{{"mediaType":"{MEDIA_TYPE_MANIFEST}","digest":"{amd}","size":{amd_size}}},{{"mediaType":"{MEDIA_TYPE_MANIFEST}","digest":"{arm}","size":{arm_size}}}]}}"#
    );
    let top = src
        .put_manifest(REPO, Some("3.0"), index.as_bytes(), MEDIA_TYPE_INDEX)
        .await
        .unwrap();
    let opts = CopyOptions::default();
    let (s, d) = sides(&src, &dst);
    let copier = GraphCopier::new(s, d, &opts);
    let mut stats = CopyStats::default();
    let copied = copier
        .copy_reference("3.0", Some("3.0"), &mut stats)
        .await
        .unwrap();
    assert_eq!(copied.digest, top);
    assert!(copied.written);
    assert_eq!(stats.manifests_copied, 3, "{stats:?}");
    // Both children share the config blob: it is copied once, then found in place.
    assert_eq!(
        (stats.blobs_copied, stats.blobs_skipped),
        (3, 1),
        "{stats:?}"
    );
    for digest in [&top, &amd, &arm] {
        assert_eq!(
            dst.resolve(REPO, digest.as_str()).await.unwrap(),
            Some(digest.clone())
        );
    }
    let mut again = CopyStats::default();
    let copied = copier
        .copy_reference("3.0", Some("3.0"), &mut again)
        .await
        .unwrap();
    assert!(!copied.written);
    assert_eq!(again, CopyStats::default());
}

#[tokio::test]
async fn a_cosign_tag_pointing_elsewhere_moves_only_with_force() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (src, dst) = (LayoutStore::new(a.path()), LayoutStore::new(b.path()));
    let (image, _) = put_image(&src, Some("1.0"), b"image", None).await;
    let sig_tag = format!("{}.sig", referrers_tag(&image));
    let (sig, _) = put_image(&src, Some(&sig_tag), b"signature", None).await;
    let (other, _) = put_image(&dst, Some(&sig_tag), b"another signature", None).await;
    let subjects = BTreeSet::from([image.clone()]);
    let (s, d) = sides(&src, &dst);

    let keep = CopyOptions {
        force: false,
        ..CopyOptions::default()
    };
    let mut stats = CopyStats::default();
    let wrote = GraphCopier::new(s, d, &keep)
        .copy_referrers(&subjects, None, &mut stats)
        .await
        .unwrap();
    assert!(!wrote);
    assert_eq!(
        stats.conflicts,
        vec![(sig_tag.clone(), other.clone(), sig.clone())]
    );
    assert_eq!(dst.resolve(REPO, &sig_tag).await.unwrap(), Some(other));

    let mut stats = CopyStats::default();
    let wrote = GraphCopier::new(s, d, &CopyOptions::default())
        .copy_referrers(&subjects, None, &mut stats)
        .await
        .unwrap();
    assert!(wrote);
    assert_eq!(stats.referrers_copied, 1);
    assert_eq!(dst.resolve(REPO, &sig_tag).await.unwrap(), Some(sig));
}
