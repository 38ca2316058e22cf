//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) through the same entry points
//! as the fuzz targets, on stable, so CI runs every input the fuzzers kept, and every crash
//! they found once fixed (`fuzz/regressions/<target>/`).

use std::path::Path;

use super::harness;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let mut count = 0;
    for folder in ["corpus", "regressions"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz")
            .join(folder)
            .join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| run(&data));
            assert!(result.is_ok(), "{} panicked", path.display());
            count += 1;
        }
    }
    count
}

#[test]
fn extract_corpus() {
    assert!(replay("extract", harness::extract) > 10);
}

#[test]
fn manifest_corpus() {
    assert!(replay("manifest", harness::manifest) > 5);
}

#[test]
fn pack_json_corpus() {
    assert!(replay("pack_json", harness::pack_json) > 10);
}
