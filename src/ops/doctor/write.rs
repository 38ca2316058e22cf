//! The probes of `packreg doctor --write`: uploads (whole and chunked), a mount, the native and
//! Palette manifests, the largest manifest, tag and manifest deletes, in two scratch
//! repositories named `packreg-doctor-…` outside `spectro-packs/archive/`, recorded first
//! (`scratch.rs`) so a stopped run's are cleaned.

use super::findings::{Check, Findings};
use super::scratch::{clean_left_scratch, remember};
use crate::digest::Digest;
use crate::oci::{EMPTY_JSON, MEDIA_TYPE_EMPTY, MEDIA_TYPE_MANIFEST};
use crate::ops::Remedy;
use crate::store::remote::probe::{Probe, RemoteStore, Support};
use crate::store::{Store, StoreError};

/// Media type of the manifests the write probes push.
const PROBE_MANIFEST: &str = MEDIA_TYPE_MANIFEST;

struct Scratch {
    a: String,
    b: String,
}

fn manifest(
    config_type: &str,
    layer_type: &str,
    layer: &Digest,
    size: usize,
    note: &str,
) -> Vec<u8> {
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": PROBE_MANIFEST,
        "config": {"mediaType": config_type, "digest": Digest::of(EMPTY_JSON).to_string(), "size": 2},
        "layers": [{"mediaType": layer_type, "digest": layer.to_string(), "size": size,
                    "annotations": {"org.opencontainers.image.title": "doctor.txt"}}],
        "annotations": {"io.packreg.doctor": note}
    })
    .to_string()
    .into_bytes()
}

/// Runs the write probes.
pub(super) async fn probe(
    p: &mut Probe<'_>,
    f: &mut Findings,
    store: &RemoteStore,
) -> Result<(), StoreError> {
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default()
    );
    let scratch = Scratch {
        a: format!("packreg-doctor-{nonce}-a"),
        b: format!("packreg-doctor-{nonce}-b"),
    };
    let left = clean_left_scratch(store).await;
    if !left.repositories.is_empty() {
        f.note(
            Check::LeftScratch,
            format!(
                "{} manifest(s) removed from {}",
                left.removed,
                left.repositories.join(", ")
            ),
            left.kept.is_empty(),
            if left.kept.is_empty() {
                "none needed"
            } else {
                "some manifests stay: the registry refused to delete them"
            },
        );
    }
    // Recorded before the first write: if this run is stopped, what it wrote is found again.
    let recorded = remember(store, &nonce, &[&scratch.a, &scratch.b]);
    write_probes(p, f, store, &scratch, &nonce).await?;
    if let Some(recorded) = recorded {
        recorded.done();
    }
    Ok(())
}

/// The probes proper, in `scratch`.
async fn write_probes(
    p: &mut Probe<'_>,
    f: &mut Findings,
    store: &RemoteStore,
    scratch: &Scratch,
    nonce: &str,
) -> Result<(), StoreError> {
    let content = format!("packreg's doctor probe {nonce}\n").into_bytes();
    let digest = Digest::of(&content);

    let status = p.upload_whole(&scratch.a, &content).await?;
    let whole = status == 201;
    f.note(
        Check::BlobUpload,
        format!("HTTP {status}"),
        whole,
        if whole {
            "blobs under the chunk size go up in one PUT"
        } else {
            "pushes will fail: check the account's push rights and that the repository may be created"
        },
    );
    if !whole {
        return Ok(());
    }
    chunked(p, f, &scratch.a, nonce).await?;
    mount(p, f, store, scratch, &digest).await?;
    // The config blob of the probe manifests.
    p.upload_whole(&scratch.a, EMPTY_JSON).await?;
    let native = manifest(
        MEDIA_TYPE_EMPTY,
        "application/vnd.oci.image.layer.v1.tar",
        &digest,
        content.len(),
        "native",
    );
    let mut native_value: serde_json::Value = serde_json::from_slice(&native).unwrap_or_default();
    native_value["artifactType"] = "application/vnd.packreg.pack.v1".into();
    let native = native_value.to_string().into_bytes();
    let status = p
        .put_manifest(&scratch.a, "native", &native, PROBE_MANIFEST)
        .await?;
    let check = Check::NativeManifest;
    if status == 201 {
        f.note(check, format!("HTTP {status}"), true, "native pushes work");
    } else {
        f.note_remedy(
            check,
            format!("HTTP {status}"),
            false,
            Remedy::PushPaletteFormat,
        );
    }
    let palette = manifest(
        "application/vnd.unknown.config.v1+json",
        "application/vnd.oci.image.layer.v1.tar",
        &digest,
        content.len(),
        "palette",
    );
    let status = p
        .put_manifest(&scratch.a, "palette", &palette, PROBE_MANIFEST)
        .await?;
    f.note(
        Check::PaletteManifest,
        format!("HTTP {status}"),
        status == 201,
        "the format Palette reads",
    );
    largest_manifest(p, f, &scratch.a, &digest, content.len()).await?;
    deletes(
        p,
        f,
        &scratch.a,
        &Digest::of(&native),
        &Digest::of(&palette),
    )
    .await?;
    f.note(
        Check::ScratchRepositories,
        format!(
            "{} and {}",
            store.full_name(&scratch.a),
            store.full_name(&scratch.b)
        ),
        true,
        "their manifests were deleted where the registry allows; registries do not delete repositories",
    );
    Ok(())
}

async fn chunked(
    p: &mut Probe<'_>,
    f: &mut Findings,
    repo: &str,
    nonce: &str,
) -> Result<(), StoreError> {
    let content =
        format!("packreg's doctor probe of chunked uploads {nonce}, in two parts\n").into_bytes();
    let Some(upload) = p.upload_chunked(repo, &content).await? else {
        return Ok(());
    };
    let status = upload.status;
    let min = upload
        .min_chunk
        .map(|m| format!(", OCI-Chunk-Min-Length {m}"))
        .unwrap_or_default();
    let ok = status == 201;
    f.note(
        Check::ChunkedUpload,
        format!("HTTP {status}{min}"),
        ok,
        if ok {
            "large blobs go up in resumable chunks"
        } else {
            "large blobs go up whole (not resumable)"
        },
    );
    Ok(())
}

async fn mount(
    p: &mut Probe<'_>,
    f: &mut Findings,
    store: &RemoteStore,
    scratch: &Scratch,
    digest: &Digest,
) -> Result<(), StoreError> {
    let status = p
        .mount(&scratch.b, &store.full_name(&scratch.a), digest)
        .await?;
    let (result, action) = match status {
        201 => (
            "mounted (201)",
            "blobs shared between packs are mounted, not uploaded",
        ),
        202 => (
            "not mounted, upload session instead (202)",
            "packreg uploads instead",
        ),
        _ => ("refused", "packreg uploads instead"),
    };
    f.note(
        Check::CrossRepositoryMount,
        format!("{result}, HTTP {status}"),
        status == 201,
        action,
    );
    Ok(())
}

async fn largest_manifest(
    p: &mut Probe<'_>,
    f: &mut Findings,
    repo: &str,
    layer: &Digest,
    size: usize,
) -> Result<(), StoreError> {
    let mut accepted = None;
    for target in [4 * 1024 * 1024 - 8 * 1024, 1024 * 1024, 256 * 1024] {
        let bytes = manifest(
            MEDIA_TYPE_EMPTY,
            "application/vnd.oci.image.layer.v1.tar",
            layer,
            size,
            &"x".repeat(target),
        );
        let status = p
            .put_manifest(repo, "large", &bytes, PROBE_MANIFEST)
            .await?;
        if status == 201 {
            accepted = Some(bytes.len());
            p.delete_manifest(repo, Digest::of(&bytes).as_str()).await?;
            break;
        }
    }
    let result = match accepted {
        Some(n) => format!("{} KiB accepted", n / 1024),
        None => "256 KiB refused".into(),
    };
    f.note(
        Check::LargestManifest,
        result,
        accepted.is_some(),
        "pack manifests are a few KiB; packreg reads at most 4 MiB",
    );
    Ok(())
}

async fn deletes(
    p: &mut Probe<'_>,
    f: &mut Findings,
    repo: &str,
    native: &Digest,
    palette: &Digest,
) -> Result<(), StoreError> {
    let tag = p.delete_manifest(repo, "palette").await?;
    let (result, action) = match tag {
        200..=299 => ("allowed".to_string(), "`tag rm` deletes the tag"),
        405 => (
            "disabled (405)".to_string(),
            "`rm` and `tag rm` fail: deletes are disabled",
        ),
        s => (
            format!("by digest only (HTTP {s})"),
            "`tag rm` points the tag at a throwaway manifest and deletes that",
        ),
    };
    f.note(Check::TagDelete, result, (200..300).contains(&tag), action);
    let by_digest = p.delete_manifest(repo, native.as_str()).await?;
    let ok = (200..300).contains(&by_digest);
    p.learn(|c| c.deletes = Support::known(ok));
    f.note(
        Check::ManifestDelete,
        format!("HTTP {by_digest}"),
        ok,
        if ok {
            "`rm` works"
        } else {
            "`rm` fails: enable deletes (CNCF distribution: storage.delete.enabled)"
        },
    );
    if ok && !(200..300).contains(&tag) {
        p.delete_manifest(repo, palette.as_str()).await?;
    }
    Ok(())
}
