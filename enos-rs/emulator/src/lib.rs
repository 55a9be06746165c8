//! Userspace WAN emulator of enos-rs: per-pair delay, jitter, loss and rate without netem.
//!
//! The emulator owns TUN devices inside network namespaces. It forwards every IPv4 packet read
//! from one of them to the device of the endpoint that owns the destination address, after
//! applying the rule of the ordered pair of endpoints (source, destination):
//!
//! - loss: the packet is dropped with the rule's probability;
//! - queue limit: the packet is dropped when `queue_limit` packets of its pair of hosts
//!   already wait;
//! - rate: the packet is serialized after the previous ones of its pair of hosts
//!   (`departure = max(now, busy_until) + len * 8 / rate`);
//! - delay and jitter: `release = departure + delay ± jitter` (uniform), never before now
//!   and never before the previous packet of the pair of hosts: packets are not reordered.
//!
//! One thread reads every device; a second one releases delayed packets on time, sleeping
//! with a 1 ns timer slack and spinning for the last microseconds. Both run at nice -10 when
//! the process may raise priorities. The devices are not persistent: they vanish when the
//! emulator stops or its process dies.
//!
//! [`serve`] runs the emulator as a daemon driven through a unix socket, [`request`] and
//! [`reconfigure`] are the client side of that socket.
//!
//! # Endpoints are classes of hosts
//!
//! An [`Endpoint`] is a set of addresses and the TUN device (namespace and name) its packets
//! are written to; rules are per ordered pair of endpoints. Two layouts use this:
//!
//! - one TUN device per host namespace, one endpoint per host with the host's address: the
//!   emulator reads a packet from the sender's device and writes it into the receiver's;
//! - one TUN device in a router namespace that routes between sites, shared by several
//!   endpoints, each owning the addresses (possibly hundreds) of the hosts that have the same
//!   constraints: the router sends the traffic between hosts into the device, the emulator
//!   writes each packet back into it, and the router forwards it on.
//!
//! Each distinct (namespace, device) is created once. A packet's source endpoint is the owner
//! of its source address; when no endpoint owns that address, it is the endpoint of the device
//! the packet was read from if only one endpoint uses that device, and otherwise the packet is
//! dropped and counted in [`Stats::unclassified`]. Its destination endpoint is the owner of the
//! destination address ([`Stats::unroutable`] when none). Two hosts of one endpoint have no rule
//! between them: their packets are forwarded at once.
//!
//! The traffic model keeps its state per ordered pair of hosts (source address, destination
//! address), created on the pair's first packet. So a rule's rate applies to each pair of
//! hosts on its own, as netem on each host would, not to a whole class; the queue limit
//! counts the packets of one pair of hosts. A pair of hosts that carried nothing for 10 s and
//! has nothing waiting is forgotten when the table of pairs doubles (from 4,096 pairs on):
//! such a state acts as a new one, so forgetting it changes nothing. [`Stats::host_pairs`]
//! tells how many are held.
//!
//! [`Emulator::set_rules`] replaces the rules and [`Emulator::reconfigure`] the endpoints and
//! rules at once, live, on the same devices; packets already waiting keep their release time.
//!
//! # Limits
//!
//! Nothing is sized by the square of the endpoints: rules are a sparse table, counters exist
//! for the pairs of endpoints that carried traffic (those [`Stats::pairs`] lists), and state
//! for the pairs of hosts that did. A configuration may have up to [`MAX_ENDPOINTS`] endpoints
//! (65,536: indexes are kept on 16 bits), [`MAX_ADDRESSES`] addresses in all (65,536: the
//! address table stays about a megabyte, rebuilt in milliseconds by a reconfiguration) and
//! [`MAX_RULES`] rules (1,048,576: a full mesh of 1,024 endpoints, about 50 MB of rule table
//! and 100 MB of JSON, the control socket's longest line).
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
//! With one device in a router namespace, the endpoints name the same device:
//!
//! ```json
//! {
//!   "endpoints": [
//!     {"netns": "/run/netns/fabric", "device": "wan0",
//!      "addresses": ["10.79.1.1", "10.79.1.2", "10.79.1.3"]},
//!     {"netns": "/run/netns/fabric", "device": "wan0",
//!      "addresses": ["10.79.2.1", "10.79.2.2"]}
//!   ],
//!   "rules": [{"src": 0, "dst": 1, "delay_ns": 10000000}, {"src": 1, "dst": 0, "delay_ns": 10000000}]
//! }
//! ```
//!
//! Only `endpoints` is required. The control socket takes one request per line,
//! `{"set_rules":[...rules...]}`, `{"reconfigure":{"endpoints":[...],"rules":[...]}}`,
//! `{"stats":null}` or `{"stop":null}`, and answers each with one line, `{"ok":null}`,
//! `{"ok":{...stats...}}` or `{"error":"..."}`. A reconfiguration is refused, with nothing
//! changed, when its endpoints do not use exactly the devices the emulator runs.
//!
//! # Setting up the namespaces
//!
//! The devices are created down and without address.
//!
//! With one device per host: for endpoint `i` with address `A`, the caller typically runs
//! `ip -n NS addr add A/32 dev wan0`, `ip -n NS link set wan0 up`, one
//! `ip -n NS route add DST/32 dev wan0 src A` per peer (or one route for the whole range),
//! and turns `rp_filter` off.
//!
//! With one device in a router namespace `R` between sites in `10.79.0.0/16`: forwarding on
//! and `rp_filter` off in `R` (packets come back on `wan0` with sources routed elsewhere),
//! `ip -n R link set wan0 up`, `ip -n R rule add iif wan0 lookup main pref 100` (what the
//! emulator writes back is routed normally), then
//! `ip -n R rule add from 10.79.0.0/16 to 10.79.0.0/16 lookup 100 pref 200` and
//! `ip -n R route add 10.79.0.0/16 dev wan0 table 100` (the traffic between hosts goes into
//! the device).
//!
//! IPv6 is best disabled on the devices: the emulator drops every packet that is not IPv4.

#![warn(missing_docs)]

mod config;
mod control;
mod dispatch;
mod engine;
mod shaper;
mod table;
mod tun;

use std::path::PathBuf;

pub mod daemon;

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
