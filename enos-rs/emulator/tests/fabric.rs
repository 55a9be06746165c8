//! One TUN device in a router namespace that routes between sites: endpoints are classes of
//! hosts sharing that device.
//!
//! Each site is a bridge of the router with its hosts on veths. Traffic between hosts goes to
//! the router, whose policy routing sends it into the TUN device (`from` and `to` the fabric's
//! range, table 100); what the emulator writes back comes in on the device and is routed by
//! the main table (`iif wan0`, looked up first).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::MutexGuard;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use enos_emulator::{
    Emulator, EmulatorConfig, EmulatorError, Endpoint, PairRule, Request, Response, reconfigure,
    request, serve,
};

use crate::common::{
    Echo, Probes, add_netns, can_run, ms, netns_path, probe_from, rule, run, serial,
    tcp_goodput_between, unique_prefix,
};

const MS: Duration = Duration::from_millis(1);
/// The TUN device of the router.
const DEVICE: &str = "wan0";
/// The routing table that sends host-to-host traffic into the device.
const TABLE: &str = "100";

/// A host of the fabric.
struct Host {
    netns: String,
    address: Ipv4Addr,
}

/// A router namespace and sites of hosts behind it; every namespace is removed on drop, the
/// emulator stopped first.
struct Fabric {
    router: String,
    hosts: Vec<Host>,
    emulator: Option<Emulator>,
    /// Every namespace created, for the cleanup.
    namespaces: Vec<String>,
    _serial: MutexGuard<'static, ()>,
}

/// The range of the fabric's addresses: site `s` is `10.79.(s+1).0/24`.
const RANGE: &str = "10.79.0.0/16";

impl Fabric {
    /// A router and `sites[s]` hosts in site `s`; hosts are numbered site after site.
    fn new(sites: &[usize]) -> Self {
        let serial = serial();
        let prefix = unique_prefix();
        let router = format!("{prefix}-r");
        let mut fabric = Self {
            router: router.clone(),
            hosts: Vec::new(),
            emulator: None,
            namespaces: vec![router.clone()],
            _serial: serial,
        };
        add_netns(&router);
        run(
            "ip",
            &[
                "netns",
                "exec",
                &router,
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
            ],
        );
        for (site, &count) in sites.iter().enumerate() {
            let bridge = format!("br{site}");
            let gateway = format!("10.79.{}.254", site + 1);
            run(
                "ip",
                &["-n", &router, "link", "add", &bridge, "type", "bridge"],
            );
            run(
                "ip",
                &[
                    "-n",
                    &router,
                    "addr",
                    "add",
                    &format!("{gateway}/24"),
                    "dev",
                    &bridge,
                ],
            );
            run("ip", &["-n", &router, "link", "set", &bridge, "up"]);
            for k in 0..count {
                let index = fabric.hosts.len();
                let netns = format!("{prefix}-h{index}");
                fabric.namespaces.push(netns.clone());
                add_netns(&netns);
                let port = format!("v{index}");
                run(
                    "ip",
                    &[
                        "-n", &router, "link", "add", &port, "type", "veth", "peer", "name",
                        "eth0", "netns", &netns,
                    ],
                );
                run(
                    "ip",
                    &["-n", &router, "link", "set", &port, "master", &bridge, "up"],
                );
                let address = Ipv4Addr::new(10, 79, site as u8 + 1, k as u8 + 1);
                run(
                    "ip",
                    &[
                        "-n",
                        &netns,
                        "addr",
                        "add",
                        &format!("{address}/24"),
                        "dev",
                        "eth0",
                    ],
                );
                run("ip", &["-n", &netns, "link", "set", "eth0", "up"]);
                run(
                    "ip",
                    &["-n", &netns, "route", "add", "default", "via", &gateway],
                );
                fabric.hosts.push(Host { netns, address });
            }
        }
        run(
            "ip",
            &[
                "-n", &router, "rule", "add", "iif", DEVICE, "lookup", "main", "pref", "100",
            ],
        );
        run(
            "ip",
            &[
                "-n", &router, "rule", "add", "from", RANGE, "to", RANGE, "lookup", TABLE, "pref",
                "200",
            ],
        );
        fabric
    }

    /// A class of the given hosts on the router's device.
    fn class(&self, hosts: &[usize]) -> Endpoint {
        Endpoint {
            netns: netns_path(&self.router),
            device: DEVICE.into(),
            addresses: hosts.iter().map(|&h| self.hosts[h].address).collect(),
        }
    }

    /// A configuration of `classes` (lists of hosts) with `rules`.
    fn config(&self, classes: &[&[usize]], rules: Vec<PairRule>) -> EmulatorConfig {
        EmulatorConfig {
            endpoints: classes.iter().map(|hosts| self.class(hosts)).collect(),
            rules,
            queue_limit: 1000,
            seed: Some(7),
        }
    }

    /// Brings the router's device up and routes the traffic between hosts through it.
    fn route_through_device(&self) {
        let router = self.router.as_str();
        run(
            "ip",
            &[
                "netns",
                "exec",
                router,
                "sysctl",
                "-qw",
                "net.ipv4.conf.wan0.rp_filter=0",
                "net.ipv4.conf.wan0.forwarding=1",
            ],
        );
        run("ip", &["-n", router, "link", "set", DEVICE, "up"]);
        run(
            "ip",
            &[
                "-n", router, "route", "add", RANGE, "dev", DEVICE, "table", TABLE,
            ],
        );
    }

    /// Starts an emulator with `config` and routes through its device.
    fn start(&mut self, config: EmulatorConfig) -> &Emulator {
        self.emulator = Some(Emulator::start(config).expect("the emulator starts"));
        self.route_through_device();
        self.emulator()
    }

    fn emulator(&self) -> &Emulator {
        self.emulator.as_ref().expect("started")
    }

    fn has_device(&self) -> bool {
        std::process::Command::new("ip")
            .args(["-n", &self.router, "link", "show", DEVICE])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// An echo server on host `index`.
    fn echo(&self, index: usize) -> Echo {
        Echo::start_at(&self.hosts[index].netns, self.hosts[index].address)
    }

    /// `count` probes from host `from` to `echo`, 10 ms apart.
    fn probe(&self, from: usize, echo: &Echo, count: u32) -> Probes {
        let host = &self.hosts[from];
        probe_from(&host.netns, host.address, echo, count, 10 * MS, 100 * MS)
    }
}

impl Drop for Fabric {
    fn drop(&mut self) {
        drop(self.emulator.take());
        for name in &self.namespaces {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", name])
                .status();
        }
    }
}

/// A rule of `delay` from `src` to `dst`.
fn delay(src: usize, dst: usize, delay: Duration) -> PairRule {
    PairRule {
        delay,
        ..rule(src, dst)
    }
}

/// Checks that a median round trip is `expected` within a tolerance fit for a loaded machine.
fn assert_rtt(probes: &Probes, expected: Duration, what: &str) {
    assert_eq!(probes.loss(), 0.0, "{what}: {}", probes.summary());
    let median = ms(probes.median());
    let tolerance = (ms(expected) * 0.05).max(1.0);
    assert!(
        (median - ms(expected)).abs() <= tolerance,
        "{what}: median {median:.3} ms, expected {:.1} ± {tolerance:.1} ms; {}",
        ms(expected),
        probes.summary()
    );
}

#[test]
fn shared_device_shapes_classes_of_hosts() {
    if !can_run("shared_device_shapes_classes_of_hosts") {
        return;
    }
    // Site 0: hosts 0 and 1; site 1: hosts 2 and 3. Classes A = {0, 1}, B = {2}, C = {3}.
    let mut fabric = Fabric::new(&[2, 2]);
    let config = fabric.config(
        &[&[0, 1], &[2], &[3]],
        vec![delay(0, 1, 5 * MS), delay(1, 0, 5 * MS)],
    );
    fabric.start(config);
    let to_b = fabric.echo(2);
    let to_c = fabric.echo(3);
    let a0_b = fabric.probe(0, &to_b, 100);
    let a1_b = fabric.probe(1, &to_b, 100);
    let a0_c = fabric.probe(0, &to_c, 100);
    let stats = fabric.emulator().stats();
    println!(
        "shared device, A -> B 5 ms each way: host 0 {}",
        a0_b.summary()
    );
    println!(
        "shared device, A -> B 5 ms each way: host 1 {}",
        a1_b.summary()
    );
    println!(
        "shared device, A -> C unshaped:      host 0 {}",
        a0_c.summary()
    );
    println!(
        "pairs of endpoints {:?}, pairs of hosts {}, unclassified {}, unroutable {}",
        stats
            .pairs
            .iter()
            .map(|p| (p.src, p.dst, p.forwarded))
            .collect::<Vec<_>>(),
        stats.host_pairs,
        stats.unclassified,
        stats.unroutable
    );
    assert_rtt(&a0_b, 10 * MS, "host 0 to class B");
    assert_rtt(&a1_b, 10 * MS, "host 1 to class B");
    assert!(a0_b.sorted()[0] >= 10 * MS, "faster than the delay");
    assert_eq!(a0_c.loss(), 0.0, "{}", a0_c.summary());
    assert!(
        a0_c.median() < 2 * MS,
        "unshaped pair delayed: {}",
        a0_c.summary()
    );
    // Everything went through the device, counted by class.
    assert_eq!(stats.pair(0, 1).forwarded, 200);
    assert_eq!(stats.pair(1, 0).forwarded, 200);
    assert_eq!(stats.pair(0, 2).forwarded, 100);
    assert_eq!(stats.pair(2, 0).forwarded, 100);
    // 0 <-> 2, 1 <-> 2 and 0 <-> 3, both ways.
    assert!(stats.host_pairs >= 6, "{stats:?}");

    // An address outside every class, on a device the classes share: counted, dropped.
    run(
        "ip",
        &[
            "-n",
            &fabric.hosts[1].netns,
            "addr",
            "add",
            "10.79.1.99/24",
            "dev",
            "eth0",
        ],
    );
    let stray = probe_from(
        &fabric.hosts[1].netns,
        Ipv4Addr::new(10, 79, 1, 99),
        &to_b,
        20,
        2 * MS,
        50 * MS,
    );
    assert_eq!(stray.loss(), 1.0, "{}", stray.summary());
    assert!(
        fabric.emulator().stats().unclassified >= 20,
        "{:?}",
        fabric.emulator().stats()
    );
}

#[test]
fn rate_is_per_pair_of_hosts() {
    if !can_run("rate_is_per_pair_of_hosts") {
        return;
    }
    const RATE: u64 = 20_000_000;
    // Hosts 0 and 1 in class A (site 0), host 2 in class B (site 1).
    let mut fabric = Fabric::new(&[2, 1]);
    let config = fabric.config(
        &[&[0, 1], &[2]],
        vec![PairRule {
            rate_bps: RATE,
            ..rule(0, 1)
        }],
    );
    fabric.start(config);
    let before = fabric.emulator().stats();
    let started = Instant::now();
    let goodputs: Vec<f64> = std::thread::scope(|scope| {
        let flows: Vec<_> = [0, 1]
            .into_iter()
            .map(|from| {
                let fabric = &fabric;
                scope.spawn(move || {
                    let receiver = &fabric.hosts[2];
                    tcp_goodput_between(
                        &fabric.hosts[from].netns,
                        (&receiver.netns, receiver.address),
                        4000 * MS,
                        1000 * MS,
                    )
                })
            })
            .collect();
        flows
            .into_iter()
            .map(|flow| flow.join().expect("flow"))
            .collect()
    });
    let elapsed = started.elapsed();
    let after = fabric.emulator().stats();
    let bytes = after.pair(0, 1).forwarded_bytes - before.pair(0, 1).forwarded_bytes;
    let wire = bytes as f64 * 8.0 / elapsed.as_secs_f64();
    println!(
        "rate 20 Mbit/s from class A to B, two hosts of A at once: TCP goodputs {:.2} and \
         {:.2} Mbit/s, IP rate of the class pair {:.2} Mbit/s over the whole run, {} pairs of \
         hosts, {} dropped at the queue limit",
        goodputs[0] / 1e6,
        goodputs[1] / 1e6,
        wire / 1e6,
        after.host_pairs,
        after.pair(0, 1).dropped_queue
    );
    // Each pair of hosts gets the rate: a rate shared by the class would give half each.
    for (host, goodput) in goodputs.iter().enumerate() {
        assert!(
            (goodput / RATE as f64 - 1.0).abs() <= 0.2,
            "host {host}: goodput {:.2} Mbit/s, expected 20 ± 20%",
            goodput / 1e6
        );
    }
    assert!(
        goodputs.iter().sum::<f64>() > 1.5 * RATE as f64,
        "the class shares one rate"
    );
    assert!(wire <= 2.0 * RATE as f64 * 1.02, "IP rate above the limits");
}

#[test]
fn reconfigure_moves_hosts_between_classes_live() {
    if !can_run("reconfigure_moves_hosts_between_classes_live") {
        return;
    }
    // Site 0: hosts 0 and 1; site 1: hosts 2 and 3. Classes A = {0, 1}, B = {2, 3}.
    let fabric = Fabric::new(&[2, 2]);
    let ab = |ms: u32| vec![delay(0, 1, ms * MS), delay(1, 0, ms * MS)];
    let config = fabric.config(&[&[0, 1], &[2, 3]], ab(5));
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("emulator.sock");
    let (ready_tx, ready_rx) = mpsc::channel();
    let daemon = {
        let socket = socket.clone();
        std::thread::spawn(move || {
            serve(config, &socket, move || ready_tx.send(()).expect("ready"))
        })
    };
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the daemon is ready");
    fabric.route_through_device();
    let to_2 = fabric.echo(2);
    let to_3 = fabric.echo(3);

    let before = fabric.probe(0, &to_3, 50);
    println!(
        "host 0 to host 3, both classes 5 ms apart: {}",
        before.summary()
    );
    assert_rtt(&before, 10 * MS, "before");

    // Host 3 moves to a class C of its own, 20 ms from A; A and B keep their 5 ms.
    let mut rules = ab(5);
    rules.extend([delay(0, 2, 20 * MS), delay(2, 0, 20 * MS)]);
    let classes = vec![
        fabric.class(&[0, 1]),
        fabric.class(&[2]),
        fabric.class(&[3]),
    ];
    reconfigure(&socket, classes.clone(), rules.clone()).expect("reconfigure");
    let moved = fabric.probe(0, &to_3, 50);
    let stayed = fabric.probe(0, &to_2, 50);
    println!("host 0 to host 3, moved to C, 20 ms: {}", moved.summary());
    println!("host 0 to host 2, still in B, 5 ms:  {}", stayed.summary());
    assert_rtt(&moved, 40 * MS, "after the move");
    assert_rtt(&stayed, 10 * MS, "the host that stayed");

    // Refused, and nothing changes: another device, or the running one left out.
    let mut elsewhere = classes.clone();
    elsewhere[2].device = "wan1".into();
    let refused = reconfigure(&socket, elsewhere, rules.clone());
    assert!(
        matches!(refused, Err(EmulatorError::Refused(ref why)) if why.contains("wan1")),
        "{refused:?}"
    );
    let mut other_netns = classes.clone();
    for class in &mut other_netns {
        class.netns = PathBuf::from("/run/netns/enos-emulator-no-such-namespace");
    }
    let refused = request(
        &socket,
        &Request::Reconfigure {
            endpoints: other_netns,
            rules: rules.clone(),
        },
    );
    assert!(
        matches!(refused, Err(EmulatorError::Refused(ref why)) if why.contains("devices")),
        "{refused:?}"
    );
    let refused = reconfigure(&socket, classes.clone(), vec![delay(0, 3, MS)]);
    assert!(
        matches!(refused, Err(EmulatorError::Refused(ref why)) if why.contains("endpoints")),
        "{refused:?}"
    );
    let still = fabric.probe(0, &to_3, 20);
    assert_rtt(&still, 40 * MS, "after the refusals");

    // Host 1 leaves every class: its packets cannot be classified any more.
    let Response::Ok(Some(counted)) = request(&socket, &Request::Stats).expect("stats") else {
        panic!("stats without counters");
    };
    reconfigure(
        &socket,
        vec![fabric.class(&[0]), fabric.class(&[2]), fabric.class(&[3])],
        rules,
    )
    .expect("reconfigure");
    let orphan = fabric.probe(1, &to_2, 20);
    assert_eq!(orphan.loss(), 1.0, "{}", orphan.summary());
    let Response::Ok(Some(stats)) = request(&socket, &Request::Stats).expect("stats") else {
        panic!("stats without counters");
    };
    assert!(stats.unclassified >= counted.unclassified + 20, "{stats:?}");
    // SetRules keeps the classes: C comes back to 5 ms.
    let answer = request(
        &socket,
        &Request::SetRules(vec![
            delay(0, 1, 5 * MS),
            delay(1, 0, 5 * MS),
            delay(0, 2, 5 * MS),
            delay(2, 0, 5 * MS),
        ]),
    )
    .expect("set_rules");
    assert_eq!(answer, Response::Ok(None));
    let healed = fabric.probe(0, &to_3, 50);
    assert_rtt(&healed, 10 * MS, "after set_rules");

    assert_eq!(
        request(&socket, &Request::Stop).expect("stop"),
        Response::Ok(None)
    );
    daemon
        .join()
        .expect("daemon thread")
        .expect("the daemon ends cleanly");
    assert!(!fabric.has_device(), "the TUN device is gone");
}

/// Resident memory of this process, in bytes.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .expect("VmRSS")
        * 1024
}

#[test]
fn a_thousand_classes_start_small_on_one_device() {
    if !can_run("a_thousand_classes_start_small_on_one_device") {
        return;
    }
    let fabric = Fabric::new(&[]);
    // A thousand hosts in ten sites, one class each; each host has a rule towards the first
    // host of every site. Dense tables would hold a million entries of each kind (about
    // 100 MB); these hold the addresses and the 10,000 rules.
    let endpoints: Vec<Endpoint> = (0..1000)
        .map(|i| Endpoint {
            addresses: vec![Ipv4Addr::new(
                10,
                79,
                (i / 100) as u8 + 1,
                (i % 100) as u8 + 1,
            )],
            ..fabric.class(&[])
        })
        .collect();
    let rules: Vec<PairRule> = (0..1000)
        .flat_map(|src| (0..10).map(move |site| (src, site * 100)))
        .filter(|(src, dst)| src != dst)
        .map(|(src, dst)| delay(src, dst, 10 * MS))
        .collect();
    let config = EmulatorConfig {
        endpoints,
        rules,
        queue_limit: 1000,
        seed: Some(1),
    };
    let resident = resident_bytes();
    let started = Instant::now();
    let emulator = Emulator::start(config.clone()).expect("starts");
    let elapsed = started.elapsed();
    let grown = resident_bytes().saturating_sub(resident);
    println!(
        "1000 classes, {} rules, one device: started in {elapsed:?}, resident memory +{} kB",
        config.rules.len(),
        grown / 1024
    );
    assert!(fabric.has_device(), "one device for every class");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert!(grown < 32 << 20, "{} kB", grown / 1024);
    let stats = emulator.stats();
    assert!(stats.pairs.is_empty() && stats.host_pairs == 0, "{stats:?}");

    // Ten classes of a hundred hosts instead, live.
    let sites: Vec<Endpoint> = (0..10)
        .map(|site| Endpoint {
            addresses: (0..100)
                .map(|h| Ipv4Addr::new(10, 79, site + 1, h + 1))
                .collect(),
            ..fabric.class(&[])
        })
        .collect();
    let mesh: Vec<PairRule> = (0..10)
        .flat_map(|src| (0..10).map(move |dst| (src, dst)))
        .filter(|(src, dst)| src != dst)
        .map(|(src, dst)| delay(src, dst, 10 * MS))
        .collect();
    emulator.reconfigure(&sites, &mesh).expect("ten sites");
    emulator.stop();
    assert!(!fabric.has_device());
}
