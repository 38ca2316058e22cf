//! Hostile local stores and bundles (issue 9): each test crafts the bad input itself and checks
//! that nothing is lost, nothing escapes and the user is told what happened.

mod common;

use std::path::{Path, PathBuf};

use common::{ok, pack, packreg, stderr};
use serde_json::Value;

/// A local store in a temporary folder.
struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    registry: String,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let registry = format!("oci:{}", root.join("store").display());
        Env {
            _tmp: tmp,
            root,
            registry,
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut full = vec!["-r", self.registry.as_str()];
        full.extend_from_slice(args);
        packreg(&full)
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        serde_json::from_str(&ok(&self.run(&full))).unwrap()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn repo_dir(&self, name: &str) -> PathBuf {
        self.root.join("store/spectro-packs/archive").join(name)
    }

    /// Pushes a copy of testdata pack `name` at `version`; returns the manifest digest.
    fn push_version(&self, name: &str, version: &str) -> String {
        let dir =
            common::pack_with_version(&self.path(&format!("src-{name}-{version}")), name, version);
        let pushed = self.json(&["push", s(&dir)]);
        pushed["digest"].as_str().unwrap().to_string()
    }

    /// The file of blob `digest` in pack repository `name`.
    fn blob(&self, name: &str, digest: &str) -> PathBuf {
        self.repo_dir(name)
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    }

    /// Config and layer digests of manifest `digest`.
    fn referenced(&self, name: &str, digest: &str) -> Vec<String> {
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(self.blob(name, digest)).unwrap()).unwrap();
        let mut out = vec![manifest["config"]["digest"].as_str().unwrap().to_string()];
        for layer in manifest["layers"].as_array().unwrap() {
            out.push(layer["digest"].as_str().unwrap().to_string());
        }
        out
    }

    fn stored_blobs(&self, name: &str) -> std::collections::BTreeSet<String> {
        std::fs::read_dir(self.repo_dir(name).join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }

    fn edit_index(&self, name: &str, edit: impl FnOnce(&mut Value)) {
        let path = self.repo_dir(name).join("index.json");
        let mut index: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        edit(&mut index);
        std::fs::write(&path, serde_json::to_vec(&index).unwrap()).unwrap();
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Item 6: garbage collection keeps every blob when a reachable manifest is in doubt.
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

/// A source store for the mirror tests: hello-manifests 1.0.0 (its manifest then removed) and
/// 2.0.0, probe (a layer blob then removed), shop and hardened-os, all whole otherwise.
fn damaged_source(env: &Env) {
    let gone = env.push_version("hello-manifests", "1.0.0");
    env.push_version("hello-manifests", "2.0.0");
    let probe = env.json(&["push", s(&pack("probe"))])["digest"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&env.run(&["push", s(&pack("shop"))]));
    ok(&env.run(&["push", s(&pack("hardened-os"))]));
    std::fs::remove_file(env.blob("hello-manifests", &gone)).unwrap();
    let layer = env.referenced("probe", &probe).pop().unwrap();
    std::fs::remove_file(env.blob("probe", &layer)).unwrap();
}

/// Tags of a pack in a local store tree `root`.
fn tags_in(root: &Path, name: &str) -> Vec<String> {
    let path = root
        .join("spectro-packs/archive")
        .join(name)
        .join("index.json");
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let index: Value = serde_json::from_slice(&bytes).unwrap();
    let mut tags: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .map(str::to_string)
        .collect();
    tags.sort();
    tags
}

/// Item 7: mirror copies what it can, names every pack and version that failed, exits 1.
#[test]
fn mirror_goes_past_failing_packs_and_names_every_failure() {
    let env = Env::new();
    damaged_source(&env);
    // The destination refuses hardened-os: a file stands where its repository would go.
    let dst = env.path("dst");
    std::fs::create_dir_all(dst.join("spectro-packs/archive")).unwrap();
    std::fs::write(dst.join("spectro-packs/archive/hardened-os"), "in the way").unwrap();
    let to = format!("oci:{}", dst.display());

    let out = packreg(&["--json", "mirror", &env.registry, &to]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let failures = summary["failures"].as_array().unwrap();
    let named: Vec<(String, Option<String>)> = failures
        .iter()
        .map(|f| {
            (
                f["pack"].as_str().unwrap().to_string(),
                f["tag"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        named,
        vec![
            ("hardened-os".to_string(), None),
            ("hello-manifests".to_string(), Some("1.0.0".to_string())),
            ("probe".to_string(), Some("0.1.0".to_string())),
        ],
        "{summary}"
    );
    assert!(
        failures[1]["error"]
            .as_str()
            .unwrap()
            .contains("manifest is missing"),
        "{summary}"
    );
    assert!(
        failures[2]["error"].as_str().unwrap().contains("blob"),
        "{summary}"
    );
    // Everything else was copied.
    assert_eq!(tags_in(&dst, "shop"), vec!["2.1.0_build.7", "2.1.x", "2.x"]);
    assert_eq!(
        tags_in(&dst, "hello-manifests"),
        vec!["2.0.0", "2.0.x", "2.x"]
    );
    assert!(tags_in(&dst, "probe").is_empty());

    // In text, every failure is named on stderr.
    let dst2 = env.path("dst2");
    let text = packreg(&["mirror", &env.registry, &format!("oci:{}", dst2.display())]);
    assert_eq!(text.status.code(), Some(1));
    let msg = stderr(&text);
    assert!(
        msg.contains("hello-manifests:1.0.0") && msg.contains("probe:0.1.0"),
        "{msg}"
    );

    // --fail-fast stops at the first failure: hardened-os, before the other packs.
    let dst3 = env.path("dst3");
    std::fs::create_dir_all(dst3.join("spectro-packs/archive")).unwrap();
    std::fs::write(dst3.join("spectro-packs/archive/hardened-os"), "in the way").unwrap();
    let fast = packreg(&[
        "--json",
        "mirror",
        "--fail-fast",
        &env.registry,
        &format!("oci:{}", dst3.display()),
    ]);
    assert_eq!(fast.status.code(), Some(1), "{}", stderr(&fast));
    let summary: Value = serde_json::from_slice(&fast.stdout).unwrap();
    assert_eq!(
        summary["failures"].as_array().unwrap().len(),
        1,
        "{summary}"
    );
    assert!(
        tags_in(&dst3, "shop").is_empty(),
        "nothing after the first failure"
    );
}

/// Item 7: a bundle missing a blob is refused before anything is tagged at the destination.
#[test]
fn import_of_a_truncated_bundle_tags_nothing() {
    let env = Env::new();
    for name in ["hello-manifests", "probe", "shop"] {
        ok(&env.run(&["push", s(&pack(name))]));
    }
    let bundle = env.path("bundle.tar");
    ok(&env.run(&["export", "--all", "-o", s(&bundle)]));
    // The bundle again without shop's largest blob, as an interrupted copy or an edit leaves it.
    let shop = env.json(&["inspect", "shop"]);
    let victim = shop["layers"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|l| l["size"].as_u64().unwrap())
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let edited = env.path("edited.tar");
    let mut input = tar::Archive::new(std::fs::File::open(&bundle).unwrap());
    let mut output = tar::Builder::new(std::fs::File::create(&edited).unwrap());
    let mut dropped = 0;
    for entry in input.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if path.starts_with("spectro-packs/archive/shop/") && path.ends_with(&victim) {
            dropped += 1;
            continue;
        }
        let mut header = entry.header().clone();
        output.append_data(&mut header, &path, &mut entry).unwrap();
    }
    output.finish().unwrap();
    assert_eq!(dropped, 1);

    let dst = env.path("dst");
    let out = packreg(&[
        "-r",
        &format!("oci:{}", dst.display()),
        "import",
        s(&edited),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for name in ["hello-manifests", "probe", "shop"] {
        assert!(tags_in(&dst, name).is_empty(), "{name} was tagged");
    }
    let msg = stderr(&out);
    assert!(
        msg.contains("shop") && msg.contains("2.1.0_build.7") && msg.contains(&victim),
        "names the pack, the version and the blob: {msg}"
    );
}

/// Fills a folder the moment the first blob transfer starts: another program writing into the
/// pull's destination while it downloads.
struct FillOnStart(PathBuf);

struct Quiet;

impl packreg::ops::progress::Bar for Quiet {
    fn inc(&self, _n: u64) {}
    fn finish(&self) {}
}

impl packreg::ops::progress::Progress for FillOnStart {
    fn start(&self, _label: &str, _total: u64) -> std::sync::Arc<dyn packreg::ops::progress::Bar> {
        std::fs::create_dir_all(&self.0).unwrap();
        std::fs::write(self.0.join("theirs.txt"), "written during the pull").unwrap();
        std::sync::Arc::new(Quiet)
    }
}

/// Item 8: a destination filled during the pull is not replaced without --force.
#[test]
fn pull_refuses_a_destination_filled_meanwhile() {
    use packreg::ops::{pull, OpError, PullOptions};
    let env = Env::new();
    ok(&env.run(&["push", s(&pack("shop"))]));
    let dest = env.path("work/out");
    std::fs::create_dir_all(&dest).unwrap();
    let store = packreg::store::layout::LayoutStore::new(env.path("store"));
    let pack_ref = packreg::reference::PackRef::parse("shop").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let opts = PullOptions {
        output: Some(dest.clone()),
        concurrency: 1,
        progress: std::sync::Arc::new(FillOnStart(dest.clone())),
        ..PullOptions::default()
    };
    let result = rt.block_on(pull(&store, &pack_ref, &opts));
    assert!(
        matches!(&result, Err(OpError::OutputExists(d)) if d == &dest),
        "{:?}",
        result.map(|o| o.dir)
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("theirs.txt")).unwrap(),
        "written during the pull"
    );
    assert_eq!(
        std::fs::read_dir(&dest).unwrap().count(),
        1,
        "nothing mixed in"
    );
    let left: Vec<_> = std::fs::read_dir(env.path("work"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("out")],
        "no staging left"
    );

    // With --force the pack replaces it.
    let forced = PullOptions {
        force: true,
        ..opts
    };
    rt.block_on(pull(&store, &pack_ref, &forced)).unwrap();
    assert_eq!(common::snapshot(&dest), common::snapshot(&pack("shop")));
}

/// The local store, with every write after the first `allowed` failing: an rm interrupted at
/// each step in turn.
struct Interrupted {
    inner: packreg::store::layout::LayoutStore,
    allowed: std::sync::atomic::AtomicUsize,
}

impl Interrupted {
    fn write(&self) -> Result<(), packreg::store::StoreError> {
        use std::sync::atomic::Ordering;
        let left = self.allowed.load(Ordering::SeqCst);
        if left == 0 {
            return Err(packreg::store::StoreError::Remote {
                location: self.inner.location(),
                message: "interrupted here by the test".into(),
            });
        }
        self.allowed.store(left - 1, Ordering::SeqCst);
        Ok(())
    }
}

use packreg::digest::Digest;
use packreg::store::{BlobReader, RawManifest, RepoLock, Store, StoreError};

#[async_trait::async_trait]
impl Store for Interrupted {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn repositories(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.repositories(prefix).await
    }
    async fn tags(&self, repo: &str) -> Result<Vec<String>, StoreError> {
        self.inner.tags(repo).await
    }
    async fn get_manifest(&self, repo: &str, reference: &str) -> Result<RawManifest, StoreError> {
        self.inner.get_manifest(repo, reference).await
    }
    async fn put_manifest(
        &self,
        repo: &str,
        tag: Option<&str>,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, StoreError> {
        self.write()?;
        self.inner.put_manifest(repo, tag, bytes, media_type).await
    }
    async fn has_blob(&self, repo: &str, digest: &Digest) -> Result<bool, StoreError> {
        self.inner.has_blob(repo, digest).await
    }
    async fn get_blob(&self, repo: &str, digest: &Digest) -> Result<BlobReader, StoreError> {
        self.inner.get_blob(repo, digest).await
    }
    async fn put_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        reader: BlobReader,
    ) -> Result<(), StoreError> {
        self.write()?;
        self.inner.put_blob(repo, digest, size, reader).await
    }
    async fn delete_manifest(&self, repo: &str, digest: &Digest) -> Result<(), StoreError> {
        self.write()?;
        self.inner.delete_manifest(repo, digest).await
    }
    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), StoreError> {
        self.write()?;
        self.inner.delete_tag(repo, tag).await
    }
    fn registry_id(&self) -> String {
        self.inner.registry_id()
    }
    fn full_name(&self, repo: &str) -> String {
        self.inner.full_name(repo)
    }
    async fn lock(&self, repo: &str) -> Result<RepoLock, StoreError> {
        self.inner.lock(repo).await
    }
    async fn collect_garbage(&self, repo: &str) -> Result<(), StoreError> {
        self.write()?;
        self.inner.collect_garbage(repo).await
    }
}

/// Item 9: rm interrupted after any of its steps never loses a tag that should stay.
#[test]
fn an_interrupted_rm_never_loses_a_tag_that_should_stay() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let repo = "spectro-packs/archive/hello-manifests";
    for allowed in 0..12 {
        let env = Env::new();
        for v in ["1.0.0", "1.1.0", "1.2.0"] {
            env.push_version("hello-manifests", v);
        }
        // Another version tag and a label on the manifest of 1.2.0.
        let store = packreg::store::layout::LayoutStore::new(env.path("store"));
        let raw = rt.block_on(store.get_manifest(repo, "1.2.0")).unwrap();
        rt.block_on(store.put_manifest(repo, Some("1.2.0-copy"), &raw.bytes, &raw.media_type))
            .unwrap();
        ok(&env.run(&["tag", "add", "hello-manifests:1.2.0", "stable"]));
        let before: std::collections::BTreeMap<String, String> =
            tags_in(&env.path("store"), "hello-manifests")
                .into_iter()
                .map(|t| {
                    let d = rt
                        .block_on(store.resolve(repo, &t))
                        .unwrap()
                        .unwrap()
                        .to_string();
                    (t, d)
                })
                .collect();

        let faulty = Interrupted {
            inner: store.clone(),
            allowed: allowed.into(),
        };
        let result = rt.block_on(packreg::ops::remove(&faulty, "hello-manifests", "1.2.0"));
        for (tag, digest) in &before {
            if tag == "1.2.0" || tag == "stable" {
                continue;
            }
            let now = rt.block_on(store.resolve(repo, tag)).unwrap();
            assert_eq!(
                now.map(|d| d.to_string()).as_deref(),
                Some(digest.as_str()),
                "interrupted after {allowed} write(s) ({:?}): {tag} was lost or moved",
                result.as_ref().err().map(|e| e.to_string())
            );
        }
        if result.is_ok() {
            assert_eq!(
                tags_in(&env.path("store"), "hello-manifests"),
                vec![
                    "1.0.0",
                    "1.0.x",
                    "1.1.0",
                    "1.1.x",
                    "1.2.0-copy",
                    "1.2.x",
                    "1.x"
                ]
            );
            return;
        }
    }
    panic!("rm never completed");
}

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

/// Item 11: concurrent logins keep each other's credentials, and a config.json that is a
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

/// Item 11: the hosts file and the blob-location cache keep what concurrent processes wrote,
/// even when each read the file before the others saved.
#[test]
fn hosts_file_and_blob_cache_keep_concurrent_writers_entries() {
    use packreg::auth::{HostSettings, HostsFile};
    use packreg::ops::blobcache::BlobCache;
    let tmp = tempfile::tempdir().unwrap();
    let hosts_path = tmp.path().join("packreg/hosts.json");
    let files: Vec<std::sync::Mutex<HostsFile>> = (0..8)
        .map(|_| std::sync::Mutex::new(HostsFile::at(Some(hosts_path.clone()))))
        .collect();
    let files = std::sync::Arc::new(files);
    let shared = files.clone();
    at_once(8, move |i| {
        let settings = HostSettings {
            plain_http: true,
            ..HostSettings::default()
        };
        shared[i]
            .lock()
            .unwrap()
            .remember(&format!("h{i}.example"), settings)
            .unwrap();
    });
    let hosts = HostsFile::at(Some(hosts_path));
    for i in 0..8 {
        assert!(
            hosts.get(&format!("h{i}.example")).is_some(),
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

/// Item 12: a local store's files follow the umask, so a store shared with another account
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

/// Item 15: SIGTERM (what `kill`, systemd and CI runners send) cleans up as Ctrl-C does.
#[test]
fn sigterm_during_a_pull_leaves_nothing_behind() {
    let env = Env::new();
    // A pack with a large file, which takes a moment to pull and verify in a test build.
    let src = env.path("big");
    common::copy_dir(&pack("hello-manifests"), &src);
    common::write_random(&src.join("payload.bin"), 96 << 20);
    common::set_pack_field(&src, "name", "big");
    ok(&env.run(&["push", s(&src)]));

    let work = env.path("work");
    std::fs::create_dir_all(&work).unwrap();
    let child = common::packreg_command(&env.path("home"))
        .args(["-r", &env.registry, "pull", "big", "-o", "out"])
        .current_dir(&work)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while std::fs::read_dir(&work).unwrap().next().is_none() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the pull never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    if out.status.code() == Some(0) {
        // Finished before the signal landed: the pack must then be whole.
        eprintln!("the pull finished before SIGTERM");
        assert_eq!(common::snapshot(&work.join("out")), common::snapshot(&src));
        return;
    }
    assert_eq!(
        out.status.code(),
        Some(143),
        "{:?} {}",
        out.status,
        stderr(&out)
    );
    assert!(stderr(&out).contains("terminated"), "{}", stderr(&out));
    let left: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Control characters a hostile pack can carry, by their UTF-8 bytes: ESC, BEL, CR, DEL and
/// the 8-bit CSI (U+009B), and a right-to-left override (U+202E).
const CONTROLS: &[&[u8]] = &[
    b"\x1b",
    b"\x07",
    b"\r",
    b"\x7f",
    b"\xc2\x9b",
    b"\xe2\x80\xae",
];

fn assert_no_controls(what: &str, bytes: &[u8]) {
    for c in CONTROLS {
        assert!(
            !bytes.windows(c.len()).any(|w| w == *c),
            "{what} prints {c:?} raw: {}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// Item 16: text from a registry is printed with control characters escaped.
#[test]
fn registry_text_cannot_drive_the_terminal() {
    let env = Env::new();
    let src = env.path("evil");
    common::copy_dir(&pack("hello-manifests"), &src);
    let hostile = "Evil\u{1b}]0;owned\u{7}\u{1b}[2J\r\u{7f}\u{9b}31m\u{202e}txt.exe";
    common::set_pack_field(&src, "displayName", hostile);
    let pushed = env.json(&["push", s(&src)]);
    let digest = pushed["digest"].as_str().unwrap().to_string();
    // A media type listed in index.json ends up in an error message.
    let dir = env.repo_dir("hello-manifests");
    let raw = std::fs::read(env.blob("hello-manifests", &digest)).unwrap();
    let store = packreg::store::layout::LayoutStore::new(env.path("store"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(store.put_manifest(
        "spectro-packs/archive/hello-manifests",
        Some("odd"),
        &raw,
        "application/vnd.oci.image.manifest.v1+json",
    ))
    .unwrap();
    env.edit_index("hello-manifests", |index| {
        for d in index["manifests"].as_array_mut().unwrap() {
            if d["annotations"]["org.opencontainers.image.ref.name"] == "odd" {
                d["mediaType"] = "application/x-\u{1b}[2Jwiped".into();
            }
        }
    });
    assert!(dir.join("index.json").is_file());

    for args in [
        vec!["ls"],
        vec!["ls", "hello-manifests"],
        vec!["inspect", "hello-manifests:1.0.0"],
        vec!["--json", "ls"],
        vec!["--json", "inspect", "hello-manifests:1.0.0"],
        vec!["pull", "hello-manifests:odd", "-o", "/nonexistent/x"],
        vec![
            "--json",
            "pull",
            "hello-manifests:odd",
            "-o",
            "/nonexistent/x",
        ],
    ] {
        let out = env.run(&args);
        assert_no_controls(&format!("{args:?} stdout"), &out.stdout);
        assert_no_controls(&format!("{args:?} stderr"), &out.stderr);
        if args[0] == "ls" || args[0] == "inspect" {
            let text = ok(&out);
            assert!(text.contains("Evil\\u{1b}]0;owned"), "{args:?}: {text}");
        }
    }
    let json = env.json(&["inspect", "hello-manifests:1.0.0"]);
    assert_eq!(
        json["pack"]["displayName"], hostile,
        "JSON keeps the text itself"
    );
}
