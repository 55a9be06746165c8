//! The running emulator: one reader thread, one scheduler thread, shared counters.

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::Ipv4Addr;
use std::num::NonZeroU64;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::event::{EventfdFlags, PollFd, PollFlags, eventfd, poll};
use serde::{Deserialize, Serialize};
use tun_rs::SyncDevice;

use crate::config::{EmulatorConfig, PairRule, validate_rules};
use crate::shaper::{PairState, Shape, Verdict};
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
    /// Packets dropped because the pair's queue was full.
    pub dropped_queue: u64,
    /// Packets that could not be written to the receiving device (down, gone).
    pub write_errors: u64,
    /// Packets waiting in the pair right now.
    pub queued: u64,
}

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
    /// One entry per ordered pair that saw at least one packet, sorted by `(src, dst)`.
    pub pairs: Vec<PairStats>,
    /// IPv4 packets whose destination no endpoint owns, dropped.
    pub unroutable: u64,
    /// Packets that were not IPv4 (IPv6 router solicitations and the like), dropped.
    pub not_ipv4: u64,
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
struct PairCounters {
    forwarded: AtomicU64,
    forwarded_bytes: AtomicU64,
    dropped_loss: AtomicU64,
    dropped_queue: AtomicU64,
    write_errors: AtomicU64,
    waiting: AtomicUsize,
}

impl PairCounters {
    fn add(counter: &AtomicU64, value: u64) {
        counter.fetch_add(value, Ordering::Relaxed);
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
    pair: u32,
    dst: u32,
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

/// The per-pair rule table, indexed by `src * n + dst`.
type RuleTable = Arc<Vec<Option<Shape>>>;

struct Shared {
    endpoints: usize,
    devices: Vec<SyncDevice>,
    epoch: Instant,
    queue_limit: usize,
    counters: Vec<PairCounters>,
    unroutable: AtomicU64,
    not_ipv4: AtomicU64,
    lateness: LatenessCounters,
    rules: Mutex<RuleTable>,
    rules_generation: AtomicU64,
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

    fn pair_index(&self, src: usize, dst: usize) -> usize {
        src * self.endpoints + dst
    }

    fn rule_table(&self, rules: &[PairRule]) -> Vec<Option<Shape>> {
        let mut table = vec![None; self.endpoints * self.endpoints];
        for rule in rules {
            let shape = Shape::from(rule);
            if !rule.is_neutral() {
                table[self.pair_index(rule.src, rule.dst)] = Some(shape);
            }
        }
        table
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
            .field("endpoints", &self.shared.endpoints)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Creates every TUN device inside its namespace and starts forwarding.
    ///
    /// The devices are left down and without address: the caller configures them (address,
    /// routes, link up). They vanish when the emulator stops or the process dies.
    pub fn start(config: EmulatorConfig) -> Result<Self, EmulatorError> {
        config.validate()?;
        let devices = tun::open_all(&config.endpoints)?;
        let mut owners = HashMap::new();
        for (index, endpoint) in config.endpoints.iter().enumerate() {
            for address in &endpoint.addresses {
                owners.insert(u32::from(*address), index);
            }
        }
        let endpoints = config.endpoints.len();
        let reader_wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
            .map_err(|errno| EmulatorError::Thread(errno.into()))?;
        let mut shared = Shared {
            endpoints,
            devices,
            epoch: Instant::now(),
            queue_limit: config.queue_limit,
            counters: (0..endpoints * endpoints)
                .map(|_| PairCounters::default())
                .collect(),
            unroutable: AtomicU64::new(0),
            not_ipv4: AtomicU64::new(0),
            lateness: LatenessCounters::default(),
            rules: Mutex::new(Arc::new(Vec::new())),
            rules_generation: AtomicU64::new(0),
            mailbox: Mutex::new(Mailbox::default()),
            wakeup: Condvar::new(),
            stop: AtomicBool::new(false),
            reader_wake,
        };
        shared.rules = Mutex::new(Arc::new(shared.rule_table(&config.rules)));
        let shared = Arc::new(shared);
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
                .spawn(move || reader_loop(&shared, &owners, seed))
                .map_err(EmulatorError::Thread)?
        };
        lock(&emulator.threads).push(reader);
        tracing::info!(endpoints, seed, "WAN emulator started");
        Ok(emulator)
    }

    /// Replaces every rule, without restart.
    ///
    /// The new rules apply to packets read after the call; packets already waiting keep
    /// their release time. A pair left without rule forwards at once (after the packets of
    /// that pair still waiting).
    pub fn set_rules(&self, rules: &[PairRule]) -> Result<(), EmulatorError> {
        validate_rules(rules, self.shared.endpoints)?;
        let table = Arc::new(self.shared.rule_table(rules));
        let mut current = lock(&self.shared.rules);
        *current = table;
        self.shared.rules_generation.fetch_add(1, Ordering::Release);
        drop(current);
        tracing::debug!(rules = rules.len(), "rules replaced");
        Ok(())
    }

    /// Returns a snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let shared = &self.shared;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut pairs = Vec::new();
        for src in 0..shared.endpoints {
            for dst in 0..shared.endpoints {
                let counters = &shared.counters[shared.pair_index(src, dst)];
                let pair = PairStats {
                    src,
                    dst,
                    forwarded: load(&counters.forwarded),
                    forwarded_bytes: load(&counters.forwarded_bytes),
                    dropped_loss: load(&counters.dropped_loss),
                    dropped_queue: load(&counters.dropped_queue),
                    write_errors: load(&counters.write_errors),
                    queued: counters.waiting.load(Ordering::Relaxed) as u64,
                };
                if pair.forwarded
                    + pair.dropped_loss
                    + pair.dropped_queue
                    + pair.write_errors
                    + pair.queued
                    > 0
                {
                    pairs.push(pair);
                }
            }
        }
        let lateness = &shared.lateness;
        let packets = load(&lateness.packets);
        Stats {
            pairs,
            unroutable: load(&shared.unroutable),
            not_ipv4: load(&shared.not_ipv4),
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

/// The destination of an IPv4 packet, `None` for anything else.
fn ipv4_destination(packet: &[u8]) -> Option<u32> {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return None;
    }
    Some(u32::from_be_bytes([
        packet[16], packet[17], packet[18], packet[19],
    ]))
}

struct Reader<'a> {
    shared: &'a Shared,
    owners: &'a HashMap<u32, usize>,
    rng: fastrand::Rng,
    rules: RuleTable,
    generation: u64,
    states: Vec<PairState>,
    batch: Vec<Queued>,
    pool: Vec<Vec<u8>>,
    seq: u64,
}

impl Reader<'_> {
    fn refresh_rules(&mut self) {
        if self.shared.rules_generation.load(Ordering::Acquire) != self.generation {
            let current = lock(&self.shared.rules);
            self.rules = Arc::clone(&current);
            self.generation = self.shared.rules_generation.load(Ordering::Acquire);
        }
    }

    fn handle(&mut self, src: usize, packet: &[u8]) {
        let shared = self.shared;
        let Some(destination) = ipv4_destination(packet) else {
            shared.not_ipv4.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let Some(&dst) = self.owners.get(&destination) else {
            shared.unroutable.fetch_add(1, Ordering::Relaxed);
            tracing::trace!(
                src,
                destination = %Ipv4Addr::from(destination),
                "no endpoint owns the destination"
            );
            return;
        };
        self.refresh_rules();
        let pair = shared.pair_index(src, dst);
        let counters = &shared.counters[pair];
        let waiting = counters.waiting.load(Ordering::Acquire);
        let now = shared.now_ns();
        let verdict = self.states[pair].admit(
            self.rules[pair].as_ref(),
            now,
            packet.len(),
            waiting,
            shared.queue_limit,
            &mut self.rng,
        );
        match verdict {
            Verdict::Lost => PairCounters::add(&counters.dropped_loss, 1),
            Verdict::QueueFull => PairCounters::add(&counters.dropped_queue, 1),
            // Straight out, unless an earlier packet of the pair still waits.
            Verdict::Release(release) if release <= now && waiting == 0 => {
                deliver(shared, dst, pair, packet);
            }
            Verdict::Release(release) => {
                let mut buf = self
                    .pool
                    .pop()
                    .unwrap_or_else(|| Vec::with_capacity(BUFFER_CAPACITY));
                buf.clear();
                buf.extend_from_slice(packet);
                counters.waiting.fetch_add(1, Ordering::AcqRel);
                self.seq += 1;
                self.batch.push(Queued {
                    release,
                    seq: self.seq,
                    pair: u32::try_from(pair).unwrap_or(u32::MAX),
                    dst: u32::try_from(dst).unwrap_or(u32::MAX),
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

/// Writes one packet to its destination device and counts it.
fn deliver(shared: &Shared, dst: usize, pair: usize, packet: &[u8]) -> bool {
    let counters = &shared.counters[pair];
    match shared.devices[dst].send(packet) {
        Ok(_) => {
            PairCounters::add(&counters.forwarded, 1);
            PairCounters::add(&counters.forwarded_bytes, packet.len() as u64);
            true
        }
        Err(error) => {
            PairCounters::add(&counters.write_errors, 1);
            tracing::trace!(dst, %error, "cannot write a packet");
            false
        }
    }
}

fn reader_loop(shared: &Shared, owners: &HashMap<u32, usize>, seed: u64) {
    raise_priority();
    let endpoints = shared.endpoints;
    let mut reader = Reader {
        shared,
        owners,
        rng: fastrand::Rng::with_seed(seed),
        rules: Arc::clone(&lock(&shared.rules)),
        generation: shared.rules_generation.load(Ordering::Acquire),
        states: vec![PairState::default(); endpoints * endpoints],
        batch: Vec::new(),
        pool: Vec::new(),
        seq: 0,
    };
    let mut scratch = vec![0u8; MAX_PACKET];
    let mut active = vec![true; endpoints];
    'rebuild: loop {
        // Poll slot 0 is the wake-up event, then one slot per active device.
        let indexes: Vec<usize> = (0..endpoints).filter(|&i| active[i]).collect();
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
            for (slot, &src) in indexes.iter().enumerate() {
                let events = fds[slot + 1].revents();
                if events.is_empty() {
                    continue;
                }
                for _ in 0..READ_BUDGET {
                    match shared.devices[src].recv(&mut scratch) {
                        Ok(len) => reader.handle(src, &scratch[..len]),
                        Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                        Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                        Err(error) => {
                            tracing::warn!(
                                endpoint = src,
                                %error,
                                "cannot read the TUN device, it is no longer served"
                            );
                            active[src] = false;
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
                        endpoint = src,
                        ?events,
                        "the TUN device is no longer served"
                    );
                    active[src] = false;
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
            let pair = queued.pair as usize;
            deliver(shared, queued.dst as usize, pair, &queued.buf);
            shared.counters[pair].waiting.fetch_sub(1, Ordering::AcqRel);
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
    fn destination_of_ipv4_packets_only() {
        let mut packet = [0u8; 20];
        packet[0] = 0x45;
        packet[16..20].copy_from_slice(&[10, 77, 0, 2]);
        assert_eq!(
            ipv4_destination(&packet),
            Some(u32::from(Ipv4Addr::new(10, 77, 0, 2)))
        );
        assert_eq!(ipv4_destination(&packet[..19]), None);
        packet[0] = 0x60;
        assert_eq!(ipv4_destination(&packet), None);
        assert_eq!(ipv4_destination(&[]), None);
    }

    #[test]
    fn heap_pops_earliest_first_fifo_among_equals() {
        let mut heap = BinaryHeap::new();
        for (release, seq) in [(30, 1), (10, 2), (10, 3), (20, 4)] {
            heap.push(Queued {
                release,
                seq,
                pair: 0,
                dst: 0,
                buf: Vec::new(),
            });
        }
        let order: Vec<_> = std::iter::from_fn(|| heap.pop().map(|q| q.seq)).collect();
        assert_eq!(order, [2, 3, 4, 1]);
    }
}
