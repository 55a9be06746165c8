//! Connections to upstreams, only to addresses that passed [`judge`]: the one place where the
//! proxy opens a TCP connection, for `CONNECT` tunnels and (as the HTTP client's connector) for
//! forwarded requests alike.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use tracing::debug;

use crate::access::{LocalAddresses, Refusal, judge};

/// Why no upstream connection was made.
#[derive(Debug)]
pub(crate) enum ConnectFailure {
    /// The policy forbids it: answered `403`.
    Refused(Refusal),
    /// Resolution or connection failed: answered `502`.
    Failed(String),
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectFailure::Refused(refusal) => refusal.fmt(f),
            ConnectFailure::Failed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ConnectFailure {}

/// Opens upstream connections to vetted addresses; also the HTTP client's connector.
#[derive(Debug, Clone)]
pub(crate) struct Upstreams {
    /// Limit for resolving and connecting, together.
    pub(crate) connect_timeout: Duration,
    /// See [`ProxyConfig::loopback_upstreams`](crate::ProxyConfig::loopback_upstreams).
    pub(crate) loopback_upstreams: bool,
}

impl Upstreams {
    /// Connects to `host` (a name, an IPv4 address or a bracketed IPv6 address) on `port`:
    /// resolves it, drops every address [`judge`] forbids, and connects to the first remaining
    /// one that answers. The connection's peer is always one of the vetted addresses.
    pub(crate) async fn connect(&self, host: &str, port: u16) -> Result<TcpStream, ConnectFailure> {
        let target = format!("{host}:{port}");
        let limit = self.connect_timeout;
        let deadline = Instant::now() + limit;
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let candidates: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => match timeout_at(deadline, tokio::net::lookup_host((bare, port))).await {
                Ok(Ok(found)) => found.collect(),
                Ok(Err(e)) => {
                    return Err(ConnectFailure::Failed(format!(
                        "cannot resolve {bare}: {e}"
                    )));
                }
                Err(_) => {
                    return Err(ConnectFailure::Failed(format!(
                        "cannot resolve {bare} within {limit:?}"
                    )));
                }
            },
        };
        let local = LocalAddresses::now().map_err(|e| {
            ConnectFailure::Failed(format!("cannot list this machine's addresses: {e}"))
        })?;
        let mut refusal = None;
        let mut vetted = Vec::new();
        for candidate in candidates {
            match judge(candidate.ip(), &local, self.loopback_upstreams) {
                None => vetted.push(candidate),
                Some(kind) => {
                    debug!(target, address = %candidate.ip(), "not connecting: {kind}");
                    refusal.get_or_insert(Refusal::Address {
                        target: target.clone(),
                        address: candidate.ip(),
                        kind,
                    });
                }
            }
        }
        if vetted.is_empty() {
            return Err(match refusal {
                Some(refusal) => ConnectFailure::Refused(refusal),
                None => ConnectFailure::Failed(format!("{bare} has no address")),
            });
        }
        let mut last_error = String::new();
        for address in vetted {
            match timeout_at(deadline, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        debug!(%address, "cannot set TCP_NODELAY: {e}");
                    }
                    return Ok(stream);
                }
                Ok(Err(e)) => last_error = format!("{address}: {e}"),
                Err(_) => {
                    return Err(ConnectFailure::Failed(format!(
                        "no connection within {limit:?}"
                    )));
                }
            }
        }
        Err(ConnectFailure::Failed(last_error))
    }
}

impl tower_service::Service<Uri> for Upstreams {
    type Response = TokioIo<TcpStream>;
    type Error = ConnectFailure;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let upstreams = self.clone();
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or_else(|| ConnectFailure::Failed(format!("{uri} names no host")))?;
            // Only `http://` is forwarded (https goes through CONNECT).
            let port = uri.port_u16().unwrap_or(80);
            upstreams.connect(host, port).await.map(TokioIo::new)
        })
    }
}

/// The refusal somewhere in `error`'s chain of sources, if the policy is why it failed.
pub(crate) fn refusal_in<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e Refusal> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(ConnectFailure::Refused(refusal)) = e.downcast_ref::<ConnectFailure>() {
            return Some(refusal);
        }
        current = e.source();
    }
    None
}
