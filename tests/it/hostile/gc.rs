//! Garbage collection when a reachable manifest is in doubt.

use serde_json::Value;

use super::common::{ok, stderr};
use super::Env;

/// Garbage collection keeps every blob when a reachable manifest is in doubt.
#[test]
fn garbage_collection_keeps_everything_when_a_manifest_is_in_doubt() {
    type Craft = fn(&Env, &str);
    let cases: [(&str, Craft); 4] = [
        ("edited", |env, digest| {
            let path = env.blob("hello-manifests", digest);
            let mut bytes = std::fs::read(&path).unwrap();
            let at = bytes.len() / 2;
            bytes[at] ^= 0x20;
            std::fs::write(&path, bytes).unwrap();
        }),
        ("missing", |env, digest| {
            std::fs::remove_file(env.blob("hello-manifests", digest)).unwrap();
        }),
        ("unrecognised", |env, digest| {
            let digest = digest.to_string();
            env.edit_index("hello-manifests", move |index| {
                for d in index["manifests"].as_array_mut().unwrap() {
                    if d["digest"] == digest.as_str() {
                        d["mediaType"] = "application/vnd.example.future.manifest+json".into();
                    }
                }
            });
        }),
        ("over 4 MiB", |env, digest| {
            // The same manifest with a 5 MiB annotation, stored under its own digest and
            // listed in place of the original.
            let path = env.blob("hello-manifests", digest);
            let mut manifest: Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            manifest["annotations"]["padding"] = "x".repeat(5 << 20).into();
            let bytes = serde_json::to_vec(&manifest).unwrap();
            let big = packreg::digest::Digest::of(&bytes).to_string();
            std::fs::write(env.blob("hello-manifests", &big), &bytes).unwrap();
            std::fs::remove_file(&path).unwrap();
            let (digest, size) = (digest.to_string(), bytes.len());
            env.edit_index("hello-manifests", move |index| {
                for d in index["manifests"].as_array_mut().unwrap() {
                    if d["digest"] == digest.as_str() {
                        d["digest"] = big.clone().into();
                        d["size"] = size.into();
                    }
                }
            });
        }),
    ];
    for (what, craft) in cases {
        let env = Env::new();
        let kept = env.push_version("hello-manifests", "1.0.0");
        env.push_version("hello-manifests", "2.0.0");
        ok(&env.run(&["tag", "add", "hello-manifests:2.0.0", "stable"]));
        let needed = env.referenced("hello-manifests", &kept);
        craft(&env, &kept);
        let before = env.stored_blobs("hello-manifests");

        // Removing a label collects garbage without reading the other versions' manifests.
        let out = env.run(&["tag", "rm", "hello-manifests:stable"]);
        let msg = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{what}: {msg}");
        for digest in &needed {
            assert!(
                env.blob("hello-manifests", digest).is_file(),
                "{what}: {digest}, referenced by 1.0.0, was collected"
            );
        }
        assert_eq!(
            env.stored_blobs("hello-manifests"),
            before,
            "{what}: nothing collected"
        );
        assert!(
            msg.contains("garbage collection kept every blob") && msg.contains("index.json"),
            "{what}: the user is told why nothing was collected: {msg}"
        );
        let index =
            std::fs::read_to_string(env.repo_dir("hello-manifests").join("index.json")).unwrap();
        assert!(
            !index.contains("\"stable\""),
            "{what}: the label is still removed"
        );
    }
}
