//! System metrics from /proc and /sys, the pure part of enos's metrics agent.
//!
//! [`snapshot`] reads the counters once (one read per file); [`rates`] turns two snapshots into a
//! [`Sample`], the agent's JSON line. The roots are given in [`Sources`], so tests read made-up
//! trees.
//!
//! # What is read
//!
//! * `<proc>/stat`, required: the `cpu` and `cpuN` lines (user nice system idle iowait irq
//!   softirq steal; guest time is already inside user and nice).
//! * `<proc>/meminfo`, `<proc>/net/dev`, `<proc>/diskstats`: optional, an absent or unreadable
//!   file gives `null` memory or an empty map.
//! * `<proc>/<pid>/stat` for every numeric entry of `<proc>`: utime + stime, start time, RSS.
//!   A process that vanishes between the listing and the read, or whose line does not parse, is
//!   skipped.
//! * `<cgroup>/cpu.stat` (`usage_usec`) and `<cgroup>/memory.current` when a cgroup v2 directory
//!   is given.
//!
//! # Choices
//!
//! * **Processes.** On enos's local testbed a host is a set of namespaces sharing the machine's
//!   kernel: `/proc/stat` shows the whole machine, while the host's own PID namespace (its own
//!   `/proc`) shows the host's processes. `processes.cpu_cores` is their CPU over the interval,
//!   in cores: for a process present in both snapshots (same pid *and* same start time) the
//!   difference of its utime + stime; for a process new in the second snapshot (or a pid reused
//!   by another process) its whole CPU time since it started, capped at interval × cores (it
//!   cannot have used more in the interval; the cap guards against a process the first snapshot
//!   missed). Processes gone by the second snapshot count for nothing in that interval, and the
//!   CPU of a child that starts and ends within one interval is lost (the parent's cutime is not
//!   read: it would count twice children that were seen alive). Clock ticks are 10 ms on Linux,
//!   so at a 100 ms period one process's figure moves by steps of 0.1 core.
//! * **The agent.** With `self_pid` set (its pid as seen in `proc_root`), the agent's process is
//!   left out of `processes` (count, CPU and RSS) and reported as `agent`, the collector's own
//!   overhead; the host's total is `processes.cpu_cores + agent.cpu_cores`.
//! * **Disks.** Whole devices only. When `<sys>/block` exists, the devices listed there
//!   (a `/` in a name is `!` there); otherwise the devices of /proc/diskstats that are not
//!   partitions of another listed device by the kernel's naming rule (`sda1`, `nvme0n1p1`). In
//!   both cases `loop*`, `ram*` and `zram*` devices that have done no I/O at all since boot are
//!   left out (a machine has dozens); a used one is reported.
//! * **Counters going backwards** (a device or interface reset, a wrap) give 0 for that
//!   interval, per counter. A device, interface or core absent from the first snapshot is
//!   reported with 0 rates. An interval of 0 gives 0 rates. Shares are clamped to [0, 1].
//! * **CPU shares** are over the whole machine (`/proc/stat`): `user` is user + nice, `system`
//!   is system + irq + softirq, `busy` is 1 − (idle + iowait) / total (steal counts as busy).
//!
//! # The JSON shape of a [`Sample`]
//!
//! One object per interval, keys in this order (`net` and `disk` keep the kernel's order; one
//! line here, spread out for reading):
//!
//! ```json
//! {"unix_ms": 1767225600123, "interval_s": 0.5,
//!  "cpu": {"busy": 0.7, "user": 0.4, "system": 0.25, "iowait": 0.05, "steal": 0.05,
//!          "cores": [0.8, 0.6]},
//!  "memory": {"total_bytes": 16384000000, "available_bytes": 10240000000,
//!             "used_bytes": 6144000000, "free_bytes": 2048000000, "buffers_bytes": 512000000,
//!             "cached_bytes": 6144000000, "swap_total_bytes": 4096000000,
//!             "swap_used_bytes": 1024000000},
//!  "net": {"eth0": {"rx_bytes_per_s": 1000000.0, "tx_bytes_per_s": 500000.0,
//!                   "rx_packets_per_s": 800.0, "tx_packets_per_s": 200.0,
//!                   "rx_errors": 2, "tx_errors": 0, "rx_dropped": 0, "tx_dropped": 3}},
//!  "disk": {"sda": {"read_bytes_per_s": 2097152.0, "write_bytes_per_s": 1048576.0,
//!                   "reads_per_s": 200.0, "writes_per_s": 100.0, "busy": 0.5}},
//!  "processes": {"count": 4, "cpu_cores": 1.4, "rss_bytes": 14745600},
//!  "agent": {"cpu_cores": 0.5, "rss_bytes": 12288000},
//!  "cgroup": {"cpu_cores": 0.5, "memory_bytes": 123456789}}
//! ```
//!
//! * `unix_ms`: wall-clock time of the second snapshot, ms since the Unix epoch; `interval_s`:
//!   monotonic time between the two snapshots.
//! * `cpu`: shares of the machine's CPU time in [0, 1]; `cores[i]`: busy share of the i-th
//!   online core (`cpuN` lines in order; `cores.len()` is the number of online cores).
//! * `memory`: bytes, from the second snapshot; `used` = total − available (available is
//!   free + buffers + cached on kernels without `MemAvailable`); `null` without /proc/meminfo.
//! * `net`: per interface (`lo` included), rates per second, and errors and drops counted in
//!   the interval.
//! * `disk`: per whole device, bytes (512-byte sectors) and operations per second, and `busy`,
//!   the share of the interval with I/O in flight (io_ticks).
//! * `processes`: the processes of `proc_root` but the agent: their `count` and `rss_bytes` in
//!   the second snapshot, their CPU over the interval in cores.
//! * `agent`: the agent's own process, `null` without `self_pid` or when it cannot be read.
//! * `cgroup`: `null` without a cgroup directory or when neither file is readable; each field
//!   `null` when its file is absent.
//!
//! Its version is [`SAMPLE_FORMAT`].
#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

mod read;

use read::{CpuCounters, CpuTimes, DiskCounters, MemoryCounters, NetCounters, ProcessCounters};

/// The version of [`Sample`]'s JSON shape, to be stamped by whoever writes it.
pub const SAMPLE_FORMAT: u32 = 1;

/// `sysconf(_SC_CLK_TCK)`: the unit of /proc's CPU times. 100 on every Linux architecture
/// (USER_HZ is fixed by the kernel's ABI, whatever CONFIG_HZ is).
pub const LINUX_CLOCK_TICKS: u64 = 100;

/// The page size of x86-64 and of most arm64 kernels; 16 KiB and 64 KiB arm64 kernels exist,
/// hence [`Sources::page_size`].
pub const DEFAULT_PAGE_SIZE: u64 = 4096;

/// Where and how to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// The procfs root, `/proc` on a live system.
    pub proc_root: PathBuf,
    /// The sysfs root, `/sys` on a live system; only `<sys>/block` is read.
    pub sys_root: PathBuf,
    /// Clock ticks per second of /proc's CPU times, [`LINUX_CLOCK_TICKS`].
    pub clock_ticks: u64,
    /// Bytes per page, the unit of a process's RSS.
    pub page_size: u64,
    /// The agent's own pid as seen in `proc_root`: left out of `processes`, reported as
    /// `agent`.
    pub self_pid: Option<u32>,
    /// A cgroup v2 directory to read `cpu.stat` and `memory.current` from.
    pub cgroup: Option<PathBuf>,
}

impl Sources {
    /// `/proc` and `/sys` of this machine, Linux's clock ticks and page size, no agent pid and
    /// no cgroup.
    pub fn live() -> Self {
        Self::at("/proc", "/sys")
    }

    /// The given roots, Linux's clock ticks and page size, no agent pid and no cgroup.
    pub fn at(proc_root: impl Into<PathBuf>, sys_root: impl Into<PathBuf>) -> Self {
        Sources {
            proc_root: proc_root.into(),
            sys_root: sys_root.into(),
            clock_ticks: LINUX_CLOCK_TICKS,
            page_size: DEFAULT_PAGE_SIZE,
            self_pid: None,
            cgroup: None,
        }
    }
}

/// Why a snapshot could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    /// A required file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A required file was read but does not hold what it should.
    #[error("{}: {what}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        what: &'static str,
    },
}

/// The counters read at one instant; [`rates`] compares two of them.
#[derive(Debug, Clone)]
pub struct Snapshot {
    taken_at: Instant,
    wall_clock: SystemTime,
    clock_ticks: u64,
    page_size: u64,
    cpu: CpuCounters,
    memory: Option<MemoryCounters>,
    net: IndexMap<String, NetCounters>,
    disk: IndexMap<String, DiskCounters>,
    /// Sorted by pid, the agent left out.
    processes: Vec<ProcessCounters>,
    agent: Option<ProcessCounters>,
    cgroup: Option<CgroupCounters>,
}

#[derive(Debug, Clone, Copy)]
struct CgroupCounters {
    usage_usec: Option<u64>,
    memory_bytes: Option<u64>,
}

impl Snapshot {
    /// The monotonic time the snapshot is dated at.
    pub fn taken_at(&self) -> Instant {
        self.taken_at
    }

    /// The wall-clock time the snapshot was taken at.
    pub fn wall_clock(&self) -> SystemTime {
        self.wall_clock
    }

    /// The number of online cores (`cpuN` lines of /proc/stat).
    pub fn cpu_count(&self) -> usize {
        self.cpu.cores.len()
    }

    /// The number of processes read, the agent left out.
    pub fn process_count(&self) -> usize {
        self.processes.len()
    }
}

/// Reads every counter now.
pub fn snapshot(sources: &Sources) -> Result<Snapshot, SystemError> {
    snapshot_at(sources, Instant::now())
}

/// Reads every counter, dating the snapshot at `taken_at` (tests use it to make intervals exact;
/// the agent uses [`snapshot`]). The wall-clock time is always the current one.
pub fn snapshot_at(sources: &Sources, taken_at: Instant) -> Result<Snapshot, SystemError> {
    let wall_clock = SystemTime::now();
    let mut buffer = String::with_capacity(4096);
    let cpu = read_cpu(&sources.proc_root, &mut buffer)?;

    let memory = read_optional(&sources.proc_root.join("meminfo"), &mut buffer)
        .and_then(read::memory_counters);

    let mut net = IndexMap::new();
    if let Some(text) = read_optional(&sources.proc_root.join("net/dev"), &mut buffer) {
        read::net_counters(text, |name, counters| {
            net.insert(name.to_owned(), counters);
        });
    }

    let disk = match read_optional(&sources.proc_root.join("diskstats"), &mut buffer) {
        Some(text) => whole_disks(text, &sources.sys_root.join("block")),
        None => IndexMap::new(),
    };

    let (processes, agent) = read_processes(sources, &mut buffer)?;

    let cgroup = sources.cgroup.as_deref().and_then(|directory| {
        let usage_usec = read_optional(&directory.join("cpu.stat"), &mut buffer)
            .and_then(read::cgroup_usage_usec);
        let memory_bytes = read_optional(&directory.join("memory.current"), &mut buffer)
            .and_then(|text| text.trim().parse().ok());
        (usage_usec.is_some() || memory_bytes.is_some()).then_some(CgroupCounters {
            usage_usec,
            memory_bytes,
        })
    });

    Ok(Snapshot {
        taken_at,
        wall_clock,
        clock_ticks: sources.clock_ticks,
        page_size: sources.page_size,
        cpu,
        memory,
        net,
        disk,
        processes,
        agent,
        cgroup,
    })
}

/// The number of online cores: the `cpuN` lines of `<proc>/stat`.
pub fn cpu_count(sources: &Sources) -> Result<usize, SystemError> {
    Ok(read_cpu(&sources.proc_root, &mut String::new())?
        .cores
        .len())
}

fn read_cpu(proc_root: &Path, buffer: &mut String) -> Result<CpuCounters, SystemError> {
    let path = proc_root.join("stat");
    if let Err(source) = read::read_into(&path, buffer) {
        return Err(SystemError::Read { path, source });
    }
    read::cpu_counters(buffer).ok_or(SystemError::Malformed {
        path,
        what: "no `cpu` line",
    })
}

/// The file's text, or None when it cannot be read: optional files give empty data.
fn read_optional<'b>(path: &Path, buffer: &'b mut String) -> Option<&'b str> {
    read::read_into(path, buffer).ok().map(|()| buffer.as_str())
}

fn whole_disks(diskstats: &str, sys_block: &Path) -> IndexMap<String, DiskCounters> {
    let listed: Option<Vec<String>> = std::fs::read_dir(sys_block).ok().map(|entries| {
        entries
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect()
    });
    let mut all = Vec::new();
    read::disk_counters(diskstats, |name, counters| all.push((name, counters)));
    let is_whole = |name: &str| match &listed {
        Some(listed) if name.contains('/') => listed.contains(&name.replace('/', "!")),
        Some(listed) => listed.iter().any(|entry| entry == name),
        None => !read::is_partition_of_any(name, all.iter().map(|(name, _)| *name)),
    };
    let is_unused_virtual = |name: &str, counters: &DiskCounters| {
        ["loop", "ram", "zram"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
            && counters.is_idle_since_boot()
    };
    all.iter()
        .filter(|(name, counters)| is_whole(name) && !is_unused_virtual(name, counters))
        .map(|(name, counters)| ((*name).to_owned(), *counters))
        .collect()
}

type ProcessReadings = (Vec<ProcessCounters>, Option<ProcessCounters>);

fn read_processes(sources: &Sources, buffer: &mut String) -> Result<ProcessReadings, SystemError> {
    let entries = std::fs::read_dir(&sources.proc_root).map_err(|source| SystemError::Read {
        path: sources.proc_root.clone(),
        source,
    })?;
    let mut processes = Vec::new();
    let mut agent = None;
    let mut path = sources.proc_root.clone();
    for entry in entries {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        path.push(&name);
        path.push("stat");
        let counters = read::read_into(&path, buffer)
            .ok()
            .and_then(|()| read::process_counters(pid, buffer));
        path.pop();
        path.pop();
        match counters {
            Some(counters) if Some(pid) == sources.self_pid => agent = Some(counters),
            Some(counters) => processes.push(counters),
            None => {}
        }
    }
    processes.sort_unstable_by_key(|process| process.pid);
    Ok((processes, agent))
}

/// One interval's figures; its JSON shape is in the crate's documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Wall-clock time of the second snapshot, ms since the Unix epoch.
    pub unix_ms: u64,
    /// Seconds between the two snapshots (monotonic).
    pub interval_s: f64,
    /// The machine's CPU.
    pub cpu: Cpu,
    /// Memory, `None` without /proc/meminfo.
    pub memory: Option<Memory>,
    /// Per interface, in the kernel's order.
    pub net: IndexMap<String, Net>,
    /// Per whole block device, in the kernel's order.
    pub disk: IndexMap<String, Disk>,
    /// The processes of `proc_root`, the agent left out.
    pub processes: Processes,
    /// The agent's own process, `None` without `self_pid` or when unreadable.
    pub agent: Option<Agent>,
    /// The cgroup, `None` without one or when neither of its files is readable.
    pub cgroup: Option<Cgroup>,
}

/// Shares of the machine's CPU time over the interval, each in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    /// 1 − (idle + iowait) / total.
    pub busy: f64,
    /// user + nice.
    pub user: f64,
    /// system + irq + softirq.
    pub system: f64,
    /// Idle with I/O outstanding.
    pub iowait: f64,
    /// Taken by the hypervisor for other guests.
    pub steal: f64,
    /// Busy share of each online core, in `cpuN` order.
    pub cores: Vec<f64>,
}

/// Memory at the second snapshot, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// MemTotal.
    pub total_bytes: u64,
    /// MemAvailable (free + buffers + cached on kernels without it).
    pub available_bytes: u64,
    /// total − available.
    pub used_bytes: u64,
    /// MemFree.
    pub free_bytes: u64,
    /// Buffers.
    pub buffers_bytes: u64,
    /// Cached (page cache).
    pub cached_bytes: u64,
    /// SwapTotal.
    pub swap_total_bytes: u64,
    /// SwapTotal − SwapFree.
    pub swap_used_bytes: u64,
}

/// One network interface over the interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Net {
    /// Bytes received per second.
    pub rx_bytes_per_s: f64,
    /// Bytes sent per second.
    pub tx_bytes_per_s: f64,
    /// Packets received per second.
    pub rx_packets_per_s: f64,
    /// Packets sent per second.
    pub tx_packets_per_s: f64,
    /// Receive errors in the interval.
    pub rx_errors: u64,
    /// Transmit errors in the interval.
    pub tx_errors: u64,
    /// Received packets dropped in the interval.
    pub rx_dropped: u64,
    /// Packets to send dropped in the interval.
    pub tx_dropped: u64,
}

/// One whole block device over the interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    /// Bytes read per second (512-byte sectors).
    pub read_bytes_per_s: f64,
    /// Bytes written per second.
    pub write_bytes_per_s: f64,
    /// Reads completed per second.
    pub reads_per_s: f64,
    /// Writes completed per second.
    pub writes_per_s: f64,
    /// Share of the interval with I/O in flight, in [0, 1].
    pub busy: f64,
}

/// The processes of `proc_root`, the agent left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Processes {
    /// How many, at the second snapshot.
    pub count: u64,
    /// Their CPU over the interval, in cores (see the crate's documentation for processes that
    /// come and go).
    pub cpu_cores: f64,
    /// Their total resident memory at the second snapshot (shared pages count once per
    /// process).
    pub rss_bytes: u64,
}

/// The agent's own process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Its CPU over the interval, in cores.
    pub cpu_cores: f64,
    /// Its resident memory at the second snapshot.
    pub rss_bytes: u64,
}

/// A cgroup v2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cgroup {
    /// `usage_usec` of `cpu.stat` over the interval, in cores; `None` without it in both
    /// snapshots.
    pub cpu_cores: Option<f64>,
    /// `memory.current` at the second snapshot.
    pub memory_bytes: Option<u64>,
}

/// The figures of the interval between two snapshots, `previous` taken before `next`.
pub fn rates(previous: &Snapshot, next: &Snapshot) -> Sample {
    let interval = next.taken_at.saturating_duration_since(previous.taken_at);
    let seconds = interval.as_secs_f64();
    let per_second = |delta: u64| {
        if seconds > 0.0 {
            delta as f64 / seconds
        } else {
            0.0
        }
    };
    let ticks_to_cores = |ticks: f64| {
        if seconds > 0.0 && next.clock_ticks > 0 {
            ticks / next.clock_ticks as f64 / seconds
        } else {
            0.0
        }
    };

    let total = cpu_shares(&previous.cpu.total, &next.cpu.total);
    let cores = next
        .cpu
        .cores
        .iter()
        .map(|(core, times)| {
            previous
                .cpu
                .cores
                .iter()
                .find(|(c, _)| c == core)
                .map_or(0.0, |(_, before)| cpu_shares(before, times).busy)
        })
        .collect();
    let cpu = Cpu {
        busy: total.busy,
        user: total.user,
        system: total.system,
        iowait: total.iowait,
        steal: total.steal,
        cores,
    };

    let memory = next.memory.map(|memory| {
        let available = memory.available.unwrap_or(
            memory
                .free
                .saturating_add(memory.buffers)
                .saturating_add(memory.cached),
        );
        Memory {
            total_bytes: memory.total,
            available_bytes: available,
            used_bytes: memory.total.saturating_sub(available),
            free_bytes: memory.free,
            buffers_bytes: memory.buffers,
            cached_bytes: memory.cached,
            swap_total_bytes: memory.swap_total,
            swap_used_bytes: memory.swap_total.saturating_sub(memory.swap_free),
        }
    });

    let net = next
        .net
        .iter()
        .map(|(name, now)| {
            let before = previous.net.get(name).copied().unwrap_or(*now);
            let delta = |field: fn(&NetCounters) -> u64| field(now).saturating_sub(field(&before));
            let net = Net {
                rx_bytes_per_s: per_second(delta(|c| c.rx_bytes)),
                tx_bytes_per_s: per_second(delta(|c| c.tx_bytes)),
                rx_packets_per_s: per_second(delta(|c| c.rx_packets)),
                tx_packets_per_s: per_second(delta(|c| c.tx_packets)),
                rx_errors: delta(|c| c.rx_errors),
                tx_errors: delta(|c| c.tx_errors),
                rx_dropped: delta(|c| c.rx_dropped),
                tx_dropped: delta(|c| c.tx_dropped),
            };
            (name.clone(), net)
        })
        .collect();

    let disk = next
        .disk
        .iter()
        .map(|(name, now)| {
            let before = previous.disk.get(name).copied().unwrap_or(*now);
            let delta = |field: fn(&DiskCounters) -> u64| field(now).saturating_sub(field(&before));
            let busy_ms = delta(|c| c.io_ticks_ms) as f64;
            let disk = Disk {
                read_bytes_per_s: per_second(delta(|c| c.sectors_read).saturating_mul(512)),
                write_bytes_per_s: per_second(delta(|c| c.sectors_written).saturating_mul(512)),
                reads_per_s: per_second(delta(|c| c.reads)),
                writes_per_s: per_second(delta(|c| c.writes)),
                busy: share(busy_ms, seconds * 1000.0),
            };
            (name.clone(), disk)
        })
        .collect();

    // A process new in `next` cannot have used more than the interval on every core.
    let new_process_cap = seconds * next.clock_ticks as f64 * next.cpu.cores.len().max(1) as f64;
    let process_ticks = |now: &ProcessCounters, before: Option<&ProcessCounters>| match before {
        Some(before) if before.start_ticks == now.start_ticks => {
            now.cpu_ticks.saturating_sub(before.cpu_ticks) as f64
        }
        _ => (now.cpu_ticks as f64).min(new_process_cap),
    };
    let mut ticks = 0.0;
    let mut rss_pages: u64 = 0;
    for now in &next.processes {
        let before = previous
            .processes
            .binary_search_by_key(&now.pid, |process| process.pid)
            .ok()
            .and_then(|index| previous.processes.get(index));
        ticks += process_ticks(now, before);
        rss_pages = rss_pages.saturating_add(now.rss_pages);
    }
    let processes = Processes {
        count: next.processes.len() as u64,
        cpu_cores: ticks_to_cores(ticks),
        rss_bytes: rss_pages.saturating_mul(next.page_size),
    };

    let agent = next.agent.as_ref().map(|now| {
        let before = previous
            .agent
            .as_ref()
            .filter(|before| before.pid == now.pid);
        Agent {
            cpu_cores: ticks_to_cores(process_ticks(now, before)),
            rss_bytes: now.rss_pages.saturating_mul(next.page_size),
        }
    });

    let cgroup = next.cgroup.map(|now| {
        let before = previous.cgroup.and_then(|before| before.usage_usec);
        let cpu_cores = now.usage_usec.zip(before).map(|(now, before)| {
            let seconds_used = now.saturating_sub(before) as f64 / 1e6;
            if seconds > 0.0 {
                seconds_used / seconds
            } else {
                0.0
            }
        });
        Cgroup {
            cpu_cores,
            memory_bytes: now.memory_bytes,
        }
    });

    let unix_ms = next
        .wall_clock
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });

    Sample {
        unix_ms,
        interval_s: seconds,
        cpu,
        memory,
        net,
        disk,
        processes,
        agent,
        cgroup,
    }
}

struct CpuShares {
    busy: f64,
    user: f64,
    system: f64,
    iowait: f64,
    steal: f64,
}

fn cpu_shares(before: &CpuTimes, now: &CpuTimes) -> CpuShares {
    let delta = |field: fn(&CpuTimes) -> u64| field(now).saturating_sub(field(before)) as f64;
    let user = delta(|t| t.user) + delta(|t| t.nice);
    let system = delta(|t| t.system) + delta(|t| t.irq) + delta(|t| t.softirq);
    let idle = delta(|t| t.idle);
    let iowait = delta(|t| t.iowait);
    let steal = delta(|t| t.steal);
    let total = user + system + idle + iowait + steal;
    CpuShares {
        busy: share(user + system + steal, total),
        user: share(user, total),
        system: share(system, total),
        iowait: share(iowait, total),
        steal: share(steal, total),
    }
}

/// `part / whole` in [0, 1]; 0 when `whole` is 0.
fn share(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        (part / whole).clamp(0.0, 1.0)
    } else {
        0.0
    }
}
