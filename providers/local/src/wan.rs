//! WAN emulation on the local testbed: tc netem where the kernel has it, otherwise the project's
//! userspace emulator, in the fabric.
//!
//! Every packet between two hosts crosses the fabric namespace: a host holds its address as a
//! /32 and sends everything to its site's gateway, even to a host of its own site. That makes
//! the fabric the one place where the WAN is shaped, whatever the number of hosts:
//!
//! - the emulator (`enos daemon wan-emulator`, one process per experiment, started on the first
//!   shaping and killed with the testbed) owns one TUN device, `wan0`, in the fabric;
//! - an nftables set of the experiment's own (`table ip enos_wan`, set `shaped`) lists the
//!   shaped (source, destination) address ranges; a packet coming from a bridge that matches is
//!   marked, and marked packets are routed into `wan0` (`ip rule fwmark … lookup 100`);
//! - the emulator finds the packet's classes by its addresses, delays, drops and paces it by the
//!   rule of that class pair (per host pair: rate and order are per source and destination
//!   host, as with EnOSlib's tc), and writes it back into `wan0`, where the kernel routes it on
//!   to the destination's bridge. Packets that come back from `wan0` are not marked again.
//!
//! State grows with the classes of hosts the network section tells apart (sites, roles, hosts
//! named by a constraint), never with the square of the hosts: the set has one element per
//! shaped pair of classes and contiguous address range, the emulator one rule per shaped class
//! pair. Unshaped pairs stay in the kernel; SSH from this machine and the egress proxy's
//! traffic come through the management link and are never marked, so a 100 % loss partition
//! never cuts `enos` off from a host.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use enos_core::Reporter;
use enos_emulator::{EmulatorConfig, Endpoint, PairRule};
use enos_provider::ProviderError;
use enos_wan::WanMatrix;

use crate::alloc::runtime_dir;
use crate::daemon::{Daemons, log_tail, running_pid};
use crate::plan::TestbedPlan;
use crate::sys;

/// The emulator's TUN device, in the fabric namespace.
pub const DEVICE: &str = "wan0";
/// The routing table (in the fabric) that sends marked packets into [`DEVICE`].
pub const ROUTE_TABLE: u32 = 100;
/// The mark of packets to shape.
pub const MARK: u32 = 0x454e;
/// The experiment's nftables table in the fabric (family `ip`) that marks packets to shape.
pub const NFT_TABLE: &str = "enos_wan";
/// The most elements the marking set holds: pairs of shaped address ranges. A section that names
/// hundreds of single hosts in its constraints splits the hosts into as many classes, whose
/// pairs could number in the millions; `enos validate` refuses it (see [`check_scenario`]).
pub const MAX_SHAPED_RANGE_PAIRS: usize = 1 << 18;
/// How long the emulator gets to create its device and answer.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// The emulator's control socket for experiment `prefix`.
pub fn socket_path(prefix: &str) -> PathBuf {
    runtime_dir(prefix).join("wan").join("emulator.sock")
}

/// The file holding the emulator's pid for experiment `prefix`.
pub fn pid_path(prefix: &str) -> PathBuf {
    runtime_dir(prefix).join("wan").join("emulator.pid")
}

/// The emulator's pid, when it runs.
pub fn emulator_pid(prefix: &str) -> Option<u32> {
    running_pid(&pid_path(prefix))
}

/// Whether this kernel has netem: tried on the loopback of a scratch namespace.
pub async fn kernel_has_netem(prefix: &str) -> bool {
    let scratch = format!("enos-{prefix}-netem");
    if sys::run("ip", &["netns", "add", &scratch], None)
        .await
        .is_err()
    {
        return false;
    }
    let has = sys::run(
        "ip",
        &[
            "netns", "exec", &scratch, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay",
            "1ms",
        ],
        None,
    )
    .await
    .is_ok();
    let _ = sys::run("ip", &["netns", "del", &scratch], None).await;
    has
}

fn err(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(e.to_string())
}

/// The IPv4 addresses of every class of `matrix`, in class order.
fn class_addresses(matrix: &WanMatrix) -> Result<Vec<Vec<Ipv4Addr>>, ProviderError> {
    matrix
        .classes
        .iter()
        .map(|class| {
            class
                .hosts
                .iter()
                .map(|member| match member.address {
                    std::net::IpAddr::V4(address) => Ok(address),
                    std::net::IpAddr::V6(address) => Err(err(format!(
                        "host {} has an IPv6 address ({address}); the local testbed is IPv4",
                        member.name
                    ))),
                })
                .collect()
        })
        .collect()
}

/// The emulator's endpoints (one per class, all on the fabric's [`DEVICE`]) and rules (one per
/// shaped class pair) for `matrix`.
pub fn emulator_setup(
    plan: &TestbedPlan,
    matrix: &WanMatrix,
) -> Result<(Vec<Endpoint>, Vec<PairRule>), ProviderError> {
    let netns = Path::new("/run/netns").join(&plan.fabric);
    let endpoints = class_addresses(matrix)?
        .into_iter()
        .map(|addresses| Endpoint {
            netns: netns.clone(),
            device: DEVICE.to_owned(),
            addresses,
        })
        .collect();
    let rules = matrix
        .shapes
        .iter()
        .map(|s| PairRule {
            src: s.src,
            dst: s.dst,
            delay: s.shape.delay.0,
            jitter: s.shape.jitter.0,
            // The emulator counts 0 as unlimited; 10gbit is EnOS's "unshaped" rate.
            rate_bps: if s.shape.rate >= enos_scenario::DEFAULT_RATE {
                0
            } else {
                s.shape.rate.0
            },
            loss: s.shape.loss.fraction(),
        })
        .collect();
    Ok((endpoints, rules))
}

/// `addresses` as ranges of consecutive addresses, sorted.
pub fn ranges(addresses: &[Ipv4Addr]) -> Vec<(Ipv4Addr, Ipv4Addr)> {
    let mut sorted: Vec<u32> = addresses.iter().map(|a| u32::from(*a)).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<(u32, u32)> = Vec::new();
    for a in sorted {
        match out.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(a) => *last = a,
            _ => out.push((a, a)),
        }
    }
    out.into_iter()
        .map(|(a, b)| (Ipv4Addr::from(a), Ipv4Addr::from(b)))
        .collect()
}

/// The elements of the `shaped` set for `matrix`: every (source range, destination range) of
/// every shaped class pair.
pub fn shaped_elements(matrix: &WanMatrix) -> Result<Vec<String>, ProviderError> {
    let classes: Vec<Vec<(Ipv4Addr, Ipv4Addr)>> =
        class_addresses(matrix)?.iter().map(|a| ranges(a)).collect();
    let mut elements = Vec::new();
    for shape in &matrix.shapes {
        let (Some(src), Some(dst)) = (classes.get(shape.src), classes.get(shape.dst)) else {
            return Err(err(format!(
                "the WAN matrix shapes classes {} -> {}, which it does not have",
                shape.src, shape.dst
            )));
        };
        for (a, b) in src {
            for (c, d) in dst {
                elements.push(format!("{a}-{b} . {c}-{d}"));
            }
        }
    }
    Ok(elements)
}

/// How many elements [`shaped_elements`] makes for `matrix`, without making them.
pub fn shaped_range_pairs(matrix: &WanMatrix) -> Result<usize, ProviderError> {
    let counts: Vec<usize> = class_addresses(matrix)?
        .iter()
        .map(|a| ranges(a).len())
        .collect();
    Ok(matrix
        .shapes
        .iter()
        .map(|s| counts.get(s.src).unwrap_or(&0) * counts.get(s.dst).unwrap_or(&0))
        .sum())
}

/// Checks that the WAN `scenario` asks for fits a local testbed, laid out as a deploy would lay
/// it out: its marking set holds at most [`MAX_SHAPED_RANGE_PAIRS`] elements. The message says
/// what is too large.
pub fn check_scenario(scenario: &enos_scenario::Scenario) -> Result<(), String> {
    let plan = crate::plan::plan(scenario, "e0000", 0).map_err(|e| e.to_string())?;
    let hosts: Vec<enos_wan::WanHost> = plan
        .hosts
        .iter()
        .map(|h| enos_wan::WanHost {
            name: h.name.clone(),
            site: h.site.clone(),
            role: h.role.clone(),
            address: h.address.into(),
        })
        .collect();
    let matrix = enos_wan::resolve(&scenario.network, &hosts);
    let pairs = shaped_range_pairs(&matrix).map_err(|e| e.to_string())?;
    if pairs > MAX_SHAPED_RANGE_PAIRS {
        return Err(format!(
            "the network section tells {} classes of hosts apart and shapes {} pairs of their \
             address ranges; the local provider's WAN holds at most {MAX_SHAPED_RANGE_PAIRS}: \
             name sites, roles or ranges of hosts in constraints rather than hundreds of single \
             hosts",
            matrix.classes.len(),
            pairs
        ));
    }
    Ok(())
}

/// The nftables script that (re)creates the marking table with `elements`, atomically.
pub fn nft_script(elements: &[String]) -> String {
    let mut script = format!(
        "# Written by enos-rs: packets between shaped hosts go through the WAN emulator.\n\
         add table ip {NFT_TABLE}\n\
         delete table ip {NFT_TABLE}\n\
         table ip {NFT_TABLE} {{\n\
         \tset shaped {{\n\
         \t\ttype ipv4_addr . ipv4_addr\n\
         \t\tflags interval\n\
         \t}}\n\
         \tchain prerouting {{\n\
         \t\ttype filter hook prerouting priority mangle; policy accept;\n\
         \t\tiifname != \"{DEVICE}\" ip saddr . ip daddr @shaped meta mark set {MARK:#x}\n\
         \t}}\n\
         }}\n"
    );
    for chunk in elements.chunks(512) {
        script.push_str(&format!(
            "add element ip {NFT_TABLE} shaped {{ {} }}\n",
            chunk.join(", ")
        ));
    }
    script
}

/// Shapes the local testbed's traffic as `matrix` asks, through the userspace emulator in the
/// fabric. Changing the shaping of a running emulator restarts nothing.
pub async fn shape(
    daemons: &Daemons,
    plan: &TestbedPlan,
    matrix: &WanMatrix,
    log: &Path,
    reporter: &dyn Reporter,
) -> Result<(), ProviderError> {
    let task = reporter.start("shaping in the fabric", 1);
    let (endpoints, rules) = emulator_setup(plan, matrix)?;
    let elements = shaped_elements(matrix)?;
    let socket = socket_path(&plan.prefix);
    if emulator_pid(&plan.prefix).is_none() {
        if !rules.is_empty() {
            start(daemons, plan, endpoints, rules, log).await?;
        }
    } else {
        // Nothing shaped (`enos tc reset`): the classes stay, no rule applies, no packet is
        // marked any more.
        let request = if rules.is_empty() {
            enos_emulator::Request::SetRules(Vec::new())
        } else {
            enos_emulator::Request::Reconfigure { endpoints, rules }
        };
        let socket = socket.clone();
        tokio::task::spawn_blocking(move || enos_emulator::request(&socket, &request))
            .await
            .map_err(err)?
            .map_err(|e| err(format!("the WAN emulator did not take the new rules: {e}")))?;
    }
    // The marks last: packets reach the emulator once it knows their classes.
    let elements = if emulator_pid(&plan.prefix).is_some() {
        elements
    } else {
        Vec::new()
    };
    sys::run(
        "ip",
        &["netns", "exec", &plan.fabric, "nft", "-f", "-"],
        Some(&nft_script(&elements)),
    )
    .await
    .map_err(|e| err(format!("cannot load the WAN marks into the fabric: {e}")))?;
    reporter.advance(task, "fabric", true);
    reporter.finish(task);
    Ok(())
}

/// Starts the emulator in the fabric, waits until it answers, and routes marked packets into
/// its device.
async fn start(
    daemons: &Daemons,
    plan: &TestbedPlan,
    endpoints: Vec<Endpoint>,
    rules: Vec<PairRule>,
    log: &Path,
) -> Result<(), ProviderError> {
    let dir = runtime_dir(&plan.prefix).join("wan");
    std::fs::create_dir_all(&dir)
        .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
    let config = EmulatorConfig {
        endpoints,
        rules,
        queue_limit: enos_emulator::DEFAULT_QUEUE_LIMIT,
        seed: None,
    };
    let config_path = dir.join("emulator.json");
    let text = serde_json::to_vec_pretty(&config).map_err(err)?;
    enos_core::fsutil::write_atomic(&config_path, &text)
        .map_err(|e| err(format!("cannot write {}: {e}", config_path.display())))?;
    let socket = socket_path(&plan.prefix);
    let _ = std::fs::remove_file(&socket);
    let args: Vec<std::ffi::OsString> = vec![
        "daemon".into(),
        enos_emulator::daemon::NAME.into(),
        "--config".into(),
        config_path.into(),
        "--socket".into(),
        socket.clone().into(),
        "--pid-file".into(),
        pid_path(&plan.prefix).into(),
    ];
    daemons.spawn("WAN emulator", &args, log).await?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if emulator_pid(&plan.prefix).is_some() && socket.exists() {
            let probe = socket.clone();
            let answered = tokio::task::spawn_blocking(move || {
                enos_emulator::request(&probe, &enos_emulator::Request::Stats)
            })
            .await
            .map_err(err)?;
            if answered.is_ok() {
                break;
            }
        }
        if Instant::now() > deadline {
            return Err(err(format!(
                "the WAN emulator did not answer within {}s; last lines of {}:\n{}",
                START_TIMEOUT.as_secs(),
                log.display(),
                log_tail(log, 5)
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The device came up with the emulator (and goes with it, with its route): bring it up and
    // route marked packets into it. The rule outlives an emulator restart, so it is replaced.
    let table = ROUTE_TABLE.to_string();
    let _ = sys::ip_batch(
        Some(&plan.fabric),
        &[format!(
            "rule del pref {table} fwmark {MARK:#x} lookup {table}"
        )],
    )
    .await;
    sys::ip_batch(
        Some(&plan.fabric),
        &[
            format!("link set {DEVICE} mtu 1500 up"),
            format!("route replace default dev {DEVICE} table {table}"),
            format!("rule add pref {table} fwmark {MARK:#x} lookup {table}"),
        ],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_addresses_make_one_range() {
        let a = |d: u8| Ipv4Addr::new(198, 18, 1, d);
        assert_eq!(
            ranges(&[a(5), a(2), a(3), a(4), a(9), a(10), a(3)]),
            vec![(a(2), a(5)), (a(9), a(10))]
        );
        assert_eq!(ranges(&[]), vec![]);
    }

    #[test]
    fn the_script_replaces_the_table_and_lists_every_element() {
        let script = nft_script(&["198.18.1.2-198.18.1.101 . 198.18.2.2-198.18.2.101".to_owned()]);
        assert!(script.contains("delete table ip enos_wan\n"));
        assert!(script.contains("meta mark set 0x454e"));
        assert!(script.contains(
            "add element ip enos_wan shaped { 198.18.1.2-198.18.1.101 . 198.18.2.2-198.18.2.101 }"
        ));
        assert!(!nft_script(&[]).contains("add element"));
    }
}
