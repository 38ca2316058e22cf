//! Entry points of the fuzz targets (`fuzz_targets/`, this file is the `packreg_fuzz` crate),
//! also replayed over the committed corpora by `tests/fuzz_corpus.rs` on stable, which includes
//! this file by path: the library keeps no fuzzing code. Each takes arbitrary bytes; none may
//! panic, and extraction must never create anything outside its folder.

use std::path::Path;

use packreg::archive::{extract_tar, ExtractOptions};
use packreg::limits::UnpackLimits;

/// Limits small enough that one input stays fast.
fn small_limits() -> UnpackLimits {
    UnpackLimits {
        max_unpacked_bytes: 8 << 20,
        max_ratio: 1000,
        max_entries: 2000,
        max_header_bytes: 64 << 10,
    }
}

/// Panics when something under `tmp` other than `dest` exists, or a link under `dest`
/// resolves outside it: the one property extraction must keep.
pub fn assert_contained(tmp: &Path, dest: &Path) {
    let names: Vec<_> = std::fs::read_dir(tmp)
        .expect("temporary folder")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("dest")], "escaped");
    let base = dest.canonicalize().expect("destination");
    for entry in walkdir::WalkDir::new(dest)
        .into_iter()
        .filter_map(Result::ok)
    {
        if entry.path_is_symlink() {
            if let Ok(real) = entry.path().canonicalize() {
                assert!(
                    real.starts_with(&base),
                    "{} resolves outside, to {}",
                    entry.path().display(),
                    real.display()
                );
            }
        }
    }
}

/// Extracts `data` as a tar (the first byte chooses: plain or gzip, a required top folder,
/// links allowed) into a fresh folder and checks that nothing escaped.
pub fn extract(data: &[u8]) {
    let Some((&mode, tar)) = data.split_first() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temporary folder");
    let dest = tmp.path().join("dest");
    std::fs::create_dir(&dest).expect("destination");
    let limits = small_limits();
    let opts = ExtractOptions {
        required_top: (mode & 2 != 0).then(|| "top".to_string()),
        allow_links: mode & 4 == 0,
        limits,
        cap: limits.unpacked_cap(Some(tar.len() as u64)),
    };
    let _ = if mode & 1 != 0 {
        extract_tar(flate2::read::GzDecoder::new(tar), &dest, &opts)
    } else {
        extract_tar(tar, &dest, &opts)
    };
    assert_contained(tmp.path(), &dest);
}

/// Parses `data` as a manifest and an index, and everything packreg derives from them; a
/// manifest it reads must serialise to bytes it reads again.
pub fn manifest(data: &[u8]) {
    use packreg::oci::{self, Index, Manifest};
    if let Ok(m) = serde_json::from_slice::<Manifest>(data) {
        let _ = packreg::artifact::classify(&m);
        let _ = packreg::artifact::content_identity(&m);
        for layer in &m.layers {
            let _ = layer.title();
        }
        serde_json::from_slice::<Manifest>(&m.to_bytes()).expect("written manifest reads back");
    }
    if let Ok(index) = serde_json::from_slice::<Index>(data) {
        let bytes = serde_json::to_vec(&index).expect("index serialises");
        serde_json::from_slice::<Index>(&bytes).expect("written index reads back");
    }
    let _ = oci::sniff_media_type(data);
    let _ = oci::references(oci::MEDIA_TYPE_MANIFEST, data);
    let _ = oci::references(oci::MEDIA_TYPE_INDEX, data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = packreg::reference::PackRef::parse(text);
        let _ = text.parse::<packreg::digest::Digest>();
        let _ = packreg::reference::is_repository_path(text);
        let _ = packreg::reference::is_valid_tag(text);
    }
}

/// Loads `data` as pack.json: parsed, validated as a pack folder holding it, and read from
/// the head of a tarball the way inspect reads it.
pub fn pack_json(data: &[u8]) {
    if let Ok(meta) = packreg::pack::PackJson::parse(data) {
        let _ = (
            meta.name(),
            meta.version(),
            meta.layer(),
            meta.display_name(),
        );
    }
    let tmp = tempfile::tempdir().expect("temporary folder");
    std::fs::write(tmp.path().join("pack.json"), data).expect("pack.json");
    std::fs::write(tmp.path().join("values.yaml"), b"").expect("values.yaml");
    let report = packreg::pack::validate(tmp.path());
    let _ = report.findings.len();
    let _ = packreg::pack::Pack::load(tmp.path());
    let _ = packreg::artifact::unpack::read_pack_json_from_tarball(
        "fuzz",
        data.len() as u64,
        &mut &data[..],
    );
}
