//! Energy for the collectors of enos-rs: what a host consumed, and where the figure comes from.
//!
//! * [`rapl`]: the RAPL zones of Linux's powercap (`/sys/class/powercap/intel-rapl:*`), read as
//!   cumulative energy counters that wrap at `max_energy_range_uj`; a [`rapl::Counter`] turns
//!   successive readings into joules, one wrap between two readings included.
//! * [`model`]: estimates from CPU utilisation where no meter exists: linear, Fan et al.'s fit,
//!   or a SPECpower-style table of 11 points.
//!
//! Every figure carries its [`Source`]: a measured value and an estimate are never mixed up.
#![warn(missing_docs)]

use serde::{Deserialize, Serialize};

pub mod model;
pub mod rapl;

/// Where an energy or power figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Measured by the CPU's RAPL counters (package and DRAM only, not the whole node).
    Rapl,
    /// Measured by Grid'5000's wattmeters, PDUs or BMCs, through Kwollect.
    Kwollect,
    /// Estimated from CPU utilisation by a power model.
    Model,
}
