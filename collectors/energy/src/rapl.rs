//! RAPL through powercap: zones, their counters, and the joules between two readings.
//!
//! A zone is a directory `intel-rapl:<package>` (or `intel-rapl:<package>:<n>` for its
//! subzones: `core`, `uncore`, `dram`; `psys` for the platform) holding `name`, `energy_uj`
//! (microjoules since some origin, increasing) and `max_energy_range_uj`, past which the
//! counter starts again from 0. Between two readings at most one wrap can be told apart, so a
//! zone must be read more often than it wraps: [`Zone::max_period`] says how often at a given
//! power. Since Linux 5.10, `energy_uj` is readable by root only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where powercap's zones are.
pub const POWERCAP: &str = "/sys/class/powercap";

/// What can go wrong reading RAPL.
#[derive(Debug, thiserror::Error)]
pub enum RaplError {
    /// A file of a zone could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file of a zone does not hold what powercap writes there.
    #[error("{path} holds '{text}', not a number of microjoules")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What it holds.
        text: String,
    },
}

/// One RAPL zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    /// Its directory's name (`intel-rapl:0:1`).
    pub id: String,
    /// What it measures (`package-0`, `core`, `uncore`, `dram`, `psys`).
    pub name: String,
    /// Its directory.
    pub path: PathBuf,
    /// The counter's modulus, in microjoules.
    pub max_energy_range_uj: u64,
}

impl Zone {
    /// Reads the zone's counter, in microjoules.
    pub fn read_uj(&self) -> Result<u64, RaplError> {
        read_number(&self.path.join("energy_uj"))
    }

    /// The longest period between two readings that tells every wrap apart while the zone draws
    /// at most `max_watts` (half a wrap period, for margin).
    pub fn max_period(&self, max_watts: f64) -> Duration {
        if max_watts <= 0.0 || !max_watts.is_finite() {
            return Duration::MAX;
        }
        let wrap_s = self.max_energy_range_uj as f64 / 1e6 / max_watts;
        Duration::try_from_secs_f64(wrap_s / 2.0).unwrap_or(Duration::MAX)
    }
}

/// The RAPL zones under `root` (powercap's directory, [`POWERCAP`] on a host), subzones
/// included, in name order; none when there is no RAPL (no directory, a VM, another CPU).
/// MMIO zones (`intel-rapl-mmio:*`) are left out: they repeat the package's.
pub fn zones(root: &Path) -> Result<Vec<Zone>, RaplError> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(Vec::new());
    };
    let mut zones = Vec::new();
    for entry in entries.flatten() {
        let id = entry.file_name().to_string_lossy().into_owned();
        if !id.starts_with("intel-rapl:") {
            continue;
        }
        let path = entry.path();
        let name_file = path.join("name");
        let name = std::fs::read_to_string(&name_file)
            .map_err(|source| RaplError::Read {
                path: name_file,
                source,
            })?
            .trim()
            .to_owned();
        let max_energy_range_uj = read_number(&path.join("max_energy_range_uj"))?;
        zones.push(Zone {
            id,
            name,
            path,
            max_energy_range_uj,
        });
    }
    zones.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(zones)
}

fn read_number(path: &Path) -> Result<u64, RaplError> {
    let text = std::fs::read_to_string(path).map_err(|source| RaplError::Read {
        path: path.to_owned(),
        source,
    })?;
    text.trim().parse().map_err(|_| RaplError::Malformed {
        path: path.to_owned(),
        text: text.trim().to_owned(),
    })
}

/// The energy between two readings of a counter of modulus `max_range_uj`: `new − previous`,
/// or, when the counter went back, one wrap: `max_range_uj − previous + new + 1`. Returns the
/// microjoules and whether a wrap was assumed.
pub fn delta_uj(previous: u64, new: u64, max_range_uj: u64) -> (u64, bool) {
    if new >= previous {
        (new - previous, false)
    } else {
        (
            max_range_uj
                .saturating_sub(previous)
                .saturating_add(new)
                .saturating_add(1),
            true,
        )
    }
}

/// A zone's counter followed reading after reading: the total energy since the first reading,
/// wraps included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    max_range_uj: u64,
    last: Option<u64>,
    total_uj: u64,
    wraps: u64,
}

/// What one more reading of a [`Counter`] gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Microjoules since the previous reading (0 for the first).
    pub delta_uj: u64,
    /// Whether the counter wrapped since the previous reading.
    pub wrapped: bool,
}

impl Counter {
    /// A counter of modulus `max_range_uj`, not read yet.
    pub fn new(max_range_uj: u64) -> Counter {
        Counter {
            max_range_uj,
            last: None,
            total_uj: 0,
            wraps: 0,
        }
    }

    /// Takes a reading; the first one only sets the origin.
    pub fn update(&mut self, reading_uj: u64) -> Step {
        let step = match self.last {
            None => Step {
                delta_uj: 0,
                wrapped: false,
            },
            Some(previous) => {
                let (delta_uj, wrapped) = delta_uj(previous, reading_uj, self.max_range_uj);
                Step { delta_uj, wrapped }
            }
        };
        self.last = Some(reading_uj);
        self.total_uj = self.total_uj.saturating_add(step.delta_uj);
        self.wraps += u64::from(step.wrapped);
        step
    }

    /// Joules since the first reading.
    pub fn total_joules(&self) -> f64 {
        self.total_uj as f64 / 1e6
    }

    /// How many wraps were seen.
    pub fn wraps(&self) -> u64 {
        self.wraps
    }
}
