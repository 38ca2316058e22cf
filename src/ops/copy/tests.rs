//! The copier between two local layouts: index children, cosign tags and fallback indexes, and
//! mirror's use of it.

use std::collections::BTreeSet;

use super::*;
use crate::oci::{MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use crate::ops::mirror::{mirror, MirrorOptions};
use crate::store::layout::LayoutStore;
use crate::tag_grammar::referrers_tag;

const REPO: &str = "spectro-packs/archive/demo";

async fn put_blob(store: &LayoutStore, repo: &str, bytes: &[u8]) -> String {
    let digest = Digest::of(bytes);
    let reader = Box::pin(std::io::Cursor::new(bytes.to_vec()));
    store
        .put_blob(repo, &digest, bytes.len() as u64, reader)
        .await
        .unwrap();
    format!(
        r#"{{"mediaType":"application/octet-stream","digest":"{digest}","size":{}}}"#,
        bytes.len()
    )
}

/// Writes a manifest with one layer `content` (referring to `subject` when given); returns
/// its digest and size.
async fn put_image(
    store: &LayoutStore,
    tag: Option<&str>,
    content: &[u8],
    subject: Option<(&Digest, usize)>,
) -> (Digest, usize) {
    let config = put_blob(store, REPO, b"{}").await;
    let layer = put_blob(store, REPO, content).await;
    let subject = subject.map_or_else(String::new, |(d, size)| {
        format!(
            r#","subject":{{"mediaType":"{MEDIA_TYPE_MANIFEST}","digest":"{d}","size":{size}}}"#
        )
    });
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{MEDIA_TYPE_MANIFEST}","config":{config},"layers":[{layer}]{subject}}}"#
    );
    let digest = store
        .put_manifest(REPO, tag, manifest.as_bytes(), MEDIA_TYPE_MANIFEST)
        .await
        .unwrap();
    (digest, manifest.len())
}

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

/// A pack version with a referrer listed in the `sha256-<hex>` fallback index (a layout has no
/// Referrers API) and a cosign signature tag.
async fn signed_pack(src: &LayoutStore) -> (Digest, Digest, Digest, String) {
    let (pack, size) = put_image(src, Some("1.0.0"), b"pack", None).await;
    let (sbom, sbom_size) = put_image(src, None, b"sbom", Some((&pack, size))).await;
    let fallback = referrers_tag(&pack);
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{MEDIA_TYPE_INDEX}","manifests":[{{"mediaType":"{MEDIA_TYPE_MANIFEST}","digest":"{sbom}","size":{sbom_size}}}]}}"#
    );
    src.put_manifest(REPO, Some(&fallback), index.as_bytes(), MEDIA_TYPE_INDEX)
        .await
        .unwrap();
    let sig_tag = format!("{fallback}.sig");
    let (sig, _) = put_image(src, Some(&sig_tag), b"cosign signature", None).await;
    (pack, sbom, sig, sig_tag)
}

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
