//! The user's files under concurrent writers and through symbolic links; the umask of a store.

use std::path::Path;

use packreg::digest::Digest;

use super::common::{self, ok, pack};
use super::{s, Env};

/// Runs `work(i)` for i in 0..n on n threads released at once.
fn at_once(n: usize, work: impl Fn(usize) + Send + Sync + 'static) {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let work = std::sync::Arc::new(work);
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, work) = (barrier.clone(), work.clone());
            std::thread::spawn(move || {
                barrier.wait();
                work(i);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// Concurrent logins keep each other's credentials, and a config.json that is a
/// symbolic link is written through, not replaced.
#[test]
fn concurrent_logins_keep_every_credential_and_links_stay_links() {
    use packreg::auth::{load_credential, store_credential, Credential, Secret};
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.json");
    for round in 0..3 {
        let config = path.clone();
        at_once(16, move |i| {
            let host = format!("r{round}-{i}.example:5000");
            store_credential(
                &host,
                "user",
                &Secret::new(format!("pw-{i}")),
                Some(&config),
            )
            .unwrap();
        });
        for i in 0..16 {
            let host = format!("r{round}-{i}.example:5000");
            assert_eq!(
                load_credential(&host, Some(&path)).0,
                Credential::Basic {
                    username: "user".into(),
                    password: Secret::new(format!("pw-{i}")),
                },
                "round {round}: the credential of {host} was lost"
            );
        }
    }

    // ~/.docker/config.json -> ../dotfiles/docker.json, as dotfile managers set it up.
    let real = tmp.path().join("dotfiles/docker.json");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::write(&real, r#"{"psFormat":"table"}"#).unwrap();
    let link = tmp.path().join("docker/config.json");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("../dotfiles/docker.json", &link).unwrap();
    store_credential("linked.example", "u", &Secret::new("p"), Some(&link)).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "config.json was replaced by a regular file"
    );
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(
        text.contains("linked.example") && text.contains("psFormat"),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

/// The settings file (where `login` remembers hosts) and the blob-location cache keep
/// what concurrent processes wrote.
#[test]
fn settings_file_and_blob_cache_keep_concurrent_writers_entries() {
    use packreg::config::{file::update_registry, ConfigFile, RegistrySection};
    use packreg::ops::blobcache::BlobCache;
    let tmp = tempfile::tempdir().unwrap();
    let config_path = tmp.path().join("packreg/config.toml");
    let shared = config_path.clone();
    at_once(8, move |i| {
        let settings = RegistrySection {
            plain_http: Some(true),
            ..RegistrySection::default()
        };
        update_registry(&shared, &format!("h{i}.example"), &settings, &[]).unwrap();
    });
    let config = ConfigFile::read(&config_path).unwrap();
    for i in 0..8 {
        assert!(
            config.registry_section(&format!("h{i}.example")).is_some(),
            "h{i} was lost"
        );
    }

    let cache_path = tmp.path().join("cache/blob-locations.json");
    let digest = |i: usize| Digest::of(format!("blob {i}").as_bytes());
    let caches: Vec<std::sync::Mutex<BlobCache>> = (0..8)
        .map(|_| std::sync::Mutex::new(BlobCache::at(Some(cache_path.clone()))))
        .collect();
    let caches = std::sync::Arc::new(caches);
    let shared = caches.clone();
    at_once(8, move |i| {
        let mut cache = shared[i].lock().unwrap();
        cache.record("oci:/store", &format!("repo-{i}"), &digest(i));
        cache.save();
    });
    let cache = BlobCache::at(Some(cache_path));
    for i in 0..8 {
        assert_eq!(
            cache.elsewhere("oci:/store", "another", &digest(i)),
            Some(format!("repo-{i}")),
            "the location of blob {i} was lost"
        );
    }
}

/// Runs packreg under `umask`.
fn packreg_with_umask(umask: &str, home: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new("sh");
    common::isolate(&mut cmd, home, &[]);
    cmd.args(["-c", &format!("umask {umask} && exec \"$@\""), "sh"])
        .arg(env!("CARGO_BIN_EXE_packreg"))
        .args(args)
        .env_remove("PACKREG_REGISTRY")
        .env_remove("PACKREG_FORMAT")
        .output()
        .unwrap()
}

/// Modes of every file and folder under `root` (lock files included).
fn modes(root: &Path) -> std::collections::BTreeMap<String, u32> {
    use std::os::unix::fs::PermissionsExt;
    walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap())
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            (rel, e.metadata().unwrap().permissions().mode() & 0o777)
        })
        .collect()
}

/// A local store's files follow the umask, so a store shared with another account
/// is readable by it.
#[test]
fn local_store_files_follow_the_umask() {
    for (umask, file_mode, dir_mode) in [("022", 0o644, 0o755), ("077", 0o600, 0o700)] {
        let env = Env::new();
        let home = env.path("home");
        let store = env.path("store");
        let registry = format!("oci:{}", store.display());
        for args in [
            vec!["-r", &registry, "push", s(&pack("shop"))],
            vec!["-r", &registry, "push", s(&pack("probe"))],
            vec![
                "-r",
                &registry,
                "tag",
                "add",
                "shop:2.1.0+build.7",
                "stable",
            ],
        ] {
            ok(&packreg_with_umask(umask, &home, &args));
        }
        let found = modes(&store);
        assert!(found.len() > 20, "{found:?}");
        for (path, mode) in &found {
            let want = if store.join(path).is_dir() {
                dir_mode
            } else {
                file_mode
            };
            assert_eq!(
                *mode, want,
                "umask {umask}: {path} has mode {mode:o}, not {want:o}"
            );
        }
    }
}
