//! Made-up /proc, /sys and cgroup trees in a temporary directory.

use std::path::PathBuf;

use enos_system::Sources;

/// A temporary directory holding `proc/`, `sys/` and `cgroup/`.
pub struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    pub fn new() -> Self {
        Tree {
            dir: tempfile::tempdir().expect("a temporary directory for the tree"),
        }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes `text` at `relative`, creating its directories.
    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        let parent = path.parent().expect("a file of the tree has a parent");
        std::fs::create_dir_all(parent).expect("the tree's directories are created");
        std::fs::write(path, text).expect("the tree's file is written");
    }

    pub fn mkdir(&self, relative: &str) {
        std::fs::create_dir_all(self.path(relative)).expect("the tree's directory is created");
    }

    /// Removes a file or a directory, if it exists.
    pub fn remove(&self, relative: &str) {
        let path = self.path(relative);
        if path.is_dir() {
            std::fs::remove_dir_all(path).expect("the tree's directory is removed");
        } else if path.exists() {
            std::fs::remove_file(path).expect("the tree's file is removed");
        }
    }

    /// `proc/` and `sys/` of the tree, Linux's clock ticks and page size.
    pub fn sources(&self) -> Sources {
        Sources::at(self.path("proc"), self.path("sys"))
    }
}

/// A /proc/stat: the total, then each core as (number, times), then the lines that follow the
/// cpu lines on a real kernel. Times are user nice system idle iowait irq softirq steal; the
/// guest fields are set to `guest` to show they are not read.
pub fn proc_stat(total: [u64; 8], cores: &[(u32, [u64; 8])], guest: u64) -> String {
    let line = |label: String, times: [u64; 8]| {
        let times: Vec<String> = times.iter().map(u64::to_string).collect();
        format!("{label} {} {guest} {guest}\n", times.join(" "))
    };
    let mut text = line("cpu ".to_owned(), total);
    for (core, times) in cores {
        text += &line(format!("cpu{core}"), *times);
    }
    text + "intr 144003215 0 0 0 1 1 7\nctxt 360883962\nbtime 1796120771\nprocesses 1983570\n\
            procs_running 1\nprocs_blocked 0\nsoftirq 174722113 0 3261318 204879 0 0 0\n"
}

/// A /proc/<pid>/stat line; cutime and cstime (16, 17), vsize (23) and the fields around are
/// non-zero so that a field taken from the wrong place shows.
pub fn pid_stat(pid: u32, comm: &str, utime: u64, stime: u64, start: u64, rss: u64) -> String {
    format!(
        "{pid} ({comm}) S 1 1 1 0 -1 4194560 100 3 4 5 {utime} {stime} 7 9 20 0 1 0 {start} \
         123456789 {rss} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
    )
}

/// The two header lines of /proc/net/dev.
pub const NET_DEV_HEADER: &str = "Inter-|   Receive                                                |  Transmit\n \
     face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";

/// A /proc/net/dev line, with no space after the colon as the kernel writes large counts;
/// fifo, frame and the like are non-zero.
pub fn net_line(name: &str, rx: [u64; 4], tx: [u64; 4]) -> String {
    let [rb, rp, re, rd] = rx;
    let [tb, tp, te, td] = tx;
    format!("{name:>6}:{rb} {rp} {re} {rd} 1 2 3 4 {tb} {tp} {te} {td} 5 6 7 8\n")
}

/// A /proc/diskstats line from reads, sectors read, writes, sectors written and io_ticks; the
/// merged and time fields in between are non-zero.
pub fn disk_line(name: &str, counters: [u64; 5]) -> String {
    let [reads, sectors_read, writes, sectors_written, io_ticks] = counters;
    format!(
        "   8       0 {name} {reads} 7 {sectors_read} 11 {writes} 13 {sectors_written} 17 2 \
         {io_ticks} 19 0 0 0 0 0 0\n"
    )
}
