//! The testbed of the integration tests: namespaces wired to an emulator, probes, statistics.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use enos_emulator::{Emulator, EmulatorConfig, Endpoint, PairRule};
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

/// The tests measure timing: one testbed at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the lock that keeps testbeds one at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A random prefix for the names of a testbed's namespaces: `eem` and four characters.
pub fn unique_prefix() -> String {
    let suffix: String = std::iter::repeat_with(|| fastrand::alphanumeric().to_ascii_lowercase())
        .take(4)
        .collect();
    format!("eem{suffix}")
}

/// Creates the namespace `name` with its loopback up, without IPv6 and without reverse-path
/// filtering.
pub fn add_netns(name: &str) {
    run("ip", &["netns", "add", name]);
    run("ip", &["-n", name, "link", "set", "lo", "up"]);
    run(
        "ip",
        &[
            "netns",
            "exec",
            name,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
        ],
    );
}

/// The device every endpoint gets.
pub const DEVICE: &str = "wan0";

/// Whether this process can create namespaces and TUN devices (see `enos_testkit`: under CI
/// their absence fails the test, elsewhere it is a recorded skip).
pub fn can_run(test: &str) -> bool {
    enos_testkit::require_root(test)
        && enos_testkit::require_file(test, Path::new("/dev/net/tun"), "the tun driver")
        && enos_testkit::require_program(test, "ip")
}

/// Runs a command, panicking with its error output when it fails.
pub fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Gives the calling thread the emulator's priority, so that the probes measure the emulator
/// rather than the other jobs of a busy machine; best effort.
pub fn raise_priority() {
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), -10);
}

/// Runs `f` on a thread that entered the network namespace `name`; sockets it creates stay
/// in that namespace.
pub fn in_netns<T: Send>(name: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let path = netns_path(name);
                let file = File::open(&path).expect("open the namespace");
                move_into_link_name_space(file.as_fd(), Some(LinkNameSpaceType::Network))
                    .expect("enter the namespace");
                f()
            })
            .join()
            .expect("namespace thread")
    })
}

/// The path of a named namespace.
pub fn netns_path(name: &str) -> PathBuf {
    PathBuf::from("/run/netns").join(name)
}

/// The address of endpoint `index`.
pub fn address(index: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 77, 0, u8::try_from(index + 1).expect("small testbed"))
}

/// Namespaces with a loopback and, once [`Testbed::start`] ran, a configured TUN each;
/// everything is removed on drop, also when the test fails.
pub struct Testbed {
    /// Names of the namespaces, endpoint order.
    pub names: Vec<String>,
    emulator: Option<Emulator>,
    _serial: MutexGuard<'static, ()>,
}

impl Testbed {
    /// Creates `count` namespaces named `eem<random>-a`, `-b`, ...
    pub fn new(count: usize) -> Self {
        let serial = serial();
        let prefix = unique_prefix();
        let mut testbed = Self {
            names: Vec::new(),
            emulator: None,
            _serial: serial,
        };
        for index in 0..count {
            let name = format!("{prefix}-{}", char::from(b'a' + index as u8));
            // Registered first, so that a failure below still removes it.
            testbed.names.push(name.clone());
            add_netns(&name);
        }
        testbed
    }

    /// The emulator configuration of this testbed, with `rules`.
    pub fn config(&self, rules: Vec<PairRule>) -> EmulatorConfig {
        EmulatorConfig {
            endpoints: self
                .names
                .iter()
                .enumerate()
                .map(|(index, name)| Endpoint {
                    netns: netns_path(name),
                    device: DEVICE.into(),
                    addresses: vec![address(index)],
                })
                .collect(),
            rules,
            queue_limit: 1000,
            seed: Some(42),
        }
    }

    /// Configures the TUN devices created by an emulator: address, route, link up.
    pub fn configure_devices(&self) {
        for (index, name) in self.names.iter().enumerate() {
            let own = format!("{}/32", address(index));
            let src = address(index).to_string();
            run("ip", &["-n", name, "addr", "add", &own, "dev", DEVICE]);
            run("ip", &["-n", name, "link", "set", DEVICE, "up"]);
            run(
                "ip",
                &[
                    "-n",
                    name,
                    "route",
                    "add",
                    "10.77.0.0/24",
                    "dev",
                    DEVICE,
                    "src",
                    &src,
                ],
            );
        }
    }

    /// Starts an emulator on this testbed and configures its devices.
    pub fn start(&mut self, rules: Vec<PairRule>) -> &Emulator {
        let emulator = Emulator::start(self.config(rules)).expect("the emulator starts");
        self.emulator = Some(emulator);
        self.configure_devices();
        self.emulator()
    }

    /// The running emulator.
    pub fn emulator(&self) -> &Emulator {
        self.emulator.as_ref().expect("started")
    }

    /// Takes the running emulator out, to stop it.
    pub fn take_emulator(&mut self) -> Emulator {
        self.emulator.take().expect("started")
    }

    /// Whether namespace `index` has a device named [`DEVICE`].
    pub fn has_device(&self, index: usize) -> bool {
        Command::new("ip")
            .args(["-n", &self.names[index], "link", "show", DEVICE])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        drop(self.emulator.take());
        for name in &self.names {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

/// A one-way rule.
pub fn rule(src: usize, dst: usize) -> PairRule {
    PairRule {
        src,
        dst,
        ..PairRule::default()
    }
}

/// A UDP echo server in a namespace, stopped on drop.
pub struct Echo {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Echo {
    /// Starts an echo server on endpoint `index` of `testbed`.
    pub fn start(testbed: &Testbed, index: usize) -> Self {
        Self::start_at(&testbed.names[index], address(index))
    }

    /// Starts an echo server in namespace `netns`, on `address`.
    pub fn start_at(netns: &str, address: Ipv4Addr) -> Self {
        let socket = in_netns(netns, || {
            UdpSocket::bind((address, 0)).expect("bind the echo socket")
        });
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let addr = socket.local_addr().expect("address");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            raise_priority();
            let mut buf = [0u8; 2048];
            while !flag.load(Ordering::Relaxed) {
                if let Ok((len, from)) = socket.recv_from(&mut buf) {
                    let _ = socket.send_to(&buf[..len], from);
                }
            }
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a series of UDP probes saw.
#[derive(Debug)]
pub struct Probes {
    /// Round-trip time of each probe, `None` when it never came back.
    pub rtts: Vec<Option<Duration>>,
    /// Sequence numbers in the order the answers arrived.
    pub arrivals: Vec<u32>,
}

impl Probes {
    /// Round-trip times of the answered probes, sorted.
    pub fn sorted(&self) -> Vec<Duration> {
        let mut rtts: Vec<Duration> = self.rtts.iter().flatten().copied().collect();
        rtts.sort();
        rtts
    }

    /// The median round-trip time.
    pub fn median(&self) -> Duration {
        percentile(&self.sorted(), 0.5)
    }

    /// A percentile (0..=1) of the round-trip times.
    pub fn percentile(&self, p: f64) -> Duration {
        percentile(&self.sorted(), p)
    }

    /// Fraction of probes never answered.
    pub fn loss(&self) -> f64 {
        let lost = self.rtts.iter().filter(|rtt| rtt.is_none()).count();
        lost as f64 / self.rtts.len().max(1) as f64
    }

    /// Answers that arrived after one with a higher sequence number.
    pub fn reordered(&self) -> usize {
        let mut highest = None;
        let mut count = 0;
        for &seq in &self.arrivals {
            if highest.is_some_and(|h| seq < h) {
                count += 1;
            }
            highest = highest.max(Some(seq));
        }
        count
    }

    /// A one-line summary in milliseconds.
    pub fn summary(&self) -> String {
        let sorted = self.sorted();
        if sorted.is_empty() {
            return format!("{} probes, all lost", self.rtts.len());
        }
        format!(
            "{} probes, {:.1}% lost, rtt min {:.3} median {:.3} p99 {:.3} max {:.3} ms, {} reordered",
            self.rtts.len(),
            self.loss() * 100.0,
            ms(sorted[0]),
            ms(percentile(&sorted, 0.5)),
            ms(percentile(&sorted, 0.99)),
            ms(sorted[sorted.len() - 1]),
            self.reordered()
        )
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::MAX;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Sends `count` UDP probes from endpoint `from` to `echo`, one every `interval`, and waits
/// `linger` after the last one for late answers.
pub fn probe(
    testbed: &Testbed,
    from: usize,
    echo: &Echo,
    count: u32,
    interval: Duration,
    linger: Duration,
) -> Probes {
    probe_from(
        &testbed.names[from],
        address(from),
        echo,
        count,
        interval,
        linger,
    )
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The round trip of the path itself, with no rule in force: four TUN and socket crossings,
/// the emulator's forwarding, the echo's and the prober's wake-ups. The median of 50 probes
/// from endpoint `from` to `echo`, one every 5 ms. What a busy virtual machine adds to every
/// round trip is in it, so a test that asserts a delay asserts what the emulator adds over it.
pub fn path_round_trip(testbed: &Testbed, from: usize, echo: &Echo) -> Duration {
    let probes = probe(
        testbed,
        from,
        echo,
        50,
        Duration::from_millis(5),
        Duration::from_millis(50),
    );
    println!("path alone: {}", probes.summary());
    assert_eq!(probes.loss(), 0.0, "path alone: {}", probes.summary());
    probes.median()
}

/// Asserts that `probes` lost nothing and that their median round trip is the path's own
/// (`path`, from [`path_round_trip`]) plus `added`, within max(0.5 ms, 5 % of `added`): the
/// default tolerance of `enos tc validate`.
pub fn assert_adds(probes: &Probes, path: Duration, added: Duration, what: &str) {
    assert_eq!(probes.loss(), 0.0, "{what}: {}", probes.summary());
    let measured = ms(probes.median()) - ms(path);
    let tolerance = (ms(added) * 0.05).max(0.5);
    assert!(
        (measured - ms(added)).abs() <= tolerance,
        "{what}: median {:.3} ms over a path of {:.3} ms adds {measured:.3} ms, expected {:.1} ± {tolerance:.2} ms; {}",
        ms(probes.median()),
        ms(path),
        ms(added),
        probes.summary()
    );
}

/// Sends `count` UDP probes from `source` in namespace `netns` to `echo`, one every
/// `interval`, and waits `linger` after the last one for late answers.
pub fn probe_from(
    netns: &str,
    source: Ipv4Addr,
    echo: &Echo,
    count: u32,
    interval: Duration,
    linger: Duration,
) -> Probes {
    let socket = in_netns(netns, || {
        UdpSocket::bind((source, 0)).expect("bind the probe socket")
    });
    socket.connect(echo.addr).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .expect("timeout");
    let receiver = socket.try_clone().expect("clone");
    let epoch = Instant::now();
    let sent: Arc<Mutex<Vec<Option<Duration>>>> = Arc::new(Mutex::new(vec![None; count as usize]));
    let done = Arc::new(AtomicBool::new(false));
    let listener = {
        let sent = Arc::clone(&sent);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            raise_priority();
            let mut rtts = vec![None; count as usize];
            let mut arrivals = Vec::new();
            let mut buf = [0u8; 256];
            while !done.load(Ordering::Relaxed) {
                let Ok(len) = receiver.recv(&mut buf) else {
                    continue;
                };
                let now = epoch.elapsed();
                if len < 4 {
                    continue;
                }
                let seq = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
                let Some(Some(at)) = sent.lock().expect("lock").get(seq as usize).copied() else {
                    continue;
                };
                if rtts[seq as usize].is_none() {
                    rtts[seq as usize] = Some(now - at);
                }
                arrivals.push(seq);
            }
            Probes { rtts, arrivals }
        })
    };
    // This is the test's own thread, which ends with the test.
    raise_priority();
    let mut payload = [0u8; 64];
    let start = Instant::now();
    for seq in 0..count {
        let due = start + interval * seq;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        payload[..4].copy_from_slice(&seq.to_be_bytes());
        sent.lock().expect("lock")[seq as usize] = Some(epoch.elapsed());
        let _ = socket.send(&payload);
    }
    std::thread::sleep(linger);
    done.store(true, Ordering::Relaxed);
    listener.join().expect("listener")
}

/// Sends as much as TCP allows from endpoint `from` to endpoint `to` during `duration`;
/// returns the receiver's goodput in bits per second over the last `duration - warmup`.
pub fn tcp_goodput(
    testbed: &Testbed,
    from: usize,
    to: usize,
    duration: Duration,
    warmup: Duration,
) -> f64 {
    tcp_goodput_between(
        &testbed.names[from],
        (&testbed.names[to], address(to)),
        duration,
        warmup,
    )
}

/// Sends as much as TCP allows from namespace `from` to `to` (a namespace and an address in
/// it) during `duration`; returns the receiver's goodput in bits per second over the last
/// `duration - warmup`.
pub fn tcp_goodput_between(
    from: &str,
    to: (&str, Ipv4Addr),
    duration: Duration,
    warmup: Duration,
) -> f64 {
    let listener = in_netns(to.0, || {
        TcpListener::bind((to.1, 0)).expect("bind the TCP receiver")
    });
    let target = listener.local_addr().expect("address");
    let receiver = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = vec![0u8; 1 << 16];
        let start = Instant::now();
        let mut counted = 0u64;
        let mut window_start = None;
        while let Ok(len) = stream.read(&mut buf) {
            if len == 0 {
                break;
            }
            if start.elapsed() >= warmup {
                window_start.get_or_insert_with(Instant::now);
                counted += len as u64;
            }
        }
        let window = window_start.map_or(Duration::ZERO, |begun| begun.elapsed());
        (counted, window)
    });
    let mut stream = in_netns(from, || {
        TcpStream::connect_timeout(&target, Duration::from_secs(5)).expect("connect")
    });
    let chunk = vec![0x5au8; 1 << 16];
    let start = Instant::now();
    while start.elapsed() < duration {
        if stream.write_all(&chunk).is_err() {
            break;
        }
    }
    drop(stream);
    let (bytes, window) = receiver.join().expect("receiver");
    bytes as f64 * 8.0 / window.as_secs_f64().max(1e-9)
}

/// An iperf3 server in a namespace, killed on drop.
pub struct Iperf3Server {
    pidfile: tempfile::NamedTempFile,
}

impl Iperf3Server {
    /// Starts `iperf3 -s -D` in namespace `name`, bound to `address`.
    pub fn start(name: &str, address: Ipv4Addr) -> Self {
        let pidfile = tempfile::NamedTempFile::new().expect("pidfile");
        let path = pidfile.path().to_str().expect("utf-8").to_owned();
        let bind = address.to_string();
        run(
            "ip",
            &[
                "netns", "exec", name, "iperf3", "-s", "-D", "-1", "-B", &bind, "-I", &path,
            ],
        );
        // The daemon writes its pid file once it listens.
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::read_to_string(&path)
            .unwrap_or_default()
            .trim()
            .is_empty()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        Self { pidfile }
    }
}

impl Drop for Iperf3Server {
    fn drop(&mut self) {
        let pid = std::fs::read_to_string(self.pidfile.path())
            .unwrap_or_default()
            .trim()
            .trim_end_matches('\0')
            .parse::<i32>()
            .ok();
        if let Some(pid) = pid.and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
}

/// Runs an iperf3 client in namespace `name` towards `server` for `seconds`; returns the
/// receiver's rate in bits per second.
pub fn iperf3_client(name: &str, server: Ipv4Addr, seconds: u32) -> f64 {
    let output = Command::new("ip")
        .args(["netns", "exec", name, "iperf3", "-c"])
        .arg(server.to_string())
        .args(["-t", &seconds.to_string(), "-J"])
        .output()
        .expect("run iperf3");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "iperf3 failed: {text}");
    let report: serde_json::Value = serde_json::from_str(&text).expect("iperf3 JSON");
    report["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .expect("bits_per_second")
}
