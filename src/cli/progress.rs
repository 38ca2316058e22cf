//! Progress bars on a terminal: one per blob and one overall, drawn on stderr. Nothing in a
//! pipe, with `--quiet` or with `--json`.

use std::io::IsTerminal;
use std::sync::Arc;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use packreg::ops::progress::{Bar, NoProgress, Progress};

use super::Output;

/// Bars for one command.
pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
}

struct BlobBar {
    bar: ProgressBar,
    overall: ProgressBar,
}

impl Bar for BlobBar {
    fn inc(&self, n: u64) {
        self.bar.inc(n);
        self.overall.inc(n);
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bars {
    fn start(&self, label: &str, total: u64) -> Arc<dyn Bar> {
        self.overall.inc_length(total);
        let bar = self
            .multi
            .insert_before(&self.overall, ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>32!} [{bar:30}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        // A layer title comes from the registry.
        bar.set_prefix(super::output::escape_controls(label, false).into_owned());
        Arc::new(BlobBar {
            bar,
            overall: self.overall.clone(),
        })
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.overall.finish_and_clear();
    }
}

/// Bars when stderr is a terminal and output is not quiet or JSON; otherwise nothing.
pub fn for_output(out: &Output, verb: &str) -> Arc<dyn Progress> {
    if out.quiet || out.json || !std::io::stderr().is_terminal() {
        return Arc::new(NoProgress);
    }
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let overall = multi.add(ProgressBar::new(0));
    overall.set_style(
        ProgressStyle::with_template(
            "{prefix:>32} [{bar:30}] {bytes:>10}/{total_bytes:<10} {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    overall.set_prefix(verb.to_string());
    Arc::new(Bars { multi, overall })
}
