//! The resolved WAN: one shape per (source host, destination address).

use std::net::IpAddr;
use std::time::Duration;

use enos_scenario::{Delay, LossRate, Rate};
use serde::{Deserialize, Serialize};

/// What traffic in one direction goes through: delay, jitter, rate and loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinkShape {
    /// One-way delay.
    pub delay: Delay,
    /// Jitter around the delay (uniform in `[delay - jitter, delay + jitter]`).
    pub jitter: Delay,
    /// Rate, in bits per second.
    pub rate: Rate,
    /// Loss rate.
    pub loss: LossRate,
}

impl LinkShape {
    /// Whether netem has something to do: a delay, a jitter or a loss.
    pub fn needs_netem(&self) -> bool {
        self.delay.0 > Duration::ZERO || self.jitter.0 > Duration::ZERO || self.loss.percent() > 0.0
    }
}

/// A host as the WAN sees it: its name, site, role and address on the experiment network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WanHost {
    /// The host's name.
    pub name: String,
    /// Its site.
    pub site: String,
    /// Its role.
    pub role: String,
    /// Its address on the experiment network.
    pub address: IpAddr,
}

/// The shape of traffic from one host to one destination address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairShape {
    /// The source host's name.
    pub src: String,
    /// The destination host's name.
    pub dst: String,
    /// The destination address.
    pub dst_address: IpAddr,
    /// The shape applied on the way from `src` to `dst_address`.
    pub shape: LinkShape,
}

/// Every shaped direction of the experiment; directions not listed are not shaped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WanMatrix {
    /// Shaped directions, ordered by source host, then destination host (as in the testbed).
    pub pairs: Vec<PairShape>,
}

impl WanMatrix {
    /// The shape from host `src` to host `dst`, if that direction is shaped.
    pub fn shape(&self, src: &str, dst: &str) -> Option<&LinkShape> {
        self.pairs
            .iter()
            .find(|p| p.src == src && p.dst == dst)
            .map(|p| &p.shape)
    }
}
