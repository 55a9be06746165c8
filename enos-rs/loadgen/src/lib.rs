//! An HTTP load generator that runs on a testbed host, so that the emulated WAN lies between it
//! and its target, and measures latency without coordinated omission.
//!
//! * **Open loop** ([`Load::Rate`], [`Load::Steps`]): every request has an *intended* send time
//!   on a schedule fixed in advance (request `j` of a step at rate `r` starting at `s` is
//!   intended at `s + j / r`). It is sent at that time whatever the server does: it goes out on
//!   an idle keep-alive connection, or on a new one while fewer than
//!   [`Config::max_connections`] are open; only past that cap does it wait for a connection to
//!   come free. Its latency is measured **from its intended send time**, so a server that
//!   stalls is charged for every request it kept waiting, including those the generator could
//!   not send in time (wrk2's and HdrHistogram's lesson). The *send lateness* (actual −
//!   intended) says whether the generator kept its schedule: when it does not, the run measured
//!   the generator as much as the server. The times come from a thread of their own that
//!   sleeps until each with a timer slack of 1 ns: the async runtime's timers have a
//!   resolution of a millisecond.
//! * **Closed loop** ([`Load::Closed`]): `N` connections each send the next request when the
//!   previous one has answered. Latency is then from the actual send time (intended = sent),
//!   which is what a closed-loop client sees, and hides how long a stall held back the requests
//!   that were never sent.
//!
//! A run lasts [`Config::duration`] and/or [`Config::requests`] (whichever comes first; the
//! steps' total when neither is given), after a [`Config::warmup`] whose requests are recorded
//! with `"warmup": true` and left out of the summary. Requests are `GET`s over HTTP/1.1
//! keep-alive; the whole body of each response is read.
//!
//! # Records (format version 1)
//!
//! JSON Lines, one object per line, each with a `"type"`. They are streamed: buffered, and
//! flushed at least once a second while the run goes on, so a reader can follow the file; no
//! record is kept in memory once written.
//!
//! 1. One `start` line first:
//!    `{"type":"start","version":1,"start_unix_ns":…,"url":"http://…","mode":"open"|"closed",
//!    "steps":[{"rate":…,"duration_s":…}],"connections":…,"warmup_s":…,"duration_s":…|null,
//!    "requests":…|null,"timeout_s":…}`. `start_unix_ns` is the start of the run (the origin of
//!    every `*_ns` offset below) in nanoseconds since the Unix epoch; `steps` is empty in closed
//!    loop, and holds one step at a constant rate (its `duration_s` null when only a number of
//!    requests bounds the run); `connections` is the cap (open loop) or the number of connections (closed loop).
//! 2. One `request` line per request, in the order they complete:
//!    `{"type":"request","intended_ns":…,"sent_ns":…,"latency_ns":…,"status":200|null,
//!    "error":null|"timeout"|"refused"|"reset"|"connect"|"other","bytes":…,"warmup":false}`.
//!    Offsets are monotonic nanoseconds since the start. `intended_ns` is the scheduled send
//!    time (closed loop: equal to `sent_ns`); `sent_ns` is when the generator began the request
//!    (took an idle connection or began opening one; a new connection's set-up counts in the
//!    latency, not in the lateness); `latency_ns` runs from `intended_ns` to the end of the
//!    response body, or to the error. `status` is set when a whole response came (any status
//!    code), `error` otherwise: `timeout` (no whole response within the timeout, counted from
//!    `sent_ns`), `refused` (connection refused), `reset` (the connection was reset or closed
//!    mid-exchange), `connect` (another failure to connect: unreachable, name not resolved),
//!    `other`. `bytes` counts response body bytes received.
//! 3. One `summary` line last, over the requests outside the warm-up: see [`Summary`] (its
//!    serde names are the JSON keys; percentiles are by excess, within 1/64 of the value).
//!
//! A run cut short (killed) leaves no summary line; every record flushed before is whole.
#![warn(missing_docs)]

pub mod daemon;
mod generate;
pub mod histogram;
mod http;
mod schedule;
mod writer;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The version of the record format, written in the `start` line and the summary.
pub const FORMAT_VERSION: u32 = 1;

/// The cap on connections of an open loop unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1000;

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The target: `http://host[:port]/path?query`.
    pub url: String,
    /// Open loop at a rate or stepped rates, or closed loop.
    pub load: Load,
    /// Open loop: the most connections open at once (the pool grows on demand up to it).
    pub max_connections: usize,
    /// How long the measured part lasts (after the warm-up).
    pub duration: Option<Duration>,
    /// How many requests the measured part holds.
    pub requests: Option<u64>,
    /// How long the warm-up lasts (open loop: at the first step's rate).
    pub warmup: Duration,
    /// How long a request may take from its send, connection included.
    pub timeout: Duration,
}

impl Config {
    /// A run of `load` against `url` for `duration`, with the defaults: no warm-up, a 10 s
    /// timeout, [`DEFAULT_MAX_CONNECTIONS`].
    pub fn new(url: impl Into<String>, load: Load, duration: Duration) -> Self {
        Self {
            url: url.into(),
            load,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            duration: Some(duration),
            requests: None,
            warmup: Duration::ZERO,
            timeout: Duration::from_secs(10),
        }
    }

    fn check(&self) -> Result<(), Error> {
        let bad = |why: &str| Err(Error::Config(why.to_owned()));
        match &self.load {
            Load::Rate(rate) if !(rate.is_finite() && *rate > 0.0) => {
                return bad("the rate must be a positive number of requests per second");
            }
            Load::Steps(steps) if steps.is_empty() => return bad("no steps"),
            Load::Steps(steps)
                if steps
                    .iter()
                    .any(|s| !(s.rate.is_finite() && s.rate > 0.0) || s.duration.is_zero()) =>
            {
                return bad("every step needs a positive rate and duration");
            }
            Load::Closed { connections: 0 } => return bad("a closed loop needs connections"),
            Load::Rate(_) | Load::Closed { .. }
                if self.duration.is_none() && self.requests.is_none() =>
            {
                return bad("give a duration or a number of requests");
            }
            _ => {}
        }
        if self.max_connections == 0 {
            return bad("the connection cap must be at least 1");
        }
        if self.timeout.is_zero() {
            return bad("the timeout must be positive");
        }
        Ok(())
    }
}

/// How requests are sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    /// Open loop at a constant rate (requests per second).
    Rate(f64),
    /// Open loop at stepped rates, one step after the other.
    Steps(Vec<Step>),
    /// Closed loop: this many connections, each sending when the previous request answered.
    Closed {
        /// The number of connections.
        connections: usize,
    },
}

/// A step of an open loop: a rate held for a while.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Requests per second.
    pub rate: f64,
    /// How long the rate is held.
    pub duration: Duration,
}

/// Why a request got no whole response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No whole response within the timeout.
    Timeout,
    /// The connection was refused.
    Refused,
    /// The connection was reset or closed during the exchange.
    Reset,
    /// Another failure to connect (unreachable, name not resolved).
    Connect,
    /// Anything else.
    Other,
}

/// One request, as written in a `request` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Its intended send time, in nanoseconds since the start of the run.
    pub intended_ns: u64,
    /// When the generator began it, in nanoseconds since the start of the run.
    pub sent_ns: u64,
    /// From the intended send time to the end of the response, or to the error.
    pub latency_ns: u64,
    /// The status code of a whole response.
    pub status: Option<u16>,
    /// Why no whole response came.
    pub error: Option<ErrorKind>,
    /// Response body bytes received.
    pub bytes: u64,
    /// Whether it belongs to the warm-up.
    pub warmup: bool,
}

/// Percentiles of a distribution, in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// The median.
    pub p50: u64,
    /// The 90th percentile.
    pub p90: u64,
    /// The 99th percentile.
    pub p99: u64,
    /// The 99.9th percentile.
    #[serde(rename = "p99.9")]
    pub p99_9: u64,
    /// The largest value, exactly.
    pub max: u64,
}

/// The `summary` line: the requests outside the warm-up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// Requests recorded.
    pub count: u64,
    /// Requests answered by a whole response (any status code).
    pub responses: u64,
    /// Requests without a whole response.
    pub errors: u64,
    /// Requests by status code (keys are the codes, as strings in JSON).
    pub statuses: BTreeMap<u16, u64>,
    /// Requests by error kind.
    pub error_kinds: BTreeMap<ErrorKind, u64>,
    /// Response body bytes received.
    pub bytes: u64,
    /// Requests recorded in the warm-up (not counted above).
    pub warmup_count: u64,
    /// From the first intended send time to the last end of a request.
    pub span_ns: u64,
    /// Latency from the intended send time, over the whole responses.
    pub latency_ns: Percentiles,
    /// Send lateness (actual − intended send time), over every request.
    pub lateness_ns: Percentiles,
}

/// Why a run could not be made or recorded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is not possible.
    #[error("{0}")]
    Config(String),
    /// The URL is not one this generator can target.
    #[error("{0}")]
    Url(String),
    /// The records could not be written.
    #[error("cannot write the records: {0}")]
    Write(#[from] std::io::Error),
}

/// Runs `config` and streams its records to `sink`; returns the summary also written last.
///
/// Errors of requests (refused, reset, timeouts) are records, never a failure of the run; the
/// run fails only on a configuration it cannot hold, or when the sink refuses a write (the
/// requests then stop).
pub async fn run<W: Write + Send + 'static>(config: &Config, sink: W) -> Result<Summary, Error> {
    config.check()?;
    let target = http::Target::parse(&config.url)?;
    generate::run(config, target, sink).await
}
