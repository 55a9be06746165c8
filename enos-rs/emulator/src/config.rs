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

/// A class of hosts: the addresses it owns and the TUN device its packets are written to.
///
/// With one TUN device per host namespace, an endpoint is one host. With one TUN device
/// through which a router namespace sends the traffic of many hosts, several endpoints share
/// that device, each owning the addresses of the hosts that have the same constraints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Path of the namespace, e.g. `/run/netns/host-1`.
    pub netns: PathBuf,
    /// Name of the TUN device in that namespace, e.g. `wan0` (at most 15 bytes). Endpoints
    /// naming the same device in the same namespace share it: it is created once.
    pub device: String,
    /// Addresses owned by this endpoint: a packet is classified by the owners of its source
    /// and destination addresses, and written to the device of its destination's owner.
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
        if self.queue_limit == 0 {
            return Err(EmulatorError::Config(
                "the queue limit must be at least 1".into(),
            ));
        }
        validate_endpoints(&self.endpoints)?;
        validate_rules(&self.rules, self.endpoints.len())
    }
}

// Nothing in the emulator grows with the square of the endpoints: rules are a sparse table,
// counters exist for the pairs of endpoints that carried traffic, and the state of the traffic
// model for the pairs of addresses that did. What remains bounded is below.

/// The largest number of endpoints, 65,536. An endpoint costs a few bytes; the bound is that
/// endpoint indexes are kept on 16 bits, so that an ordered pair of endpoints is one 32-bit
/// key of the rule and counter tables.
pub const MAX_ENDPOINTS: usize = 1 << 16;

/// The largest number of addresses, all endpoints together, 65,536 (a /16). The table from
/// address to endpoint is rebuilt by every reconfiguration and looked up for every packet
/// whose pair of addresses is new: at this size it is about a megabyte and builds in
/// milliseconds. The state kept per pair of addresses grows with the pairs that carry
/// traffic, not with this bound.
pub const MAX_ADDRESSES: usize = 1 << 16;

/// The largest number of rules, 1,048,576: a full mesh of 1,024 endpoints, so one endpoint per
/// host of a testbed of a thousand hosts. A rule costs about 50 bytes in the rule table (50 MB
/// at this bound) and about 100 bytes of JSON, which sets the control socket's longest line.
pub const MAX_RULES: usize = 1 << 20;

/// Checks a list of endpoints: at least one, within [`MAX_ENDPOINTS`] and [`MAX_ADDRESSES`],
/// valid device names, and no address owned twice. Several endpoints may share a device.
pub(crate) fn validate_endpoints(endpoints: &[Endpoint]) -> Result<(), EmulatorError> {
    if endpoints.is_empty() {
        return Err(EmulatorError::Config("no endpoint".into()));
    }
    if endpoints.len() > MAX_ENDPOINTS {
        return Err(EmulatorError::Config(format!(
            "{} endpoints, at most {MAX_ENDPOINTS} are supported",
            endpoints.len()
        )));
    }
    let addresses: usize = endpoints.iter().map(|e| e.addresses.len()).sum();
    if addresses > MAX_ADDRESSES {
        return Err(EmulatorError::Config(format!(
            "{addresses} addresses in all, at most {MAX_ADDRESSES} are supported"
        )));
    }
    let mut owners: HashMap<Ipv4Addr, usize> = HashMap::with_capacity(addresses);
    for (index, endpoint) in endpoints.iter().enumerate() {
        check_device_name(&endpoint.device).map_err(|why| {
            EmulatorError::Config(format!(
                "endpoint {index}: device name {:?} {why}",
                endpoint.device
            ))
        })?;
        for address in &endpoint.addresses {
            if let Some(other) = owners.insert(*address, index) {
                return Err(EmulatorError::Config(if other == index {
                    format!("endpoint {index}: address {address} appears twice")
                } else {
                    format!("address {address} belongs to endpoints {other} and {index}")
                }));
            }
        }
    }
    Ok(())
}

/// One TUN device: a namespace and a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DeviceKey {
    /// Path of the namespace.
    pub netns: PathBuf,
    /// Name of the device.
    pub name: String,
}

impl std::fmt::Display for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} in {}", self.name, self.netns.display())
    }
}

/// The distinct devices of `endpoints`, in order of first use.
pub(crate) fn devices_of(endpoints: &[Endpoint]) -> Vec<DeviceKey> {
    let mut seen = HashSet::new();
    let mut devices = Vec::new();
    for endpoint in endpoints {
        if seen.insert((&endpoint.netns, endpoint.device.as_str())) {
            devices.push(DeviceKey {
                netns: endpoint.netns.clone(),
                name: endpoint.device.clone(),
            });
        }
    }
    devices
}

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

/// Checks rules against a number of endpoints: at most [`MAX_RULES`], indexes in range, no
/// duplicate pair, loss within 0..=1, jitter and delay representable. A rule from an endpoint
/// to itself shapes the traffic between distinct hosts of that class.
pub fn validate_rules(rules: &[PairRule], endpoints: usize) -> Result<(), EmulatorError> {
    if rules.len() > MAX_RULES {
        return Err(EmulatorError::Config(format!(
            "{} rules, at most {MAX_RULES} are supported",
            rules.len()
        )));
    }
    let mut seen = HashSet::with_capacity(rules.len());
    for rule in rules {
        let pair = format!("rule {}->{}", rule.src, rule.dst);
        if rule.src >= endpoints || rule.dst >= endpoints {
            return Err(EmulatorError::Config(format!(
                "{pair}: there are only {endpoints} endpoints"
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
    fn limits_are_counted_without_building_anything_square() {
        let shared = |addresses: Vec<Ipv4Addr>| Endpoint {
            netns: PathBuf::from("/run/netns/fabric"),
            device: "wan0".into(),
            addresses,
        };
        let host = |i: u32| Ipv4Addr::from(0x0a00_0000 + i);
        // As many endpoints as allowed, one address each, on one device.
        let endpoints: Vec<Endpoint> = (0..MAX_ENDPOINTS as u32)
            .map(|i| shared(vec![host(i)]))
            .collect();
        EmulatorConfig::new(endpoints.clone())
            .validate()
            .expect("at the limits");
        let mut more = endpoints;
        more.push(shared(Vec::new()));
        let error = EmulatorConfig::new(more).validate().expect_err("too many");
        assert!(error.to_string().contains("65537 endpoints"), "{error}");

        let error = EmulatorConfig::new(vec![
            shared((0..MAX_ADDRESSES as u32).map(host).collect()),
            shared(vec![host(MAX_ADDRESSES as u32)]),
        ])
        .validate()
        .expect_err("too many addresses");
        assert!(error.to_string().contains("65537 addresses"), "{error}");

        let rules = vec![PairRule::default(); MAX_RULES + 1];
        let error = validate_rules(&rules, 2).expect_err("too many rules");
        assert!(error.to_string().contains("1048577 rules"), "{error}");
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

        // Endpoints may share a device: they are classes of the hosts behind it.
        let mut config = good.clone();
        config.endpoints[1].netns = config.endpoints[0].netns.clone();
        config.validate().expect("a shared device");
        assert_eq!(devices_of(&config.endpoints).len(), 1);
        assert_eq!(devices_of(&good.endpoints).len(), 2);

        let mut config = good.clone();
        config.endpoints[0]
            .addresses
            .push(Ipv4Addr::new(10, 0, 0, 1));
        let error = config
            .validate()
            .expect_err("address twice in one endpoint");
        assert!(error.to_string().contains("appears twice"), "{error}");

        let mut config = good.clone();
        config.queue_limit = 0;
        assert!(config.validate().is_err(), "queue limit");

        assert!(EmulatorConfig::new(Vec::new()).validate().is_err(), "empty");

        // An endpoint without address is valid: it may be the sole user of its device.
        let mut config = good.clone();
        config.endpoints[1].addresses.clear();
        config.validate().expect("no address");

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
        // Within one endpoint: between distinct hosts of one class (a host's traffic to itself
        // never reaches the emulator).
        assert!(
            validate_rules(&[PairRule { dst: 0, ..rule }], 2).is_ok(),
            "within a class"
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
