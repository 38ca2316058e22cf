//! The probes of `packreg doctor --write`: uploads (whole and chunked), a mount, the native and
//! Palette manifests, the largest manifest, tag and manifest deletes, in two scratch
//! repositories named `packreg-doctor-…` outside `spectro-packs/archive/`.

use http::Method;

use super::doctor::{WriteProbe, PROBE_MANIFEST};
use crate::digest::Digest;
use crate::oci::{EMPTY_JSON, MEDIA_TYPE_EMPTY};
use crate::store::remote::{Body, Request, Response};
use crate::store::StoreError;

struct Scratch {
    a: String,
    b: String,
}

fn with_digest(location: &str, digest: &Digest) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}

async fn open_session(
    w: &mut WriteProbe<'_, '_>,
    repo: &str,
) -> Result<Option<(String, Response)>, StoreError> {
    let resp = w
        .send(Request::new(Method::POST, w.url(repo, "blobs/uploads/")).scope(w.push_scope(repo)))
        .await?;
    if resp.status.as_u16() != 202 {
        return Ok(None);
    }
    let Some(location) = resp.header("location").map(str::to_string) else {
        return Ok(None);
    };
    Ok(Some((w.absolute(&location)?, resp)))
}

/// One streamed PUT; the status it got.
async fn upload_whole(
    w: &mut WriteProbe<'_, '_>,
    repo: &str,
    content: &[u8],
) -> Result<u16, StoreError> {
    let Some((location, _)) = open_session(w, repo).await? else {
        return Ok(0);
    };
    let digest = Digest::of(content);
    let resp = w
        .send(
            Request::new(Method::PUT, with_digest(&location, &digest))
                .header("content-type", "application/octet-stream")
                .body(Body::Bytes(content.to_vec().into()))
                .scope(w.push_scope(repo)),
        )
        .await?;
    Ok(resp.status.as_u16())
}

async fn put_manifest(
    w: &mut WriteProbe<'_, '_>,
    repo: &str,
    tag: &str,
    bytes: &[u8],
) -> Result<u16, StoreError> {
    let resp = w
        .send(
            Request::new(Method::PUT, w.url(repo, &format!("manifests/{tag}")))
                .header("content-type", PROBE_MANIFEST)
                .body(Body::Bytes(bytes.to_vec().into()))
                .scope(w.push_scope(repo)),
        )
        .await?;
    Ok(resp.status.as_u16())
}

async fn delete(w: &mut WriteProbe<'_, '_>, repo: &str, rest: &str) -> Result<u16, StoreError> {
    let resp = w
        .send(Request::new(Method::DELETE, w.url(repo, rest)).scope(w.delete_scope(repo)))
        .await?;
    Ok(resp.status.as_u16())
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
pub(crate) async fn probe(w: &mut WriteProbe<'_, '_>) -> Result<(), StoreError> {
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
    let content = format!("packreg doctor {nonce}\n").into_bytes();
    let digest = Digest::of(&content);

    let status = upload_whole(w, &scratch.a, &content).await?;
    let whole = status == 201;
    w.note(
        "blob upload, one PUT",
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
    chunked(w, &scratch.a, &nonce).await?;
    mount(w, &scratch, &digest).await?;
    // The config blob of the probe manifests.
    upload_whole(w, &scratch.a, EMPTY_JSON).await?;
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
    let status = put_manifest(w, &scratch.a, "native", &native).await?;
    w.note(
        "native pack manifest (artifactType, custom media types)",
        format!("HTTP {status}"),
        status == 201,
        if status == 201 {
            "native pushes work"
        } else {
            "push with --format palette"
        },
    );
    let palette = manifest(
        "application/vnd.unknown.config.v1+json",
        "application/vnd.oci.image.layer.v1.tar",
        &digest,
        content.len(),
        "palette",
    );
    let status = put_manifest(w, &scratch.a, "palette", &palette).await?;
    w.note(
        "Palette-format manifest",
        format!("HTTP {status}"),
        status == 201,
        "the format Palette reads",
    );
    largest_manifest(w, &scratch.a, &digest, content.len()).await?;
    deletes(w, &scratch.a, &Digest::of(&native), &Digest::of(&palette)).await?;
    w.note(
        "scratch repositories",
        format!("{} and {}", w.full_name(&scratch.a), w.full_name(&scratch.b)),
        true,
        "their manifests were deleted where the registry allows; registries do not delete repositories",
    );
    Ok(())
}

async fn chunked(w: &mut WriteProbe<'_, '_>, repo: &str, nonce: &str) -> Result<(), StoreError> {
    let content = format!("packreg doctor chunked upload {nonce}, in two parts\n").into_bytes();
    let half = content.len() / 2;
    let Some((mut location, start)) = open_session(w, repo).await? else {
        return Ok(());
    };
    let min = start
        .header("oci-chunk-min-length")
        .map(|m| format!(", OCI-Chunk-Min-Length {m}"))
        .unwrap_or_default();
    let mut status = 0;
    for (from, part) in [(0, &content[..half]), (half, &content[half..])] {
        let resp = w
            .send(
                Request::new(Method::PATCH, location.clone())
                    .header("content-type", "application/octet-stream")
                    .header(
                        "content-range",
                        &format!("{from}-{}", from + part.len() - 1),
                    )
                    .body(Body::Bytes(part.to_vec().into()))
                    .scope(w.push_scope(repo)),
            )
            .await?;
        status = resp.status.as_u16();
        if status != 202 {
            break;
        }
        if let Some(next) = resp.header("location") {
            location = w.absolute(next)?;
        }
    }
    if status == 202 {
        let resp = w
            .send(
                Request::new(Method::PUT, with_digest(&location, &Digest::of(&content)))
                    .scope(w.push_scope(repo)),
            )
            .await?;
        status = resp.status.as_u16();
    }
    let ok = status == 201;
    w.learn(|c| c.chunked_uploads = Some(ok));
    w.note(
        "chunked upload (PATCH with Content-Range)",
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
    w: &mut WriteProbe<'_, '_>,
    scratch: &Scratch,
    digest: &Digest,
) -> Result<(), StoreError> {
    let mut url = url::Url::parse(&w.url(&scratch.b, "blobs/uploads/"))
        .map_err(|e| StoreError::Config(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("mount", digest.as_str())
        .append_pair("from", &w.full_name(&scratch.a));
    let resp = w
        .send(
            Request::new(Method::POST, url.to_string())
                .scope(w.push_scope(&scratch.b))
                .scope(w.pull_scope(&scratch.a)),
        )
        .await?;
    let status = resp.status.as_u16();
    if status == 202 {
        if let Some(location) = resp.header("location") {
            let location = w.absolute(location)?;
            w.send(Request::new(Method::DELETE, location).scope(w.push_scope(&scratch.b)))
                .await?;
        }
    }
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
    w.note(
        "cross-repository mount",
        format!("{result}, HTTP {status}"),
        status == 201,
        action,
    );
    Ok(())
}

async fn largest_manifest(
    w: &mut WriteProbe<'_, '_>,
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
        let status = put_manifest(w, repo, "large", &bytes).await?;
        if status == 201 {
            accepted = Some(bytes.len());
            delete(w, repo, &format!("manifests/{}", Digest::of(&bytes))).await?;
            break;
        }
    }
    let result = match accepted {
        Some(n) => format!("{} KiB accepted", n / 1024),
        None => "256 KiB refused".into(),
    };
    w.note(
        "largest manifest (up to 4 MiB)",
        result,
        accepted.is_some(),
        "pack manifests are a few KiB; packreg reads at most 4 MiB",
    );
    Ok(())
}

async fn deletes(
    w: &mut WriteProbe<'_, '_>,
    repo: &str,
    native: &Digest,
    palette: &Digest,
) -> Result<(), StoreError> {
    let tag = delete(w, repo, "manifests/palette").await?;
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
    w.note("tag DELETE", result, (200..300).contains(&tag), action);
    let by_digest = delete(w, repo, &format!("manifests/{native}")).await?;
    let ok = (200..300).contains(&by_digest);
    w.learn(|c| c.deletes = Some(ok));
    w.note(
        "manifest DELETE by digest",
        format!("HTTP {by_digest}"),
        ok,
        if ok {
            "`rm` works"
        } else {
            "`rm` fails: enable deletes (CNCF distribution: storage.delete.enabled)"
        },
    );
    if ok && !(200..300).contains(&tag) {
        delete(w, repo, &format!("manifests/{palette}")).await?;
    }
    Ok(())
}
