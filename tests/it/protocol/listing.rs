//! Listings and referrers: Link pages and loops, the catalog refused, the Referrers API and its fallback, an image copy taking its referrers.

use super::*;

#[tokio::test]
async fn the_referrers_api_is_used_and_its_pages_followed() {
    let subject = Digest::of(b"subject");
    let a = Digest::of(b"a");
    let b = Digest::of(b"b");
    let page = |d: &Digest| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{INDEX}","manifests":[{{"mediaType":"{MANIFEST}","digest":"{d}","size":10,"artifactType":"application/example"}}]}}"#
        )
    };
    let first = format!("/v2/{REPO}/referrers/{subject}");
    let second = format!("{first}?next=2");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &second, 200)
            .header("content-type", INDEX)
            .body(page(&b)),
        Rule::new("GET", &first, 200)
            .header("content-type", INDEX)
            .header("link", &format!("<{second}>; rel=\"next\""))
            .body(page(&a)),
    ]);
    let store = connect(&server).await;
    let referrers = store.referrers(REPO, &subject).await.unwrap().unwrap();
    let digests: Vec<_> = referrers.iter().map(|d| d.digest.clone()).collect();
    assert_eq!(digests, vec![a, b]);
}

#[tokio::test]
async fn referrers_fall_back_on_404_but_not_on_a_missing_repository() {
    let subject = Digest::of(b"subject");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &format!("/v2/{REPO}/referrers/*"), 404).body("404 page not found"),
        Rule::new("GET", "/v2/spectro-packs/archive/gone/referrers/*", 404)
            .body(r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}"#),
        Rule::new("GET", "/v2/spectro-packs/archive/broken/referrers/*", 500),
    ]);
    // A store per question: once a registry showed it has no Referrers API, a store asks no
    // more.
    let store = connect(&server).await;
    let gone = store
        .referrers("spectro-packs/archive/gone", &subject)
        .await
        .unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");
    // A failing registry is an error, not "no Referrers API".
    assert!(store
        .referrers("spectro-packs/archive/broken", &subject)
        .await
        .is_err());
    assert!(store.referrers(REPO, &subject).await.unwrap().is_none());
    let asked = server.requests("GET", "/v2/").len();
    assert!(store.referrers(REPO, &subject).await.unwrap().is_none());
    assert_eq!(server.requests("GET", "/v2/").len(), asked, "asked again");
}

#[tokio::test]
async fn a_link_loop_is_an_error_not_a_short_list() {
    let first = format!("/v2/{REPO}/tags/list?n=1000");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &first, 200)
            .header("link", &format!("<{first}>; rel=\"next\""))
            .body(r#"{"name":"x","tags":["1.0.0"]}"#),
    ]);
    let store = connect(&server).await;
    let err = store.tags(REPO).await.unwrap_err();
    assert!(err.to_string().contains("loop"), "{err}");
}

#[tokio::test]
async fn the_catalog_refused_with_401_or_404_says_so_and_a_500_is_an_error() {
    for (status, refused) in [(401, true), (404, true), (500, false)] {
        let server =
            FakeRegistry::start(vec![open_v2(), Rule::new("GET", "/v2/_catalog*", status)]);
        let store = connect(&server).await;
        let err = store
            .repositories("spectro-packs/archive")
            .await
            .unwrap_err();
        assert_eq!(
            matches!(err, StoreError::CatalogRefused { .. }),
            refused,
            "HTTP {status}: {err:?}"
        );
    }
}

#[tokio::test]
async fn an_image_copy_takes_its_referrers_from_the_referrers_api() {
    use packreg::ops::copy::{CopyOptions, CopyStats, GraphCopier, Side};
    let repo = "team/app";
    let (config, layer, sig_layer) = (b"{}".to_vec(), b"layer".to_vec(), b"signature".to_vec());
    let blob = |b: &[u8]| {
        format!(
            r#"{{"mediaType":"application/octet-stream","digest":"{}","size":{}}}"#,
            Digest::of(b),
            b.len()
        )
    };
    let image = format!(
        r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{},"layers":[{}]}}"#,
        blob(&config),
        blob(&layer)
    );
    let image_digest = Digest::of(image.as_bytes());
    let signature = format!(
        r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","artifactType":"application/vnd.example.sig","config":{},"layers":[{}],"subject":{{"mediaType":"{MANIFEST}","digest":"{image_digest}","size":{}}}}}"#,
        blob(&config),
        blob(&sig_layer),
        image.len()
    );
    let sig_digest = Digest::of(signature.as_bytes());
    let referrers = format!(
        r#"{{"schemaVersion":2,"mediaType":"{INDEX}","manifests":[{{"mediaType":"{MANIFEST}","digest":"{sig_digest}","size":{},"artifactType":"application/vnd.example.sig"}}]}}"#,
        signature.len()
    );
    let mut rules = vec![
        open_v2(),
        Rule::new("GET", &format!("/v2/{repo}/manifests/1.0"), 200)
            .header("content-type", MANIFEST)
            .body(image.clone()),
        Rule::new("GET", &format!("/v2/{repo}/manifests/{sig_digest}"), 200)
            .header("content-type", MANIFEST)
            .body(signature.clone()),
        Rule::new("GET", &format!("/v2/{repo}/referrers/{image_digest}"), 200)
            .header("content-type", INDEX)
            .body(referrers),
        Rule::new("GET", &format!("/v2/{repo}/tags/list*"), 200).body(r#"{"tags":["1.0"]}"#),
    ];
    for b in [&config, &layer, &sig_layer] {
        rules.push(
            Rule::new("GET", &format!("/v2/{repo}/blobs/{}", Digest::of(b)), 200).body(b.clone()),
        );
    }
    let server = FakeRegistry::start(rules);
    let src = connect(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let dst = packreg::store::layout::LayoutStore::new(dir.path());
    let opts = CopyOptions::default();
    let copier = GraphCopier::new(
        Side { store: &src, repo },
        Side {
            store: &dst,
            repo: "mirror/team/app",
        },
        &opts,
    );
    let mut stats = CopyStats::default();
    let copied = copier
        .copy_reference("1.0", Some("1.0"), &mut stats)
        .await
        .unwrap();
    let subjects = [copied.digest.clone()].into_iter().collect();
    copier
        .copy_referrers(&subjects, None, &mut stats)
        .await
        .unwrap();
    assert_eq!(stats.referrers_copied, 1);
    assert_eq!(copied.digest, image_digest);
    assert_eq!(
        dst.resolve("mirror/team/app", "1.0").await.unwrap(),
        Some(image_digest.clone())
    );
    assert_eq!(
        dst.resolve("mirror/team/app", sig_digest.as_str())
            .await
            .unwrap(),
        Some(sig_digest.clone()),
        "the signature did not come along"
    );
    // A layout has no Referrers API: the signature is found there through the fallback tag.
    let fallback = format!("sha256-{}", image_digest.hex());
    let index = dst
        .get_manifest("mirror/team/app", &fallback)
        .await
        .unwrap();
    let index: packreg::oci::Index = serde_json::from_slice(&index.bytes).unwrap();
    assert_eq!(index.manifests.len(), 1);
    assert_eq!(index.manifests[0].digest, sig_digest);
}
