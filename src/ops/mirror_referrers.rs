//! Mirror's referrers pass: the referrers of the copied manifests (through the Referrers API
//! where the source has one, else its `sha256-<hex>` fallback tags), and the destination's
//! fallback index kept up to date where it has no API.

use std::collections::BTreeSet;

use super::mirror::{Copier, MirrorSummary};
use super::OpError;
use crate::digest::Digest;
use crate::oci::{Descriptor, Index, MEDIA_TYPE_INDEX};
use crate::store::StoreError;

impl Copier<'_> {
    /// Copies the referrers of the copied manifests (Referrers API where the source has it,
    /// else its `sha256-<hex>` fallback tags) and brings the destination's index up to date.
    pub(super) async fn copy_referrers(
        &self,
        repo: &str,
        subjects: &[Digest],
        fallback_tags: &[&String],
        src_tags: Option<&BTreeSet<&str>>,
        summary: &mut MirrorSummary,
    ) -> Result<(), OpError> {
        let mut wanted: BTreeSet<Digest> = subjects.iter().cloned().collect();
        for tag in fallback_tags {
            if let Ok(digest) = format!("sha256:{}", &tag["sha256-".len()..]).parse::<Digest>() {
                wanted.insert(digest);
            }
        }
        for subject in wanted {
            let fallback_tag = format!("sha256-{}", subject.hex());
            let referrers = match self.src.referrers(repo, &subject).await? {
                Some(list) => list,
                // The source's tag list says whether a fallback index exists.
                None if src_tags.is_some_and(|t| !t.contains(fallback_tag.as_str())) => Vec::new(),
                None => match self.src.get_manifest(repo, &fallback_tag).await {
                    Ok(raw) => serde_json::from_slice::<Index>(&raw.bytes)
                        .map(|i| i.manifests)
                        .unwrap_or_default(),
                    Err(e) if e.is_not_found() => Vec::new(),
                    Err(e) => return Err(e.into()),
                },
            };
            if referrers.is_empty() {
                continue;
            }
            for referrer in &referrers {
                if self
                    .dst
                    .resolve(repo, referrer.digest.as_str())
                    .await?
                    .is_none()
                {
                    self.copy_graph(repo, &referrer.digest, None, summary)
                        .await?;
                    summary.referrers_copied += 1;
                }
            }
            if self.dst.referrers(repo, &subject).await?.is_some() {
                // The destination indexes referrers itself.
                continue;
            }
            self.update_fallback_index(repo, &fallback_tag, &referrers)
                .await?;
        }
        Ok(())
    }

    /// Makes the destination's `sha256-<hex>` index list `referrers`: the source's index bytes
    /// when the destination has none, else its own index with the missing entries added.
    async fn update_fallback_index(
        &self,
        repo: &str,
        tag: &str,
        referrers: &[Descriptor],
    ) -> Result<(), OpError> {
        let existing = match self.dst.get_manifest(repo, tag).await {
            Ok(raw) => Some(raw),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.into()),
        };
        let Some(existing) = existing else {
            if let Ok(raw) = self.src.get_manifest(repo, tag).await {
                self.dst
                    .put_manifest(repo, Some(tag), &raw.bytes, &raw.media_type)
                    .await?;
                return Ok(());
            }
            let index = Index {
                schema_version: 2,
                media_type: Some(MEDIA_TYPE_INDEX.into()),
                manifests: referrers.to_vec(),
                ..Index::default()
            };
            let bytes = serde_json::to_vec(&index).unwrap_or_default();
            self.dst
                .put_manifest(repo, Some(tag), &bytes, MEDIA_TYPE_INDEX)
                .await?;
            return Ok(());
        };
        let mut index: Index =
            serde_json::from_slice(&existing.bytes).map_err(|e| StoreError::Corrupt {
                location: self.dst.reference(repo, tag),
                message: format!("referrers index does not parse: {e}"),
            })?;
        let before = index.manifests.len();
        for referrer in referrers {
            if !index.manifests.iter().any(|d| d.digest == referrer.digest) {
                index.manifests.push(referrer.clone());
            }
        }
        if index.manifests.len() != before {
            let bytes = serde_json::to_vec(&index).unwrap_or_default();
            self.dst
                .put_manifest(repo, Some(tag), &bytes, MEDIA_TYPE_INDEX)
                .await?;
        }
        Ok(())
    }
}
