//! Hostile signature documents in a store: read with bounds, each refused with its reason.

use super::attach::add_to_fallback_index;
use super::{discover, MAX_SIGNATURE_BYTES};
use crate::digest::Digest;
use crate::oci::{Descriptor, Manifest, EMPTY_JSON, MEDIA_TYPE_EMPTY, MEDIA_TYPE_MANIFEST};
use crate::sign::{bundle, Refusal};
use crate::store::layout::LayoutStore;
use crate::store::Store;

const REPO: &str = "spectro-packs/archive/x";

async fn put(store: &LayoutStore, bytes: &[u8]) -> Descriptor {
    let digest = Digest::of(bytes);
    let reader: crate::store::BlobReader = Box::pin(std::io::Cursor::new(bytes.to_vec()));
    store
        .put_blob(REPO, &digest, bytes.len() as u64, reader)
        .await
        .unwrap();
    Descriptor::new("application/octet-stream", digest, bytes.len() as u64)
}

fn manifest(layers: Vec<Descriptor>, subject: Option<Descriptor>) -> Vec<u8> {
    Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_MANIFEST.into()),
        artifact_type: Some(bundle::BUNDLE_MEDIA_TYPE.into()),
        config: Descriptor::new(MEDIA_TYPE_EMPTY, Digest::of(EMPTY_JSON), 2),
        layers,
        subject,
        annotations: Default::default(),
        extra: Default::default(),
    }
    .to_bytes()
}

/// A bundle layer past the bound is not read (refused as unavailable), and a referrer the
/// fallback index lists for this manifest but whose `subject` is another is refused as
/// signing another manifest.
#[tokio::test]
async fn an_oversized_signature_and_a_referrer_of_another_subject_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = LayoutStore::new(dir.path());
    put(&store, EMPTY_JSON).await;
    let subject_bytes = manifest(Vec::new(), None);
    let subject = store
        .put_manifest(REPO, Some("1.0.0"), &subject_bytes, MEDIA_TYPE_MANIFEST)
        .await
        .unwrap();
    let subject_desc = Descriptor::new(
        MEDIA_TYPE_MANIFEST,
        subject.clone(),
        subject_bytes.len() as u64,
    );
    let mut big = put(&store, &vec![b' '; MAX_SIGNATURE_BYTES as usize + 1]).await;
    big.media_type = bundle::BUNDLE_MEDIA_TYPE.into();
    let oversized = manifest(vec![big], Some(subject_desc.clone()));
    let mut small = put(&store, b"{}  ").await;
    small.media_type = bundle::BUNDLE_MEDIA_TYPE.into();
    let mut elsewhere = subject_desc.clone();
    elsewhere.digest = Digest::of(b"another manifest");
    let foreign = manifest(vec![small], Some(elsewhere));
    for bytes in [oversized, foreign] {
        let digest = store
            .put_manifest(REPO, None, &bytes, MEDIA_TYPE_MANIFEST)
            .await
            .unwrap();
        let mut entry = Descriptor::new(MEDIA_TYPE_MANIFEST, digest, bytes.len() as u64);
        entry.artifact_type = Some(bundle::BUNDLE_MEDIA_TYPE.into());
        add_to_fallback_index(&store, REPO, &subject, entry)
            .await
            .unwrap();
    }
    let found = discover(&store, REPO, &subject).await.unwrap();
    assert_eq!(found.signatures.len(), 2);
    assert!(
        matches!(
            &found.signatures[0].content,
            Err(Refusal::Unavailable { .. })
        ),
        "{:?}",
        found.signatures[0].content
    );
    assert!(
        matches!(
            &found.signatures[1].content,
            Err(Refusal::OtherDigest { .. })
        ),
        "{:?}",
        found.signatures[1].content
    );
}
