//! `--versions RANGE` and `--latest N` of `mirror`, `export` and `import`: which versions of
//! each pack go, and the words for the labels that stay behind.

use packreg::ops::mirror::{MirrorOptions, MirrorSummary};
use packreg::ops::Warning;
use packreg::version_range::{BadVersionRange, VersionRange};

use super::output::escape_controls;
use super::Failure;

/// Which versions of each pack to copy.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct VersionFlags {
    /// Only the versions in this semver range, as Cargo writes them: '>=1.2, <2', '~1.4',
    /// '^1'. The labels on them go along; parent tags are recomputed from what goes.
    #[arg(long, value_name = "RANGE", value_parser = parse_range)]
    pub versions: Option<VersionRange>,
    /// Only the N highest versions of each pack (the N highest in --versions, with both).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub latest: Option<u32>,
}

fn parse_range(text: &str) -> Result<VersionRange, BadVersionRange> {
    text.parse()
}

impl VersionFlags {
    fn given(&self) -> bool {
        self.versions.is_some() || self.latest.is_some()
    }

    /// The flags as typed, for messages: `--versions '>=1.2, <2' --latest 3`.
    fn words(&self) -> String {
        let mut words = Vec::new();
        if let Some(range) = &self.versions {
            words.push(format!(
                "--versions '{}'",
                escape_controls(range.as_str(), false)
            ));
        }
        if let Some(n) = self.latest {
            words.push(format!("--latest {n}"));
        }
        words.join(" ")
    }

    /// Puts the selection into `opts`. A pack named with a tag is refused: the flags choose
    /// its versions.
    pub fn apply(&self, opts: &mut MirrorOptions) -> Result<(), Failure> {
        if !self.given() {
            return Ok(());
        }
        if let Some((name, Some(tag))) = opts.names.iter().find(|(_, tag)| tag.is_some()) {
            return Err(Failure::usage(format!(
                "{name}:{tag}: {} choose the versions of each pack; name the pack without a tag",
                self.words()
            )));
        }
        opts.versions = self.versions.clone();
        opts.latest = self.latest.map(|n| n as usize);
        Ok(())
    }

    /// A warning for each label left behind, naming the flags that left it.
    pub fn word_labels_left_out(&self, summary: &mut MirrorSummary) {
        let filter = self.words();
        let words = summary.labels_left_out.iter().map(|left| {
            let target = match &left.version {
                Some(version) => format!("points at {version}, which {filter} leaves out"),
                None => format!("points at no version, and {filter} takes versions only"),
            };
            Warning::from(format!(
                "{}: label {} {target}; the label was not copied",
                left.pack, left.label
            ))
        });
        let words: Vec<Warning> = words.collect();
        summary.warnings.extend(words);
    }
}
