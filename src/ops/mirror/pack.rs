//! One pack's copy: its tags compared with the destination's, each new or moved tag's graph
//! copied, the referrers of what is there, then the destination's parent tags recomputed.

use std::collections::{BTreeMap, BTreeSet};

use super::options::MirrorOptions;
use super::selection::select_tags;
use super::summary::{LabelLeftOut, MirrorSummary};
use crate::digest::Digest;
use crate::ops::copy::{CopyOptions, CopyStats, GraphCopier, Side};
use crate::ops::index::{entry_from_manifest, format_name, IndexEntry};
use crate::ops::parent_tags::update_parent_tags_held;
use crate::ops::resolve::{digests_of, tag_digests};
use crate::ops::transfer::parse_manifest;
use crate::ops::OpError;
use crate::reference::pack_repository;
use crate::store::{RawManifest, Store};
use crate::tag_grammar::{
    is_parent_tag, is_referrers_tag, is_version_tag, parent_tags, referrer_subject,
};

/// A tag at the destination after a pack's copy.
#[derive(Clone)]
pub(super) struct CopiedTag {
    pub(super) tag: String,
    /// What it points at there (the destination's digest where it was left alone).
    pub(super) digest: Digest,
    /// Its pack index entry and manifest format, when this copy read its manifest.
    pub(super) entry: Option<(IndexEntry, String)>,
}

/// Copies packs from one store to another.
pub(super) struct PackCopier<'a> {
    pub(super) src: &'a dyn Store,
    pub(super) dst: &'a dyn Store,
    pub(super) opts: &'a MirrorOptions,
    /// Whether both stores are one registry, so blobs can be mounted.
    pub(super) same_registry: bool,
    /// Where this run placed (or found) each blob at the destination.
    pub(super) places: std::sync::Arc<crate::ops::copy::BlobPlaces>,
}

impl PackCopier<'_> {
    /// Copies one pack (or one tag of it). Failures of single tags are recorded in `summary`;
    /// an error returned concerns the whole pack. Returns the tags the destination now has,
    /// each with the digest it points at there.
    pub(super) async fn copy_pack(
        &self,
        name: &str,
        only_tag: Option<String>,
        named: bool,
        summary: &mut MirrorSummary,
    ) -> Result<Vec<CopiedTag>, OpError> {
        let repo = pack_repository(name);
        // With every tag listed, the list also tells which referrer fallback tags exist.
        let listed = only_tag.is_none();
        let mut tags = match &only_tag {
            Some(tag) if !self.opts.selects_versions() => vec![tag.clone()],
            _ => self.src.tags(&repo).await?,
        };
        if tags.is_empty() {
            // A pack the source lists may be empty; one asked for by name must exist.
            if named {
                return Err(OpError::NoVersions {
                    name: name.to_string(),
                    location: self.src.location(),
                });
            }
            return Ok(Vec::new());
        }
        // The source digests the selection read, not asked for again.
        let mut src_digests = BTreeMap::new();
        if self.opts.selects_versions() {
            (tags, src_digests) = self
                .select(name, &repo, &tags, only_tag.as_deref(), summary)
                .await?;
            if tags.is_empty() {
                return Ok(Vec::new());
            }
        }
        summary.packs += 1;
        let _lock = self.dst.lock(&repo).await?;
        let copy_opts = CopyOptions {
            concurrency: self.opts.concurrency,
            progress: self.opts.progress.clone(),
            mount_from: self.same_registry.then(|| self.src.full_name(&repo)),
            force: self.opts.force,
            places: Some(self.places.clone()),
        };
        let mut copy = RepoCopy {
            pack: self,
            copier: GraphCopier::new(
                Side {
                    store: self.src,
                    repo: &repo,
                },
                Side {
                    store: self.dst,
                    repo: &repo,
                },
                &copy_opts,
            ),
            name,
            repo: &repo,
            dst_tags: BTreeMap::new(),
            src_digests,
            subjects: BTreeSet::new(),
            stats: CopyStats::default(),
            fresh: false,
            written: BTreeMap::new(),
        };
        let result = copy.copy_repo(&tags, listed, summary).await;
        summary.add_copy(name, copy.stats);
        result
    }

    /// The tags of pack `name` (`listed` in its repository `repo`) the version selection
    /// takes, or `only_tag` of them; records the labels it leaves out, and says so when a
    /// pack named takes nothing.
    async fn select(
        &self,
        name: &str,
        repo: &str,
        listed: &[String],
        only_tag: Option<&str>,
        summary: &mut MirrorSummary,
    ) -> Result<(Vec<String>, BTreeMap<String, Digest>), OpError> {
        if let Some(only) = only_tag.filter(|t| !listed.iter().any(|l| l == t)) {
            // Not there: the copy reports it missing, as without a selection.
            return Ok((vec![only.to_string()], BTreeMap::new()));
        }
        // Parent tags are never copied: not worth a request each.
        let wanted = listed.iter().filter(|t| !is_parent_tag(t)).cloned();
        let digests = digests_of(self.src, repo, wanted.collect()).await?;
        let mut selected = select_tags(&digests, self.opts);
        if let Some(only) = only_tag {
            selected.tags.retain(|t| t == only);
            selected.labels_left_out.retain(|(t, _)| t == only);
        }
        // A pack none of whose versions goes is left out whole, its labels with it.
        if selected.tags.iter().any(|t| is_version_tag(t)) || only_tag.is_some() {
            summary
                .labels_left_out
                .extend(
                    selected
                        .labels_left_out
                        .into_iter()
                        .map(|(label, version)| LabelLeftOut {
                            pack: name.to_string(),
                            label,
                            version,
                        }),
                );
        }
        if selected.tags.is_empty() && (only_tag.is_some() || !self.opts.names.is_empty()) {
            let text = match only_tag {
                Some(tag) => format!("{name}:{tag}: not among the versions selected; not copied"),
                None => {
                    format!("{name}: none of its versions is among those selected; nothing copied")
                }
            };
            summary.warnings.push(text.into());
        }
        let known = digests
            .into_iter()
            .filter(|(t, _)| selected.tags.contains(t))
            .collect();
        Ok((selected.tags, known))
    }
}

/// One pack's copy under way.
struct RepoCopy<'a> {
    pack: &'a PackCopier<'a>,
    copier: GraphCopier<'a>,
    name: &'a str,
    repo: &'a str,
    /// What the destination holds, listed once: the tags to compare with, then the basis of
    /// its parent tags.
    dst_tags: BTreeMap<String, Digest>,
    /// Source tags whose digest is already known.
    src_digests: BTreeMap<String, Digest>,
    /// The source digests of the tags, whose referrers are copied after them.
    subjects: BTreeSet<Digest>,
    stats: CopyStats,
    /// Whether the destination repository had no tags: its manifests are not asked about.
    fresh: bool,
    /// The manifests this copy read and wrote, by digest: the parent tags are written from
    /// them without reading them back.
    written: BTreeMap<Digest, RawManifest>,
}

impl RepoCopy<'_> {
    async fn copy_repo(
        &mut self,
        tags: &[String],
        listed: bool,
        summary: &mut MirrorSummary,
    ) -> Result<Vec<CopiedTag>, OpError> {
        let (opts, dst, repo) = (self.pack.opts, self.pack.dst, self.repo);
        // Parent tags are derived at the destination; referrer fallback and cosign tags are
        // carried with the manifests they refer to.
        let (fallback, plain): (Vec<&String>, Vec<&String>) = tags
            .iter()
            .filter(|t| !is_parent_tag(t))
            .partition(|t| is_referrers_tag(t));
        self.dst_tags = tag_digests(dst, repo).await?.into_iter().collect();
        self.fresh = self.dst_tags.is_empty();
        let mut done = Vec::new();
        for tag in plain {
            match self.copy_tag(tag, summary).await {
                // Every tag now at the destination, and whether this copy wrote it.
                Ok(digest) => {
                    let entry = self.written.get(&digest).map(|raw| {
                        let manifest = parse_manifest(self.pack.src, repo, raw).ok();
                        (
                            entry_from_manifest(self.name, tag, digest.clone(), manifest.as_ref()),
                            format_name(manifest.as_ref()),
                        )
                    });
                    done.push(CopiedTag {
                        tag: tag.clone(),
                        digest,
                        entry,
                    })
                }
                Err(e) => {
                    if summary.fail(opts, self.name, Some(tag), e) {
                        return Ok(done);
                    }
                }
            }
        }
        self.subjects
            .extend(fallback.iter().filter_map(|t| referrer_subject(t)));
        let src_tags: Option<BTreeSet<String>> = listed.then(|| tags.iter().cloned().collect());
        self.copier
            .copy_referrers(&self.subjects, src_tags.as_ref(), &mut self.stats)
            .await?;
        let parents: BTreeSet<String> = self
            .dst_tags
            .keys()
            .filter(|t| is_version_tag(t))
            .flat_map(|t| parent_tags(t))
            .collect();
        let parents: Vec<String> = parents.into_iter().collect();
        let before = std::mem::take(&mut self.dst_tags);
        let dst_tags = before.clone().into_iter().collect();
        let after = update_parent_tags_held(dst, repo, &parents, dst_tags, &self.written).await?;
        // Listed with what the run wrote: the parents now pointing elsewhere than before.
        for parent in after {
            let target = parent.version.as_ref().and_then(|v| before.get(v));
            if target.is_some() && target != before.get(&parent.tag) {
                summary
                    .copied_tags
                    .push(format!("{}:{}", self.name, parent.tag));
            }
        }
        Ok(done)
    }

    /// Copies one tag: its manifest's graph, then the tag, unless the destination has it or
    /// (without `force`) points it elsewhere. Records the source digest for the referrers.
    /// Returns the digest the tag has at the destination now.
    async fn copy_tag(
        &mut self,
        tag: &str,
        summary: &mut MirrorSummary,
    ) -> Result<Digest, OpError> {
        let (src, name) = (self.pack.src, self.name);
        let missing = || OpError::MissingManifest {
            reference: format!("{name}:{tag}"),
            location: src.location(),
        };
        // A tag the destination lacks is copied: its manifest is read at once (its digest
        // with it) rather than looked up first.
        let mut read = None;
        let digest = match self.src_digests.get(tag) {
            Some(digest) => digest.clone(),
            None if !self.dst_tags.contains_key(tag) => {
                let raw = match src.get_manifest(self.repo, tag).await {
                    Ok(raw) => raw,
                    Err(e) if e.is_not_found() => return Err(missing()),
                    Err(e) => return Err(e.into()),
                };
                let digest = raw.digest.clone();
                read = Some(raw);
                digest
            }
            None => src.resolve(self.repo, tag).await?.ok_or_else(missing)?,
        };
        if let Some(gate) = &self.pack.opts.verify {
            gate.admit(src, self.repo, &format!("{name}:{tag}"), &digest)
                .await?;
        }
        self.subjects.insert(digest.clone());
        match self.dst_tags.get(tag).cloned() {
            Some(d) if d == digest => {
                summary.tags_unchanged += 1;
                return Ok(d);
            }
            Some(d) if !self.pack.opts.force => {
                summary.conflicts.push(format!(
                    "{name}:{tag} (destination has {d}, source {digest})"
                ));
                return Ok(d);
            }
            _ => {}
        }
        match read {
            Some(raw) => {
                self.copier
                    .copy_read(&raw, Some(tag), self.fresh, &mut self.stats)
                    .await?;
                self.written.insert(digest.clone(), raw);
            }
            None => {
                self.copier
                    .copy_manifest(&digest, Some(tag), &mut self.stats)
                    .await?
            }
        }
        self.dst_tags.insert(tag.to_string(), digest.clone());
        summary.tags_copied += 1;
        summary.copied_tags.push(format!("{name}:{tag}"));
        Ok(digest)
    }
}
