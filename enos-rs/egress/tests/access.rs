//! Access control: who may use the proxy, and where it may forward.

use std::net::{IpAddr, SocketAddr};

use enos_egress::ProxyConfig;
use enos_egress::access::LocalAddresses;
use hyper::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

/// Sends `CONNECT target` and returns the answer's head and body.
async fn connect_head(proxy: SocketAddr, target: &str) -> String {
    let mut stream = TcpStream::connect(proxy).await.unwrap();
    let request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let head = read_head(&mut stream).await;
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.unwrap();
    head + &String::from_utf8_lossy(&body)
}

/// A proxy with every check on (loopback upstreams refused too) that forwards to `allow`.
fn strict(allow: &[&str]) -> ProxyConfig {
    ProxyConfig {
        allow: allow.iter().map(|a| a.parse().unwrap()).collect(),
        loopback_upstreams: false,
        ..test_config(None, &[])
    }
}

fn assert_refused(answer: &Answer, why: &str) {
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text());
    let text = answer.text();
    assert!(text.starts_with("403 Forbidden: "), "{text}");
    assert!(text.contains(why), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[tokio::test]
async fn a_client_outside_the_served_blocks_is_refused() {
    let upstream = Upstream::start().await;
    let echo = echo_server().await;
    let config = ProxyConfig {
        clients: vec!["198.18.16.0/20".parse().unwrap()],
        ..test_config(None, &[upstream.addr, echo])
    };
    let proxy = TestProxy::with_config(config).await;
    let answer = get(proxy.addr, &upstream.url(INRELEASE)).await;
    assert_refused(&answer, "client 127.0.0.1 is outside");
    let head = connect_head(proxy.addr, &echo.to_string()).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    assert_eq!(upstream.hits(INRELEASE), 0);
    let stats = proxy.stats();
    assert_eq!((stats.requests, stats.refused, stats.tunnels), (2, 2, 0));
}

#[tokio::test]
async fn a_target_not_on_the_allow_list_is_refused_without_asking_it() {
    let listed = Upstream::start().await;
    let other = Upstream::start().await;
    let echo = echo_server().await;
    let proxy = TestProxy::start(None, &[listed.addr]).await;
    assert_eq!(
        get(proxy.addr, &listed.url(INRELEASE)).await.status,
        StatusCode::OK
    );
    let answer = get(proxy.addr, &other.url(INRELEASE)).await;
    assert_refused(
        &answer,
        &format!("{} is not on this proxy's allow-list", other.addr),
    );
    assert_eq!(other.hits(INRELEASE), 0);
    // A listed host on another port is another target.
    let answer = get(
        proxy.addr,
        &format!("http://127.0.0.1:{}{INRELEASE}", echo.port()),
    )
    .await;
    assert_refused(&answer, "allow-list");
    let head = connect_head(proxy.addr, &echo.to_string()).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    let stats = proxy.stats();
    assert_eq!((stats.refused, stats.tunnels), (3, 0));
}

#[tokio::test]
async fn loopback_is_refused_even_when_listed() {
    let upstream = Upstream::start().await;
    let echo = echo_server().await;
    let (listed_upstream, listed_echo) = (upstream.addr.to_string(), echo.to_string());
    let proxy = TestProxy::with_config(strict(&[&listed_upstream, &listed_echo])).await;
    let answer = get(proxy.addr, &upstream.url(INRELEASE)).await;
    assert_refused(&answer, "leads to 127.0.0.1, a loopback address");
    assert_eq!(upstream.hits(INRELEASE), 0);
    let head = connect_head(proxy.addr, &listed_echo).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    assert!(head.contains("a loopback address"), "{head}");
    let stats = proxy.stats();
    assert_eq!((stats.refused, stats.tunnels), (2, 0));
}

#[tokio::test]
async fn a_name_that_leads_to_loopback_is_refused() {
    let upstream = Upstream::start().await;
    let port = upstream.addr.port();
    let listed = format!("localhost:{port}");
    let proxy = TestProxy::with_config(strict(&[&listed])).await;
    let answer = get(proxy.addr, &format!("http://localhost:{port}{INRELEASE}")).await;
    assert_refused(&answer, "a loopback address");
    assert_eq!(upstream.hits(INRELEASE), 0);
    let head = connect_head(proxy.addr, &listed).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
}

#[tokio::test]
async fn the_testbed_range_link_local_and_unspecified_addresses_are_refused() {
    let proxy = TestProxy::with_config(strict(&[
        "198.18.0.1:22",
        "169.254.169.254",
        "0.0.0.0:22",
        "[fe80::1]:22",
    ]))
    .await;
    for (target, why) in [
        ("198.18.0.1:22", "in the testbed's range 198.18.0.0/15"),
        ("0.0.0.0:22", "an unspecified address"),
        ("[fe80::1]:22", "a link-local address"),
    ] {
        let head = connect_head(proxy.addr, target).await;
        assert!(head.starts_with("HTTP/1.1 403"), "{target}: {head}");
        assert!(head.contains(why), "{target}: {head}");
    }
    let answer = get(proxy.addr, "http://169.254.169.254/latest/meta-data/").await;
    assert_refused(&answer, "a link-local address");
    let answer = get(proxy.addr, "http://198.18.0.1:22/").await;
    assert_refused(&answer, "in the testbed's range 198.18.0.0/15");
    assert_eq!(proxy.stats().refused, 5);
}

#[tokio::test]
async fn this_machine_s_own_addresses_are_refused() {
    let own = LocalAddresses::now()
        .unwrap()
        .own
        .into_iter()
        .find(|a| matches!(a, IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_link_local()));
    let Some(own) = own else {
        println!("skipped: this machine has no IPv4 address but loopback");
        return;
    };
    // A service bound to every address of the machine, reached by one that is not loopback:
    // only the own-address check stands in the way (loopback upstreams are let through).
    let upstream = Upstream::start_on("0.0.0.0".parse().unwrap()).await;
    let target = SocketAddr::new(own, upstream.addr.port());
    let proxy = TestProxy::start(None, &[target]).await;
    let answer = get(proxy.addr, &format!("http://{target}{INRELEASE}")).await;
    assert_refused(&answer, "an address of this machine");
    assert_eq!(upstream.hits(INRELEASE), 0);
    let head = connect_head(proxy.addr, &target.to_string()).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    assert!(head.contains("an address of this machine"), "{head}");
}
