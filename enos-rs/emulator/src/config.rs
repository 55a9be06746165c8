//! Configuration of the emulator: endpoints, per-pair rules, validation.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::EmulatorError;

/// The longest interface name Linux accepts (`IFNAMSIZ` less the final NUL).
pub const MAX_DEVICE_NAME: usize = 15;

/// The default number of packets that may wait in one pair, as netem's default `limit`.
pub const DEFAULT_QUEUE_LIMIT: usize = 1000;

/// One emulated host: a network namespace and the TUN device created inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Path of the namespace, e.g. `/run/netns/host-1`.
    pub netns: PathBuf,
    /// Name of the TUN device to create in that namespace, e.g. `wan0` (at most 15 bytes).
    pub device: String,
    /// Addresses owned by this endpoint: packets sent to them are delivered on its device.
    pub addresses: Vec<Ipv4Addr>,
}

/// The shape of the traffic from one endpoint to another.
///
/// In JSON, durations are integer nanoseconds named `delay_ns` and `jitter_ns`; every field
/// but `src` and `dst` may be left out (zero).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct PairRule {
    /// Index of the sending endpoint in [`EmulatorConfig::endpoints`].
    pub src: usize,
    /// Index of the receiving endpoint in [`EmulatorConfig::endpoints`].
    pub dst: usize,
    /// Constant one-way delay added to every packet.
    #[serde(rename = "delay_ns", with = "duration_ns", default)]
    pub delay: Duration,
    /// Half-width of the uniform jitter added to the delay: the delay varies in
    /// `[delay - jitter, delay + jitter]`; packets of a pair are never reordered.
    #[serde(rename = "jitter_ns", with = "duration_ns", default)]
    pub jitter: Duration,
    /// Rate limit in bits per second, counting whole IP packets; 0 means unlimited.
    #[serde(default)]
    pub rate_bps: u64,
    /// Fraction of packets dropped at random, from 0 (none) to 1 (all: a partition).
    #[serde(default)]
    pub loss: f64,
}

impl PairRule {
    /// Tells whether the rule changes nothing: no delay, jitter, rate limit or loss.
    pub fn is_neutral(&self) -> bool {
        self.delay.is_zero() && self.jitter.is_zero() && self.rate_bps == 0 && self.loss <= 0.0
    }
}

/// Everything [`crate::Emulator::start`] needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmulatorConfig {
    /// The emulated hosts; rules refer to them by index.
    pub endpoints: Vec<Endpoint>,
    /// The initial rules; a pair without a rule forwards at once.
    #[serde(default)]
    pub rules: Vec<PairRule>,
    /// How many packets may wait in one pair (delayed or waiting for the link); more are
    /// dropped at the tail.
    #[serde(default = "default_queue_limit")]
    pub queue_limit: usize,
    /// Seed of the random generator for loss and jitter; random when absent.
    #[serde(default)]
    pub seed: Option<u64>,
}

fn default_queue_limit() -> usize {
    DEFAULT_QUEUE_LIMIT
}

impl EmulatorConfig {
    /// Builds a configuration with no rule, the default queue limit and a random seed.
    pub fn new(endpoints: Vec<Endpoint>) -> Self {
        Self {
            endpoints,
            rules: Vec::new(),
            queue_limit: DEFAULT_QUEUE_LIMIT,
            seed: None,
        }
    }

    /// Checks the endpoints, the queue limit and the rules.
    pub fn validate(&self) -> Result<(), EmulatorError> {
        if self.endpoints.is_empty() {
            return Err(EmulatorError::Config("no endpoint".into()));
        }
        if self.endpoints.len() > MAX_ENDPOINTS {
            return Err(EmulatorError::Config(format!(
                "{} endpoints, at most {MAX_ENDPOINTS} are supported",
                self.endpoints.len()
            )));
        }
        if self.queue_limit == 0 {
            return Err(EmulatorError::Config(
                "the queue limit must be at least 1".into(),
            ));
        }
        let mut owners: HashMap<Ipv4Addr, usize> = HashMap::new();
        let mut devices: HashSet<(&PathBuf, &str)> = HashSet::new();
        for (index, endpoint) in self.endpoints.iter().enumerate() {
            check_device_name(&endpoint.device).map_err(|why| {
                EmulatorError::Config(format!(
                    "endpoint {index}: device name {:?} {why}",
                    endpoint.device
                ))
            })?;
            if !devices.insert((&endpoint.netns, endpoint.device.as_str())) {
                return Err(EmulatorError::Config(format!(
                    "endpoint {index}: device {} appears twice in {}",
                    endpoint.device,
                    endpoint.netns.display()
                )));
            }
            for address in &endpoint.addresses {
                if let Some(other) = owners.insert(*address, index) {
                    return Err(EmulatorError::Config(format!(
                        "address {address} belongs to endpoints {other} and {index}"
                    )));
                }
            }
        }
        validate_rules(&self.rules, self.endpoints.len())
    }
}

/// The largest number of endpoints: the per-pair tables grow with its square.
pub const MAX_ENDPOINTS: usize = 256;

fn check_device_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.len() > MAX_DEVICE_NAME {
        return Err("is longer than 15 bytes");
    }
    if name == "." || name == ".." {
        return Err("is reserved");
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c == '%' || c.is_whitespace() || c.is_control())
    {
        return Err("contains '/', ':', '%', a space or a control character");
    }
    Ok(())
}

/// Checks rules against a number of endpoints: indexes in range, no self pair, no
/// duplicate pair, loss within 0..=1, jitter and delay representable.
pub fn validate_rules(rules: &[PairRule], endpoints: usize) -> Result<(), EmulatorError> {
    let mut seen = HashSet::new();
    for rule in rules {
        let pair = format!("rule {}->{}", rule.src, rule.dst);
        if rule.src >= endpoints || rule.dst >= endpoints {
            return Err(EmulatorError::Config(format!(
                "{pair}: there are only {endpoints} endpoints"
            )));
        }
        if rule.src == rule.dst {
            return Err(EmulatorError::Config(format!(
                "{pair}: an endpoint cannot be both ends"
            )));
        }
        if !seen.insert((rule.src, rule.dst)) {
            return Err(EmulatorError::Config(format!("{pair} appears twice")));
        }
        if !(0.0..=1.0).contains(&rule.loss) {
            return Err(EmulatorError::Config(format!(
                "{pair}: loss {} is not a fraction between 0 and 1",
                rule.loss
            )));
        }
        const LIMIT: Duration = Duration::from_secs(3600);
        if rule.delay > LIMIT || rule.jitter > LIMIT {
            return Err(EmulatorError::Config(format!(
                "{pair}: delay and jitter must be at most one hour"
            )));
        }
    }
    Ok(())
}

/// Serde helpers for a [`Duration`] written as integer nanoseconds.
mod duration_ns {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        let nanos = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
        serializer.serialize_u64(nanos)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(name: &str, address: [u8; 4]) -> Endpoint {
        Endpoint {
            netns: PathBuf::from(format!("/run/netns/{name}")),
            device: "wan0".into(),
            addresses: vec![Ipv4Addr::from(address)],
        }
    }

    #[test]
    fn rule_json_uses_nanoseconds_and_defaults() {
        let rule: PairRule =
            serde_json::from_str(r#"{"src":0,"dst":1,"delay_ns":5000000}"#).expect("parses");
        assert_eq!(rule.delay, Duration::from_millis(5));
        assert_eq!(rule.jitter, Duration::ZERO);
        assert_eq!(rule.rate_bps, 0);
        assert_eq!(rule.loss, 0.0);
        let text = serde_json::to_string(&rule).expect("serializes");
        assert_eq!(
            text,
            r#"{"src":0,"dst":1,"delay_ns":5000000,"jitter_ns":0,"rate_bps":0,"loss":0.0}"#
        );
    }

    #[test]
    fn config_json_defaults() {
        let config: EmulatorConfig = serde_json::from_str(
            r#"{"endpoints":[{"netns":"/run/netns/a","device":"wan0","addresses":["10.0.0.1"]}]}"#,
        )
        .expect("parses");
        assert_eq!(config.queue_limit, DEFAULT_QUEUE_LIMIT);
        assert_eq!(config.seed, None);
        assert!(config.rules.is_empty());
        config.validate().expect("valid");
    }

    #[test]
    fn validation_rejects_bad_input() {
        let good = EmulatorConfig::new(vec![
            endpoint("a", [10, 0, 0, 1]),
            endpoint("b", [10, 0, 0, 2]),
        ]);
        good.validate().expect("valid");

        let mut config = good.clone();
        config.endpoints[1].addresses = vec![Ipv4Addr::new(10, 0, 0, 1)];
        assert!(config.validate().is_err(), "shared address");

        let mut config = good.clone();
        config.endpoints[0].device = "a-name-that-is-too-long".into();
        assert!(config.validate().is_err(), "long name");

        let mut config = good.clone();
        config.endpoints[0].device = "wan/0".into();
        assert!(config.validate().is_err(), "slash");

        let mut config = good.clone();
        config.endpoints[1].netns = config.endpoints[0].netns.clone();
        assert!(config.validate().is_err(), "same device twice");

        let mut config = good.clone();
        config.queue_limit = 0;
        assert!(config.validate().is_err(), "queue limit");

        assert!(EmulatorConfig::new(Vec::new()).validate().is_err(), "empty");

        let rule = PairRule {
            src: 0,
            dst: 1,
            ..PairRule::default()
        };
        assert!(validate_rules(&[rule], 2).is_ok());
        assert!(validate_rules(&[rule, rule], 2).is_err(), "duplicate");
        assert!(
            validate_rules(&[PairRule { dst: 2, ..rule }], 2).is_err(),
            "range"
        );
        assert!(
            validate_rules(&[PairRule { dst: 0, ..rule }], 2).is_err(),
            "self"
        );
        assert!(
            validate_rules(&[PairRule { loss: 1.5, ..rule }], 2).is_err(),
            "loss"
        );
        assert!(
            validate_rules(
                &[PairRule {
                    loss: f64::NAN,
                    ..rule
                }],
                2
            )
            .is_err(),
            "NaN"
        );
        assert!(
            validate_rules(
                &[PairRule {
                    delay: Duration::from_secs(7200),
                    ..rule
                }],
                2
            )
            .is_err(),
            "delay"
        );
    }
}
