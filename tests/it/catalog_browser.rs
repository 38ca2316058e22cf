//! The catalogue in a real browser (Debian's `chromium-headless-shell`): what the pages show
//! once parsed and their script has run, that a hostile README yields no script element, and
//! that opening the site requests nothing from the network. With `PACKREG_BLESS=1` it also
//! writes the screenshot the README shows (docs/catalog.png).

use crate::support as common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ok, pack_with_version, s, set_pack_field, Backend, Sandbox, TestStore};
use serde_json::Value;

use crate::catalog::fill;

const BROWSER: &str = "chromium-headless-shell";

/// Chromium with a private profile and HOME in the sandbox, its own background traffic off,
/// recording every network request in `net_log`. Root (the CI container) needs --no-sandbox.
fn browser(sb: &Sandbox, net_log: &Path) -> Command {
    let mut cmd = Command::new(BROWSER);
    common::isolate(&mut cmd, &sb.path(""), &[]);
    cmd.args([
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--hide-scrollbars",
    ])
    .arg(format!(
        "--user-data-dir={}",
        s(&sb.path("chromium-profile"))
    ))
    .arg(format!("--log-net-log={}", s(net_log)));
    cmd
}

/// The DOM of `page` after its scripts ran, and the URLs the browser requested meanwhile.
fn render(sb: &Sandbox, page: &Path, tag: &str) -> (String, Vec<String>) {
    let net_log = sb.path(&format!("net-{tag}.json"));
    let out = browser(sb, &net_log)
        .arg("--dump-dom")
        .arg(file_url(page))
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "{}", common::stderr(&out));
    (common::stdout(&out), requested_urls(&net_log))
}

fn file_url(path: &Path) -> String {
    format!("file://{}", s(path))
}

/// Every network URL (http, https, ws, wss, ftp) named in a Chromium net log.
fn requested_urls(net_log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(net_log).expect("chromium wrote its net log");
    // A log cut at exit lacks its closing brackets; its events are still complete lines.
    let value: Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .expect("the net log parses");
    let mut urls = Vec::new();
    collect_urls(value.get("events").unwrap_or(&Value::Null), &mut urls);
    urls
}

fn collect_urls(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            let lower = text.to_lowercase();
            if ["http://", "https://", "ws://", "wss://", "ftp://"]
                .iter()
                .any(|scheme| lower.contains(scheme))
            {
                out.push(text.clone());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_urls(v, out)),
        Value::Object(fields) => fields.values().for_each(|v| collect_urls(v, out)),
        _ => {}
    }
}

/// A store with the testdata packs (hello-manifests in two versions, one labelled) and a
/// pack whose README carries scripts and remote images.
fn site(sb: &Sandbox) -> PathBuf {
    let store = TestStore::start(Backend::Local, sb);
    let target = fill(sb, &store);
    for name in ["probe", "hardened-os"] {
        ok(&sb.run(&["-r", &target, "push", s(&common::pack(name))]));
    }
    let evil = pack_with_version(&sb.path("evil"), "hello-manifests", "0.1.0");
    set_pack_field(&evil, "name", "evil");
    set_pack_field(&evil, "displayName", "Evil README");
    std::fs::write(
        evil.join("README.md"),
        "# Evil heading\n\n<script>document.title='pwned'</script>\n\n\
<img src=\"https://127.0.0.1:9/beacon.png\" onerror=\"document.title='pwned'\">\n\n\
![remote](http://127.0.0.1:9/r.png)\n\n[link](javascript:document.title='pwned')\n",
    )
    .unwrap();
    ok(&sb.run(&["-r", &target, "push", s(&evil)]));
    let site = sb.path("site");
    ok(&sb.run(&["-r", &target, "catalog", "-o", s(&site)]));
    site
}

// Rendered by a real browser, the index holds every pack's card with its logo and the filter
// its script shows; each page every version and its README heading; the hostile README no
// script element; and no page requests a network URL. The net log is first shown to catch a
// request: a page loading an image from 127.0.0.1 is logged.
#[test]
fn the_catalogue_renders_in_a_browser_without_network_requests() {
    require_peers!(BROWSER);
    let sb = Sandbox::new();

    // The check can fail: a remote image is logged.
    let control = sb.path("control.html");
    std::fs::write(&control, "<img src=\"http://127.0.0.1:9/control.png\">").unwrap();
    let (_, urls) = render(&sb, &control, "control");
    assert!(
        urls.iter().any(|u| u.contains("127.0.0.1:9/control.png")),
        "the net log records requests: {urls:?}"
    );

    let site = site(&sb);
    let (index, urls) = render(&sb, &site.join("index.html"), "index");
    assert!(urls.is_empty(), "index.html requested {urls:?}");
    for name in ["shop", "hello-manifests", "probe", "hardened-os", "evil"] {
        assert!(
            index.contains(&format!("id=\"pack-{name}\"")),
            "{name}: {index}"
        );
        assert!(
            index.contains(&format!("src=\"packs/{name}.logo.png\"")),
            "{name}'s logo: {index}"
        );
    }
    // The filter script ran (the policy allows it by its hash): the box is shown.
    assert!(
        index.contains("<input id=\"filter\" type=\"search\""),
        "{index}"
    );
    assert!(
        !index.contains("aria-label=\"Filter\" hidden"),
        "the filter script did not run: {index}"
    );

    let (hello, urls) = render(&sb, &site.join("packs/hello-manifests.html"), "hello");
    assert!(urls.is_empty(), "hello's page requested {urls:?}");
    for text in [
        "<td>1.1.0</td>",
        "<td>1.0.0</td>",
        "lts__stable",
        "<h1>Hello Manifests</h1>",
    ] {
        assert!(hello.contains(text), "{text} not in {hello}");
    }
    let (shop, _) = render(&sb, &site.join("packs/shop.html"), "shop");
    assert!(shop.contains("<h1>Shop</h1>"), "{shop}");
    assert!(shop.contains("<td>2.1.0+build.7</td>"), "{shop}");

    let (evil, urls) = render(&sb, &site.join("packs/evil.html"), "evil");
    assert!(urls.is_empty(), "the hostile page requested {urls:?}");
    assert!(evil.contains("<h1>Evil heading</h1>"), "{evil}");
    assert!(!evil.contains("<script"), "a script element: {evil}");
    assert!(!evil.contains("pwned"), "{evil}");

    screenshot(&sb, &site);
}

/// A screenshot of the index; written to docs/catalog.png with `PACKREG_BLESS=1`.
fn screenshot(sb: &Sandbox, site: &Path) {
    let shot = sb.path("catalog.png");
    let out = browser(sb, &sb.path("net-shot.json"))
        .arg(format!("--screenshot={}", s(&shot)))
        .arg("--window-size=1100,420")
        .arg(file_url(&site.join("index.html")))
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    if std::env::var_os("PACKREG_BLESS").is_some_and(|v| v == "1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/catalog.png");
        std::fs::write(docs, png).unwrap();
    }
}
