//! The running emulator: one reader thread, one scheduler thread, shared counters.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::io;
use std::num::NonZeroU64;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::event::{EventfdFlags, PollFd, PollFlags, eventfd, poll};
use serde::{Deserialize, Serialize};
use tun_rs::SyncDevice;

use crate::config::{
    DeviceKey, EmulatorConfig, Endpoint, PairRule, devices_of, validate_endpoints, validate_rules,
};
use crate::dispatch::{Action, Dispatcher, PairCounters, PairStats, Tables};
use crate::table::{Classes, Table};
use crate::{EmulatorError, tun};

/// The scheduler wakes up ahead of a release time by how late its timed waits end, plus this
/// much, then spins until the release time.
const SPIN_EXTRA_NS: u64 = 15_000;
/// Bounds of the wake-up margin.
const MARGIN_RANGE_NS: (u64, u64) = (10_000, 250_000);
/// Largest packet read from a TUN device.
const MAX_PACKET: usize = 65_536;
/// Packets read from one device before looking at the others.
const READ_BUDGET: usize = 64;
/// Packets released in a row before the scheduler looks at its inbox again.
const RELEASE_BUDGET: usize = 256;
/// Spare packet buffers kept for reuse.
const POOL_LIMIT: usize = 4096;
/// Initial capacity of a packet buffer: a whole Ethernet-sized packet.
const BUFFER_CAPACITY: usize = 2048;
/// Entries of the lateness histogram: up to 2^22 µs (4 s), then the rest.
const LATENESS_BUCKETS: usize = 24;
/// Lateness above which a release counts as late.
const LATE_NS: u64 = 50_000;

/// How late the scheduler released delayed packets compared with their release time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lateness {
    /// Packets released by the scheduler (those that were not forwarded at once).
    pub packets: u64,
    /// Mean lateness, in nanoseconds.
    pub mean_ns: u64,
    /// Largest lateness, in nanoseconds.
    pub max_ns: u64,
    /// Packets released more than 50 µs late.
    pub over_50us: u64,
    /// Packets released more than 1 ms late.
    pub over_1ms: u64,
    /// Histogram in powers of two of microseconds: entry 0 counts releases less than 1 µs
    /// late, entry `k` those from 2^(k-1) to 2^k µs late; the last entry takes the rest.
    pub histogram_us: Vec<u64>,
}

impl Lateness {
    /// An upper bound, in microseconds, of the lateness of the fraction `q` (0..=1) of the
    /// packets released earliest relative to their time: `quantile_us(0.5)` bounds the
    /// median. `None` when no packet was released, or `q` falls in the last, open entry.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        let total: u64 = self.histogram_us.iter().sum();
        if total == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let wanted = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (index, count) in self.histogram_us.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                return (index + 1 < self.histogram_us.len()).then(|| 1u64 << index);
            }
        }
        None
    }
}

/// A snapshot of the emulator's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// One entry per ordered pair of endpoints that saw at least one packet, sorted by
    /// `(src, dst)`. The indexes are those of the endpoints in force when the packets were
    /// read: a reconfiguration that renumbers the endpoints keeps the counters of the indexes.
    pub pairs: Vec<PairStats>,
    /// IPv4 packets whose destination no endpoint owns, dropped.
    pub unroutable: u64,
    /// Packets that were not IPv4 (IPv6 router solicitations and the like), dropped.
    pub not_ipv4: u64,
    /// IPv4 packets whose source no endpoint owns, read from a device that several endpoints
    /// share (so that the device does not tell the source either), dropped.
    #[serde(default)]
    pub unclassified: u64,
    /// Ordered pairs of hosts (source and destination addresses) whose traffic state the
    /// emulator holds: those that carried packets lately.
    #[serde(default)]
    pub host_pairs: u64,
    /// Release precision of delayed packets.
    pub lateness: Lateness,
}

impl Stats {
    /// Returns the counters of the pair `src -> dst`, zero if it saw no packet.
    pub fn pair(&self, src: usize, dst: usize) -> PairStats {
        self.pairs
            .iter()
            .find(|pair| pair.src == src && pair.dst == dst)
            .copied()
            .unwrap_or(PairStats {
                src,
                dst,
                ..PairStats::default()
            })
    }
}

#[derive(Default)]
struct LatenessCounters {
    packets: AtomicU64,
    sum_ns: AtomicU64,
    max_ns: AtomicU64,
    over_50us: AtomicU64,
    over_1ms: AtomicU64,
    histogram_us: [AtomicU64; LATENESS_BUCKETS],
}

/// A packet waiting in the scheduler.
struct Queued {
    release: u64,
    seq: u64,
    /// The device to write it to.
    device: u32,
    /// Its pair of endpoints' counters.
    counters: Arc<PairCounters>,
    /// Its pair of hosts' count of waiting packets.
    waiting: Arc<AtomicU32>,
    buf: Vec<u8>,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    /// Reversed, so that the max-heap pops the earliest release first, FIFO among equals.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.release, other.seq).cmp(&(self.release, self.seq))
    }
}

/// What the reader hands to the scheduler, and what comes back.
#[derive(Default)]
struct Mailbox {
    inbox: Vec<Queued>,
    /// Buffers of released packets, for the reader to reuse.
    free: Vec<Vec<u8>>,
    /// The release time the sleeping scheduler waits for; `None` when it is awake.
    sleeping_until: Option<u64>,
    stop: bool,
}

struct Shared {
    /// The TUN devices, one per distinct (namespace, name) of the endpoints.
    devices: Vec<SyncDevice>,
    /// What each device is, same order.
    device_keys: Vec<DeviceKey>,
    epoch: Instant,
    queue_limit: usize,
    tables: Tables,
    /// Held by whoever builds a new table, so that changes apply one after the other.
    update: Mutex<()>,
    lateness: LatenessCounters,
    mailbox: Mutex<Mailbox>,
    wakeup: Condvar,
    stop: AtomicBool,
    /// Written to wake the reader up when stopping.
    reader_wake: OwnedFd,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A running WAN emulator.
///
/// Dropping it stops it, as [`Emulator::stop`] does.
pub struct Emulator {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("devices", &self.shared.device_keys)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Creates every TUN device inside its namespace, once per distinct (namespace, device)
    /// of the endpoints, and starts forwarding.
    ///
    /// The devices are left down and without address: the caller configures them (address,
    /// routes, link up). They vanish when the emulator stops or the process dies.
    pub fn start(config: EmulatorConfig) -> Result<Self, EmulatorError> {
        config.validate()?;
        let device_keys = devices_of(&config.endpoints);
        let classes = Classes::build(&config.endpoints, &device_keys)?;
        let table = Table::build(Arc::new(classes), &config.rules);
        let (addresses, rules) = (table.classes.addresses(), table.rules());
        let devices = tun::open_all(&device_keys)?;
        let endpoints = config.endpoints.len();
        let reader_wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
            .map_err(|errno| EmulatorError::Thread(errno.into()))?;
        let shared = Arc::new(Shared {
            devices,
            device_keys,
            epoch: Instant::now(),
            queue_limit: config.queue_limit,
            tables: Tables::new(table),
            update: Mutex::new(()),
            lateness: LatenessCounters::default(),
            mailbox: Mutex::new(Mailbox::default()),
            wakeup: Condvar::new(),
            stop: AtomicBool::new(false),
            reader_wake,
        });
        let seed = config.seed.unwrap_or_else(|| fastrand::u64(..));

        let emulator = Self {
            shared: Arc::clone(&shared),
            threads: Mutex::new(Vec::new()),
        };
        let scheduler = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("enos-emu-sched".into())
                .spawn(move || scheduler_loop(&shared))
                .map_err(EmulatorError::Thread)?
        };
        lock(&emulator.threads).push(scheduler);
        let reader = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("enos-emu-read".into())
                .spawn(move || reader_loop(&shared, seed))
                .map_err(EmulatorError::Thread)?
        };
        lock(&emulator.threads).push(reader);
        tracing::info!(
            endpoints,
            addresses,
            rules,
            devices = emulator.shared.devices.len(),
            seed,
            "WAN emulator started"
        );
        Ok(emulator)
    }

    /// Replaces every rule, without restart; the endpoints stay as they are.
    ///
    /// The new rules apply to packets read after the call; packets already waiting keep
    /// their release time. A pair left without rule forwards at once (after the packets of
    /// that pair of hosts still waiting).
    pub fn set_rules(&self, rules: &[PairRule]) -> Result<(), EmulatorError> {
        let _update = lock(&self.shared.update);
        let classes = Arc::clone(&self.shared.tables.current().classes);
        validate_rules(rules, classes.endpoints())?;
        self.shared.tables.replace(Table::build(classes, rules));
        tracing::debug!(rules = rules.len(), "rules replaced");
        Ok(())
    }

    /// Replaces the endpoints (the addresses of each class) and every rule at once, without
    /// restart and without touching the devices.
    ///
    /// The endpoints must use exactly the devices the emulator runs, each (namespace, device)
    /// at least once; their number, order and addresses may change. Otherwise, or when the
    /// endpoints or rules are not valid, nothing changes and the error says why.
    ///
    /// The new classes and rules apply together to packets read after the call; packets
    /// already waiting keep their release time, and a pair of hosts keeps its order and its
    /// place on its emulated link.
    pub fn reconfigure(
        &self,
        endpoints: &[Endpoint],
        rules: &[PairRule],
    ) -> Result<(), EmulatorError> {
        validate_endpoints(endpoints)?;
        validate_rules(rules, endpoints.len())?;
        let classes = Classes::build(endpoints, &self.shared.device_keys)?;
        let table = Table::build(Arc::new(classes), rules);
        let (addresses, shaped) = (table.classes.addresses(), table.rules());
        let _update = lock(&self.shared.update);
        self.shared.tables.replace(table);
        tracing::debug!(
            endpoints = endpoints.len(),
            addresses,
            rules = shaped,
            "endpoints and rules replaced"
        );
        Ok(())
    }

    /// Returns a snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let shared = &self.shared;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let tables = &shared.tables;
        let lateness = &shared.lateness;
        let packets = load(&lateness.packets);
        Stats {
            pairs: tables.pair_stats(),
            unroutable: load(&tables.unroutable),
            not_ipv4: load(&tables.not_ipv4),
            unclassified: load(&tables.unclassified),
            host_pairs: load(&tables.host_pairs),
            lateness: Lateness {
                packets,
                mean_ns: load(&lateness.sum_ns).checked_div(packets).unwrap_or(0),
                max_ns: load(&lateness.max_ns),
                over_50us: load(&lateness.over_50us),
                over_1ms: load(&lateness.over_1ms),
                histogram_us: lateness.histogram_us.iter().map(load).collect(),
            },
        }
    }

    /// Stops forwarding and closes every TUN device, which removes them from their namespace.
    pub fn stop(self) {
        self.shutdown();
    }

    /// Stops the threads; idempotent.
    pub(crate) fn shutdown(&self) {
        let threads = std::mem::take(&mut *lock(&self.threads));
        if threads.is_empty() {
            return;
        }
        self.shared.stop.store(true, Ordering::Release);
        if let Err(errno) = rustix::io::write(&self.shared.reader_wake, &1u64.to_ne_bytes()) {
            tracing::warn!(%errno, "cannot wake the reader thread up");
        }
        lock(&self.shared.mailbox).stop = true;
        self.shared.wakeup.notify_all();
        for thread in threads {
            if thread.join().is_err() {
                tracing::error!("an emulator thread panicked");
            }
        }
        tracing::info!("WAN emulator stopped");
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The reader thread's state: the dispatcher and what goes to the scheduler.
struct Reader<'a> {
    shared: &'a Shared,
    dispatcher: Dispatcher,
    batch: Vec<Queued>,
    pool: Vec<Vec<u8>>,
    seq: u64,
}

impl Reader<'_> {
    fn handle(&mut self, read_device: u32, packet: &[u8]) {
        let shared = self.shared;
        let now = shared.now_ns();
        match self
            .dispatcher
            .dispatch(&shared.tables, read_device, packet, now)
        {
            Action::Dropped => {}
            Action::Deliver { device, counters } => {
                deliver(shared, device, self.dispatcher.counters(counters), packet);
            }
            Action::Queue {
                release,
                device,
                counters,
                waiting,
            } => {
                let mut buf = self
                    .pool
                    .pop()
                    .unwrap_or_else(|| Vec::with_capacity(BUFFER_CAPACITY));
                buf.clear();
                buf.extend_from_slice(packet);
                self.seq += 1;
                self.batch.push(Queued {
                    release,
                    seq: self.seq,
                    device,
                    counters,
                    waiting,
                    buf,
                });
            }
        }
    }

    /// Hands the packets read in this round to the scheduler, waking it if needed.
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let earliest = self
            .batch
            .iter()
            .map(|queued| queued.release)
            .min()
            .unwrap_or(0);
        let mut mailbox = lock(&self.shared.mailbox);
        mailbox.inbox.append(&mut self.batch);
        if self.pool.len() < READ_BUDGET {
            self.pool.append(&mut mailbox.free);
        }
        let wake = mailbox.sleeping_until.is_some_and(|until| earliest < until);
        if wake {
            mailbox.sleeping_until = None;
        }
        drop(mailbox);
        if wake {
            self.shared.wakeup.notify_one();
        }
    }
}

/// Writes one packet to a device and counts it.
fn deliver(shared: &Shared, device: u32, counters: &PairCounters, packet: &[u8]) -> bool {
    match shared.devices[device as usize].send(packet) {
        Ok(_) => {
            PairCounters::add(&counters.forwarded, 1);
            PairCounters::add(&counters.forwarded_bytes, packet.len() as u64);
            true
        }
        Err(error) => {
            PairCounters::add(&counters.write_errors, 1);
            tracing::trace!(device = %shared.device_keys[device as usize], %error, "cannot write a packet");
            false
        }
    }
}

fn reader_loop(shared: &Shared, seed: u64) {
    raise_priority();
    let devices = shared.devices.len();
    let mut reader = Reader {
        shared,
        dispatcher: Dispatcher::new(&shared.tables, shared.queue_limit, seed),
        batch: Vec::new(),
        pool: Vec::new(),
        seq: 0,
    };
    let mut scratch = vec![0u8; MAX_PACKET];
    let mut active = vec![true; devices];
    'rebuild: loop {
        // Poll slot 0 is the wake-up event, then one slot per active device.
        let indexes: Vec<usize> = (0..devices).filter(|&i| active[i]).collect();
        let mut fds = Vec::with_capacity(indexes.len() + 1);
        fds.push(PollFd::new(&shared.reader_wake, PollFlags::IN));
        for &index in &indexes {
            fds.push(PollFd::from_borrowed_fd(
                shared.devices[index].as_fd(),
                PollFlags::IN,
            ));
        }
        loop {
            match poll(&mut fds, None) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(errno) => {
                    tracing::error!(%errno, "poll failed, the emulator stops forwarding");
                    return;
                }
            }
            if shared.stop.load(Ordering::Acquire) {
                return;
            }
            let mut broken = false;
            for (slot, &device) in indexes.iter().enumerate() {
                let events = fds[slot + 1].revents();
                if events.is_empty() {
                    continue;
                }
                let read_device = u32::try_from(device).unwrap_or(u32::MAX);
                for _ in 0..READ_BUDGET {
                    match shared.devices[device].recv(&mut scratch) {
                        Ok(len) => reader.handle(read_device, &scratch[..len]),
                        Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                        Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                        Err(error) => {
                            tracing::warn!(
                                device = %shared.device_keys[device],
                                %error,
                                "cannot read the TUN device, it is no longer served"
                            );
                            active[device] = false;
                            broken = true;
                            break;
                        }
                    }
                }
                if !broken
                    && events.intersects(PollFlags::ERR | PollFlags::HUP | PollFlags::NVAL)
                    && !events.contains(PollFlags::IN)
                {
                    tracing::warn!(
                        device = %shared.device_keys[device],
                        ?events,
                        "the TUN device is no longer served"
                    );
                    active[device] = false;
                    broken = true;
                }
            }
            reader.flush();
            if broken {
                continue 'rebuild;
            }
        }
    }
}

/// Nice value of the emulator's threads: a network does not wait for the CPU-bound
/// workloads of the hosts it connects.
const THREAD_NICE: i32 = -10;

/// Raises the calling thread's scheduling priority, when allowed (root); best effort.
fn raise_priority() {
    let thread = rustix::thread::gettid();
    if let Err(errno) = rustix::process::setpriority_process(Some(thread), THREAD_NICE) {
        tracing::debug!(%errno, "cannot raise the priority of an emulator thread");
    }
}

fn set_precise_timers() {
    if let Err(errno) = rustix::thread::set_current_timer_slack(NonZeroU64::new(1)) {
        tracing::warn!(%errno, "cannot lower the timer slack, releases will be less precise");
    }
}

/// How early the scheduler must ask to wake up to be on time: timed waits end late by tens
/// of microseconds on virtual machines, even with a 1 ns timer slack.
struct WakeMargin {
    /// Moving average of how late timed waits end, in nanoseconds.
    overshoot_ns: u64,
}

impl WakeMargin {
    fn new() -> Self {
        Self {
            overshoot_ns: 40_000,
        }
    }

    fn margin_ns(&self) -> u64 {
        (self.overshoot_ns + SPIN_EXTRA_NS).clamp(MARGIN_RANGE_NS.0, MARGIN_RANGE_NS.1)
    }

    fn observe(&mut self, overshoot_ns: u64) {
        let sample = overshoot_ns.min(MARGIN_RANGE_NS.1);
        self.overshoot_ns = (self.overshoot_ns * 7 + sample) / 8;
    }
}

fn scheduler_loop(shared: &Shared) {
    raise_priority();
    set_precise_timers();
    let mut heap: BinaryHeap<Queued> = BinaryHeap::new();
    let mut freed: Vec<Vec<u8>> = Vec::new();
    let mut margin = WakeMargin::new();
    loop {
        // Take the new packets and wait for the next release time.
        {
            let mut mailbox = lock(&shared.mailbox);
            loop {
                heap.extend(mailbox.inbox.drain(..));
                if !freed.is_empty() {
                    if mailbox.free.len() < POOL_LIMIT {
                        mailbox.free.append(&mut freed);
                    } else {
                        freed.clear();
                    }
                }
                if mailbox.stop {
                    return;
                }
                let now = shared.now_ns();
                match heap.peek() {
                    Some(head) if head.release <= now.saturating_add(margin.margin_ns()) => break,
                    Some(head) => {
                        mailbox.sleeping_until = Some(head.release);
                        let wake_at = head.release - margin.margin_ns();
                        let timeout = Duration::from_nanos(wake_at - now);
                        let (guard, waited) = shared
                            .wakeup
                            .wait_timeout(mailbox, timeout)
                            .unwrap_or_else(PoisonError::into_inner);
                        mailbox = guard;
                        mailbox.sleeping_until = None;
                        if waited.timed_out() {
                            margin.observe(shared.now_ns().saturating_sub(wake_at));
                        }
                    }
                    None => {
                        mailbox.sleeping_until = Some(u64::MAX);
                        mailbox = shared
                            .wakeup
                            .wait(mailbox)
                            .unwrap_or_else(PoisonError::into_inner);
                        mailbox.sleeping_until = None;
                    }
                }
            }
        }
        // Release what is due, without holding any lock.
        let mut released = 0;
        while let Some(head) = heap.peek() {
            let now = shared.now_ns();
            if head.release > now {
                if head.release - now <= margin.margin_ns() {
                    std::hint::spin_loop();
                    continue;
                }
                break;
            }
            let Some(queued) = heap.pop() else { break };
            deliver(shared, queued.device, &queued.counters, &queued.buf);
            // After the write: a reader that sees no packet waiting may write the next one.
            queued.counters.waiting.fetch_sub(1, Ordering::AcqRel);
            queued.waiting.fetch_sub(1, Ordering::AcqRel);
            record_lateness(&shared.lateness, now - queued.release);
            freed.push(queued.buf);
            released += 1;
            if released >= RELEASE_BUDGET {
                break;
            }
        }
    }
}

fn record_lateness(counters: &LatenessCounters, late_ns: u64) {
    counters.packets.fetch_add(1, Ordering::Relaxed);
    counters.sum_ns.fetch_add(late_ns, Ordering::Relaxed);
    counters.max_ns.fetch_max(late_ns, Ordering::Relaxed);
    if late_ns > LATE_NS {
        counters.over_50us.fetch_add(1, Ordering::Relaxed);
    }
    if late_ns > 1_000_000 {
        counters.over_1ms.fetch_add(1, Ordering::Relaxed);
    }
    let micros = late_ns / 1000;
    let bucket = (u64::BITS - micros.leading_zeros()) as usize;
    counters.histogram_us[bucket.min(LATENESS_BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_histogram_and_quantiles() {
        let counters = LatenessCounters::default();
        for late_ns in [
            0,
            999,
            1_000,
            1_999,
            2_000,
            40_000,
            40_000,
            40_000,
            3_000_000,
            u64::MAX,
        ] {
            record_lateness(&counters, late_ns);
        }
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let histogram: Vec<u64> = counters.histogram_us.iter().map(load).collect();
        assert_eq!(histogram[0], 2, "under 1 µs");
        assert_eq!(histogram[1], 2, "1 to 2 µs");
        assert_eq!(histogram[2], 1, "2 to 4 µs");
        assert_eq!(histogram[6], 3, "32 to 64 µs");
        assert_eq!(histogram[12], 1, "2 to 4 ms");
        assert_eq!(histogram[LATENESS_BUCKETS - 1], 1, "the rest");
        let lateness = Lateness {
            histogram_us: histogram,
            ..Lateness::default()
        };
        assert_eq!(lateness.quantile_us(0.0), Some(1));
        assert_eq!(lateness.quantile_us(0.5), Some(4));
        assert_eq!(lateness.quantile_us(0.8), Some(64));
        assert_eq!(lateness.quantile_us(0.9), Some(4096));
        assert_eq!(lateness.quantile_us(1.0), None);
        assert_eq!(lateness.quantile_us(f64::NAN), None);
        assert_eq!(Lateness::default().quantile_us(0.5), None);
    }

    #[test]
    fn heap_pops_earliest_first_fifo_among_equals() {
        let mut heap = BinaryHeap::new();
        for (release, seq) in [(30, 1), (10, 2), (10, 3), (20, 4)] {
            heap.push(Queued {
                release,
                seq,
                device: 0,
                counters: Arc::default(),
                waiting: Arc::default(),
                buf: Vec::new(),
            });
        }
        let order: Vec<_> = std::iter::from_fn(|| heap.pop().map(|q| q.seq)).collect();
        assert_eq!(order, [2, 3, 4, 1]);
    }
}
