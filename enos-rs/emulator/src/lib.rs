//! Userspace WAN emulator of enos-rs: per-pair delay, jitter, loss and rate without netem.
//!
//! Each emulated host is a network namespace. The emulator creates one TUN device in each
//! of them and forwards every IPv4 packet read from one device to the device of the
//! endpoint that owns the destination address, after applying the rule of that ordered
//! pair:
//!
//! - loss: the packet is dropped with the rule's probability;
//! - queue limit: the packet is dropped when `queue_limit` packets of the pair already wait;
//! - rate: the packet is serialized after the previous ones of the pair
//!   (`departure = max(now, busy_until) + len * 8 / rate`);
//! - delay and jitter: `release = departure + delay ± jitter` (uniform), never before now
//!   and never before the previous packet of the pair: packets are not reordered.
//!
//! One thread reads every device; a second one releases delayed packets on time, sleeping
//! with a 1 ns timer slack and spinning for the last microseconds. Both run at nice -10 when
//! the process may raise priorities. The devices are not persistent: they vanish when the
//! emulator stops or its process dies.
//!
//! [`serve`] runs the emulator as a daemon driven through a unix socket, [`request`] is the
//! client side of that socket.
//!
//! # JSON
//!
//! [`EmulatorConfig`], [`PairRule`], [`Request`], [`Response`] and [`Stats`] are serde types.
//! A configuration, where durations are integer nanoseconds:
//!
//! ```json
//! {
//!   "endpoints": [
//!     {"netns": "/run/netns/h1", "device": "wan0", "addresses": ["10.77.0.1"]},
//!     {"netns": "/run/netns/h2", "device": "wan0", "addresses": ["10.77.0.2"]}
//!   ],
//!   "rules": [
//!     {"src": 0, "dst": 1, "delay_ns": 25000000, "jitter_ns": 2000000,
//!      "rate_bps": 50000000, "loss": 0.01}
//!   ],
//!   "queue_limit": 1000,
//!   "seed": 42
//! }
//! ```
//!
//! Only `endpoints` is required. The control socket takes one request per line,
//! `{"set_rules":[...rules...]}`, `{"stats":null}` or `{"stop":null}`, and answers each with
//! one line, `{"ok":null}`, `{"ok":{...stats...}}` or `{"error":"..."}`.
//!
//! # Setting up a namespace
//!
//! The devices are created down and without address. For endpoint `i` with address `A`, the
//! caller typically runs `ip -n NS addr add A/32 dev wan0`, `ip -n NS link set wan0 up`, one
//! `ip -n NS route add DST/32 dev wan0 src A` per peer (or one route for the whole range),
//! and turns `rp_filter` off. IPv6 is best disabled on the device: the emulator drops every
//! packet that is not IPv4.

#![warn(missing_docs)]

mod config;
mod control;
mod dispatch;
mod engine;
mod shaper;
mod table;
mod tun;

use std::path::PathBuf;

pub use config::{
    DEFAULT_QUEUE_LIMIT, EmulatorConfig, Endpoint, MAX_ADDRESSES, MAX_DEVICE_NAME, MAX_ENDPOINTS,
    MAX_RULES, PairRule, validate_rules,
};
pub use control::{Request, Response, reconfigure, request, serve};
pub use dispatch::PairStats;
pub use engine::{Emulator, Lateness, Stats};

/// What can go wrong when starting, driving or reaching the emulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The configuration, or a set of rules, is not valid.
    #[error("invalid emulator configuration: {0}")]
    Config(String),
    /// A network namespace could not be opened or entered.
    #[error("cannot enter the network namespace {}: {source}", path.display())]
    Netns {
        /// Path of the namespace.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A TUN device could not be created.
    #[error("cannot create the TUN device {device} in {}: {source}", netns.display())]
    Tun {
        /// Name of the device.
        device: String,
        /// Path of the namespace.
        netns: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A thread, or the event it waits on, could not be created.
    #[error("cannot start an emulator thread: {0}")]
    Thread(std::io::Error),
    /// The control socket could not be created, reached, read or written.
    #[error("control socket {}: {source}", path.display())]
    Socket {
        /// Path of the socket.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A request or a response on the control socket is not what the protocol says.
    #[error("malformed control message: {0}")]
    Protocol(String),
    /// The emulator answered a request with an error.
    #[error("the emulator refused the request: {0}")]
    Refused(String),
}
