//! Listings whose `Link` pages never end: every page links to a new one. packreg stops at its
//! bounds on pages, entries and bytes, with an error naming the bound.

use super::*;
use packreg::limits::RemoteLimit;

/// Fails the test when `listing` does not end within a minute.
async fn ends<T>(listing: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), listing)
        .await
        .expect("the listing never ended")
}

#[tokio::test]
async fn a_tag_list_of_endless_pages_stops_at_the_entries_bound() {
    let tags: Vec<String> = (0..50_000).map(|i| format!("\"{i}\"")).collect();
    let page = format!(r#"{{"name":"{REPO}","tags":[{}]}}"#, tags.join(","));
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &format!("/v2/{REPO}/tags/list*"), 200)
            .header(
                "link",
                &format!("</v2/{REPO}/tags/list?n=1000&last={{hit}}>; rel=\"next\""),
            )
            .body(page),
    ]);
    let store = connect(&server).await;
    let err = ends(store.tags(REPO)).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Limit {
                limit: RemoteLimit::ListingEntries(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("1000000 entries"), "{err}");
    assert!(server.requests("GET", "/v2/").len() < 30);
}

#[tokio::test]
async fn a_referrers_list_of_endless_pages_stops_at_the_pages_bound() {
    let subject = Digest::of(b"subject");
    let first = format!("/v2/{REPO}/referrers/{subject}");
    let server = FakeRegistry::start(vec![
        open_v2(),
        Rule::new("GET", &format!("{first}*"), 200)
            .header("content-type", INDEX)
            .header("link", &format!("<{first}?page={{hit}}>; rel=\"next\""))
            .body(format!(
                r#"{{"schemaVersion":2,"mediaType":"{INDEX}","manifests":[]}}"#
            )),
    ]);
    let store = connect(&server).await;
    let err = ends(store.referrers(REPO, &subject)).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Limit {
                limit: RemoteLimit::ListingPages(_),
                ..
            }
        ),
        "{err:?}"
    );
}
