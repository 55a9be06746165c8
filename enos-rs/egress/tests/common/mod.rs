//! Local upstream servers, a proxy harness and a client that speaks to the proxy.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use enos_egress::{Proxy, ProxyConfig, Stats};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HOST, HeaderMap};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const DEB: &str = "/debian/pool/main/x/x_1.0_all.deb";
pub const INRELEASE: &str = "/debian/dists/sid/InRelease";
pub const MISSING: &str = "/debian/pool/main/m/missing_1.0_all.deb";
/// Answers with the request's header names, one per line.
pub const HEADERS: &str = "/headers";

/// 8 MiB of deterministic pseudo-random bytes.
pub fn deb_body() -> Bytes {
    static BODY: OnceLock<Bytes> = OnceLock::new();
    BODY.get_or_init(|| {
        let mut x: u32 = 0x1234_5678;
        (0..8 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect::<Vec<u8>>()
            .into()
    })
    .clone()
}

/// A local HTTP server counting hits per path.
pub struct Upstream {
    pub addr: SocketAddr,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    task: JoinHandle<()>,
}

impl Upstream {
    /// An upstream on 127.0.0.1.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1".parse().unwrap()).await
    }

    /// An upstream on `ip` (`0.0.0.0` for every address of this machine).
    pub async fn start_on(ip: std::net::IpAddr) -> Self {
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let counted = hits.clone();
        let task = tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let hits = counted.clone();
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let path = req.uri().path().to_owned();
                    *hits.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                    async move { Ok::<_, Infallible>(answer(&path, req.headers())) }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Self { addr, hits, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(path: &str, headers: &HeaderMap) -> Response<Full<Bytes>> {
    let (status, body) = match path {
        DEB => (StatusCode::OK, deb_body()),
        INRELEASE => (StatusCode::OK, Bytes::from_static(b"Origin: Debian\n")),
        HEADERS => {
            let names: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
            (StatusCode::OK, names.join("\n").into())
        }
        _ => (StatusCode::NOT_FOUND, Bytes::from_static(b"no such file\n")),
    };
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    res
}

/// A raw upstream that announces `declared` body bytes, sends `sent` of them
/// and closes the connection. Returns its address and hit counter.
pub async fn truncating_upstream(declared: usize, sent: usize) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            read_head(&mut stream).await;
            counted.fetch_add(1, Ordering::SeqCst);
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\n\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&deb_body()[..sent]).await;
        }
    });
    (addr, hits)
}

/// A TCP server echoing what it receives.
pub async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

/// An address where nothing listens.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// Reads an HTTP head byte by byte (so nothing after it is consumed).
pub async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read_u8().await {
            Ok(b) => head.push(b),
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A proxy running on 127.0.0.1:0 in the background.
pub struct TestProxy {
    pub addr: SocketAddr,
    pub proxy: Proxy,
    cache_dir: Option<PathBuf>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Stats>,
}

/// The configuration of a test proxy: it serves loopback clients and forwards to `upstreams`
/// only. The fake upstreams listen on 127.0.0.1, so loopback upstreams pass the address check
/// (the one setting only tests use); every other check stays on.
pub fn test_config(cache_dir: Option<PathBuf>, upstreams: &[SocketAddr]) -> ProxyConfig {
    ProxyConfig {
        cache_dir,
        clients: vec!["127.0.0.0/8".parse().unwrap()],
        allow: upstreams
            .iter()
            .map(|a| a.to_string().parse().unwrap())
            .collect(),
        loopback_upstreams: true,
        ..ProxyConfig::new("127.0.0.1:0".parse().unwrap())
    }
}

impl TestProxy {
    /// A proxy as [`test_config`] sets it up.
    pub async fn start(cache_dir: Option<PathBuf>, upstreams: &[SocketAddr]) -> Self {
        Self::with_config(test_config(cache_dir, upstreams)).await
    }

    /// A proxy with `config` (its `listen` address is replaced by 127.0.0.1:0).
    pub async fn with_config(config: ProxyConfig) -> Self {
        let config = ProxyConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..config
        };
        let cache_dir = config.cache_dir.clone();
        let listener = enos_egress::bind(&config).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let proxy = Proxy::new(config).unwrap();
        let (stop, stopped) = oneshot::channel();
        let serving = proxy.clone();
        let task = tokio::spawn(async move {
            serving
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
        });
        Self {
            addr,
            proxy,
            cache_dir,
            stop: Some(stop),
            task,
        }
    }

    pub fn stats(&self) -> Stats {
        self.proxy.stats()
    }

    /// Sorted file names in the cache directory.
    pub fn cache_files(&self) -> Vec<String> {
        let dir = self.cache_dir.as_ref().expect("proxy has a cache");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Stops the proxy and returns its final counters.
    pub async fn shutdown(mut self) -> Stats {
        let _ = self.stop.take().unwrap().send(());
        (&mut self.task).await.unwrap()
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An answer as seen by the client; `body` is an error when it was cut short.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Result<Bytes, hyper::Error>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.body.as_ref().unwrap()).into_owned()
    }
}

/// Opens a client connection to the proxy.
pub async fn connect(proxy: SocketAddr) -> SendRequest<Empty<Bytes>> {
    let stream = TcpStream::connect(proxy).await.unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

/// Sends `GET uri` (absolute form for a proxy request) on `sender`.
pub async fn get_on(sender: &mut SendRequest<Empty<Bytes>>, uri: &str) -> Answer {
    let parsed: Uri = uri.parse().unwrap();
    let host = parsed
        .authority()
        .map_or("localhost", |a| a.as_str())
        .to_owned();
    send(sender, Request::get(parsed).header(HOST, host)).await
}

/// Sends the request built by `builder` on `sender`.
pub async fn send(
    sender: &mut SendRequest<Empty<Bytes>>,
    builder: hyper::http::request::Builder,
) -> Answer {
    sender.ready().await.unwrap();
    let res = sender
        .send_request(builder.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.map(|b| b.to_bytes());
    Answer {
        status,
        headers,
        body,
    }
}

/// Sends `GET uri` through the proxy on a new connection.
pub async fn get(proxy: SocketAddr, uri: &str) -> Answer {
    get_on(&mut connect(proxy).await, uri).await
}
