//! What the reader does with one packet: find the endpoints of its source and destination, the
//! rule between them and the state of its pair of hosts, then let the traffic model decide.
//!
//! State is created on the first packet of a pair: counters per ordered pair of endpoints (kept
//! for the statistics), traffic-model state per ordered pair of addresses (forgotten once idle).
//! Nothing is sized by the square of the endpoints.

use std::collections::hash_map::Entry;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use crate::shaper::{PairState, Verdict};
use crate::table::{EndpointId, FastMap, Table, pair_key, pair_of};

/// The host-pair table is swept when it reaches this size, then when it doubles.
const SWEEP_MIN: usize = 4096;
/// A pair of hosts that carried nothing for this long (10 s) and has nothing waiting is
/// forgotten at the next sweep.
const IDLE_NS: u64 = 10_000_000_000;

/// Counters of one ordered pair of endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairStats {
    /// Index of the sending endpoint.
    pub src: usize,
    /// Index of the receiving endpoint.
    pub dst: usize,
    /// Packets delivered to the receiving endpoint.
    pub forwarded: u64,
    /// Bytes (whole IP packets) delivered to the receiving endpoint.
    pub forwarded_bytes: u64,
    /// Packets dropped at random by the loss rule.
    pub dropped_loss: u64,
    /// Packets dropped because the queue of their pair of hosts was full.
    pub dropped_queue: u64,
    /// Packets that could not be written to the receiving device (down, gone).
    pub write_errors: u64,
    /// Packets waiting in the pair right now.
    pub queued: u64,
}

/// The counters of one ordered pair of endpoints, created on its first packet.
#[derive(Debug, Default)]
pub(crate) struct PairCounters {
    pub forwarded: AtomicU64,
    pub forwarded_bytes: AtomicU64,
    pub dropped_loss: AtomicU64,
    pub dropped_queue: AtomicU64,
    pub write_errors: AtomicU64,
    pub waiting: AtomicU64,
}

impl PairCounters {
    pub(crate) fn add(counter: &AtomicU64, value: u64) {
        counter.fetch_add(value, Ordering::Relaxed);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The table in force and the counters, shared by the reader, the scheduler and the API.
#[derive(Debug)]
pub(crate) struct Tables {
    current: Mutex<Arc<Table>>,
    /// Bumped after each replacement of `current`: the reader looks at it for every packet.
    generation: AtomicU64,
    /// Counters of the pairs of endpoints that saw a packet, by pair key.
    pairs: Mutex<FastMap<u32, Arc<PairCounters>>>,
    /// IPv4 packets whose destination no endpoint owns.
    pub unroutable: AtomicU64,
    /// Packets that are not IPv4.
    pub not_ipv4: AtomicU64,
    /// IPv4 packets whose source no endpoint owns, read from a device shared by several.
    pub unclassified: AtomicU64,
    /// Pairs of hosts whose state the reader holds.
    pub host_pairs: AtomicU64,
}

impl Tables {
    pub(crate) fn new(table: Table) -> Self {
        Self {
            current: Mutex::new(Arc::new(table)),
            generation: AtomicU64::new(0),
            pairs: Mutex::new(FastMap::default()),
            unroutable: AtomicU64::new(0),
            not_ipv4: AtomicU64::new(0),
            unclassified: AtomicU64::new(0),
            host_pairs: AtomicU64::new(0),
        }
    }

    /// The table in force.
    pub(crate) fn current(&self) -> Arc<Table> {
        Arc::clone(&lock(&self.current))
    }

    /// Puts `table` in force for the packets read from now on.
    pub(crate) fn replace(&self, table: Table) {
        let table = Arc::new(table);
        let mut current = lock(&self.current);
        let old = std::mem::replace(&mut *current, table);
        self.generation.fetch_add(1, Ordering::Release);
        drop(current);
        // The old table may be large: free it outside the lock.
        drop(old);
    }

    /// The counters of the pair `key`, created if needed.
    fn pair_counters(&self, key: u32) -> Arc<PairCounters> {
        Arc::clone(lock(&self.pairs).entry(key).or_default())
    }

    /// The counters of every pair of endpoints that saw a packet, sorted by `(src, dst)`.
    pub(crate) fn pair_stats(&self) -> Vec<PairStats> {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut pairs: Vec<PairStats> = lock(&self.pairs)
            .iter()
            .map(|(&key, counters)| {
                let (src, dst) = pair_of(key);
                PairStats {
                    src,
                    dst,
                    forwarded: load(&counters.forwarded),
                    forwarded_bytes: load(&counters.forwarded_bytes),
                    dropped_loss: load(&counters.dropped_loss),
                    dropped_queue: load(&counters.dropped_queue),
                    write_errors: load(&counters.write_errors),
                    queued: load(&counters.waiting),
                }
            })
            .filter(|pair| {
                pair.forwarded
                    + pair.dropped_loss
                    + pair.dropped_queue
                    + pair.write_errors
                    + pair.queued
                    > 0
            })
            .collect();
        pairs.sort_unstable_by_key(|pair| (pair.src, pair.dst));
        pairs
    }
}

/// The source and destination addresses of an IPv4 packet, `None` for anything else.
pub(crate) fn ipv4_addresses(packet: &[u8]) -> Option<(u32, u32)> {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return None;
    }
    let word = |at: usize| {
        u32::from_be_bytes([packet[at], packet[at + 1], packet[at + 2], packet[at + 3]])
    };
    Some((word(12), word(16)))
}

/// Where the packets of a pair of hosts go, as resolved with one generation of the table.
#[derive(Debug, Clone, Copy)]
struct Route {
    /// The device to write to.
    device: u32,
    /// The rule's index in the table, if the pair of endpoints has one.
    rule: Option<u32>,
    /// The pair of endpoints' counters, an index in [`Dispatcher::counters`].
    counters: u32,
}

/// The state of one ordered pair of hosts.
#[derive(Debug)]
struct HostPair {
    shaper: PairState,
    /// Packets of the pair handed to the scheduler and not yet written.
    waiting: Arc<AtomicU32>,
    /// The table generation `route` was resolved with: an older one is resolved again.
    generation: u64,
    /// The device the packet that resolved `route` was read from (it may decide the source).
    read_device: u32,
    route: Route,
}

impl HostPair {
    /// Whether the pair can be forgotten: nothing waits, nothing is pending in the model, and
    /// nothing was accepted for [`IDLE_NS`].
    fn is_idle(&self, now: u64) -> bool {
        self.waiting.load(Ordering::Acquire) == 0
            && self.shaper.is_settled(now)
            && self.shaper.last_release().saturating_add(IDLE_NS) <= now
    }
}

/// What to do with a packet.
#[derive(Debug)]
pub(crate) enum Action {
    /// Dropped; already counted.
    Dropped,
    /// Write it to `device` now, and count it in the counters at slot `counters`
    /// ([`Dispatcher::counters`]).
    Deliver { device: u32, counters: u32 },
    /// Hand it to the scheduler, to be written to `device` at `release`; `waiting` and
    /// `counters.waiting` already count it, the scheduler takes it off both once written.
    Queue {
        release: u64,
        device: u32,
        counters: Arc<PairCounters>,
        waiting: Arc<AtomicU32>,
    },
}

/// The reader's side of the emulator: its copy of the table, the state of each pair of hosts,
/// a cache of the counters, the random generator.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    table: Arc<Table>,
    generation: u64,
    states: FastMap<u64, HostPair>,
    /// Counters of the pairs of endpoints seen by this reader, and their index by pair key.
    counters: Vec<Arc<PairCounters>>,
    counter_slots: FastMap<u32, u32>,
    queue_limit: usize,
    rng: fastrand::Rng,
    /// Size of `states` at which the next sweep happens.
    sweep_at: usize,
}

impl Dispatcher {
    pub(crate) fn new(tables: &Tables, queue_limit: usize, seed: u64) -> Self {
        let current = lock(&tables.current);
        Self {
            table: Arc::clone(&current),
            generation: tables.generation.load(Ordering::Acquire),
            states: FastMap::default(),
            counters: Vec::new(),
            counter_slots: FastMap::default(),
            queue_limit,
            rng: fastrand::Rng::with_seed(seed),
            sweep_at: SWEEP_MIN,
        }
    }

    /// Takes the table in force if it changed.
    fn refresh(&mut self, tables: &Tables) {
        if tables.generation.load(Ordering::Acquire) != self.generation {
            let current = lock(&tables.current);
            self.table = Arc::clone(&current);
            self.generation = tables.generation.load(Ordering::Acquire);
        }
    }

    /// Decides the fate of `packet`, read from `read_device` at `now`.
    ///
    /// One lookup in the table of pairs of hosts when the pair is known and the table did not
    /// change since; the owners of both addresses and the rule are looked up otherwise.
    pub(crate) fn dispatch(
        &mut self,
        tables: &Tables,
        read_device: u32,
        packet: &[u8],
        now: u64,
    ) -> Action {
        let Some((src, dst)) = ipv4_addresses(packet) else {
            tables.not_ipv4.fetch_add(1, Ordering::Relaxed);
            return Action::Dropped;
        };
        self.refresh(tables);
        let key = (u64::from(src) << 32) | u64::from(dst);
        let generation = self.generation;
        if let Some(pair) = self.states.get_mut(&key)
            && pair.generation == generation
            && pair.read_device == read_device
        {
            return admit(
                pair,
                &self.table,
                &self.counters,
                self.queue_limit,
                &mut self.rng,
                now,
                packet.len(),
            );
        }
        let Some(route) = self.resolve(tables, read_device, src, dst) else {
            return Action::Dropped;
        };
        if !self.states.contains_key(&key) && self.states.len() >= self.sweep_at {
            self.sweep(tables, now);
        }
        let pair = match self.states.entry(key) {
            Entry::Occupied(entry) => {
                let pair = entry.into_mut();
                pair.generation = generation;
                pair.read_device = read_device;
                pair.route = route;
                pair
            }
            Entry::Vacant(entry) => {
                tables.host_pairs.fetch_add(1, Ordering::Relaxed);
                entry.insert(HostPair {
                    shaper: PairState::default(),
                    waiting: Arc::new(AtomicU32::new(0)),
                    generation,
                    read_device,
                    route,
                })
            }
        };
        admit(
            pair,
            &self.table,
            &self.counters,
            self.queue_limit,
            &mut self.rng,
            now,
            packet.len(),
        )
    }

    /// The counters at `slot`, as given by [`Action::Deliver`].
    pub(crate) fn counters(&self, slot: u32) -> &PairCounters {
        &self.counters[slot as usize]
    }

    /// Finds the endpoints, rule, device and counters of a pair of hosts; `None`, counted,
    /// when no endpoint owns the destination or the source cannot be classified.
    fn resolve(&mut self, tables: &Tables, read_device: u32, src: u32, dst: u32) -> Option<Route> {
        let classes = &self.table.classes;
        let Some(dst_endpoint) = classes.owner(dst) else {
            tables.unroutable.fetch_add(1, Ordering::Relaxed);
            tracing::trace!(
                read_device,
                destination = %Ipv4Addr::from(dst),
                "no endpoint owns the destination"
            );
            return None;
        };
        let Some(src_endpoint) = classes.source(src, read_device) else {
            tables.unclassified.fetch_add(1, Ordering::Relaxed);
            tracing::trace!(
                read_device,
                source = %Ipv4Addr::from(src),
                "no endpoint owns the source, and several share the device"
            );
            return None;
        };
        Some(Route {
            device: classes.device(dst_endpoint),
            rule: self.table.rule(src_endpoint, dst_endpoint),
            counters: self.counter_slot(tables, src_endpoint, dst_endpoint),
        })
    }

    /// The index in [`Dispatcher::counters`] of the counters of `src -> dst`.
    fn counter_slot(&mut self, tables: &Tables, src: EndpointId, dst: EndpointId) -> u32 {
        let key = pair_key(src, dst);
        if let Some(&slot) = self.counter_slots.get(&key) {
            return slot;
        }
        let slot = u32::try_from(self.counters.len()).unwrap_or(u32::MAX);
        self.counters.push(tables.pair_counters(key));
        self.counter_slots.insert(key, slot);
        slot
    }

    /// Forgets the idle pairs of hosts; the next sweep happens when the table doubles.
    fn sweep(&mut self, tables: &Tables, now: u64) {
        let before = self.states.len();
        self.states.retain(|_, pair| !pair.is_idle(now));
        self.sweep_at = (self.states.len() * 2).max(SWEEP_MIN);
        if self.states.capacity() > self.sweep_at * 2 {
            self.states.shrink_to(self.sweep_at);
        }
        tables
            .host_pairs
            .fetch_sub((before - self.states.len()) as u64, Ordering::Relaxed);
        tracing::debug!(
            before,
            after = self.states.len(),
            "idle pairs of hosts forgotten"
        );
    }

    /// The number of pairs of hosts held.
    #[cfg(test)]
    fn host_pairs(&self) -> usize {
        self.states.len()
    }
}

/// Lets the traffic model decide the fate of a packet of `len` bytes of the pair of hosts
/// `pair`, read at `now`.
fn admit(
    pair: &mut HostPair,
    table: &Table,
    counters: &[Arc<PairCounters>],
    queue_limit: usize,
    rng: &mut fastrand::Rng,
    now: u64,
    len: usize,
) -> Action {
    let route = pair.route;
    let pair_counters = &counters[route.counters as usize];
    let shape = route.rule.map(|index| table.shape(index));
    let waiting = pair.waiting.load(Ordering::Acquire) as usize;
    match pair
        .shaper
        .admit(shape, now, len, waiting, queue_limit, rng)
    {
        Verdict::Lost => {
            PairCounters::add(&pair_counters.dropped_loss, 1);
            Action::Dropped
        }
        Verdict::QueueFull => {
            PairCounters::add(&pair_counters.dropped_queue, 1);
            Action::Dropped
        }
        // Straight out, unless an earlier packet of the pair still waits.
        Verdict::Release(release) if release <= now && waiting == 0 => Action::Deliver {
            device: route.device,
            counters: route.counters,
        },
        Verdict::Release(release) => {
            pair.waiting.fetch_add(1, Ordering::AcqRel);
            pair_counters.waiting.fetch_add(1, Ordering::AcqRel);
            Action::Queue {
                release,
                device: route.device,
                counters: Arc::clone(pair_counters),
                waiting: Arc::clone(&pair.waiting),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::config::{Endpoint, PairRule, devices_of};
    use crate::table::Classes;

    const MS: u64 = 1_000_000;

    fn endpoint(device: &str, addresses: &[[u8; 4]]) -> Endpoint {
        Endpoint {
            netns: PathBuf::from("/run/netns/fabric"),
            device: device.into(),
            addresses: addresses.iter().map(|a| Ipv4Addr::from(*a)).collect(),
        }
    }

    fn packet(src: [u8; 4], dst: [u8; 4], len: usize) -> Vec<u8> {
        let mut packet = vec![0u8; len];
        packet[0] = 0x45;
        packet[12..16].copy_from_slice(&src);
        packet[16..20].copy_from_slice(&dst);
        packet
    }

    /// Two classes on one shared device: A = {a1, a2}, B = {b1}.
    fn fabric(rules: &[PairRule]) -> (Tables, Vec<crate::config::DeviceKey>) {
        let endpoints = vec![endpoint("wan0", &[A1, A2]), endpoint("wan0", &[B1])];
        let devices = devices_of(&endpoints);
        let classes = Classes::build(&endpoints, &devices).expect("classes");
        (Tables::new(Table::build(Arc::new(classes), rules)), devices)
    }

    const A1: [u8; 4] = [10, 79, 1, 1];
    const A2: [u8; 4] = [10, 79, 1, 2];
    const B1: [u8; 4] = [10, 79, 2, 1];

    /// The release time of a queued packet, `None` when delivered now, panics when dropped.
    fn release(action: Action) -> Option<u64> {
        match action {
            Action::Dropped => panic!("dropped"),
            Action::Deliver { .. } => None,
            Action::Queue { release, .. } => Some(release),
        }
    }

    #[test]
    fn addresses_of_ipv4_packets_only() {
        let mut header = packet([10, 77, 0, 1], [10, 77, 0, 2], 20);
        assert_eq!(
            ipv4_addresses(&header),
            Some((
                u32::from(Ipv4Addr::new(10, 77, 0, 1)),
                u32::from(Ipv4Addr::new(10, 77, 0, 2))
            ))
        );
        assert_eq!(ipv4_addresses(&header[..19]), None);
        header[0] = 0x60;
        assert_eq!(ipv4_addresses(&header), None);
        assert_eq!(ipv4_addresses(&[]), None);
    }

    #[test]
    fn rate_paces_each_pair_of_hosts_on_its_own() {
        // 1500 bytes at 12 Mbit/s: 1 ms each.
        let (tables, _) = fabric(&[PairRule {
            src: 0,
            dst: 1,
            rate_bps: 12_000_000,
            ..PairRule::default()
        }]);
        let mut dispatcher = Dispatcher::new(&tables, 100, 1);
        let now = 50 * MS;
        // Two sources of class A send three packets each to b1 at the same instant: each pair
        // of hosts has its own link, so both are paced at 1, 2, 3 ms, not 1 to 6 ms.
        for k in 1..=3 {
            for source in [A1, A2] {
                let action = dispatcher.dispatch(&tables, 0, &packet(source, B1, 1500), now);
                assert_eq!(
                    release(action),
                    Some(now + k * MS),
                    "packet {k} of {source:?}"
                );
            }
        }
        assert_eq!(dispatcher.host_pairs(), 2);
        // Back from b1: no rule, straight out.
        let action = dispatcher.dispatch(&tables, 0, &packet(B1, A1, 1500), now);
        assert_eq!(release(action), None);
        let stats = tables.pair_stats();
        assert_eq!(stats.len(), 1, "{stats:?}");
        assert_eq!((stats[0].src, stats[0].dst, stats[0].queued), (0, 1, 6));
        assert_eq!(tables.host_pairs.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn queue_limit_counts_per_pair_of_hosts() {
        let (tables, _) = fabric(&[PairRule {
            src: 0,
            dst: 1,
            delay: Duration::from_millis(10),
            ..PairRule::default()
        }]);
        let mut dispatcher = Dispatcher::new(&tables, 2, 1);
        let mut queued = Vec::new();
        for source in [A1, A2] {
            for _ in 0..2 {
                match dispatcher.dispatch(&tables, 0, &packet(source, B1, 100), 0) {
                    Action::Queue { waiting, .. } => queued.push(waiting),
                    other => panic!("{other:?}"),
                }
            }
        }
        // Each pair of hosts holds two: the third of a1 is dropped, a2 is not affected.
        assert!(matches!(
            dispatcher.dispatch(&tables, 0, &packet(A1, B1, 100), 0),
            Action::Dropped
        ));
        assert_eq!(tables.pair_stats()[0].dropped_queue, 1);
        // The scheduler writes one of a1's: room again.
        queued[0].fetch_sub(1, Ordering::AcqRel);
        assert!(matches!(
            dispatcher.dispatch(&tables, 0, &packet(A1, B1, 100), 0),
            Action::Queue { .. }
        ));
    }

    #[test]
    fn unknown_sources_and_destinations_are_counted() {
        let (tables, _) = fabric(&[]);
        let mut dispatcher = Dispatcher::new(&tables, 10, 1);
        // Nobody owns the destination.
        let action = dispatcher.dispatch(&tables, 0, &packet(A1, [10, 79, 9, 9], 100), 0);
        assert!(matches!(action, Action::Dropped));
        // Nobody owns the source, and two classes share the device.
        let action = dispatcher.dispatch(&tables, 0, &packet([10, 79, 9, 9], B1, 100), 0);
        assert!(matches!(action, Action::Dropped));
        let action = dispatcher.dispatch(&tables, 0, &[0x60; 40], 0);
        assert!(matches!(action, Action::Dropped));
        assert_eq!(tables.unroutable.load(Ordering::Relaxed), 1);
        assert_eq!(tables.unclassified.load(Ordering::Relaxed), 1);
        assert_eq!(tables.not_ipv4.load(Ordering::Relaxed), 1);
        assert_eq!(dispatcher.host_pairs(), 0, "no state for dropped strays");
        assert!(tables.pair_stats().is_empty());
    }

    #[test]
    fn a_new_table_moves_an_address_to_another_class() {
        let delay = |src, dst, ms| PairRule {
            src,
            dst,
            delay: Duration::from_millis(ms),
            ..PairRule::default()
        };
        let (tables, devices) = fabric(&[delay(0, 1, 10)]);
        let mut dispatcher = Dispatcher::new(&tables, 100, 1);
        assert_eq!(
            release(dispatcher.dispatch(&tables, 0, &packet(A2, B1, 100), 0)),
            Some(10 * MS)
        );
        // a2 joins a class of its own, 3 ms from B; a packet already accepted keeps its time,
        // and the pair of hosts is not reordered.
        let endpoints = vec![
            endpoint("wan0", &[A1]),
            endpoint("wan0", &[B1]),
            endpoint("wan0", &[A2]),
        ];
        let classes = Classes::build(&endpoints, &devices).expect("classes");
        tables.replace(Table::build(
            Arc::new(classes),
            &[delay(0, 1, 10), delay(2, 1, 3)],
        ));
        assert_eq!(
            release(dispatcher.dispatch(&tables, 0, &packet(A2, B1, 100), MS)),
            Some(10 * MS),
            "held behind the packet sent before"
        );
        assert_eq!(
            release(dispatcher.dispatch(&tables, 0, &packet(A2, B1, 100), 20 * MS)),
            Some(23 * MS)
        );
        assert_eq!(
            release(dispatcher.dispatch(&tables, 0, &packet(A1, B1, 100), 20 * MS)),
            Some(30 * MS)
        );
        let pairs: Vec<(usize, usize, u64)> = tables
            .pair_stats()
            .iter()
            .map(|p| (p.src, p.dst, p.queued))
            .collect();
        // a2's first packet counts in A -> B, where it was read; its second in its new class.
        assert_eq!(pairs, [(0, 1, 2), (2, 1, 2)]);
    }

    #[test]
    fn idle_pairs_of_hosts_are_forgotten() {
        // Ever new sources, owned by nobody, on a device with a single class.
        let endpoints = vec![endpoint("wan0", &[B1])];
        let devices = devices_of(&endpoints);
        let single = Tables::new(Table::build(
            Arc::new(Classes::build(&endpoints, &devices).expect("classes")),
            &[],
        ));
        let mut single_dispatcher = Dispatcher::new(&single, 10, 1);
        for i in 0..3 * SWEEP_MIN as u32 {
            let source = (Ipv4Addr::new(10, 80, 0, 0).to_bits() + i).to_be_bytes();
            let now = u64::from(i) * IDLE_NS / SWEEP_MIN as u64;
            let action = single_dispatcher.dispatch(&single, 0, &packet(source, B1, 100), now);
            assert_eq!(release(action), None);
        }
        // Sources older than IDLE_NS at a sweep are gone: the table never held all of them.
        assert!(
            single_dispatcher.host_pairs() < 2 * SWEEP_MIN,
            "{} pairs held",
            single_dispatcher.host_pairs()
        );
        assert_eq!(
            single.host_pairs.load(Ordering::Relaxed),
            single_dispatcher.host_pairs() as u64
        );
    }
}
