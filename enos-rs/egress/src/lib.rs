//! An HTTP forward proxy with an on-disk cache of Debian packages, for testbed
//! hosts that have no route out.
//!
//! Hosts of a local testbed live in network namespaces without a route to the
//! internet. This proxy runs in the root namespace, listens on an address the
//! namespaces can reach (e.g. `198.18.0.1:3142`) and lets them
//! `apt-get install` packages (`Acquire::http::Proxy "http://198.18.0.1:3142/";`)
//! and fetch HTTPS resources through `CONNECT` tunnels (`http_proxy` /
//! `https_proxy` for curl, pip, ...).
//!
//! Access control (see [`access`]): a request is served only when
//!
//! * its client's address lies in one of [`ProxyConfig::clients`] (the
//!   experiment's address block);
//! * its target (`host:port` of the URL or of the `CONNECT`) is on the
//!   allow-list, [`ProxyConfig::allow`]: host names (`deb.debian.org`, or
//!   `*.example.org` for every name under a domain), never address ranges, on
//!   ports 80 and 443 unless an entry names its own port; an IP literal only
//!   when that literal is listed;
//! * the address the proxy actually connects to — it resolves the name itself
//!   and connects only to addresses it vetted — is not loopback, link-local,
//!   unspecified, multicast or broadcast, not in the testbed's range
//!   198.18.0.0/15 and not one of this machine's own addresses (listed when
//!   the connection is made), whatever name leads there.
//!
//! Any other request is answered `403 Forbidden` with a one-line reason, logged
//! (`warn`, naming client, target and reason) and counted ([`Stats::refused`]).
//! With an empty client list or allow-list, nothing is served.
//!
//! * Requests in absolute form (`GET http://deb.debian.org/debian/... HTTP/1.1`)
//!   are forwarded upstream and the response is streamed back; hop-by-hop
//!   headers are stripped and keep-alive is used on both sides.
//! * `CONNECT host:port` opens a raw TCP tunnel (answered `200`, or `502` when
//!   the upstream cannot be reached).
//! * With [`ProxyConfig::cache_dir`] set, `200` answers to `GET`s of URLs whose
//!   path ends in `.deb` or `.udeb` (immutable in Debian archives) are written to
//!   the cache while they are streamed, and committed by an atomic rename only
//!   once the body is complete. Later `GET`s of the same URL are served from
//!   disk without contacting upstream. Nothing else (`InRelease`, `Packages`,
//!   `by-hash`, ...) is ever cached.
//! * Upstream failures (DNS, refused, timeout) give `502 Bad Gateway` with a
//!   one-line text body naming the upstream and the error.
//!
//! Limits: HTTP/1.1 only (no HTTP/2, no TLS interception: HTTPS only through
//! `CONNECT`), cache only for `.deb`/`.udeb`, no cache eviction, range
//! requests for cached files are answered with the whole file, stale temporary
//! files of a crashed proxy (`_tmp.*` in the cache directory) are not cleaned
//! up. There is no authentication beyond the client's address: hosts reach the
//! proxy's port and nothing else of the machine only because the local provider
//! filters their traffic in the experiment's own fabric namespace.
#![warn(missing_docs)]

pub mod access;
mod cache;
mod connect;
pub mod daemon;
mod proxy;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;

pub use access::{AllowRule, IpCidr, Refusal};
pub use proxy::Proxy;

/// Settings of a proxy instance.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Address to listen on (used by [`bind`]).
    pub listen: SocketAddr,
    /// The address blocks whose clients are served; any other client gets
    /// `403`. Empty (the default): nobody is served.
    pub clients: Vec<IpCidr>,
    /// Where requests may go; anything else gets `403`. Empty (the default):
    /// nowhere.
    pub allow: Vec<AllowRule>,
    /// Lets loopback upstreams pass the address check. Only for tests, whose
    /// fake upstreams listen on 127.0.0.1; `enos egress-proxy` has no flag for
    /// it and the local provider never sets it. Default `false`.
    pub loopback_upstreams: bool,
    /// Directory of the `.deb`/`.udeb` cache, created if missing; `None`
    /// disables caching.
    pub cache_dir: Option<PathBuf>,
    /// Limit for establishing a TCP connection to an upstream (default 10 s).
    pub connect_timeout: Duration,
    /// Limit for receiving an upstream's response headers once the request was
    /// sent (default 60 s). Bodies are not time-limited.
    pub response_timeout: Duration,
    /// How long [`Proxy::serve`] lets open connections finish after shutdown
    /// was requested before dropping them (default 5 s).
    pub shutdown_grace: Duration,
}

impl ProxyConfig {
    /// Returns a configuration listening on `listen`, serving nobody (add
    /// [`clients`](Self::clients) and [`allow`](Self::allow) rules), without
    /// cache and with default timeouts.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            clients: Vec::new(),
            allow: Vec::new(),
            loopback_upstreams: false,
            cache_dir: None,
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Errors that prevent the proxy from starting.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address that was asked for.
        addr: SocketAddr,
        /// Underlying error.
        source: io::Error,
    },
    /// The cache directory could not be created.
    #[error("cannot create cache directory {}: {source}", path.display())]
    CacheDir {
        /// Directory that was asked for.
        path: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
}

/// Snapshot of a proxy's counters, see [`Proxy::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests received (forwarded, served from cache, tunnels and rejected).
    pub requests: u64,
    /// Requests answered `403 Forbidden`: a client outside the served blocks, a
    /// target not on the allow-list, or one leading to a forbidden address.
    pub refused: u64,
    /// Requests answered from the cache.
    pub cache_hits: u64,
    /// Upstream responses that were stored as new cache entries.
    pub cache_stored: u64,
    /// Body bytes received from upstream HTTP servers.
    pub upstream_bytes: u64,
    /// Body bytes served from the cache.
    pub cache_bytes: u64,
    /// `CONNECT` tunnels established.
    pub tunnels: u64,
    /// Bytes copied through tunnels, both directions summed (counted when a
    /// tunnel closes).
    pub tunnel_bytes: u64,
    /// Requests answered `502 Bad Gateway`.
    pub upstream_errors: u64,
}

/// Live counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    refused: AtomicU64,
    cache_hits: AtomicU64,
    cache_stored: AtomicU64,
    upstream_bytes: AtomicU64,
    cache_bytes: AtomicU64,
    tunnels: AtomicU64,
    tunnel_bytes: AtomicU64,
    upstream_errors: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            requests: get(&self.requests),
            refused: get(&self.refused),
            cache_hits: get(&self.cache_hits),
            cache_stored: get(&self.cache_stored),
            upstream_bytes: get(&self.upstream_bytes),
            cache_bytes: get(&self.cache_bytes),
            tunnels: get(&self.tunnels),
            tunnel_bytes: get(&self.tunnel_bytes),
            upstream_errors: get(&self.upstream_errors),
        }
    }
}

/// Binds a TCP listener on [`ProxyConfig::listen`].
pub async fn bind(config: &ProxyConfig) -> Result<TcpListener, EgressError> {
    TcpListener::bind(config.listen)
        .await
        .map_err(|source| EgressError::Bind {
            addr: config.listen,
            source,
        })
}

/// Runs a proxy on `listener` until `shutdown` completes, then returns its
/// final counters.
///
/// Shorthand for [`Proxy::new`] followed by [`Proxy::serve`]; use those to
/// read [`Stats`] while the proxy runs.
pub async fn serve(
    listener: TcpListener,
    config: ProxyConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<Stats, EgressError> {
    Ok(Proxy::new(config)?.serve(listener, shutdown).await)
}
