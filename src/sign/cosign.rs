//! cosign's key-based signatures (sigstore/cosign `specs/SIGNATURE_SPEC.md`): an image
//! manifest tagged `sha256-<hex>.sig` beside the signed manifest, one layer per signature,
//! each a simple-signing payload with the base64 signature in an annotation.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::digest::Digest;
use crate::oci::{Descriptor, Manifest, MEDIA_TYPE_MANIFEST};

/// The media type of a simple-signing payload layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation holding the base64 signature over the payload bytes.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// `critical.type` of a container image signature.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";
/// The config media type of cosign's signature manifests.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// The tag suffix of the signature manifest.
pub const TAG_SUFFIX: &str = ".sig";

/// The `sha256-<hex>.sig` tag of `subject`'s signatures.
pub fn signature_tag(subject: &Digest) -> String {
    format!("{}{TAG_SUFFIX}", crate::tag_grammar::referrers_tag(subject))
}

/// The simple-signing payload for `digest`, named as `docker_reference`.
pub fn payload(docker_reference: &str, digest: &Digest) -> Vec<u8> {
    let doc = json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest.as_str()},
            "type": SIGNATURE_TYPE,
        },
        "optional": null,
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// What a simple-signing payload claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// `critical.identity.docker-reference`: reported, not required to match (signatures
    /// survive mirroring).
    pub docker_reference: String,
    /// `critical.image.docker-manifest-digest`, as written.
    pub digest: String,
}

#[derive(Deserialize)]
struct PayloadDoc {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    digest: String,
}

/// Reads a simple-signing payload; the reason when it is not one.
pub fn parse_payload(bytes: &[u8]) -> Result<Claim, String> {
    let doc: PayloadDoc = serde_json::from_slice(bytes)
        .map_err(|e| format!("the payload is not a simple-signing document: {e}"))?;
    if doc.critical.kind != SIGNATURE_TYPE {
        return Err(format!(
            "the payload's critical.type is {:?}, not {SIGNATURE_TYPE:?}",
            doc.critical.kind
        ));
    }
    Ok(Claim {
        docker_reference: doc.critical.identity.docker_reference,
        digest: doc.critical.image.digest,
    })
}

/// The layer descriptor of a payload and its base64 signature.
pub fn layer(payload: &[u8], signature_b64: &str) -> Descriptor {
    let mut desc = Descriptor::new(
        SIMPLE_SIGNING_MEDIA_TYPE,
        Digest::of(payload),
        payload.len() as u64,
    );
    desc.annotations
        .insert(SIGNATURE_ANNOTATION.into(), signature_b64.into());
    desc
}

/// The signature manifest with `new_layer` added to the layers of `existing` (a second
/// signature is a second layer), and the config blob it names. None when `existing` already
/// holds that very layer (same payload, same signature).
pub fn add_layer(
    existing: Option<&Manifest>,
    new_layer: Descriptor,
) -> Option<(Manifest, Vec<u8>)> {
    let mut layers = existing.map(|m| m.layers.clone()).unwrap_or_default();
    if layers.iter().any(|l| {
        l.digest == new_layer.digest
            && l.annotations.get(SIGNATURE_ANNOTATION)
                == new_layer.annotations.get(SIGNATURE_ANNOTATION)
    }) {
        return None;
    }
    layers.push(new_layer);
    let config = config_blob(&layers);
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_MANIFEST.into()),
        artifact_type: None,
        config: Descriptor::new(CONFIG_MEDIA_TYPE, Digest::of(&config), config.len() as u64),
        layers,
        subject: None,
        annotations: existing.map(|m| m.annotations.clone()).unwrap_or_default(),
        extra: Default::default(),
    };
    Some((manifest, config))
}

/// The minimal image config cosign writes for a signature manifest: the layers as diff ids.
fn config_blob(layers: &[Descriptor]) -> Vec<u8> {
    #[derive(Serialize)]
    struct RootFs<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        diff_ids: Vec<&'a str>,
    }
    let rootfs = RootFs {
        kind: "layers",
        diff_ids: layers.iter().map(|l| l.digest.as_str()).collect(),
    };
    let doc = json!({
        "architecture": "",
        "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": rootfs,
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// The signature layers of a `.sig` manifest: (layer, base64 signature), for layers of the
/// simple-signing type; others are ignored as cosign does.
pub fn signature_layers(manifest: &Manifest) -> Vec<(&Descriptor, Option<&str>)> {
    manifest
        .layers
        .iter()
        .filter(|l| l.media_type == SIMPLE_SIGNING_MEDIA_TYPE)
        .map(|l| {
            (
                l,
                l.annotations.get(SIGNATURE_ANNOTATION).map(String::as_str),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_reads_back_its_claim() {
        let d = Digest::of(b"x");
        let claim = parse_payload(&payload("r.example/a", &d)).unwrap();
        assert_eq!(claim.digest, d.as_str());
        assert_eq!(claim.docker_reference, "r.example/a");
    }

    #[test]
    fn a_second_signature_is_a_second_layer_and_the_same_one_is_not_added_twice() {
        let (first, _) = add_layer(None, layer(b"p1", "c2ln")).unwrap();
        let (second, config) = add_layer(Some(&first), layer(b"p2", "c2ln")).unwrap();
        assert_eq!(second.layers.len(), 2);
        assert_eq!(second.config.digest, Digest::of(&config));
        assert!(add_layer(Some(&second), layer(b"p1", "c2ln")).is_none());
    }
}
