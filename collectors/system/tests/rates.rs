//! Rates from two snapshots of made-up trees with known counter deltas.

use std::time::{Duration, Instant};

use enos_system::{
    Agent, Cgroup, Cpu, Disk, Memory, Net, Processes, Sample, SystemError, cpu_count, rates,
    snapshot_at,
};

use crate::fixtures::{NET_DEV_HEADER, Tree, disk_line, net_line, pid_stat, proc_stat};

const AGENT_PID: u32 = 500;

/// The comm of pid 42: spaces, parentheses and a ") " that a split at the first ')' trips on.
const WEIRD_COMM: &str = "my (weird) prog) x";

/// The first state of the full tree.
fn write_first(tree: &Tree) {
    tree.write(
        "proc/stat",
        &proc_stat(
            [1000, 100, 500, 8000, 100, 10, 10, 5],
            &[
                (0, [500, 50, 250, 4000, 50, 5, 5, 2]),
                (1, [500, 50, 250, 4000, 50, 5, 5, 3]),
            ],
            0,
        ),
    );
    tree.write(
        "proc/net/dev",
        &[
            NET_DEV_HEADER.to_owned(),
            net_line("lo", [100, 1, 0, 0], [100, 1, 0, 0]),
            net_line("eth0", [1000, 10, 0, 0], [2000, 20, 0, 0]),
            net_line("veth1", [9_000_000, 9000, 5, 5], [9_000_000, 9000, 5, 5]),
        ]
        .concat(),
    );
    tree.write(
        "proc/diskstats",
        &[
            disk_line("sda", [1000, 50_000, 500, 20_000, 3000]),
            disk_line("sda1", [900, 40_000, 400, 10_000, 2000]),
            "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n".to_owned(),
            disk_line("loop1", [10, 80, 0, 0, 4]),
            disk_line("cciss/c0d0", [5, 40, 5, 40, 100]),
            disk_line("dm-0", [5, 40, 5, 40, 100]),
        ]
        .concat(),
    );
    for device in ["sda", "loop0", "loop1", "cciss!c0d0"] {
        tree.mkdir(&format!("sys/block/{device}"));
    }
    tree.write("proc/1/stat", &pid_stat(1, "systemd", 100, 50, 10, 1000));
    tree.write(
        "proc/42/stat",
        &pid_stat(42, WEIRD_COMM, 1000, 200, 500, 2000),
    );
    tree.write("proc/60/stat", &pid_stat(60, "gone", 5000, 5000, 600, 100));
    tree.write("proc/77/stat", &pid_stat(77, "old", 300, 0, 5000, 100));
    tree.write(
        "proc/500/stat",
        &pid_stat(AGENT_PID, "enos-agent", 40, 10, 7000, 2900),
    );
    tree.write(
        "cgroup/cpu.stat",
        "usage_usec 1000000\nuser_usec 800000\nsystem_usec 200000\n",
    );
    tree.write("cgroup/memory.current", "100000000\n");
}

/// The second state, 0.5 s later: see each line for the deltas.
fn write_second(tree: &Tree) {
    // Total: user+nice +80, system+irq+softirq +50, idle +50, iowait +10, steal +10: 200 ticks.
    // Core 0: 80 busy of 100; core 1: 60 busy of 100. Guest time changes and must not count.
    tree.write(
        "proc/stat",
        &proc_stat(
            [1060, 120, 530, 8050, 110, 20, 20, 15],
            &[
                (0, [570, 50, 260, 4020, 50, 5, 5, 2]),
                (1, [540, 50, 270, 4030, 60, 5, 5, 3]),
            ],
            500,
        ),
    );
    tree.write(
        "proc/meminfo",
        "MemTotal:       16000000 kB\nMemFree:         2000000 kB\nMemAvailable:   10000000 kB\n\
         Buffers:          500000 kB\nCached:          6000000 kB\nSwapCached:            0 kB\n\
         SwapTotal:       4000000 kB\nSwapFree:        3000000 kB\nHugePages_Total:       0\n",
    );
    tree.write(
        "proc/net/dev",
        &[
            NET_DEV_HEADER.to_owned(),
            net_line("lo", [5100, 11, 0, 0], [5100, 11, 0, 0]),
            net_line("eth0", [501_000, 410, 2, 0], [252_000, 120, 0, 3]),
            // Reset: every counter went backwards.
            net_line("veth1", [100, 1, 0, 0], [100, 1, 0, 0]),
            // New: no first reading.
            net_line("veth2", [777, 7, 1, 1], [777, 7, 1, 1]),
        ]
        .concat(),
    );
    tree.write(
        "proc/diskstats",
        &[
            // +2048 sectors read, +1024 written, +100 reads, +50 writes, +250 ms busy.
            disk_line("sda", [1100, 52_048, 550, 21_024, 3250]),
            disk_line("sda1", [1000, 52_048, 450, 21_024, 3250]),
            "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n".to_owned(),
            disk_line("loop1", [10, 80, 0, 0, 4]),
            // 600 ms busy in 500 ms: clamped to 1.
            disk_line("cciss/c0d0", [5, 40, 5, 40, 700]),
            disk_line("dm-0", [500, 4000, 500, 4000, 300]),
        ]
        .concat(),
    );
    tree.write("proc/1/stat", &pid_stat(1, "systemd", 103, 52, 10, 1000)); // +5
    tree.write(
        "proc/42/stat",
        &pid_stat(42, WEIRD_COMM, 1030, 205, 500, 2000),
    ); // +35
    tree.remove("proc/60"); // gone
    tree.write("proc/77/stat", &pid_stat(77, "reused", 8, 2, 9000, 100)); // new: 10
    tree.write("proc/90/stat", &pid_stat(90, "new", 15, 5, 9100, 500)); // new: 20
    tree.write(
        "proc/500/stat",
        &pid_stat(AGENT_PID, "enos-agent", 60, 15, 7000, 3000),
    ); // +25
    tree.mkdir("proc/123"); // vanished between the listing and the read
    tree.write("proc/88/stat", "88 (truncat"); // malformed
    tree.write(
        "proc/1a/stat",
        &pid_stat(1, "not a pid", 9999, 9999, 1, 9999),
    );
    tree.write(
        "proc/self/stat",
        &pid_stat(1, "not a pid", 9999, 9999, 1, 9999),
    );
    tree.write(
        "cgroup/cpu.stat",
        "usage_usec 1250000\nuser_usec 900000\nsystem_usec 350000\n",
    );
    tree.write("cgroup/memory.current", "123456789\n");
}

/// The full tree's two snapshots 0.5 s apart, the agent's pid and the cgroup set.
fn full_sample() -> Sample {
    let tree = Tree::new();
    let mut sources = tree.sources();
    sources.self_pid = Some(AGENT_PID);
    sources.cgroup = Some(tree.path("cgroup"));
    let start = Instant::now();
    write_first(&tree);
    let first = snapshot_at(&sources, start).expect("the first state is read");
    write_second(&tree);
    let second = snapshot_at(&sources, start + Duration::from_millis(500))
        .expect("the second state is read");
    rates(&first, &second)
}

#[test]
fn cpu_shares_come_from_the_tick_deltas_of_the_machine_and_of_each_core() {
    let sample = full_sample();
    assert_eq!(sample.interval_s, 0.5);
    assert_eq!(
        sample.cpu,
        Cpu {
            busy: 0.7,
            user: 0.4,
            system: 0.25,
            iowait: 0.05,
            steal: 0.05,
            cores: vec![0.8, 0.6]
        }
    );
}

#[test]
fn memory_comes_from_the_second_snapshot_in_bytes() {
    let sample = full_sample();
    assert_eq!(
        sample.memory,
        Some(Memory {
            total_bytes: 16_384_000_000,
            available_bytes: 10_240_000_000,
            used_bytes: 6_144_000_000,
            free_bytes: 2_048_000_000,
            buffers_bytes: 512_000_000,
            cached_bytes: 6_144_000_000,
            swap_total_bytes: 4_096_000_000,
            swap_used_bytes: 1_024_000_000,
        })
    );
}

fn no_traffic() -> Net {
    Net {
        rx_bytes_per_s: 0.0,
        tx_bytes_per_s: 0.0,
        rx_packets_per_s: 0.0,
        tx_packets_per_s: 0.0,
        rx_errors: 0,
        tx_errors: 0,
        rx_dropped: 0,
        tx_dropped: 0,
    }
}

#[test]
fn network_rates_per_interface_and_resets_and_newcomers_give_zero() {
    let sample = full_sample();
    let names: Vec<&str> = sample.net.keys().map(String::as_str).collect();
    assert_eq!(names, ["lo", "eth0", "veth1", "veth2"]);
    assert_eq!(
        sample.net["eth0"],
        Net {
            rx_bytes_per_s: 1_000_000.0,
            tx_bytes_per_s: 500_000.0,
            rx_packets_per_s: 800.0,
            tx_packets_per_s: 200.0,
            rx_errors: 2,
            tx_errors: 0,
            rx_dropped: 0,
            tx_dropped: 3,
        }
    );
    assert_eq!(sample.net["lo"].rx_bytes_per_s, 10_000.0);
    assert_eq!(sample.net["lo"].tx_packets_per_s, 20.0);
    assert_eq!(sample.net["veth1"], no_traffic());
    assert_eq!(sample.net["veth2"], no_traffic());
}

#[test]
fn disks_are_the_whole_devices_of_sys_block_with_their_rates_and_busy_share() {
    let sample = full_sample();
    let names: Vec<&str> = sample.disk.keys().map(String::as_str).collect();
    // sda1 and dm-0 are not in sys/block; loop0 never did any I/O.
    assert_eq!(names, ["sda", "loop1", "cciss/c0d0"]);
    assert_eq!(
        sample.disk["sda"],
        Disk {
            read_bytes_per_s: 2_097_152.0,
            write_bytes_per_s: 1_048_576.0,
            reads_per_s: 200.0,
            writes_per_s: 100.0,
            busy: 0.5,
        }
    );
    assert_eq!(sample.disk["loop1"].busy, 0.0);
    assert_eq!(sample.disk["loop1"].read_bytes_per_s, 0.0);
    assert_eq!(sample.disk["cciss/c0d0"].busy, 1.0);
}

#[test]
fn processes_count_continuing_deltas_and_newcomers_and_leave_the_agent_apart() {
    let sample = full_sample();
    // 5 + 35 (same pid and start) + 10 (pid 77 reused) + 20 (pid 90 new) = 70 ticks in 0.5 s.
    // Pid 60 is gone, 123 has no stat, 88 is malformed, 1a and self are not pids.
    assert_eq!(
        sample.processes,
        Processes {
            count: 4,
            cpu_cores: 1.4,
            rss_bytes: (1000 + 2000 + 100 + 500) * 4096
        }
    );
    assert_eq!(
        sample.agent,
        Some(Agent {
            cpu_cores: 0.5,
            rss_bytes: 3000 * 4096
        })
    );
    assert_eq!(
        sample.cgroup,
        Some(Cgroup {
            cpu_cores: Some(0.5),
            memory_bytes: Some(123_456_789)
        })
    );
}

#[test]
fn without_an_agent_pid_every_process_counts_and_there_is_no_agent_section() {
    let tree = Tree::new();
    let sources = tree.sources();
    let start = Instant::now();
    write_first(&tree);
    let first = snapshot_at(&sources, start).unwrap();
    write_second(&tree);
    let second = snapshot_at(&sources, start + Duration::from_millis(500)).unwrap();
    let sample = rates(&first, &second);
    assert_eq!(sample.processes.count, 5);
    assert_eq!(sample.processes.cpu_cores, 1.9); // 70 + 25 ticks
    assert_eq!(sample.agent, None);
    assert_eq!(sample.cgroup, None);
}

#[test]
fn a_new_process_counts_at_most_the_interval_on_every_core() {
    let tree = Tree::new();
    let sources = tree.sources();
    tree.write(
        "proc/stat",
        &proc_stat([0; 8], &[(0, [0; 8]), (1, [0; 8])], 0),
    );
    let start = Instant::now();
    let first = snapshot_at(&sources, start).unwrap();
    // A day of CPU since it started, seen for the first time.
    tree.write(
        "proc/4000/stat",
        &pid_stat(4000, "long lived", 8_640_000, 0, 100, 10),
    );
    let second = snapshot_at(&sources, start + Duration::from_millis(500)).unwrap();
    let sample = rates(&first, &second);
    assert_eq!(sample.processes.count, 1);
    assert_eq!(sample.processes.cpu_cores, 2.0);
}

#[test]
fn counters_going_backwards_give_zero_not_a_huge_number() {
    let tree = Tree::new();
    let mut sources = tree.sources();
    sources.self_pid = Some(AGENT_PID);
    sources.cgroup = Some(tree.path("cgroup"));
    let start = Instant::now();
    write_second(&tree);
    let first = snapshot_at(&sources, start).unwrap();
    // Every counter lower than in the first snapshot (but veth1's, reset in between); the same
    // processes (pid and start) with fewer ticks, pid 90 unchanged.
    write_first(&tree);
    tree.remove("proc/60");
    tree.remove("proc/77");
    tree.write("proc/1/stat", &pid_stat(1, "systemd", 1, 1, 10, 1000));
    tree.write(
        "proc/500/stat",
        &pid_stat(AGENT_PID, "enos-agent", 1, 1, 7000, 3000),
    );
    let second = snapshot_at(&sources, start + Duration::from_secs(1)).unwrap();
    let sample = rates(&first, &second);
    assert_eq!(
        sample.cpu,
        Cpu {
            busy: 0.0,
            user: 0.0,
            system: 0.0,
            iowait: 0.0,
            steal: 0.0,
            cores: vec![0.0, 0.0]
        }
    );
    for name in ["lo", "eth0"] {
        assert_eq!(sample.net[name], no_traffic(), "{name}");
    }
    let sda = &sample.disk["sda"];
    assert_eq!(
        [
            sda.read_bytes_per_s,
            sda.write_bytes_per_s,
            sda.reads_per_s,
            sda.writes_per_s,
            sda.busy
        ],
        [0.0; 5]
    );
    assert_eq!(sample.processes.count, 3);
    assert_eq!(sample.processes.cpu_cores, 0.0);
    assert_eq!(sample.agent.unwrap().cpu_cores, 0.0);
    assert_eq!(sample.cgroup.unwrap().cpu_cores, Some(0.0));
}

#[test]
fn an_empty_interval_gives_zero_rates_not_infinities() {
    let tree = Tree::new();
    let mut sources = tree.sources();
    sources.self_pid = Some(AGENT_PID);
    sources.cgroup = Some(tree.path("cgroup"));
    let start = Instant::now();
    write_first(&tree);
    let first = snapshot_at(&sources, start).unwrap();
    write_second(&tree);
    let second = snapshot_at(&sources, start).unwrap();
    let sample = rates(&first, &second);
    assert_eq!(sample.interval_s, 0.0);
    assert_eq!(
        sample.cpu.busy, 0.7,
        "shares come from ticks, not from the interval"
    );
    assert_eq!(sample.net["eth0"].rx_bytes_per_s, 0.0);
    assert_eq!(sample.net["eth0"].rx_errors, 2);
    assert_eq!(sample.disk["sda"].busy, 0.0);
    assert_eq!(sample.processes.cpu_cores, 0.0);
    assert_eq!(sample.agent.unwrap().cpu_cores, 0.0);
    assert_eq!(sample.cgroup.unwrap().cpu_cores, Some(0.0));
    // And backwards in time is an empty interval too.
    assert_eq!(rates(&second, &first).interval_s, 0.0);
}

#[test]
fn missing_optional_files_give_empty_sections() {
    let tree = Tree::new();
    let mut sources = tree.sources(); // sys/ does not exist
    sources.self_pid = Some(AGENT_PID); // nor does its process
    sources.cgroup = Some(tree.path("no-such-cgroup"));
    tree.write(
        "proc/stat",
        &proc_stat(
            [10, 0, 10, 80, 0, 0, 0, 0],
            &[(0, [10, 0, 10, 80, 0, 0, 0, 0])],
            0,
        ),
    );
    let start = Instant::now();
    let first = snapshot_at(&sources, start).unwrap();
    let second = snapshot_at(&sources, start + Duration::from_secs(1)).unwrap();
    let sample = rates(&first, &second);
    assert_eq!(sample.cpu.cores, [0.0]);
    assert_eq!(sample.memory, None);
    assert!(sample.net.is_empty());
    assert!(sample.disk.is_empty());
    assert_eq!(
        sample.processes,
        Processes {
            count: 0,
            cpu_cores: 0.0,
            rss_bytes: 0
        }
    );
    assert_eq!(sample.agent, None);
    assert_eq!(sample.cgroup, None);

    // A cgroup with only one of its files.
    tree.write("cgroup/memory.current", "4096\n");
    sources.cgroup = Some(tree.path("cgroup"));
    let third = snapshot_at(&sources, start + Duration::from_secs(2)).unwrap();
    let cgroup = rates(&second, &third).cgroup;
    assert_eq!(
        cgroup,
        Some(Cgroup {
            cpu_cores: None,
            memory_bytes: Some(4096)
        })
    );
}

#[test]
fn a_missing_or_empty_proc_stat_is_an_error_naming_it() {
    let tree = Tree::new();
    tree.mkdir("proc");
    let sources = tree.sources();
    let stat = tree.path("proc/stat");
    let error = snapshot_at(&sources, Instant::now()).unwrap_err();
    assert!(
        matches!(&error, SystemError::Read { path, .. } if *path == stat),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&stat.display().to_string()),
        "{error}"
    );
    assert!(matches!(cpu_count(&sources), Err(SystemError::Read { .. })));

    tree.write("proc/stat", "intr 1 2 3\nctxt 4\n");
    let error = snapshot_at(&sources, Instant::now()).unwrap_err();
    assert!(
        matches!(&error, SystemError::Malformed { path, .. } if *path == stat),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&stat.display().to_string()),
        "{error}"
    );
}

#[test]
fn cores_are_counted_from_the_cpu_lines_and_matched_by_number() {
    let tree = Tree::new();
    let sources = tree.sources();
    let busy_half = |ticks: u64| [ticks, 0, 0, ticks, 0, 0, 0, 0];
    tree.write(
        "proc/stat",
        &proc_stat(busy_half(0), &[(0, busy_half(0)), (2, busy_half(0))], 0),
    );
    let start = Instant::now();
    let first = snapshot_at(&sources, start).unwrap();
    assert_eq!(first.cpu_count(), 2);
    // Core 1 comes online; core 2 is all busy.
    tree.write(
        "proc/stat",
        &proc_stat(
            busy_half(50),
            &[
                (0, busy_half(50)),
                (1, busy_half(50)),
                (2, [100, 0, 0, 0, 0, 0, 0, 0]),
            ],
            0,
        ),
    );
    assert_eq!(cpu_count(&sources).unwrap(), 3);
    let second = snapshot_at(&sources, start + Duration::from_secs(1)).unwrap();
    assert_eq!(rates(&first, &second).cpu.cores, [0.5, 0.0, 1.0]);
}

#[test]
fn without_sys_block_partitions_are_told_apart_by_their_names() {
    let tree = Tree::new();
    let sources = tree.sources();
    tree.write("proc/stat", &proc_stat([0; 8], &[(0, [0; 8])], 0));
    let used = [1, 8, 1, 8, 1];
    let names = [
        "sda",
        "sda1",
        "sda12",
        "nvme0n1",
        "nvme0n1p1",
        "nvme0n10",
        "mmcblk0",
        "mmcblk0p1",
        "mmcblk0boot0",
        "md0",
        "md0p1",
        "dm-0",
        "sr0",
        "loop0",
        "loop1",
        "zram0",
        "ram0",
    ];
    let mut diskstats = String::new();
    for name in names {
        let idle = ["loop0", "zram0", "ram0"].contains(&name);
        diskstats += &disk_line(name, if idle { [0; 5] } else { used });
    }
    tree.write("proc/diskstats", &diskstats);
    let snapshot = snapshot_at(&sources, Instant::now()).unwrap();
    let sample = rates(&snapshot, &snapshot);
    let kept: Vec<&str> = sample.disk.keys().map(String::as_str).collect();
    assert_eq!(
        kept,
        [
            "sda",
            "nvme0n1",
            "nvme0n10",
            "mmcblk0",
            "mmcblk0boot0",
            "md0",
            "dm-0",
            "sr0",
            "loop1"
        ]
    );
}

/// The ```json block of the crate's documentation.
fn documented_sample() -> serde_json::Value {
    let source = include_str!("../src/lib.rs");
    let block: String = source
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .skip_while(|line| *line != "```json")
        .skip(1)
        .take_while(|line| *line != "```")
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&block).expect("the documented sample is JSON")
}

#[test]
fn the_documented_json_shape_is_the_shape_of_a_sample() {
    let documented = documented_sample();
    let parsed: Sample = serde_json::from_value(documented.clone()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), documented);

    // And the full fixture gives the documented figures, key for key, in the same order.
    let mut sample = serde_json::to_value(full_sample()).unwrap();
    sample["unix_ms"] = documented["unix_ms"].clone();
    let object = sample.as_object_mut().unwrap();
    object["net"]
        .as_object_mut()
        .unwrap()
        .retain(|name, _| name == "eth0");
    object["disk"]
        .as_object_mut()
        .unwrap()
        .retain(|name, _| name == "sda");
    assert_eq!(sample, documented);
    assert_eq!(
        serde_json::to_string(&sample).unwrap(),
        serde_json::to_string(&documented).unwrap()
    );
}
