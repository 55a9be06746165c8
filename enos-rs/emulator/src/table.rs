//! The classes and rules in force: which endpoint owns an address, which device each endpoint
//! writes to, the shape of each ordered pair of endpoints. Built whole off the packet path,
//! then swapped whole.
//!
//! Everything here is sized by the configuration (addresses, endpoints, rules), never by the
//! square of the endpoints.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use crate::EmulatorError;
use crate::config::{DeviceKey, Endpoint, PairRule};
use crate::shaper::Shape;

/// A hash map keyed by integers (addresses, packed pairs), hashed by [`FastHash`].
pub(crate) type FastMap<K, V> = HashMap<K, V, FastHash>;

/// A hasher for the integer keys of the packet path: one multiply-xorshift finalizer
/// (MurmurHash3's `fmix64`) over the key xored with a random seed. About a nanosecond where
/// the standard library's SipHash takes tens; the seed keeps tables of different runs apart.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastHash {
    seed: u64,
}

impl Default for FastHash {
    fn default() -> Self {
        Self {
            seed: fastrand::u64(..),
        }
    }
}

impl BuildHasher for FastHash {
    type Hasher = IntHasher;

    fn build_hasher(&self) -> IntHasher {
        IntHasher(self.seed)
    }
}

/// The hasher built by [`FastHash`].
pub(crate) struct IntHasher(u64);

/// MurmurHash3's 64-bit finalizer: every input bit changes about half the output bits.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

impl Hasher for IntHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = fmix64(self.0 ^ n);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Index of an endpoint: [`crate::MAX_ENDPOINTS`] is 2^16.
pub(crate) type EndpointId = u16;

/// The key of an ordered pair of endpoints in the rule and counter tables.
pub(crate) fn pair_key(src: EndpointId, dst: EndpointId) -> u32 {
    (u32::from(src) << 16) | u32::from(dst)
}

/// The two endpoints of a pair key.
pub(crate) fn pair_of(key: u32) -> (usize, usize) {
    ((key >> 16) as usize, (key & 0xffff) as usize)
}

/// Who owns which address, and where each endpoint's packets are written.
#[derive(Debug)]
pub(crate) struct Classes {
    /// Owner of each address, by address.
    owners: FastMap<u32, EndpointId>,
    /// Device of each endpoint, an index in the emulator's devices.
    devices: Vec<u32>,
    /// For each device, the endpoint using it when it is the only one.
    sole_endpoint: Vec<Option<EndpointId>>,
}

impl Classes {
    /// Builds the classes of validated `endpoints` on the emulator's `devices`.
    ///
    /// Fails, with a message naming the device, when the endpoints do not use exactly the set
    /// of `devices`: a device that is not in it, or one of it that no endpoint uses.
    pub(crate) fn build(
        endpoints: &[Endpoint],
        devices: &[DeviceKey],
    ) -> Result<Self, EmulatorError> {
        let index: HashMap<(&std::path::Path, &str), u32> = devices
            .iter()
            .enumerate()
            .map(|(i, key)| {
                (
                    (key.netns.as_path(), key.name.as_str()),
                    u32::try_from(i).unwrap_or(u32::MAX),
                )
            })
            .collect();
        let addresses = endpoints.iter().map(|e| e.addresses.len()).sum();
        let mut owners = FastMap::with_capacity_and_hasher(addresses, FastHash::default());
        let mut endpoint_devices = Vec::with_capacity(endpoints.len());
        // Per device: how many endpoints use it, and the last one.
        let mut users: Vec<(usize, EndpointId)> = vec![(0, 0); devices.len()];
        for (position, endpoint) in endpoints.iter().enumerate() {
            let id = EndpointId::try_from(position).map_err(|_| {
                EmulatorError::Config(format!(
                    "{} endpoints, at most {} are supported",
                    endpoints.len(),
                    crate::MAX_ENDPOINTS
                ))
            })?;
            let Some(&device) = index.get(&(endpoint.netns.as_path(), endpoint.device.as_str()))
            else {
                return Err(EmulatorError::Config(format!(
                    "endpoint {position}: device {} in {} is not one of the emulator's devices, \
                     which cannot change while it runs",
                    endpoint.device,
                    endpoint.netns.display()
                )));
            };
            endpoint_devices.push(device);
            let user = &mut users[device as usize];
            *user = (user.0 + 1, id);
            for address in &endpoint.addresses {
                owners.insert(u32::from(*address), id);
            }
        }
        if let Some(unused) = users.iter().position(|&(count, _)| count == 0) {
            return Err(EmulatorError::Config(format!(
                "no endpoint uses the device {}: the emulator's devices cannot change while it \
                 runs",
                devices[unused]
            )));
        }
        Ok(Self {
            owners,
            devices: endpoint_devices,
            sole_endpoint: users
                .iter()
                .map(|&(count, id)| (count == 1).then_some(id))
                .collect(),
        })
    }

    /// The number of endpoints.
    pub(crate) fn endpoints(&self) -> usize {
        self.devices.len()
    }

    /// The number of addresses owned.
    pub(crate) fn addresses(&self) -> usize {
        self.owners.len()
    }

    /// The endpoint owning `address`.
    pub(crate) fn owner(&self, address: u32) -> Option<EndpointId> {
        self.owners.get(&address).copied()
    }

    /// The endpoint a packet from `address` read from `device` comes from: the owner of the
    /// address, else the only endpoint using the device.
    pub(crate) fn source(&self, address: u32, device: u32) -> Option<EndpointId> {
        self.owner(address)
            .or_else(|| self.sole_endpoint.get(device as usize).copied().flatten())
    }

    /// The device packets to `endpoint` are written to.
    pub(crate) fn device(&self, endpoint: EndpointId) -> u32 {
        self.devices[usize::from(endpoint)]
    }
}

/// The classes and the rules in force.
#[derive(Debug)]
pub(crate) struct Table {
    /// Shared with the next table when only the rules change.
    pub classes: Arc<Classes>,
    /// Index in `shapes` of the rule of each pair of endpoints that has a non-neutral one.
    rules: FastMap<u32, u32>,
    shapes: Vec<Shape>,
}

impl Table {
    /// Builds the table of `classes` with `rules`, validated against them. Neutral rules are
    /// left out: a pair without rule forwards at once.
    pub(crate) fn build(classes: Arc<Classes>, rules: &[PairRule]) -> Self {
        let mut table = Self {
            classes,
            rules: FastMap::with_capacity_and_hasher(rules.len(), FastHash::default()),
            shapes: Vec::with_capacity(rules.len()),
        };
        for rule in rules.iter().filter(|rule| !rule.is_neutral()) {
            let (Ok(src), Ok(dst)) = (
                EndpointId::try_from(rule.src),
                EndpointId::try_from(rule.dst),
            ) else {
                continue;
            };
            let index = u32::try_from(table.shapes.len()).unwrap_or(u32::MAX);
            table.shapes.push(Shape::from(rule));
            table.rules.insert(pair_key(src, dst), index);
        }
        table
    }

    /// The index of the rule from `src` to `dst`, if it has one.
    pub(crate) fn rule(&self, src: EndpointId, dst: EndpointId) -> Option<u32> {
        self.rules.get(&pair_key(src, dst)).copied()
    }

    /// The shape of the rule at `index`, as returned by [`Table::rule`].
    pub(crate) fn shape(&self, index: u32) -> &Shape {
        &self.shapes[index as usize]
    }

    /// The number of non-neutral rules.
    pub(crate) fn rules(&self) -> usize {
        self.shapes.len()
    }

    /// An estimate of the heap bytes this table holds beside its classes, from capacities.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.rules.capacity() * (std::mem::size_of::<(u32, u32)>() + 1)
            + self.shapes.capacity() * std::mem::size_of::<Shape>()
    }
}

impl Classes {
    /// An estimate of the heap bytes these classes hold, from capacities.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.owners.capacity() * (std::mem::size_of::<(u32, EndpointId)>() + 1)
            + self.devices.capacity() * 4
            + self.sole_endpoint.capacity() * std::mem::size_of::<Option<EndpointId>>()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::config::{EmulatorConfig, devices_of};

    fn endpoint(netns: &str, device: &str, addresses: &[[u8; 4]]) -> Endpoint {
        Endpoint {
            netns: PathBuf::from(netns),
            device: device.into(),
            addresses: addresses.iter().map(|a| Ipv4Addr::from(*a)).collect(),
        }
    }

    fn addr(a: [u8; 4]) -> u32 {
        u32::from(Ipv4Addr::from(a))
    }

    #[test]
    fn pair_keys_round_trip() {
        for (src, dst) in [(0, 0), (1, 2), (65_535, 0), (0, 65_535), (65_535, 65_535)] {
            assert_eq!(pair_of(pair_key(src, dst)), (src.into(), dst.into()));
        }
    }

    #[test]
    fn fast_hash_spreads_keys_that_differ_in_one_half() {
        let hash = FastHash { seed: 0 };
        // Pairs of addresses that share their destination: their low bits must still differ.
        let buckets: std::collections::HashSet<u64> = (0..1024u64)
            .map(|src| hash.hash_one((src << 32) | 7) & 0x3ff)
            .collect();
        assert!(buckets.len() > 600, "{} buckets of 1024", buckets.len());
    }

    #[test]
    fn sources_by_address_then_by_sole_device_user() {
        let endpoints = vec![
            endpoint("/run/netns/r", "wan0", &[[10, 0, 1, 1], [10, 0, 1, 2]]),
            endpoint("/run/netns/r", "wan0", &[[10, 0, 2, 1]]),
            endpoint("/run/netns/h", "wan0", &[[10, 0, 3, 1]]),
        ];
        let devices = devices_of(&endpoints);
        assert_eq!(devices.len(), 2, "the shared device is opened once");
        let classes = Classes::build(&endpoints, &devices).expect("classes");
        assert_eq!(classes.endpoints(), 3);
        assert_eq!(classes.addresses(), 4);
        assert_eq!(classes.owner(addr([10, 0, 1, 2])), Some(0));
        assert_eq!(classes.owner(addr([10, 0, 9, 9])), None);
        assert_eq!(
            (classes.device(0), classes.device(1), classes.device(2)),
            (0, 0, 1)
        );
        // An address nobody owns: known only on a device that one endpoint uses.
        assert_eq!(classes.source(addr([10, 0, 2, 1]), 0), Some(1));
        assert_eq!(classes.source(addr([192, 168, 0, 1]), 0), None);
        assert_eq!(classes.source(addr([192, 168, 0, 1]), 1), Some(2));
        assert_eq!(classes.source(addr([10, 0, 1, 1]), 1), Some(0));
    }

    #[test]
    fn classes_refuse_other_devices() {
        let endpoints = vec![
            endpoint("/run/netns/r", "wan0", &[[10, 0, 1, 1]]),
            endpoint("/run/netns/r", "wan0", &[[10, 0, 2, 1]]),
        ];
        let devices = devices_of(&endpoints);
        let moved = vec![endpoint("/run/netns/r", "wan1", &[[10, 0, 1, 1]])];
        let error = Classes::build(&moved, &devices).expect_err("unknown device");
        assert!(error.to_string().contains("wan1"), "{error}");
        let mut more = devices.clone();
        more.push(DeviceKey {
            netns: "/run/netns/other".into(),
            name: "wan0".into(),
        });
        let error = Classes::build(&endpoints, &more).expect_err("unused device");
        assert!(error.to_string().contains("/run/netns/other"), "{error}");
    }

    #[test]
    fn neutral_rules_are_left_out() {
        let endpoints = vec![
            endpoint("/run/netns/a", "wan0", &[[10, 0, 0, 1]]),
            endpoint("/run/netns/b", "wan0", &[[10, 0, 0, 2]]),
        ];
        let classes = Arc::new(Classes::build(&endpoints, &devices_of(&endpoints)).expect("ok"));
        let rules = [
            PairRule {
                src: 0,
                dst: 1,
                delay: Duration::from_millis(3),
                ..PairRule::default()
            },
            PairRule {
                src: 1,
                dst: 0,
                ..PairRule::default()
            },
        ];
        let table = Table::build(classes, &rules);
        assert_eq!(table.rules(), 1);
        let index = table.rule(0, 1).expect("a rule");
        assert_eq!(table.shape(index).delay_ns, 3_000_000);
        assert_eq!(table.rule(1, 0), None);
        assert_eq!(table.rule(0, 0), None);
    }

    /// A thousand hosts: as a thousand endpoints with a rule between every two of ten sites'
    /// first hosts, and as ten endpoints of a hundred addresses with a full mesh of rules.
    /// Both validate and build quickly, in tables sized by addresses and rules.
    #[test]
    fn a_thousand_hosts_make_small_tables() {
        let host = |i: usize| [10, 90, (i / 100) as u8, (i % 100 + 1) as u8];
        let started = Instant::now();
        let endpoints: Vec<Endpoint> = (0..1000)
            .map(|i| endpoint("/run/netns/fabric", "wan0", &[host(i)]))
            .collect();
        let mut rules = Vec::new();
        for src in 0..1000 {
            for site in 0..10 {
                let dst = site * 100;
                if dst != src {
                    rules.push(PairRule {
                        src,
                        dst,
                        delay: Duration::from_millis(5),
                        ..PairRule::default()
                    });
                }
            }
        }
        let config = EmulatorConfig {
            rules,
            ..EmulatorConfig::new(endpoints)
        };
        config.validate().expect("valid");
        let devices = devices_of(&config.endpoints);
        assert_eq!(devices.len(), 1);
        let classes = Arc::new(Classes::build(&config.endpoints, &devices).expect("classes"));
        let table = Table::build(Arc::clone(&classes), &config.rules);
        let elapsed = started.elapsed();
        assert_eq!(table.rules(), config.rules.len());
        let bytes = classes.heap_bytes() + table.heap_bytes();
        println!(
            "1000 endpoints, {} rules: built in {elapsed:?}, about {bytes} bytes of tables",
            config.rules.len()
        );
        // Dense tables would hold a million entries; these hold about 11,000.
        assert!(bytes < 1 << 20, "{bytes} bytes");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");

        // Ten classes of a hundred hosts, every ordered pair of classes shaped.
        let started = Instant::now();
        let endpoints: Vec<Endpoint> = (0..10)
            .map(|site| {
                let hosts: Vec<[u8; 4]> = (0..100).map(|h| host(site * 100 + h)).collect();
                endpoint("/run/netns/fabric", "wan0", &hosts)
            })
            .collect();
        let rules: Vec<PairRule> = (0..10)
            .flat_map(|src| (0..10).map(move |dst| (src, dst)))
            .filter(|(src, dst)| src != dst)
            .map(|(src, dst)| PairRule {
                src,
                dst,
                delay: Duration::from_millis(src as u64 + dst as u64),
                ..PairRule::default()
            })
            .collect();
        let config = EmulatorConfig {
            rules,
            ..EmulatorConfig::new(endpoints)
        };
        config.validate().expect("valid");
        let classes = Arc::new(
            Classes::build(&config.endpoints, &devices_of(&config.endpoints)).expect("classes"),
        );
        let table = Table::build(Arc::clone(&classes), &config.rules);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(classes.addresses(), 1000);
        assert_eq!(table.rules(), 90);
        assert_eq!(classes.owner(addr(host(250))), Some(2));
        let bytes = classes.heap_bytes() + table.heap_bytes();
        assert!(bytes < 64 << 10, "{bytes} bytes");
    }
}
