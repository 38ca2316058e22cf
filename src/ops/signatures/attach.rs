//! Signing a pack version: the tag resolved once, its digest signed, the signature added
//! beside the others (a second cosign signature is a second layer; a referrer is added to the
//! fallback index, never replacing it).

use std::collections::BTreeMap;

use openssl::x509::X509;
use serde::Serialize;

use super::manifest_if_any;
use crate::digest::Digest;
use crate::oci::{
    Descriptor, Index, Manifest, ANNOTATION_CREATED, ANNOTATION_TITLE, EMPTY_JSON,
    MEDIA_TYPE_EMPTY, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST,
};
use crate::ops::resolve::resolve_ref;
use crate::ops::OpError;
use crate::reference::PackRef;
use crate::sign::{bundle, cosign, notation, PrivateKey, SignError, SignatureFormat};
use crate::store::{RawManifest, Store, StoreError};
use crate::tag_grammar::referrers_tag;

/// Errors of signing: the store's, or the key's and certificate's.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The store or the resolution failed.
    #[error(transparent)]
    Op(#[from] OpError),
    /// The key or certificate cannot make this signature.
    #[error(transparent)]
    Sign(#[from] SignError),
}

impl From<StoreError> for SigningError {
    fn from(e: StoreError) -> Self {
        SigningError::Op(e.into())
    }
}

/// The format to write.
pub type SignFormat = SignatureFormat;

/// What to sign with.
pub struct SignRequest<'a> {
    /// The format.
    pub format: SignFormat,
    /// The private key.
    pub key: &'a PrivateKey,
    /// The certificate chain, leaf first (notation).
    pub chain: &'a [X509],
    /// Now, seconds since the epoch (signing time, creation annotations).
    pub now: i64,
}

/// What signing wrote.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignOutcome {
    /// The version signed.
    pub reference: String,
    /// The digest signed.
    pub digest: Digest,
    /// The format.
    pub format: SignFormat,
    /// The manifest holding the signature.
    pub signature_manifest: Digest,
    /// The tag written: the `.sig` tag, or the fallback index tag (none where the store has
    /// a Referrers API).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The signing key's fingerprint.
    pub key: String,
    /// False when the very same signature was already there.
    pub added: bool,
}

/// Signs the version `pack_ref` names in `store`.
pub async fn sign(
    store: &dyn Store,
    pack_ref: &PackRef,
    req: &SignRequest<'_>,
) -> Result<SignOutcome, SigningError> {
    let repo = pack_ref.repository();
    let (reference, raw) = resolve_ref(store, pack_ref).await?;
    let _lock = store.lock(&repo).await?;
    let docker_reference = format!("{}/{repo}", store.location());
    let key = req.key.public_key()?.fingerprint().to_string();
    let (signature_manifest, tag, added) = match req.format {
        SignatureFormat::Cosign => sign_cosign(store, &repo, &raw, &docker_reference, req).await?,
        SignatureFormat::Bundle => {
            let bytes = bundle::make(req.key, &docker_reference, &raw.digest)?;
            let title = format!("sha256-{}.sigstore.json", Digest::of(&bytes).hex());
            let annotations = BTreeMap::from([
                (
                    bundle::CONTENT_ANNOTATION.to_string(),
                    "dsse-envelope".to_string(),
                ),
                (
                    bundle::PREDICATE_ANNOTATION.to_string(),
                    bundle::SIGN_PREDICATE_TYPE.to_string(),
                ),
                (
                    ANNOTATION_CREATED.to_string(),
                    notation::format_time(req.now),
                ),
            ]);
            let layer = Layer {
                media_type: bundle::BUNDLE_MEDIA_TYPE,
                bytes,
                title: Some(title),
            };
            attach_referrer(
                store,
                &repo,
                &raw,
                bundle::BUNDLE_MEDIA_TYPE,
                layer,
                annotations,
            )
            .await?
        }
        SignatureFormat::Notation => {
            if req.chain.is_empty() {
                return Err(SignError::BadCertificate {
                    message: "notation signatures need the signing key's certificate chain".into(),
                }
                .into());
            }
            let target = Descriptor::new(
                raw.media_type.clone(),
                raw.digest.clone(),
                raw.bytes.len() as u64,
            );
            let time = notation::format_time(req.now);
            let bytes = notation::make(req.key, req.chain, &target, &time)?;
            let annotations = BTreeMap::from([
                (
                    notation::THUMBPRINT_ANNOTATION.to_string(),
                    notation::thumbprints(req.chain),
                ),
                (ANNOTATION_CREATED.to_string(), time),
            ]);
            let layer = Layer {
                media_type: notation::JWS_MEDIA_TYPE,
                bytes,
                title: None,
            };
            attach_referrer(
                store,
                &repo,
                &raw,
                notation::ARTIFACT_TYPE,
                layer,
                annotations,
            )
            .await?
        }
    };
    Ok(SignOutcome {
        reference: store.reference(&repo, &reference),
        digest: raw.digest,
        format: req.format,
        signature_manifest,
        tag,
        key,
        added,
    })
}

async fn put_bytes(store: &dyn Store, repo: &str, bytes: &[u8]) -> Result<Digest, StoreError> {
    let digest = Digest::of(bytes);
    if !store.has_blob(repo, &digest).await? {
        let reader: crate::store::BlobReader = Box::pin(std::io::Cursor::new(bytes.to_vec()));
        store
            .put_blob(repo, &digest, bytes.len() as u64, reader)
            .await?;
    }
    Ok(digest)
}

/// Adds a layer to the `.sig` manifest (made when there is none).
async fn sign_cosign(
    store: &dyn Store,
    repo: &str,
    raw: &RawManifest,
    docker_reference: &str,
    req: &SignRequest<'_>,
) -> Result<(Digest, Option<String>, bool), SigningError> {
    use base64::Engine as _;
    let tag = cosign::signature_tag(&raw.digest);
    let payload = cosign::payload(docker_reference, &raw.digest);
    let signature = base64::engine::general_purpose::STANDARD.encode(req.key.sign(&payload)?);
    let existing = match manifest_if_any(store, repo, &tag).await? {
        Some(raw) => Some((
            serde_json::from_slice::<Manifest>(&raw.bytes).map_err(|e| StoreError::Corrupt {
                location: store.reference(repo, &tag),
                message: format!(
                    "the existing .sig manifest does not parse, so it is not replaced: {e}"
                ),
            })?,
            raw.digest,
        )),
        None => None,
    };
    let Some((manifest, config)) = cosign::add_layer(
        existing.as_ref().map(|(m, _)| m),
        cosign::layer(&payload, &signature),
    ) else {
        let digest = existing.map(|(_, d)| d).unwrap_or_else(|| Digest::of(b""));
        return Ok((digest, Some(tag), false));
    };
    put_bytes(store, repo, &payload).await?;
    put_bytes(store, repo, &config).await?;
    let bytes = manifest.to_bytes();
    let digest = store
        .put_manifest(repo, Some(&tag), &bytes, MEDIA_TYPE_MANIFEST)
        .await?;
    Ok((digest, Some(tag), true))
}

struct Layer {
    media_type: &'static str,
    bytes: Vec<u8>,
    title: Option<String>,
}

/// Stores a referrer of `raw` holding `layer`, and lists it in the fallback index where the
/// store has no Referrers API.
async fn attach_referrer(
    store: &dyn Store,
    repo: &str,
    raw: &RawManifest,
    artifact_type: &str,
    layer: Layer,
    annotations: BTreeMap<String, String>,
) -> Result<(Digest, Option<String>, bool), SigningError> {
    put_bytes(store, repo, EMPTY_JSON).await?;
    let layer_digest = put_bytes(store, repo, &layer.bytes).await?;
    let mut layer_desc = Descriptor::new(layer.media_type, layer_digest, layer.bytes.len() as u64);
    if let Some(title) = layer.title {
        layer_desc
            .annotations
            .insert(ANNOTATION_TITLE.into(), title);
    }
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_MANIFEST.into()),
        artifact_type: Some(artifact_type.into()),
        config: Descriptor::new(
            MEDIA_TYPE_EMPTY,
            Digest::of(EMPTY_JSON),
            EMPTY_JSON.len() as u64,
        ),
        layers: vec![layer_desc],
        subject: Some(Descriptor::new(
            raw.media_type.clone(),
            raw.digest.clone(),
            raw.bytes.len() as u64,
        )),
        annotations: annotations.clone(),
        extra: Default::default(),
    };
    let bytes = manifest.to_bytes();
    let digest = store
        .put_manifest(repo, None, &bytes, MEDIA_TYPE_MANIFEST)
        .await?;
    if store.referrers(repo, &raw.digest).await?.is_some() {
        return Ok((digest, None, true));
    }
    let mut entry = Descriptor::new(MEDIA_TYPE_MANIFEST, digest.clone(), bytes.len() as u64);
    entry.artifact_type = Some(artifact_type.into());
    entry.annotations = annotations;
    let tag = add_to_fallback_index(store, repo, &raw.digest, entry).await?;
    Ok((digest, Some(tag), true))
}

/// Adds `entry` to the `sha256-<hex>` index of `subject`: the existing entries kept, an
/// index that does not parse left alone (an error), a new index where there is none.
pub(crate) async fn add_to_fallback_index(
    store: &dyn Store,
    repo: &str,
    subject: &Digest,
    entry: Descriptor,
) -> Result<String, OpError> {
    let tag = referrers_tag(subject);
    let mut index = match manifest_if_any(store, repo, &tag).await? {
        Some(existing) => {
            serde_json::from_slice::<Index>(&existing.bytes).map_err(|e| StoreError::Corrupt {
                location: store.reference(repo, &tag),
                message: format!("the referrers index does not parse, so it is not replaced: {e}"),
            })?
        }
        None => Index {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_INDEX.into()),
            ..Index::default()
        },
    };
    if index.manifests.iter().any(|d| d.digest == entry.digest) {
        return Ok(tag);
    }
    index.manifests.push(entry);
    let bytes = serde_json::to_vec(&index).map_err(|e| StoreError::Corrupt {
        location: store.reference(repo, &tag),
        message: e.to_string(),
    })?;
    store
        .put_manifest(repo, Some(&tag), &bytes, MEDIA_TYPE_INDEX)
        .await?;
    Ok(tag)
}
