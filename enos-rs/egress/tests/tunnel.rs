//! `CONNECT` tunnels.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

async fn connect_request(
    proxy: std::net::SocketAddr,
    target: std::net::SocketAddr,
) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(proxy).await.unwrap();
    let request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let head = read_head(&mut stream).await;
    (stream, head)
}

#[tokio::test]
async fn connect_tunnels_bytes_both_ways() {
    let echo = echo_server().await;
    let proxy = TestProxy::start(None, &[echo]).await;
    let (stream, head) = connect_request(proxy.addr, echo).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    let data = deb_body().slice(..512 * 1024);
    let (mut reader, mut writer) = stream.into_split();
    let sent = data.clone();
    let writing = tokio::spawn(async move {
        writer.write_all(&sent).await.unwrap();
        writer
    });
    let mut echoed = vec![0; data.len()];
    reader.read_exact(&mut echoed).await.unwrap();
    assert!(echoed == data);
    drop(writing.await.unwrap());
    assert_eq!(proxy.stats().tunnels, 1);
}

#[tokio::test]
async fn connect_to_closed_port_gives_502() {
    let dead = closed_port().await;
    let proxy = TestProxy::start(None, &[dead]).await;
    let (_stream, head) = connect_request(proxy.addr, dead).await;
    assert!(head.starts_with("HTTP/1.1 502"), "{head}");
    let stats = proxy.stats();
    assert_eq!((stats.tunnels, stats.upstream_errors), (0, 1));
}
