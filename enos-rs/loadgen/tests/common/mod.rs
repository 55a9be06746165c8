//! A local HTTP server that may stall, and the records read back.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use enos_loadgen::{Record, Summary};
use http_body_util::Full;
use hyper::Response;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The body of every answer.
pub const BODY: &[u8] = b"hello, load\n";

/// A server on 127.0.0.1 answering every request with [`BODY`]; a request that arrives inside
/// its stall waits for the stall's end.
pub struct Server {
    pub url: String,
    /// Connections accepted so far.
    pub connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// How many connections it accepted.
    pub fn accepted(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub async fn start(stall: Option<(Instant, Instant)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::clone(&connections);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let service = service_fn(move |_request| async move {
                        let now = Instant::now();
                        if let Some((from, to)) = stall
                            && from <= now
                            && now < to
                        {
                            tokio::time::sleep_until(to.into()).await;
                        }
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(BODY))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url: format!("http://{addr}/bench?x=1"),
            connections,
            task,
        }
    }
}

/// A port on 127.0.0.1 where nothing listens.
pub fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// `instant` in nanoseconds since the Unix epoch, through a reading of both clocks.
pub fn unix_ns(instant: Instant) -> i128 {
    let (now, system) = (Instant::now(), SystemTime::now());
    let since = system.duration_since(UNIX_EPOCH).unwrap().as_nanos() as i128;
    if instant >= now {
        since + (instant - now).as_nanos() as i128
    } else {
        since - (now - instant).as_nanos() as i128
    }
}

/// What a records file holds.
pub struct Records {
    pub start: Value,
    pub requests: Vec<Record>,
    pub summary: Option<Summary>,
}

/// Reads the whole lines of a records file; every one must parse.
pub fn read(path: &Path) -> Records {
    let text = std::fs::read_to_string(path).unwrap();
    let whole = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    let mut lines = whole.lines();
    let start: Value = serde_json::from_str(lines.next().expect("a start line")).unwrap();
    assert_eq!(start["type"], "start");
    assert_eq!(start["version"], 1);
    let mut records = Records {
        start,
        requests: Vec::new(),
        summary: None,
    };
    for line in lines {
        let value: Value = serde_json::from_str(line).unwrap();
        assert!(records.summary.is_none(), "a line after the summary");
        match value["type"].as_str() {
            Some("request") => records
                .requests
                .push(serde_json::from_value(value).unwrap()),
            Some("summary") => records.summary = Some(serde_json::from_value(value).unwrap()),
            other => panic!("a line of type {other:?}"),
        }
    }
    records
}

pub fn ms(d: u64) -> Duration {
    Duration::from_millis(d)
}
