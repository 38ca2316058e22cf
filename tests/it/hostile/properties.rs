//! Property tests: extraction of arbitrary entry lists never creates anything outside
//! its folder; reference and tag parsing only accept what names one plain folder or tag;
//! manifest parsing never panics and what it reads writes back readable.

use std::path::{Component, Path};

use packreg::archive::{extract_tar, ExtractOptions};
use packreg::limits::UnpackLimits;
use packreg::reference::{is_repository_component, is_valid_tag, version_to_tag, PackRef};
use proptest::prelude::*;

use super::harness;

/// Path pieces chosen to collide and climb: names, `.`, `..`, empty, and a long name.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("a".to_string()),
        3 => Just("b".to_string()),
        2 => Just("top".to_string()),
        5 => Just("..".to_string()),
        1 => Just(".".to_string()),
        1 => Just(String::new()),
        1 => (100usize..300).prop_map(|n| "n".repeat(n)),
    ]
}

/// A path: pieces joined by `/`, sometimes absolute.
fn path() -> impl Strategy<Value = String> {
    (
        prop::bool::weighted(0.05),
        prop::collection::vec(piece(), 1..6),
    )
        .prop_map(|(abs, pieces)| {
            let joined = pieces.join("/");
            if abs {
                format!("/{joined}")
            } else {
                joined
            }
        })
}

/// A link target: raw text, or a path through another entry of the list (by index), climbing
/// `ups` levels after it, which is how chains of links are built.
#[derive(Debug, Clone)]
enum Target {
    Raw(String),
    Through { index: usize, ups: usize },
}

#[derive(Debug, Clone)]
enum Kind {
    File,
    Dir,
    Symlink(Target),
    Hardlink(String),
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        path().prop_map(Target::Raw),
        (any::<usize>(), 0usize..4).prop_map(|(index, ups)| Target::Through { index, ups }),
    ]
}

/// An entry name: mostly plain pieces, so that lists get past their first entries; `..` and
/// absolute names now and then.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        20 => prop::collection::vec(
            prop_oneof![
                4 => Just("a".to_string()),
                3 => Just("b".to_string()),
                2 => Just("top".to_string()),
                1 => Just(".".to_string()),
                1 => (100usize..300).prop_map(|n| "n".repeat(n)),
            ],
            1..5,
        )
        .prop_map(|pieces| pieces.join("/")),
        1 => path(),
    ]
}

fn entry() -> impl Strategy<Value = (String, Kind)> {
    (
        name(),
        prop_oneof![
            3 => Just(Kind::File),
            2 => Just(Kind::Dir),
            4 => target().prop_map(Kind::Symlink),
            1 => path().prop_map(Kind::Hardlink),
        ],
    )
}

/// The text of `target` for a link named `name` among `entries`.
fn target_text(target: &Target, name: &str, entries: &[(String, Kind)]) -> String {
    match target {
        Target::Raw(text) => text.clone(),
        Target::Through { index, ups } => {
            let other = &entries[index % entries.len()].0;
            let depth = name
                .split('/')
                .filter(|p| !p.is_empty())
                .count()
                .saturating_sub(1);
            let mut text = "../".repeat(depth);
            text.push_str(other.trim_start_matches('/'));
            for _ in 0..*ups {
                text.push_str("/..");
            }
            text
        }
    }
}

/// A raw 512-byte header of `kind` for `name` (GNU long names/links for long texts).
fn push_header(out: &mut Vec<u8>, name: &str, kind: tar::EntryType, size: u64, link: &str) {
    let long = |out: &mut Vec<u8>, kind: tar::EntryType, text: &str| {
        let mut data = text.as_bytes().to_vec();
        data.push(0);
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        data.resize(data.len().div_ceil(512) * 512, 0);
        out.extend_from_slice(&data);
    };
    if name.len() > 100 {
        long(out, tar::EntryType::GNULongName, name);
    }
    if link.len() > 100 {
        long(out, tar::EntryType::GNULongLink, link);
    }
    let mut h = tar::Header::new_gnu();
    let n = name.len().min(100);
    h.as_old_mut().name[..n].copy_from_slice(&name.as_bytes()[..n]);
    let l = link.len().min(100);
    h.as_old_mut().linkname[..l].copy_from_slice(&link.as_bytes()[..l]);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
}

fn tar_of(entries: &[(String, Kind)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind) in entries {
        match kind {
            Kind::File => {
                push_header(&mut out, name, tar::EntryType::Regular, 3, "");
                let mut data = b"abc".to_vec();
                data.resize(512, 0);
                out.extend_from_slice(&data);
            }
            Kind::Dir => push_header(&mut out, name, tar::EntryType::Directory, 0, ""),
            Kind::Symlink(to) => {
                let to = target_text(to, name, entries);
                push_header(&mut out, name, tar::EntryType::Symlink, 0, &to)
            }
            Kind::Hardlink(to) => push_header(&mut out, name, tar::EntryType::Link, 0, to),
        }
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn extraction_never_creates_anything_outside(
        entries in prop::collection::vec(entry(), 1..24),
        top in any::<bool>(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        let limits = UnpackLimits::default();
        let opts = ExtractOptions {
            required_top: top.then(|| "top".to_string()),
            allow_links: true,
            limits,
            cap: limits.unpacked_cap(None),
        };
        let _ = extract_tar(tar_of(&entries).as_slice(), &dest, &opts);
        harness::assert_contained(tmp.path(), &dest);
    }

    #[test]
    fn names_and_tags_that_pass_make_one_plain_folder(name in "\\PC{0,40}", version in "\\PC{0,40}") {
        if is_repository_component(&name) && is_valid_tag(&version_to_tag(&version)) {
            let folder = format!("{name}-{version}");
            let comps: Vec<_> = Path::new(&folder).components().collect();
            prop_assert!(matches!(comps.as_slice(), [Component::Normal(_)]), "{folder}");
        }
    }

    #[test]
    fn parsed_references_are_valid_and_print_back(text in "[a-z0-9._:@/+-]{0,30}|\\PC{0,30}") {
        if let Ok(r) = PackRef::parse(&text) {
            prop_assert!(is_repository_component(&r.name));
            if let packreg::reference::Selector::Tag(tag) = &r.selector {
                prop_assert!(is_valid_tag(tag));
                prop_assert!(!tag.contains('/') && tag != "." && tag != "..");
            }
            prop_assert_eq!(PackRef::parse(&r.to_string()).unwrap(), r);
        }
    }

    #[test]
    fn tags_are_plain_names(tag in "\\PC{0,140}") {
        if is_valid_tag(&tag) {
            prop_assert!(tag.len() <= 128);
            let comps: Vec<_> = Path::new(&tag).components().collect();
            prop_assert!(matches!(comps.as_slice(), [Component::Normal(_)]), "{tag}");
        }
    }

    #[test]
    fn manifest_parsing_never_panics(doc in manifest_json()) {
        harness::manifest(doc.to_string().as_bytes());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        harness::manifest(&bytes);
    }
}

/// JSON shaped like a manifest, with hostile values: wrong types, huge sizes, odd digests,
/// titles that climb, unknown fields.
fn manifest_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    let digest = prop_oneof![
        "[0-9a-f]{64}".prop_map(|h| json!(format!("sha256:{h}"))),
        "\\PC{0,20}".prop_map(|s| json!(s)),
        any::<i64>().prop_map(|n| json!(n)),
    ];
    let size = prop_oneof![
        any::<u64>().prop_map(|n| json!(n)),
        Just(json!(-1)),
        Just(json!("1"))
    ];
    let title = prop_oneof![path(), Just("pack.json".to_string())];
    let media = prop_oneof![
        Just("application/vnd.oci.image.layer.v1.tar".to_string()),
        Just("application/vnd.oci.image.layer.v1.tar+gzip".to_string()),
        Just("application/vnd.packreg.pack.config.v1+json".to_string()),
        "\\PC{0,12}",
    ];
    let descriptor = (media.clone(), digest, size, title, any::<bool>()).prop_map(
        |(media, digest, size, title, unpack)| {
            let mut annotations = json!({ "org.opencontainers.image.title": title });
            if unpack {
                annotations["io.deis.oras.content.unpack"] = json!("true");
            }
            json!({ "mediaType": media, "digest": digest, "size": size, "annotations": annotations })
        },
    );
    (
        prop_oneof![Just(json!(2)), any::<i64>().prop_map(|n| json!(n))],
        descriptor.clone(),
        prop::collection::vec(descriptor, 0..5),
        prop::option::of(media),
        prop::option::of("\\PC{0,8}"),
    )
        .prop_map(|(schema, config, layers, artifact_type, extra)| {
            let mut doc = json!({ "schemaVersion": schema, "config": config, "layers": layers });
            if let Some(t) = artifact_type {
                doc["artifactType"] = json!(t);
            }
            if let Some(key) = extra {
                doc[key] = json!({ "nested": [1, "x", null] });
            }
            doc
        })
}
