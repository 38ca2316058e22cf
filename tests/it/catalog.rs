//! `packreg catalog`: a static site of a store's or a bundle's packs, brought up to date
//! incrementally, with everything a pack says treated as hostile.

use crate::support as common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::{ok, pack_with_version, s, set_pack_field, Backend, Sandbox, TestStore};

/// A store holding shop 2.1.0+build.7 and hello-manifests 1.0.0 and 1.1.0, 1.0.0 labelled
/// `lts__stable`. Returns the `-r` of the store.
pub fn fill(sb: &Sandbox, store: &TestStore) -> String {
    let target = store.at("");
    ok(&sb.run(&["-r", &target, "push", s(&common::pack("shop"))]));
    for version in ["1.0.0", "1.1.0"] {
        let dir = pack_with_version(
            &sb.path(&format!("hello-{version}")),
            "hello-manifests",
            version,
        );
        ok(&sb.run(&["-r", &target, "push", s(&dir)]));
    }
    ok(&sb.run(&[
        "-r",
        &target,
        "tag",
        "add",
        "hello-manifests:1.0.0",
        "stable",
        "-g",
        "lts",
    ]));
    target
}

/// The text of a file of the site.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

/// Sets the modification time of `path` to a day ago, so that a rewrite is seen.
fn age(path: &Path) -> SystemTime {
    let old = SystemTime::now() - Duration::from_secs(86_400);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    mtime(path)
}

// The site has a card per pack (display name, name, layer, addon type, latest version,
// labels, logo) and a page per pack with the README, every version with its labels and
// parent tags, the charts, images, dependencies, values.yaml and the pull command; every page
// carries the policy that forbids network access.
fn catalog_shows_every_pack_and_version(backend: Backend) {
    let sb = Sandbox::new();
    let store = TestStore::start(backend, &sb);
    let target = fill(&sb, &store);
    let site = sb.path("site");
    let summary = sb.json(&["-r", &target, "catalog", "-o", s(&site)]);
    assert_eq!(summary["packs"], 2, "{summary}");
    assert_eq!(summary["versions"], 3, "{summary}");
    assert_eq!(summary["pagesWritten"], 2, "{summary}");

    let index = read(&site.join("index.html"));
    for text in [
        "Shop (web and cache)",
        "Hello Manifests",
        "<code>shop</code>",
        "<code>hello-manifests</code>",
        "latest 2.1.0+build.7",
        "latest 1.1.0",
        "addon &middot; app services",
        "lts__stable",
        "src=\"packs/shop.logo.png\"",
        "href=\"packs/hello-manifests.html\"",
        "default-src &#39;none&#39;",
    ] {
        assert!(index.contains(text), "{text} not in\n{index}");
    }
    assert!(site.join("packs/shop.logo.png").is_file());

    let hello = read(&site.join("packs/hello-manifests.html"));
    for text in [
        "<td>1.1.0</td>",
        "<td>1.0.0</td>",
        "lts__stable",
        "1.0.x",
        "1.1.x, 1.x",
        "<h2>README</h2>",
        "kubernetes",
        ">k8s<",
        "1.26.0",
        "minLimit",
        "/spectro-packs/archive/hello-manifests:1.1.0</code>",
        "packreg pull ",
        "script-src &#39;none&#39;",
    ] {
        assert!(hello.contains(text), "{text} not in\n{hello}");
    }
    let shop = read(&site.join("packs/shop.html"));
    for text in [
        "<h1>Shop</h1>",
        "<td>web</td><td>1.2.0</td>",
        "<td>cache</td><td>0.3.1</td>",
        "docker.io/library/nginx:1.25.3",
        "<pre id=\"values\">pack:",
        "<td>native</td>",
    ] {
        assert!(shop.contains(text), "{text} not in\n{shop}");
    }
    // The plain summary names the index and the counts.
    let line = ok(&sb.run(&["-r", &target, "catalog", "-o", s(&site)]));
    assert!(line.contains("index.html: 2 packs, 3 versions"), "{line}");
}
over_backends!(catalog_shows_every_pack_and_version);

// A second run reads tags and digests only: pages of packs whose tags did not move are left
// untouched, the page of a pack that gained a version is rewritten, and the page of a pack
// that is gone is removed.
fn a_second_run_rewrites_only_what_changed(backend: Backend) {
    let sb = Sandbox::new();
    let store = TestStore::start(backend, &sb);
    let target = fill(&sb, &store);
    let site = sb.path("site");
    ok(&sb.run(&["-r", &target, "catalog", "-o", s(&site)]));
    let pages: Vec<PathBuf> = [
        "index.html",
        "packs/shop.html",
        "packs/hello-manifests.html",
    ]
    .iter()
    .map(|p| site.join(p))
    .collect();
    let before: Vec<SystemTime> = pages.iter().map(|p| age(p)).collect();

    let again = sb.json(&["-r", &target, "catalog", "-o", s(&site)]);
    assert_eq!(again["pagesWritten"], 0, "{again}");
    assert_eq!(again["pagesKept"], 2, "{again}");
    assert_eq!(again["indexWritten"], false, "{again}");
    let after: Vec<SystemTime> = pages.iter().map(|p| mtime(p)).collect();
    assert_eq!(before, after, "a no-op run touched no page");

    let dir = pack_with_version(&sb.path("hello-1.2.0"), "hello-manifests", "1.2.0");
    ok(&sb.run(&["-r", &target, "push", s(&dir)]));
    let changed = sb.json(&["-r", &target, "catalog", "-o", s(&site)]);
    assert_eq!(changed["pagesWritten"], 1, "{changed}");
    assert_eq!(changed["pagesKept"], 1, "{changed}");
    assert_eq!(mtime(&pages[1]), before[1], "shop's page untouched");
    assert_ne!(mtime(&pages[2]), before[2], "hello's page rewritten");
    assert!(read(&pages[2]).contains("<td>1.2.0</td>"));
    assert!(read(&pages[0]).contains("latest 1.2.0"));

    // Naming packs shows those only: the others' pages go.
    let one = sb.json(&["-r", &target, "catalog", "-o", s(&site), "shop"]);
    assert_eq!(one["packs"], 1, "{one}");
    assert_eq!(one["pagesRemoved"], 1, "{one}");
    assert!(!pages[2].exists());
    assert!(!read(&pages[0]).contains("hello-manifests"));
}
over_backends!(a_second_run_rewrites_only_what_changed);

// An export bundle is shown as it is, without a registry, with pull commands by name (the
// bundle is pulled from wherever it is imported).
#[test]
fn catalog_of_a_bundle_shows_what_it_holds() {
    let sb = Sandbox::new();
    let store = TestStore::start(Backend::Local, &sb);
    let target = fill(&sb, &store);
    let bundle = sb.path("site.tar");
    ok(&sb.run(&["-r", &target, "export", "--all", "-o", s(&bundle)]));
    let site = sb.path("arrived");
    let summary = sb.json(&["catalog", "--bundle", s(&bundle), "-o", s(&site)]);
    assert_eq!(summary["packs"], 2, "{summary}");
    assert_eq!(summary["versions"], 3, "{summary}");
    let hello = read(&site.join("packs/hello-manifests.html"));
    assert!(
        hello.contains("<code>packreg pull hello-manifests:1.1.0</code>"),
        "{hello}"
    );
    assert!(read(&site.join("index.html")).contains("bundle "));
    // --bundle and -r name two sources.
    let both = sb.run(&[
        "-r",
        &target,
        "catalog",
        "--bundle",
        s(&bundle),
        "-o",
        s(&site),
    ]);
    assert_eq!(both.status.code(), Some(2), "{}", common::stderr(&both));
}

// A pack's README, display name and logo are untrusted: scripts, event handlers,
// javascript: URLs, remote images and styles do not survive into the site, and a logo is
// written only when its bytes are a raster image (not SVG, not text named logo.png).
#[test]
fn hostile_readmes_and_logos_are_neutralised() {
    let sb = Sandbox::new();
    let store = TestStore::start(Backend::Local, &sb);
    let target = store.at("");
    let evil = pack_with_version(&sb.path("evil"), "hello-manifests", "6.6.6");
    set_pack_field(&evil, "name", "evil");
    set_pack_field(&evil, "displayName", "<img src=x onerror=alert(1)>Evil");
    std::fs::write(
        evil.join("README.md"),
        "# Evil pack\n\n<script>alert('readme')</script>\n\n\
<img src=\"x.png\" onerror=\"alert('img')\">\n\n\
[click me](javascript:alert('link'))\n\n<a href=\"javascript:alert(2)\">also</a>\n\n\
![beacon](http://evil.example/beacon.png)\n\n<img src=\"https://evil.example/b.png\">\n\n\
<p style=\"background:url(http://evil.example/s.png)\">styled</p>\n\n\
<style>body{background:url(https://evil.example/t.png)}</style>\n\n\
<iframe src=\"https://evil.example/frame\"></iframe>\n\n\
<svg><script>alert('svg')</script></svg>\n",
    )
    .unwrap();
    // A text file named logo.png.
    std::fs::write(evil.join("logo.png"), "<svg onload=alert(1)></svg>").unwrap();
    let out = sb.run(&["-r", &target, "push", s(&evil)]);
    ok(&out);
    // An SVG logo, the only logo of its pack.
    let vector = pack_with_version(&sb.path("vector"), "hello-manifests", "1.0.0");
    set_pack_field(&vector, "name", "vector");
    std::fs::remove_file(vector.join("logo.png")).unwrap();
    std::fs::write(
        vector.join("logo.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script><image href=\"https://evil.example/i.png\"/></svg>",
    )
    .unwrap();
    ok(&sb.run(&["-r", &target, "push", s(&vector)]));

    let site = sb.path("site");
    let summary = sb.json(&["-r", &target, "catalog", "-o", s(&site)]);
    let notes = summary["notes"].to_string();
    assert!(notes.contains("evil: logo.png is not a PNG"), "{notes}");
    assert!(notes.contains("vector: logo.svg is not a PNG"), "{notes}");
    let files: Vec<String> = std::fs::read_dir(site.join("packs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files.iter().all(|f| f.ends_with(".html")),
        "no logo written: {files:?}"
    );
    let page = read(&site.join("packs/evil.html"));
    let index = read(&site.join("index.html"));
    assert!(page.contains("<h1>Evil pack</h1>"), "{page}");
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;Evil"),
        "{page}"
    );
    for html in [&page, &read(&site.join("packs/vector.html"))] {
        let lower = html.to_lowercase();
        for bad in [
            "<script",
            "javascript:",
            "evil.example",
            "<iframe",
            "<svg",
            " style=",
        ] {
            assert!(!lower.contains(bad), "{bad} in\n{html}");
        }
        assert!(!lower.contains("onerror=\""), "{html}");
    }
    // The index holds packreg's own filter script and nothing else that runs.
    assert_eq!(index.matches("<script").count(), 1, "{index}");
    assert!(!index.contains("<img src=x"), "{index}");
    assert!(
        index.contains("&lt;img src=x onerror=alert(1)&gt;Evil"),
        "{index}"
    );
}

// Run through a proxy that logs every request, a no-op second run lists tags and resolves
// them (HEAD) only: no manifest or blob is downloaded, which the first run did.
#[test]
fn a_no_op_run_reads_tag_lists_and_digests_only() {
    require_peers!("docker-registry");
    let sb = Sandbox::new();
    let store = TestStore::start(Backend::Registry, &sb);
    fill(&sb, &store);
    let proxy = common::fault_proxy::FaultProxy::start(&store.at(""));
    let site = sb.path("site");
    ok(&sb.run(&["-r", &proxy.addr, "catalog", "-o", s(&site)]));
    let first = proxy.log();
    let downloads = |log: &[(String, String, u16)]| -> Vec<String> {
        log.iter()
            .filter(|(method, path, _)| {
                method == "GET" && (path.contains("/manifests/") || path.contains("/blobs/"))
            })
            .map(|(m, p, _)| format!("{m} {p}"))
            .collect()
    };
    assert!(
        !downloads(&first).is_empty(),
        "the first run reads manifests and blobs: {first:?}"
    );
    ok(&sb.run(&["-r", &proxy.addr, "catalog", "-o", s(&site)]));
    let second = &proxy.log()[first.len()..];
    assert!(downloads(second).is_empty(), "{:?}", downloads(second));
    assert!(
        second
            .iter()
            .any(|(m, p, _)| m == "GET" && p.contains("/tags/list")),
        "{second:?}"
    );
    for (method, path, _) in second {
        let allowed = (method == "HEAD" && path.contains("/manifests/"))
            || (method == "GET"
                && (path.contains("/tags/list") || path.contains("/_catalog") || path == "/v2/"));
        assert!(allowed, "{method} {path}");
    }
}

// A version's page row names the formats of its signatures, `none` for a version without;
// signing moves a tag (the `.sig` tag), so the next run rewrites that pack's page.
#[test]
fn signatures_show_in_the_versions_table() {
    let sb = Sandbox::new();
    let store = TestStore::start(Backend::Local, &sb);
    let target = fill(&sb, &store);
    let site = sb.path("site");
    ok(&sb.run(&["-r", &target, "catalog", "-o", s(&site)]));
    let key = sb.path("key.pem");
    {
        use openssl::{ec, nid::Nid, pkey::PKey};
        let group = ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let pair = PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap();
        std::fs::write(&key, pair.private_key_to_pem_pkcs8().unwrap()).unwrap();
    }
    ok(&sb.run(&[
        "-r",
        &target,
        "sign",
        "hello-manifests:1.0.0",
        "--key",
        s(&key),
    ]));
    let summary = sb.json(&["-r", &target, "catalog", "-o", s(&site)]);
    assert_eq!(summary["pagesWritten"], 1, "{summary}");
    let page = read(&site.join("packs/hello-manifests.html"));
    let row = |version: &str| {
        page.lines()
            .find(|l| l.contains(&format!("<td>{version}</td>")))
            .unwrap_or_else(|| panic!("no row {version}: {page}"))
            .to_string()
    };
    assert!(
        row("1.0.0").ends_with("<td>cosign</td></tr>"),
        "{}",
        row("1.0.0")
    );
    assert!(
        row("1.1.0").ends_with("<td>none</td></tr>"),
        "{}",
        row("1.1.0")
    );
}

// A README larger than the catalogue reads is named in a note, not shown; a pack in Palette's
// format (one tarball) shows its README and logo read from the head of the tarball.
#[test]
fn readmes_are_bounded_and_tarball_packs_are_read() {
    let sb = Sandbox::new();
    let store = TestStore::start(Backend::Local, &sb);
    let target = store.at("");
    let big = pack_with_version(&sb.path("big"), "hello-manifests", "1.0.0");
    set_pack_field(&big, "name", "big");
    let mut readme = String::from("# Big\n\n");
    while readme.len() <= 1024 * 1024 {
        readme.push_str("a line of a very long README that nobody will read\n");
    }
    std::fs::write(big.join("README.md"), readme).unwrap();
    ok(&sb.run(&["-r", &target, "push", s(&big)]));
    let palette = pack_with_version(&sb.path("tarball"), "hello-manifests", "2.0.0");
    set_pack_field(&palette, "name", "tarball");
    ok(&sb.run(&["-r", &target, "push", "--format", "palette", s(&palette)]));

    let site = sb.path("site");
    let summary = sb.json(&["-r", &target, "catalog", "-o", s(&site)]);
    let notes = summary["notes"].to_string();
    assert!(notes.contains("big: README.md is"), "{notes}");
    let big_page = read(&site.join("packs/big.html"));
    assert!(
        !big_page.contains("<h1>Big</h1>"),
        "the README is not shown"
    );
    assert!(big_page.contains("README.md is"), "the note is on the page");
    let tarball = read(&site.join("packs/tarball.html"));
    assert!(tarball.contains("<h1>Hello Manifests</h1>"), "{tarball}");
    assert!(tarball.contains("<td>palette</td>"), "{tarball}");
    assert!(site.join("packs/tarball.logo.png").is_file());
    // A run that keeps the page still names what it does not show.
    let again = sb.json(&["-r", &target, "catalog", "-o", s(&site)]);
    assert_eq!(again["pagesKept"], 2, "{again}");
    assert!(
        again["notes"].to_string().contains("big: README.md is"),
        "{again}"
    );
}

// A pack named but not in the store is an error naming the nearest pack there is.
#[test]
fn a_named_pack_not_there_is_not_found() {
    let sb = Sandbox::new();
    let store = TestStore::start(Backend::Local, &sb);
    let target = fill(&sb, &store);
    let out = sb.run(&[
        "--json",
        "-r",
        &target,
        "catalog",
        "-o",
        s(&sb.path("site")),
        "shopp",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let err: serde_json::Value = serde_json::from_str(&common::stderr(&out)).unwrap();
    assert_eq!(err["kind"], "not_found", "{err}");
    assert!(err["message"].as_str().unwrap().contains("shop"), "{err}");
    let bad = sb.run(&["-r", &target, "catalog", "-o", s(&sb.path("site")), "../x"]);
    assert_eq!(bad.status.code(), Some(2), "{}", common::stderr(&bad));
}

// A folder that showed another store shows the new one only: the old store's pages go, and
// none of its pages is kept as if it were the new store's.
#[test]
fn a_folder_of_another_store_is_rewritten_for_the_new_one() {
    let sb = Sandbox::new();
    let store = TestStore::start(Backend::Local, &sb);
    let first = fill(&sb, &store);
    let site = sb.path("site");
    ok(&sb.run(&["-r", &first, "catalog", "-o", s(&site)]));
    let second = format!("oci:{}", s(&sb.path("other")));
    ok(&sb.run(&["-r", &second, "push", s(&common::pack("probe"))]));
    let summary = sb.json(&["-r", &second, "catalog", "-o", s(&site)]);
    assert_eq!(summary["packs"], 1, "{summary}");
    assert_eq!(summary["pagesWritten"], 1, "{summary}");
    assert_eq!(summary["pagesRemoved"], 2, "{summary}");
    let mut files: Vec<String> = std::fs::read_dir(site.join("packs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["probe.html", "probe.logo.png"]);
    // Back to the first store: its pages are written again, not kept.
    let back = sb.json(&["-r", &first, "catalog", "-o", s(&site)]);
    assert_eq!(back["pagesWritten"], 2, "{back}");
    assert_eq!(back["pagesKept"], 0, "{back}");
}

/// `--check REG` says, for each image a pack declares, whether it is at its mapped place in
/// REG; every run looks again, and a page is written again only when an answer changed.
#[test]
fn check_shows_which_images_are_in_a_registry_and_follows_them() {
    require_peers!("docker-registry");
    use common::registry::{Registry, Tls};
    let upstream = Registry::start(Tls::None, None);
    crate::images::push_image(&upstream.addr, "team/app", "1.0");
    crate::images::push_image(&upstream.addr, "team/other", "2.0");
    let sb = Sandbox::new();
    let app = format!("{}/team/app:1.0", upstream.addr);
    let other = format!("{}/team/other:2.0", upstream.addr);
    let store = crate::images::pack_with_images(&sb, "withimages", &[app.clone(), other.clone()]);
    let site = sb.path("site");
    let dest = Registry::start(Tls::None, None);
    let run = || {
        sb.json(&[
            "-r",
            &store,
            "--plain-http",
            "catalog",
            "--check",
            &dest.addr,
            "-o",
            s(&site),
        ])
    };
    let row = |page: &str, image: &str| -> String {
        let start = page
            .find(&format!("<code>{image}</code>"))
            .unwrap_or_else(|| panic!("{image} not on the page:\n{page}"));
        page[start..].split("</tr>").next().unwrap().to_string()
    };
    let first = run();
    assert_eq!(first["pagesWritten"], 1, "{first}");
    let page = read(&site.join("packs/withimages.html"));
    assert!(
        page.contains(&format!("<th>in {}</th>", dest.addr)),
        "{page}"
    );
    assert!(row(&page, &app).contains("missing"), "{page}");
    assert!(row(&page, &other).contains("missing"), "{page}");

    // Nothing changed: the page is kept.
    let again = run();
    assert_eq!(
        (again["pagesWritten"].clone(), again["pagesKept"].clone()),
        (0.into(), 1.into()),
        "{again}"
    );

    // One image arrives at its mapped place: the page says so.
    // `images --check` exits 1 while an image is missing; its report names the mapped place.
    let out = sb.run(&[
        "--json",
        "-r",
        &store,
        "images",
        "withimages",
        "--check",
        &dest.addr,
    ]);
    let mapped: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    let at = mapped["images"][0]["mapped"].as_str().unwrap().to_string();
    let path = at.strip_prefix(&format!("{}/", dest.addr)).unwrap();
    let (repo, tag) = path.rsplit_once(':').unwrap();
    crate::images::push_image(&dest.addr, repo, tag);
    let after = run();
    assert_eq!(after["pagesWritten"], 1, "{after}");
    let page = read(&site.join("packs/withimages.html"));
    assert!(row(&page, &app).contains("present"), "{page}");
    assert!(row(&page, &other).contains("missing"), "{page}");
}

/// The page holds every version's values.yaml, the latest open, so a reader picks the
/// version whose values to read.
#[test]
fn every_versions_values_are_on_the_page_the_latest_open() {
    let sb = Sandbox::new();
    let store = format!("oci:{}", s(&sb.path("store")));
    for (version, value) in [("1.0.0", "one"), ("1.1.0", "two")] {
        let dir = pack_with_version(&sb.path(&format!("v{version}")), "hello-manifests", version);
        std::fs::write(dir.join("values.yaml"), format!("pack:\n  note: {value}\n")).unwrap();
        ok(&sb.run(&["-r", &store, "push", s(&dir)]));
    }
    let site = sb.path("site");
    ok(&sb.run(&["-r", &store, "catalog", "-o", s(&site)]));
    let page = read(&site.join("packs/hello-manifests.html"));
    let latest = "<details class=\"values\" open><summary>1.1.0</summary><pre id=\"values\">pack:\n  note: two";
    let older = "<details class=\"values\"><summary>1.0.0</summary><pre>pack:\n  note: one";
    assert!(page.contains(latest), "{page}");
    assert!(page.contains(older), "{page}");
}
