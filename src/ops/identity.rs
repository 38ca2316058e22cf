//! A stored pack's identity (see [`content_identity`]): its format, config and, per layer, the
//! title and the digest of the uncompressed content. packreg records the uncompressed digest of
//! every tar layer it writes; for a tarball another tool pushed (a Palette tarball `oras push`ed
//! by hand), the layer is downloaded and its decompressed bytes hashed, streamed and bounded by
//! the unpacking limits, so a re-push of the same files is not taken for different content
//! because the gzip bytes differ.

use std::io::{self, BufRead, BufReader, Read};

use tokio_util::io::SyncIoBridge;

use super::OpError;
use crate::artifact::content_identity;
use crate::artifact::media::ANNOTATION_TAR_DIGEST;
use crate::digest::{Digest, Hasher, VerifyingReader};
use crate::limits::UnpackLimits;
use crate::oci::{Descriptor, Manifest, ANNOTATION_CONTENT_DIGEST};
use crate::store::Store;

/// See [`content_identity`].
pub type Identity = (String, std::collections::BTreeSet<(String, String)>);

/// Stands for a layer's uncompressed digest while it is unknown.
const UNKNOWN: &str = "?";

/// Whether the artifact `stored` (in `repo`) holds the content whose identity is `wanted`.
/// Layers whose uncompressed digest the manifest lacks are downloaded only when everything
/// else (format, config, layer titles) already matches.
pub async fn holds_identity(
    store: &dyn Store,
    repo: &str,
    stored: &Manifest,
    wanted: &Identity,
) -> Result<bool, OpError> {
    if let Some(identity) = content_identity(stored) {
        return Ok(&identity == wanted);
    }
    let unknown: Vec<usize> = (0..stored.layers.len())
        .filter(|&i| content_annotation(&stored.layers[i]).is_none())
        .collect();
    let mut completed = stored.clone();
    for &i in &unknown {
        completed.layers[i]
            .annotations
            .insert(ANNOTATION_TAR_DIGEST.into(), UNKNOWN.into());
    }
    let Some((config, layers)) = content_identity(&completed) else {
        return Ok(false);
    };
    let titles = |layers: &std::collections::BTreeSet<(String, String)>| {
        layers.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>()
    };
    if config != wanted.0 || titles(&layers) != titles(&wanted.1) {
        return Ok(false);
    }
    for i in unknown {
        let layer = &stored.layers[i];
        let Some(digest) = uncompressed_digest(store, repo, layer).await? else {
            return Ok(false);
        };
        completed.layers[i]
            .annotations
            .insert(ANNOTATION_TAR_DIGEST.into(), digest.to_string());
    }
    Ok(content_identity(&completed).is_some_and(|identity| &identity == wanted))
}

fn content_annotation(layer: &Descriptor) -> Option<&String> {
    layer
        .annotations
        .get(ANNOTATION_CONTENT_DIGEST)
        .or_else(|| layer.annotations.get(ANNOTATION_TAR_DIGEST))
}

/// The digest of `layer`'s bytes after gunzip (as they are when not gzip); None when the
/// blob does not match its descriptor or unpacks past the limits (then it is not the same
/// content as anything packreg would push).
async fn uncompressed_digest(
    store: &dyn Store,
    repo: &str,
    layer: &Descriptor,
) -> Result<Option<Digest>, OpError> {
    let blob = store.get_blob(repo, &layer.digest).await?;
    let (digest, size) = (layer.digest.clone(), layer.size);
    let cap = UnpackLimits::in_force().unpacked_cap(Some(size));
    let hashed = tokio::task::spawn_blocking(move || {
        let verified = VerifyingReader::new(SyncIoBridge::new(blob), digest, size);
        hash_uncompressed(verified, cap)
    })
    .await?;
    match hashed {
        Ok(digest) => Ok(Some(digest)),
        Err(e) => {
            tracing::warn!("layer {}: {e}; counted as different content", layer.digest);
            Ok(None)
        }
    }
}

/// Hashes what `reader` holds after gunzip (every gzip member), failing past `cap` bytes.
fn hash_uncompressed(reader: impl Read, cap: u64) -> io::Result<Digest> {
    let mut buffered = BufReader::with_capacity(1 << 16, reader);
    let gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let source: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    let mut limited = source.take(cap.saturating_add(1));
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match limited.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        if hasher.len() > cap {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unpacks to more than {cap} bytes"),
            ));
        }
    }
    // The rest of the blob (past the end of the gzip stream) is read so that it is verified.
    let mut rest = limited.into_inner();
    io::copy(&mut rest, &mut io::sink())?;
    Ok(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_uncompressed_digest_is_the_same_for_any_gzip_of_the_same_bytes() {
        let tar = crate::archive::write_tar(
            Vec::new(),
            &[crate::archive::TarEntry {
                name: "a.txt".into(),
                kind: crate::archive::TarEntryKind::Bytes(b"hello\n".repeat(1000)),
            }],
        )
        .unwrap();
        let ours = crate::archive::write_tar_gz(
            Vec::new(),
            &[crate::archive::TarEntry {
                name: "a.txt".into(),
                kind: crate::archive::TarEntryKind::Bytes(b"hello\n".repeat(1000)),
            }],
        )
        .unwrap();
        // Two members, as BGZF or `cat a.gz b.gz` give.
        let mut other = Vec::new();
        for half in tar.chunks(tar.len() / 2 + 1) {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(half).unwrap();
            other.extend(gz.finish().unwrap());
        }
        let want = Digest::of(&tar);
        for bytes in [&ours, &other, &tar] {
            assert_eq!(hash_uncompressed(bytes.as_slice(), 1 << 20).unwrap(), want);
        }
    }

    #[test]
    fn a_layer_unpacking_past_the_cap_has_no_digest() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[0u8; 100_001]).unwrap();
        let bomb = gz.finish().unwrap();
        assert!(hash_uncompressed(bomb.as_slice(), 100_001).is_ok());
        let err = hash_uncompressed(bomb.as_slice(), 100_000).unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
    }
}
