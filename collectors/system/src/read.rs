//! Parsers of the /proc and /sys files: plain text in, counters out. A line that does not parse
//! is skipped; nothing here indexes blindly or panics.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Reads a whole file into `buffer` (cleared first) with one open and as few reads as the
/// kernel needs; /proc files announce a size of 0, so nothing is pre-sized from metadata.
pub(crate) fn read_into(path: &Path, buffer: &mut String) -> io::Result<()> {
    buffer.clear();
    File::open(path)?.read_to_string(buffer)?;
    Ok(())
}

/// The time counters of one `cpu` line of /proc/stat, in clock ticks. Guest time is already
/// included in `user` and `nice` by the kernel, so the guest fields are not read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

/// The `cpu` lines of /proc/stat: the total, and each online core with its number.
#[derive(Debug, Clone, Default)]
pub(crate) struct CpuCounters {
    pub total: CpuTimes,
    pub cores: Vec<(u32, CpuTimes)>,
}

/// Parses the `cpu` and `cpuN` lines of /proc/stat; None when there is no `cpu` total line.
/// Stops at the first other line after them (the `intr` line that follows is long).
pub(crate) fn cpu_counters(text: &str) -> Option<CpuCounters> {
    let mut total = None;
    let mut cores = Vec::new();
    let mut seen_cpu_lines = false;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("cpu") else {
            if seen_cpu_lines {
                break;
            }
            continue;
        };
        seen_cpu_lines = true;
        let Some((label, fields)) = rest.split_once(' ') else {
            continue;
        };
        let Some(times) = cpu_times(fields) else {
            continue;
        };
        if label.is_empty() {
            total = Some(times);
        } else if let Ok(core) = label.parse::<u32>() {
            cores.push((core, times));
        }
    }
    total.map(|total| CpuCounters { total, cores })
}

/// The first eight numbers of a `cpu` line; the last four may be absent on old kernels.
fn cpu_times(fields: &str) -> Option<CpuTimes> {
    let mut values = [0u64; 8];
    let mut count = 0;
    for (slot, token) in values.iter_mut().zip(fields.split_ascii_whitespace()) {
        *slot = token.parse().ok()?;
        count += 1;
    }
    if count < 4 {
        return None;
    }
    let [user, nice, system, idle, iowait, irq, softirq, steal] = values;
    Some(CpuTimes {
        user,
        nice,
        system,
        idle,
        iowait,
        irq,
        softirq,
        steal,
    })
}

/// What /proc/meminfo says, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MemoryCounters {
    pub total: u64,
    pub available: Option<u64>,
    pub free: u64,
    pub buffers: u64,
    pub cached: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

/// Parses /proc/meminfo; None without a `MemTotal` line.
pub(crate) fn memory_counters(text: &str) -> Option<MemoryCounters> {
    let mut memory = MemoryCounters::default();
    let mut total = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let mut tokens = value.split_ascii_whitespace();
        let Some(Ok(number)) = tokens.next().map(str::parse::<u64>) else {
            continue;
        };
        let bytes = match tokens.next() {
            Some("kB") => number.saturating_mul(1024),
            _ => number,
        };
        match key {
            "MemTotal" => total = Some(bytes),
            "MemAvailable" => memory.available = Some(bytes),
            "MemFree" => memory.free = bytes,
            "Buffers" => memory.buffers = bytes,
            "Cached" => memory.cached = bytes,
            "SwapTotal" => memory.swap_total = bytes,
            "SwapFree" => memory.swap_free = bytes,
            _ => {}
        }
    }
    memory.total = total?;
    Some(memory)
}

/// The counters of one interface in /proc/net/dev.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NetCounters {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// Parses /proc/net/dev: `name: 8 receive fields, 8 transmit fields` after two header lines
/// (which have no ':'). The name is split at the last ':' since a large byte count may follow
/// the colon without a space.
pub(crate) fn net_counters<'t>(text: &'t str, mut each: impl FnMut(&'t str, NetCounters)) {
    for line in text.lines() {
        let Some((name, fields)) = line.rsplit_once(':') else {
            continue;
        };
        let mut values = [0u64; 16];
        let mut count = 0;
        for (slot, token) in values.iter_mut().zip(fields.split_ascii_whitespace()) {
            let Ok(value) = token.parse() else {
                break;
            };
            *slot = value;
            count += 1;
        }
        if count < 16 {
            continue;
        }
        let [
            rx_bytes,
            rx_packets,
            rx_errors,
            rx_dropped,
            _,
            _,
            _,
            _,
            tx_bytes,
            tx_packets,
            tx_errors,
            tx_dropped,
            ..,
        ] = values;
        let counters = NetCounters {
            rx_bytes,
            rx_packets,
            rx_errors,
            rx_dropped,
            tx_bytes,
            tx_packets,
            tx_errors,
            tx_dropped,
        };
        each(name.trim(), counters);
    }
}

/// The counters of one block device in /proc/diskstats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DiskCounters {
    pub reads: u64,
    pub sectors_read: u64,
    pub writes: u64,
    pub sectors_written: u64,
    pub io_ticks_ms: u64,
}

impl DiskCounters {
    /// Whether the device has done nothing since boot.
    pub fn is_idle_since_boot(&self) -> bool {
        *self == DiskCounters::default()
    }
}

/// Parses /proc/diskstats: `major minor name` then at least 10 counters (kernels since 2.6).
pub(crate) fn disk_counters<'t>(text: &'t str, mut each: impl FnMut(&'t str, DiskCounters)) {
    for line in text.lines() {
        let mut tokens = line.split_ascii_whitespace();
        let (Some(_major), Some(_minor), Some(name)) =
            (tokens.next(), tokens.next(), tokens.next())
        else {
            continue;
        };
        let mut values = [0u64; 10];
        let mut count = 0;
        for (slot, token) in values.iter_mut().zip(tokens) {
            let Ok(value) = token.parse() else {
                break;
            };
            *slot = value;
            count += 1;
        }
        if count < 10 {
            continue;
        }
        let [
            reads,
            _,
            sectors_read,
            _,
            writes,
            _,
            sectors_written,
            _,
            _,
            io_ticks_ms,
        ] = values;
        each(
            name,
            DiskCounters {
                reads,
                sectors_read,
                writes,
                sectors_written,
                io_ticks_ms,
            },
        );
    }
}

/// Whether `name` is a partition of one of `devices`, by the kernel's naming rule: a disk whose
/// name ends with a digit numbers its partitions after a `p` (`nvme0n1p1`, `mmcblk0p2`),
/// another right after its name (`sda1`).
pub(crate) fn is_partition_of_any<'a>(
    name: &str,
    devices: impl IntoIterator<Item = &'a str>,
) -> bool {
    devices.into_iter().any(|disk| {
        let Some(suffix) = name.strip_prefix(disk) else {
            return false;
        };
        let number = if disk.ends_with(|c: char| c.is_ascii_digit()) {
            match suffix.strip_prefix('p') {
                Some(number) => number,
                None => return false,
            }
        } else {
            suffix
        };
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
    })
}

/// What one /proc/<pid>/stat says: start time and CPU time in clock ticks, RSS in pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcessCounters {
    pub pid: u32,
    pub start_ticks: u64,
    pub cpu_ticks: u64,
    pub rss_pages: u64,
}

/// Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may hold spaces
/// and ')', so the fields are counted from the last ')': field 3 (state) is the first after it,
/// then utime (14), stime (15), starttime (22) and rss (24).
pub(crate) fn process_counters(pid: u32, text: &str) -> Option<ProcessCounters> {
    let close = text.rfind(')')?;
    let mut fields = text.get(close + 1..)?.split_ascii_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let start_ticks: u64 = fields.nth(6)?.parse().ok()?;
    let rss_pages: i64 = fields.nth(1)?.parse().ok()?;
    Some(ProcessCounters {
        pid,
        start_ticks,
        cpu_ticks: utime.saturating_add(stime),
        rss_pages: u64::try_from(rss_pages).unwrap_or(0),
    })
}

/// `usage_usec` of a cgroup v2 `cpu.stat`.
pub(crate) fn cgroup_usage_usec(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("usage_usec "))
        .and_then(|value| value.trim().parse().ok())
}
