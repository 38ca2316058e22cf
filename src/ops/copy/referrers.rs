//! The referrers of copied manifests: through the Referrers API where the source has one, else
//! its `sha256-<hex>` fallback index; cosign's `.sig`, `.att` and `.sbom` tags, which are tags
//! and not referrers; and the destination's fallback index kept up to date where it has no API.

use std::collections::BTreeSet;

use super::{CopyStats, GraphCopier};
use crate::digest::Digest;
use crate::oci::{Descriptor, Index, MEDIA_TYPE_INDEX};
use crate::ops::OpError;
use crate::store::StoreError;
use crate::tag_grammar::{referrers_tag, COSIGN_SUFFIXES};

impl GraphCopier<'_> {
    /// Copies what refers to each of `subjects` at the source. `source_tags` are the source
    /// repository's tags when the caller listed them; else they are listed here (they say
    /// which fallback and cosign tags exist). Returns whether anything was written.
    pub async fn copy_referrers(
        &self,
        subjects: &BTreeSet<Digest>,
        source_tags: Option<&BTreeSet<String>>,
        stats: &mut CopyStats,
    ) -> Result<bool, OpError> {
        let listed;
        let tags = match source_tags {
            Some(tags) => tags,
            None => {
                listed = self.source_tags().await?;
                &listed
            }
        };
        let mut wrote = false;
        for subject in subjects {
            wrote |= self.copy_referrers_of(subject, tags, stats).await?;
            wrote |= self.copy_cosign_tags(subject, tags, stats).await?;
        }
        Ok(wrote)
    }

    async fn source_tags(&self) -> Result<BTreeSet<String>, OpError> {
        match self.src.store.tags(self.src.repo).await {
            Ok(tags) => Ok(tags.into_iter().collect()),
            Err(e) if e.is_not_found() => Ok(BTreeSet::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// The referrers of `subject` (Referrers API, else the fallback index), each copied unless
    /// the destination has it, then listed in the destination's fallback index where it has
    /// no API.
    async fn copy_referrers_of(
        &self,
        subject: &Digest,
        tags: &BTreeSet<String>,
        stats: &mut CopyStats,
    ) -> Result<bool, OpError> {
        let (src, dst) = (&self.src, &self.dst);
        let fallback_tag = referrers_tag(subject);
        let referrers = match src.store.referrers(src.repo, subject).await? {
            Some(list) => list,
            None if !tags.contains(&fallback_tag) => Vec::new(),
            None => match src.store.get_manifest(src.repo, &fallback_tag).await {
                Ok(raw) => serde_json::from_slice::<Index>(&raw.bytes)
                    .map(|i| i.manifests)
                    .unwrap_or_default(),
                Err(e) if e.is_not_found() => Vec::new(),
                Err(e) => return Err(e.into()),
            },
        };
        if referrers.is_empty() {
            return Ok(false);
        }
        let mut wrote = false;
        for referrer in &referrers {
            if self.copy_missing(&referrer.digest, stats).await? {
                stats.referrers_copied += 1;
                wrote = true;
            }
        }
        if dst.store.referrers(dst.repo, subject).await?.is_some() {
            // The destination indexes referrers itself.
            return Ok(wrote);
        }
        Ok(self
            .update_fallback_index(&fallback_tag, &referrers)
            .await?
            || wrote)
    }

    /// Makes the destination's `sha256-<hex>` index list `referrers`: the source's index bytes
    /// when the destination has none, else its own index with the missing entries added.
    /// Returns whether it was written.
    async fn update_fallback_index(
        &self,
        tag: &str,
        referrers: &[Descriptor],
    ) -> Result<bool, OpError> {
        let (src, dst) = (&self.src, &self.dst);
        let existing = match dst.store.get_manifest(dst.repo, tag).await {
            Ok(raw) => Some(raw),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.into()),
        };
        let Some(existing) = existing else {
            if let Ok(raw) = src.store.get_manifest(src.repo, tag).await {
                dst.store
                    .put_manifest(dst.repo, Some(tag), &raw.bytes, &raw.media_type)
                    .await?;
                return Ok(true);
            }
            let index = Index {
                schema_version: 2,
                media_type: Some(MEDIA_TYPE_INDEX.into()),
                manifests: referrers.to_vec(),
                ..Index::default()
            };
            let bytes = serde_json::to_vec(&index).unwrap_or_default();
            dst.store
                .put_manifest(dst.repo, Some(tag), &bytes, MEDIA_TYPE_INDEX)
                .await?;
            return Ok(true);
        };
        let mut index: Index =
            serde_json::from_slice(&existing.bytes).map_err(|e| StoreError::Corrupt {
                location: dst.store.reference(dst.repo, tag),
                message: format!("referrers index does not parse: {e}"),
            })?;
        let before = index.manifests.len();
        for referrer in referrers {
            if !index.manifests.iter().any(|d| d.digest == referrer.digest) {
                index.manifests.push(referrer.clone());
            }
        }
        if index.manifests.len() == before {
            return Ok(false);
        }
        let bytes = serde_json::to_vec(&index).unwrap_or_default();
        dst.store
            .put_manifest(dst.repo, Some(tag), &bytes, MEDIA_TYPE_INDEX)
            .await?;
        Ok(true)
    }

    /// Copies cosign's signature, attestation and SBOM tags of `subject` that the source has.
    /// A tag the destination points elsewhere moves only with `force`; else it is a conflict.
    async fn copy_cosign_tags(
        &self,
        subject: &Digest,
        tags: &BTreeSet<String>,
        stats: &mut CopyStats,
    ) -> Result<bool, OpError> {
        let (src, dst) = (&self.src, &self.dst);
        let base = referrers_tag(subject);
        let mut wrote = false;
        for suffix in COSIGN_SUFFIXES {
            let tag = format!("{base}{suffix}");
            if !tags.contains(&tag) {
                continue;
            }
            let raw = src.store.get_manifest(src.repo, &tag).await?;
            match dst.store.resolve(dst.repo, &tag).await? {
                Some(d) if d == raw.digest => continue,
                Some(d) if !self.opts.force => {
                    stats.conflicts.push((tag, d, raw.digest.clone()));
                    continue;
                }
                _ => {}
            }
            let exists = self.dst_has(&raw.digest).await?;
            self.put_graph(&raw, Some(&tag), exists, stats).await?;
            stats.referrers_copied += 1;
            wrote = true;
        }
        Ok(wrote)
    }
}
