//! The Grid'5000 provider's options as an experiment's state keeps them: defaults filled in,
//! durations normalised.

use std::fmt;
use std::str::FromStr;

use enos_scenario::Timeout;
use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Grid'5000's API unless the scenario or the provider's configuration says otherwise.
pub const DEFAULT_API_URL: &str = "https://api.grid5000.fr/stable";
/// The kadeploy environment unless one is written.
pub const DEFAULT_ENV_NAME: &str = "debian12-min";
/// Further kadeploy attempts for the nodes that failed, unless written.
pub const DEFAULT_DEPLOY_RETRIES: u32 = 3;
/// The walltime unless one is written: two hours.
pub const DEFAULT_WALLTIME: Walltime = Walltime(2 * 3600);

/// The Grid'5000 provider's options (`provider: {g5k: {…}}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct G5kOptions {
    /// The OAR job name, as written; `enos-<scenario name>` otherwise (see
    /// [`G5kOptions::job_name`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// How long the jobs last.
    pub walltime: Walltime,
    /// The OAR queue.
    pub queue: Queue,
    /// When the jobs start, as OAR reads it (`YYYY-MM-DD hh:mm:ss`, Grid'5000's local time);
    /// `None`: as soon as possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<String>,
    /// The kadeploy environment (`debian12-min`, `name@user`, or an HTTP(S) URL of a
    /// description).
    pub env_name: String,
    /// Further kadeploy attempts for the nodes that failed (KO).
    pub deploy_retries: u32,
    /// Give up, deleting the job, when OAR predicts a start later than this from the time the
    /// job is polled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_at_limit: Option<Timeout>,
    /// The Kwollect metrics to collect at high frequency (job type `monitor=<regex>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<String>,
    /// The kind of VLAN to reserve on each Grid'5000 site, putting the nodes in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<VlanKind>,
    /// The API's base URL, as written; the provider's configuration otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Per scenario site: its Grid'5000 site and cluster, in the order written.
    pub sites: IndexMap<String, SiteMapping>,
}

impl G5kOptions {
    /// The OAR job name: as written, or `enos-<scenario>`.
    pub fn job_name(&self, scenario: &str) -> String {
        self.job_name
            .clone()
            .unwrap_or_else(|| format!("enos-{scenario}"))
    }
}

/// Where a scenario site's hosts come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteMapping {
    /// The Grid'5000 site, as written or from the built-in table of clusters; `None`: looked up
    /// in the reference API at deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The cluster.
    pub cluster: String,
    /// The fewest hosts of a role the experiment accepts, when fewer than asked are usable;
    /// a role not listed needs all its hosts.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub min: IndexMap<String, u32>,
}

/// An OAR walltime, in seconds; written `HH:MM:SS` (or `HH:MM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Walltime(pub u64);

impl Walltime {
    /// The walltime `by` later (whole seconds).
    pub fn plus_seconds(self, by: u64) -> Walltime {
        Walltime(self.0.saturating_add(by))
    }
}

impl fmt::Display for Walltime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s) = (self.0 / 3600, self.0 / 60 % 60, self.0 % 60);
        write!(f, "{h:02}:{m:02}:{s:02}")
    }
}

impl FromStr for Walltime {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let expected = || {
            format!(
                "'{text}' is not a walltime: expected hours, minutes and seconds such as \
                 02:00:00 (or 02:00)"
            )
        };
        let parts: Vec<&str> = text.split(':').collect();
        if !(2..=3).contains(&parts.len())
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(expected());
        }
        let number = |p: &str| p.parse::<u64>().map_err(|_| expected());
        let hours = number(parts[0])?;
        let minutes = number(parts[1])?;
        let seconds = match parts.get(2) {
            Some(p) => number(p)?,
            None => 0,
        };
        if minutes >= 60
            || seconds >= 60
            || parts[1].len() != 2
            || parts.get(2).is_some_and(|p| p.len() != 2)
        {
            return Err(expected());
        }
        if hours > 10_000 {
            return Err(format!("'{text}' is too long a walltime"));
        }
        let total = hours * 3600 + minutes * 60 + seconds;
        if total == 0 {
            return Err("a walltime must be longer than zero".to_owned());
        }
        Ok(Walltime(total))
    }
}

impl Serialize for Walltime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Walltime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An OAR queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Queue {
    /// The default queue.
    #[default]
    Default,
    /// The production queue (clusters reserved for production use).
    Production,
    /// The testing queue (clusters being set up).
    Testing,
    /// Best effort: jobs that may be killed at any time to make room.
    Besteffort,
}

impl Queue {
    /// Every queue, as written.
    pub const NAMES: [&'static str; 4] = ["default", "production", "testing", "besteffort"];

    /// Its name as OAR and scenarios write it.
    pub fn name(self) -> &'static str {
        match self {
            Queue::Default => "default",
            Queue::Production => "production",
            Queue::Testing => "testing",
            Queue::Besteffort => "besteffort",
        }
    }

    /// The queue called `name`.
    pub fn from_name(name: &str) -> Option<Queue> {
        [
            Queue::Default,
            Queue::Production,
            Queue::Testing,
            Queue::Besteffort,
        ]
        .into_iter()
        .find(|q| q.name() == name)
    }
}

/// A kind of VLAN that kavlan provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VlanKind {
    /// A routed VLAN of the site (ids 4 to 9).
    Kavlan,
    /// A local VLAN, reached through the site's kavlan gateway (ids 1 to 3).
    KavlanLocal,
    /// A VLAN spanning every site (one per site, ids above 9).
    KavlanGlobal,
}

impl VlanKind {
    /// Every kind, as written.
    pub const NAMES: [&'static str; 3] = ["kavlan", "kavlan-local", "kavlan-global"];

    /// Its name as OAR and scenarios write it.
    pub fn name(self) -> &'static str {
        match self {
            VlanKind::Kavlan => "kavlan",
            VlanKind::KavlanLocal => "kavlan-local",
            VlanKind::KavlanGlobal => "kavlan-global",
        }
    }

    /// The kind called `name`.
    pub fn from_name(name: &str) -> Option<VlanKind> {
        [
            VlanKind::Kavlan,
            VlanKind::KavlanLocal,
            VlanKind::KavlanGlobal,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// The Grid'5000 provider's options as an experiment's state holds them
/// (`scenario.provider.options`, checked when the scenario was read).
pub fn options(value: &Value) -> Result<G5kOptions, String> {
    serde_json::from_value(value.clone())
        .map_err(|e| format!("the Grid'5000 provider's options: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walltimes_read_and_print_as_oar_writes_them() {
        assert_eq!("02:00:00".parse(), Ok(Walltime(7200)));
        assert_eq!("1:30".parse(), Ok(Walltime(5400)));
        assert_eq!(
            "100:00:05".parse::<Walltime>().map(|w| w.to_string()),
            Ok("100:00:05".into())
        );
        for bad in [
            "", "2h", "02:60:00", "02:00:0", "0:00", "a:00:00", "1:2:3:4", ":30",
        ] {
            assert!(bad.parse::<Walltime>().is_err(), "{bad:?}");
        }
        assert_eq!(Walltime(7200).plus_seconds(1800).to_string(), "02:30:00");
    }
}
