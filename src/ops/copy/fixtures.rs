//! Manifests written straight into a local layout, for the copier's and mirror's tests.

use crate::digest::Digest;
use crate::oci::{MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use crate::store::layout::LayoutStore;
use crate::store::Store;
use crate::tag_grammar::referrers_tag;

pub(crate) const REPO: &str = "spectro-packs/archive/demo";

pub(crate) async fn put_blob(store: &LayoutStore, repo: &str, bytes: &[u8]) -> String {
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
pub(crate) async fn put_image(
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

/// A pack version with a referrer listed in the `sha256-<hex>` fallback index (a layout has no
/// Referrers API) and a cosign signature tag.
pub(crate) async fn signed_pack(src: &LayoutStore) -> (Digest, Digest, Digest, String) {
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
