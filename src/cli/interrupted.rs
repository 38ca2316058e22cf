//! What a stopped command says the next run reuses (the facts come from
//! [`packreg::resume::kept`]).

use packreg::resume::{kept, Kept};

/// The end of the sentence after Ctrl-C or SIGTERM: what the next run continues from, or
/// nothing when the run kept nothing.
pub fn reused() -> String {
    let parts: Vec<String> = kept()
        .iter()
        .map(|k| match k {
            Kept::Download {
                digest,
                have,
                size,
                path,
            } => format!(
                "the {} of {} of blob {} already downloaded (kept in {})",
                mib(*have),
                mib(*size),
                short(digest),
                path.parent().unwrap_or(path).display()
            ),
            Kept::Upload { repository, offset } => format!(
                "the upload session to {repository}, where the registry holds {}",
                mib(*offset)
            ),
        })
        .collect();
    if parts.is_empty() {
        return String::new();
    }
    format!(
        "; run the same command again to continue: it reuses {}",
        parts.join(", and ")
    )
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `sha256:` and the first 12 hex digits.
fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}
