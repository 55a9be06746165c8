//! Forwarding of plain HTTP requests.

use hyper::header::{CONTENT_LENGTH, HOST};
use hyper::{Request, StatusCode};

use crate::common::*;

#[tokio::test]
async fn forward_get_streams_large_body_unchanged() {
    let upstream = Upstream::start().await;
    let proxy = TestProxy::start(None, &[upstream.addr]).await;
    let answer = get(proxy.addr, &upstream.url(DEB)).await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.body.unwrap();
    assert_eq!(body.len(), deb_body().len());
    assert!(body == deb_body(), "body differs");
    assert_eq!(
        answer.headers[CONTENT_LENGTH],
        body.len().to_string().as_str()
    );
    assert_eq!(upstream.hits(DEB), 1);
    let stats = proxy.stats();
    assert_eq!(stats.requests, 1);
    assert_eq!(stats.upstream_bytes, body.len() as u64);
    assert_eq!((stats.cache_hits, stats.cache_stored), (0, 0));
}

#[tokio::test]
async fn keep_alive_serves_two_requests_on_one_connection() {
    let upstream = Upstream::start().await;
    let proxy = TestProxy::start(None, &[upstream.addr]).await;
    let mut client = connect(proxy.addr).await;
    let first = get_on(&mut client, &upstream.url(INRELEASE)).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.text(), "Origin: Debian\n");
    let second = get_on(&mut client, &upstream.url(DEB)).await;
    assert_eq!(second.status, StatusCode::OK);
    assert!(second.body.unwrap() == deb_body());
    assert_eq!(proxy.stats().requests, 2);
}

#[tokio::test]
async fn hop_by_hop_headers_are_not_forwarded() {
    let upstream = Upstream::start().await;
    let proxy = TestProxy::start(None, &[upstream.addr]).await;
    let request = Request::get(upstream.url(HEADERS))
        .header(HOST, upstream.addr.to_string())
        .header("proxy-connection", "keep-alive")
        .header("proxy-authorization", "Basic Zm9vOmJhcg==")
        .header("connection", "keep-alive, x-private")
        .header("x-private", "1")
        .header("x-kept", "1");
    let answer = send(&mut connect(proxy.addr).await, request).await;
    assert_eq!(answer.status, StatusCode::OK);
    let text = answer.text();
    let names: Vec<&str> = text.lines().collect();
    assert!(
        names.contains(&"host") && names.contains(&"x-kept"),
        "{names:?}"
    );
    for gone in [
        "proxy-connection",
        "proxy-authorization",
        "connection",
        "x-private",
    ] {
        assert!(!names.contains(&gone), "{gone} forwarded: {names:?}");
    }
}

#[tokio::test]
async fn origin_form_request_gets_400() {
    let proxy = TestProxy::start(None, &[]).await;
    let request = Request::get("/debian/dists/sid/InRelease").header(HOST, "deb.debian.org");
    let answer = send(&mut connect(proxy.addr).await, request).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.text().contains("forward proxy"), "{}", answer.text());
}

#[tokio::test]
async fn unreachable_upstream_gives_502_naming_it() {
    let dead = closed_port().await;
    let proxy = TestProxy::start(None, &[dead]).await;
    let answer = get(proxy.addr, &format!("http://{dead}{INRELEASE}")).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    let text = answer.text();
    assert!(text.contains(&dead.to_string()), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert_eq!(proxy.stats().upstream_errors, 1);
}
