//! The HTTP/1.1 forward proxy: connection handling, forwarding, tunnels.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::fs::File;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::timeout;
use tracing::{debug, warn};

use crate::access::{Refusal, allowed};
use crate::cache::{Cache, Entry};
use crate::connect::{ConnectFailure, Upstreams, refusal_in};
use crate::{Counters, EgressError, ProxyConfig, Stats};

type BoxError = Box<dyn StdError + Send + Sync>;
type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;
type FrameResult = Result<Frame<Bytes>, BoxError>;

/// Content type of answers served from the cache.
const DEB_CONTENT_TYPE: &str = "application/vnd.debian.binary-package";

/// A forward proxy instance; cheap to clone (clones share counters and cache).
#[derive(Debug, Clone)]
pub struct Proxy {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ProxyConfig,
    upstreams: Upstreams,
    client: Client<Upstreams, Incoming>,
    cache: Option<Cache>,
    counters: Arc<Counters>,
}

impl Proxy {
    /// Creates a proxy, creating [`ProxyConfig::cache_dir`] if it is set.
    pub fn new(config: ProxyConfig) -> Result<Self, EgressError> {
        let cache = match &config.cache_dir {
            Some(dir) => {
                Some(
                    Cache::open(dir.clone()).map_err(|source| EgressError::CacheDir {
                        path: dir.clone(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let upstreams = Upstreams {
            connect_timeout: config.connect_timeout,
            loopback_upstreams: config.loopback_upstreams,
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .build(upstreams.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                upstreams,
                client,
                cache,
                counters: Arc::default(),
            }),
        })
    }

    /// Returns a snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    /// Accepts and serves connections on `listener` until `shutdown`
    /// completes, then returns the final counters.
    ///
    /// On shutdown the listener is closed, open connections finish their
    /// current request (and tunnels are closed) within
    /// [`ProxyConfig::shutdown_grace`], after which they are dropped.
    pub async fn serve(&self, listener: TcpListener, shutdown: impl Future<Output = ()>) -> Stats {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut conns = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        conns.spawn(self.clone().connection(stream, peer, stop_rx.clone()));
                    }
                    Err(e) => {
                        // Typically out of file descriptors: back off instead of spinning.
                        warn!("accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
        drop(listener);
        stop_tx.send_replace(true);
        let drain = async { while conns.join_next().await.is_some() {} };
        if timeout(self.inner.config.shutdown_grace, drain)
            .await
            .is_err()
        {
            warn!(
                open = conns.len(),
                "dropping connections still open after shutdown grace"
            );
            conns.shutdown().await;
        }
        self.stats()
    }

    async fn connection(self, stream: TcpStream, peer: SocketAddr, stop: watch::Receiver<bool>) {
        let service_stop = stop.clone();
        let service = hyper::service::service_fn(move |req| {
            let this = self.clone();
            let stop = service_stop.clone();
            async move { Ok::<_, Infallible>(this.handle(req, peer, stop).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::pin!(conn);
        let result = tokio::select! {
            result = conn.as_mut() => result,
            () = stopped(stop) => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = result {
            debug!(%peer, "connection ended: {e}");
        }
    }

    async fn handle(
        self,
        req: Request<Incoming>,
        peer: SocketAddr,
        stop: watch::Receiver<bool>,
    ) -> Response<ProxyBody> {
        let counters = &self.inner.counters;
        Counters::add(&counters.requests, 1);
        debug!(%peer, method = %req.method(), uri = %req.uri(), "request");
        let client = peer.ip();
        if !self.inner.config.clients.iter().any(|b| b.contains(client)) {
            let target = req.uri().to_string();
            return self.forbidden(peer, &target, &Refusal::Client(client));
        }
        if req.method() == Method::CONNECT {
            return self.tunnel(req, peer, stop).await;
        }
        match req.uri().scheme_str() {
            Some("http") if req.uri().authority().is_some() => {}
            None => {
                return text(
                    StatusCode::BAD_REQUEST,
                    "this is a forward proxy: send absolute-form requests (GET http://host/path)"
                        .into(),
                );
            }
            Some(other) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("cannot forward {other}:// URIs: only http://, use CONNECT for https"),
                );
            }
        }
        let host = req.uri().host().unwrap_or_default();
        let port = req.uri().port_u16().unwrap_or(80);
        if !allowed(&self.inner.config.allow, host, port) {
            let target = format!("{host}:{port}");
            let refusal = Refusal::NotAllowed {
                target: target.clone(),
            };
            return self.forbidden(peer, &target, &refusal);
        }
        let cached = match &self.inner.cache {
            Some(cache) if req.method() == Method::GET => Cache::key(req.uri()).map(|k| (cache, k)),
            _ => None,
        };
        if let Some((cache, key)) = &cached
            && let Some((file, len)) = cache.lookup(key).await
        {
            debug!(%peer, uri = %req.uri(), len, "cache hit");
            Counters::add(&counters.cache_hits, 1);
            return from_cache(file, len, counters.clone());
        }
        self.forward(req, peer, cached).await
    }

    /// Sends `req` upstream and streams the answer back, storing it as cache
    /// entry when `cache` is given and the answer is a `200`.
    async fn forward(
        &self,
        req: Request<Incoming>,
        peer: SocketAddr,
        cache: Option<(&Cache, String)>,
    ) -> Response<ProxyBody> {
        let authority = req
            .uri()
            .authority()
            .map(ToString::to_string)
            .unwrap_or_default();
        let (mut parts, body) = req.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        parts.version = Version::HTTP_11;
        let limit = self.inner.config.response_timeout;
        let sent = timeout(
            limit,
            self.inner.client.request(Request::from_parts(parts, body)),
        );
        let res = match sent.await {
            Ok(Ok(res)) => res,
            Ok(Err(e)) => {
                return match refusal_in(&e) {
                    Some(refusal) => {
                        let target = match refusal {
                            Refusal::Address { target, .. } => target.as_str(),
                            _ => authority.as_str(),
                        };
                        self.forbidden(peer, target, refusal)
                    }
                    None => self.bad_gateway(&authority, &error_chain(&e)),
                };
            }
            Err(_) => {
                return self.bad_gateway(&authority, &format!("no response within {limit:?}"));
            }
        };
        let (mut parts, body) = res.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        parts.version = Version::HTTP_11;
        let counters = self.inner.counters.clone();
        let entry = match cache {
            Some((cache, key)) if parts.status == StatusCode::OK => match cache.begin(&key).await {
                Ok(entry) => Some(entry),
                Err(e) => {
                    warn!("cannot create cache file, not caching: {e}");
                    None
                }
            },
            _ => None,
        };
        let body = match entry {
            Some(entry) => {
                let expected = parts
                    .headers
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse().ok());
                let (tx, rx) = mpsc::channel(4);
                tokio::spawn(relay_into_cache(body, tx, entry, expected, counters));
                ChannelBody(rx).boxed_unsync()
            }
            None => body
                .map_frame(move |frame| {
                    if let Some(data) = frame.data_ref() {
                        Counters::add(&counters.upstream_bytes, data.len() as u64);
                    }
                    frame
                })
                .map_err(BoxError::from)
                .boxed_unsync(),
        };
        Response::from_parts(parts, body)
    }

    /// Answers a `CONNECT`: connects to the target if the policy allows it,
    /// then copies bytes both ways once hyper hands over the client connection.
    async fn tunnel(
        &self,
        mut req: Request<Incoming>,
        peer: SocketAddr,
        stop: watch::Receiver<bool>,
    ) -> Response<ProxyBody> {
        let Some(authority) = req.uri().authority().cloned() else {
            return text(
                StatusCode::BAD_REQUEST,
                "CONNECT needs a host:port target".into(),
            );
        };
        let host = authority.host();
        let port = authority.port_u16().unwrap_or(443);
        let target = format!("{host}:{port}");
        if !allowed(&self.inner.config.allow, host, port) {
            let refusal = Refusal::NotAllowed {
                target: target.clone(),
            };
            return self.forbidden(peer, &target, &refusal);
        }
        let mut upstream = match self.inner.upstreams.connect(host, port).await {
            Ok(stream) => stream,
            Err(ConnectFailure::Refused(refusal)) => {
                return self.forbidden(peer, &target, &refusal);
            }
            Err(ConnectFailure::Failed(e)) => return self.bad_gateway(authority.as_str(), &e),
        };
        let on_upgrade = hyper::upgrade::on(&mut req);
        let counters = self.inner.counters.clone();
        Counters::add(&counters.tunnels, 1);
        tokio::spawn(async move {
            let mut client = match on_upgrade.await {
                Ok(upgraded) => TokioIo::new(upgraded),
                Err(e) => {
                    debug!(%authority, "tunnel not upgraded: {e}");
                    return;
                }
            };
            tokio::select! {
                copied = tokio::io::copy_bidirectional(&mut client, &mut upstream) => match copied {
                    Ok((up, down)) => {
                        debug!(%authority, up, down, "tunnel closed");
                        Counters::add(&counters.tunnel_bytes, up + down);
                    }
                    Err(e) => debug!(%authority, "tunnel failed: {e}"),
                },
                () = stopped(stop) => debug!(%authority, "tunnel closed by shutdown"),
            }
        });
        Response::new(Empty::new().map_err(BoxError::from).boxed_unsync())
    }

    /// Answers `403 Forbidden` and logs who asked for what and why it was refused.
    fn forbidden(&self, peer: SocketAddr, target: &str, refusal: &Refusal) -> Response<ProxyBody> {
        warn!(client = %peer.ip(), to = %target, "refused: {refusal}");
        Counters::add(&self.inner.counters.refused, 1);
        text(
            StatusCode::FORBIDDEN,
            format!("403 Forbidden: {refusal}").replace(['\r', '\n'], " "),
        )
    }

    fn bad_gateway(&self, upstream: &str, error: &str) -> Response<ProxyBody> {
        warn!(upstream, "bad gateway: {error}");
        Counters::add(&self.inner.counters.upstream_errors, 1);
        text(
            StatusCode::BAD_GATEWAY,
            format!("502 Bad Gateway: upstream {upstream}: {error}"),
        )
    }
}

/// Streams an upstream body to the client through `tx` while writing it into
/// `entry`, which is committed only if the body completes.
///
/// The last frame is held back until the entry is committed, so a client that
/// has the whole body can rely on the entry being in place.
async fn relay_into_cache(
    mut body: Incoming,
    tx: mpsc::Sender<FrameResult>,
    entry: Entry,
    expected: Option<u64>,
    counters: Arc<Counters>,
) {
    let mut entry = Some(entry);
    let mut held = None;
    loop {
        let frame = match body.frame().await {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => {
                drop(entry); // removes the temporary file before the client learns of the error
                let _ = tx.send(Err(e.into())).await;
                return;
            }
            None => break,
        };
        if let Some(data) = frame.data_ref() {
            Counters::add(&counters.upstream_bytes, data.len() as u64);
            if let Some(writing) = entry.as_mut()
                && let Err(e) = writing.write(data).await
            {
                warn!(path = %writing.dest().display(), "cache write failed, not caching: {e}");
                entry = None;
            }
        }
        if let Some(previous) = held.replace(frame)
            && tx.send(Ok(previous)).await.is_err()
        {
            debug!("client went away, cache entry dropped");
            return;
        }
    }
    if let Some(entry) = entry {
        let dest = entry.dest().to_owned();
        match entry.commit(expected).await {
            Ok(()) => {
                debug!(path = %dest.display(), "stored in cache");
                Counters::add(&counters.cache_stored, 1);
            }
            Err(e) => warn!(path = %dest.display(), "not cached: {e}"),
        }
    }
    if let Some(last) = held {
        let _ = tx.send(Ok(last)).await;
    }
}

/// Answers from a cache entry of `len` bytes.
fn from_cache(mut file: File, len: u64, counters: Arc<Counters>) -> Response<ProxyBody> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let mut buf = BytesMut::new();
        loop {
            buf.reserve(64 * 1024);
            let frame = match file.read_buf(&mut buf).await {
                Ok(0) => return,
                Ok(n) => {
                    Counters::add(&counters.cache_bytes, n as u64);
                    Ok(Frame::data(buf.split().freeze()))
                }
                Err(e) => Err(e.into()),
            };
            let failed = frame.is_err();
            if tx.send(frame).await.is_err() || failed {
                return;
            }
        }
    });
    let mut res = Response::new(ChannelBody(rx).boxed_unsync());
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(DEB_CONTENT_TYPE),
    );
    res
}

/// A response body fed by a task through a bounded channel.
struct ChannelBody(mpsc::Receiver<FrameResult>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<FrameResult>> {
        self.0.poll_recv(cx)
    }
}

/// A short `text/plain` answer.
fn text(status: StatusCode, message: String) -> Response<ProxyBody> {
    let mut res = Response::new(
        Full::new(Bytes::from(message + "\n"))
            .map_err(BoxError::from)
            .boxed_unsync(),
    );
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// Removes the headers that concern only one hop of the connection.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        HeaderName::from_static("proxy-connection"),
        HeaderName::from_static("keep-alive"),
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

/// Formats `error` and its sources on one line.
fn error_chain(error: &dyn StdError) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !line.contains(&part) {
            line.push_str(": ");
            line.push_str(&part);
        }
        source = e.source();
    }
    line.replace(['\r', '\n'], " ")
}

/// Completes once shutdown was requested (or the proxy is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|&stopped| stopped).await;
}
