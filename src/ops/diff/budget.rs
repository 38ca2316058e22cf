//! How much work `diff --patch` may do. A line diff costs time that grows with the product of
//! the two files' lengths where they differ (22 s of CPU for one 3.8 MB file), and a pack can
//! hold many files: each file has a size cap and a deadline, and all patches of one diff share
//! a time and a byte budget. A file past its deadline still gets a correct patch, only a
//! coarser one; a file over a cap, or found after the budget is spent, gets a note instead.

use std::time::{Duration, Instant};

use crate::limits::{human, PATCH_LIMIT};

/// The limits of `--patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchBudget {
    /// The largest file (either side) a patch is made for.
    pub file_bytes: u64,
    /// How long the diff of one file may search for the smallest patch.
    pub file_time: Duration,
    /// How long all patches of one diff may take together.
    pub total_time: Duration,
    /// How many bytes (both sides) all patches of one diff may read together.
    pub total_bytes: u64,
}

/// Default of [`PatchBudget::file_time`].
pub const PATCH_FILE_TIME: Duration = Duration::from_secs(2);
/// Default of [`PatchBudget::total_time`].
pub const PATCH_TOTAL_TIME: Duration = Duration::from_secs(10);
/// Default of [`PatchBudget::total_bytes`].
pub const PATCH_TOTAL_BYTES: u64 = 64 * 1024 * 1024;

impl Default for PatchBudget {
    fn default() -> Self {
        PatchBudget {
            file_bytes: PATCH_LIMIT,
            file_time: PATCH_FILE_TIME,
            total_time: PATCH_TOTAL_TIME,
            total_bytes: PATCH_TOTAL_BYTES,
        }
    }
}

/// A patch, or the note saying why there is none or why it is coarse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Patch {
    pub text: Option<String>,
    pub note: Option<String>,
}

/// Makes the patches of one diff, keeping count of what they cost.
#[derive(Debug)]
pub(crate) struct Patcher {
    budget: PatchBudget,
    spent_time: Duration,
    spent_bytes: u64,
}

impl Patcher {
    pub fn new(budget: PatchBudget) -> Patcher {
        Patcher {
            budget,
            spent_time: Duration::ZERO,
            spent_bytes: 0,
        }
    }

    /// The largest file a patch is made for (larger ones are not even downloaded).
    pub fn file_bytes(&self) -> u64 {
        self.budget.file_bytes
    }

    /// The note for a file of `size` bytes, too large to diff.
    pub fn too_large(&self, size: u64) -> Patch {
        Patch {
            text: None,
            note: Some(format!(
                "no patch: {} is too large to diff (the limit is {} a file)",
                human(size),
                human(self.budget.file_bytes)
            )),
        }
    }

    /// A unified diff of `old` and `new` with the header lines `from` and `to`, within the
    /// budget.
    pub fn patch(&mut self, old: &str, new: &str, from: &str, to: &str) -> Patch {
        let largest = old.len().max(new.len()) as u64;
        if largest > self.budget.file_bytes {
            return self.too_large(largest);
        }
        let bytes = (old.len() + new.len()) as u64;
        let time_left = self.budget.total_time.saturating_sub(self.spent_time);
        if self.spent_bytes.saturating_add(bytes) > self.budget.total_bytes || time_left.is_zero() {
            return Patch {
                text: None,
                note: Some(format!(
                    "no patch: the patches of this diff used their budget ({} s, {} in all)",
                    self.budget.total_time.as_secs_f32(),
                    human(self.budget.total_bytes)
                )),
            };
        }
        let allowed = self.budget.file_time.min(time_left);
        let started = Instant::now();
        let text = similar::TextDiff::configure()
            .timeout(allowed)
            .diff_lines(old, new)
            .unified_diff()
            .context_radius(3)
            .header(from, to)
            .to_string();
        let took = started.elapsed();
        self.spent_time += took;
        self.spent_bytes += bytes;
        let note = (took >= allowed).then(|| {
            format!(
                "slow to diff: the search for the smallest patch stopped after {:.1} s, so this \
                 patch is correct but larger than it could be",
                allowed.as_secs_f32()
            )
        });
        Patch {
            text: Some(text),
            note,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two texts whose lines differ throughout: the worst case of a line diff.
    fn scrambled(lines: usize, seed: u64) -> String {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..lines)
            .map(|_| format!("line {}\n", rng.u32(..1000)))
            .collect()
    }

    #[test]
    fn a_file_over_the_size_cap_gets_a_note_and_no_patch() {
        let mut patcher = Patcher::new(PatchBudget {
            file_bytes: 8,
            ..PatchBudget::default()
        });
        let patch = patcher.patch("short\n", "much longer text\n", "a/x", "b/x");
        assert_eq!(patch.text, None);
        assert!(
            patch.note.as_deref().unwrap().contains("too large"),
            "{patch:?}"
        );
    }

    #[test]
    fn a_file_past_its_deadline_gets_a_correct_patch_and_a_note() {
        let mut patcher = Patcher::new(PatchBudget {
            file_time: Duration::ZERO,
            ..PatchBudget::default()
        });
        let (old, new) = (scrambled(2000, 1), scrambled(2000, 2));
        let patch = patcher.patch(&old, &new, "a/x", "b/x");
        assert!(
            patch.note.as_deref().unwrap().contains("slow to diff"),
            "{patch:?}"
        );
        let text = patch.text.unwrap();
        assert!(text.starts_with("--- a/x\n+++ b/x\n@@ "), "{text}");
    }

    #[test]
    fn once_the_total_budget_is_spent_later_files_get_a_note() {
        let mut patcher = Patcher::new(PatchBudget {
            total_bytes: 20,
            ..PatchBudget::default()
        });
        let first = patcher.patch("a\n", "b\n", "a/x", "b/x");
        assert!(first.text.is_some() && first.note.is_none(), "{first:?}");
        let big = "0123456789\n";
        let second = patcher.patch(big, "other\n", "a/y", "b/y");
        assert_eq!(second.text, None);
        assert!(
            second.note.as_deref().unwrap().contains("budget"),
            "{second:?}"
        );
    }

    #[test]
    fn within_the_budget_patches_are_minimal_and_unnoted() {
        let mut patcher = Patcher::new(PatchBudget::default());
        let patch = patcher.patch("a\nb\nc\n", "a\nB\nc\n", "a/x", "b/x");
        assert_eq!(patch.note, None);
        assert!(patch.text.unwrap().contains(" a\n-b\n+B\n c\n"));
    }
}
