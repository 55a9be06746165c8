//! The `.deb` cache.

use hyper::StatusCode;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};

use crate::common::*;

#[tokio::test]
async fn deb_is_served_from_cache_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = Upstream::start().await;
    let proxy = TestProxy::start(Some(dir.path().to_owned()), &[upstream.addr]).await;
    let first = get(proxy.addr, &upstream.url(DEB)).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.body.unwrap() == deb_body());
    assert_eq!(proxy.stats().cache_stored, 1);
    assert_eq!(proxy.cache_files().len(), 1);

    let second = get(proxy.addr, &upstream.url(DEB)).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(
        second.headers[CONTENT_TYPE],
        "application/vnd.debian.binary-package"
    );
    assert_eq!(
        second.headers[CONTENT_LENGTH],
        deb_body().len().to_string().as_str()
    );
    assert!(second.body.unwrap() == deb_body());
    assert_eq!(upstream.hits(DEB), 1);

    let stats = proxy.shutdown().await;
    assert_eq!(
        (stats.requests, stats.cache_hits, stats.cache_stored),
        (2, 1, 1)
    );
    assert_eq!(stats.upstream_bytes, deb_body().len() as u64);
    assert_eq!(stats.cache_bytes, deb_body().len() as u64);

    // A new proxy on the same directory serves the entry too.
    let again = TestProxy::start(Some(dir.path().to_owned()), &[upstream.addr]).await;
    assert!(get(again.addr, &upstream.url(DEB)).await.body.unwrap() == deb_body());
    assert_eq!(upstream.hits(DEB), 1);
    assert_eq!(again.stats().cache_hits, 1);
}

#[tokio::test]
async fn inrelease_is_never_cached() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = Upstream::start().await;
    let proxy = TestProxy::start(Some(dir.path().to_owned()), &[upstream.addr]).await;
    for _ in 0..2 {
        let answer = get(proxy.addr, &upstream.url(INRELEASE)).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.text(), "Origin: Debian\n");
    }
    assert_eq!(upstream.hits(INRELEASE), 2);
    assert!(proxy.cache_files().is_empty());
    assert_eq!(proxy.stats().cache_hits, 0);
}

#[tokio::test]
async fn not_found_is_passed_through_and_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = Upstream::start().await;
    let proxy = TestProxy::start(Some(dir.path().to_owned()), &[upstream.addr]).await;
    for _ in 0..2 {
        let answer = get(proxy.addr, &upstream.url(MISSING)).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert_eq!(answer.text(), "no such file\n");
    }
    assert_eq!(upstream.hits(MISSING), 2);
    assert!(proxy.cache_files().is_empty());
    assert_eq!(proxy.stats().cache_stored, 0);
}

#[tokio::test]
async fn truncated_download_leaves_no_cache_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (upstream, hits) = truncating_upstream(8 << 20, 1 << 20).await;
    let proxy = TestProxy::start(Some(dir.path().to_owned()), &[upstream]).await;
    let url = format!("http://{upstream}{DEB}");
    for round in 1..=2 {
        let answer = get(proxy.addr, &url).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.body.is_err(), "a cut body must not look complete");
        assert_eq!(proxy.cache_files(), Vec::<String>::new());
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), round);
    }
    let stats = proxy.stats();
    assert_eq!((stats.cache_hits, stats.cache_stored), (0, 0));
}
