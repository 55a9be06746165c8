//! WAN emulation on the local testbed: tc netem where the kernel has it, otherwise the project's
//! userspace emulator.
//!
//! The emulator is one process per experiment (`enos wan-emulator`), started on the first
//! `shape_wan` and killed with the testbed. It owns a TUN device `wan0` in every host namespace.
//! A host sends traffic for a peer through `wan0` when either direction between them is shaped
//! (a `/32` route with the host's own address as source); the emulator delays, drops and paces
//! each packet by its (source, destination) pair and writes it into the destination's `wan0`.
//! Unshaped pairs keep the bridge, and SSH from this machine keeps the management link.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use enos_core::{ProviderError, Reporter};
use enos_emulator::{EmulatorConfig, Endpoint, PairRule};
use enos_wan::WanMatrix;
use tokio::task::JoinSet;

use crate::alloc::runtime_dir;
use crate::daemon::{Daemons, log_tail, running_pid};
use crate::plan::{HostSlot, TestbedPlan};
use crate::sys;

/// The TUN device the emulator gives every host.
pub const DEVICE: &str = "wan0";
/// How long the emulator gets to create its devices and answer.
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

/// The emulator's rules for `matrix`, by index of host in `plan`.
fn rules(plan: &TestbedPlan, matrix: &WanMatrix) -> Result<Vec<PairRule>, ProviderError> {
    let index: HashMap<&str, usize> = plan
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.name.as_str(), i))
        .collect();
    let find = |name: &str| {
        index.get(name).copied().ok_or_else(|| {
            err(format!(
                "the WAN matrix names {name}, not a host of this testbed"
            ))
        })
    };
    // TEMP: the smallest change for the class form of WanMatrix (its per-pair expansion);
    // this file is being rewritten elsewhere.
    matrix
        .pairs()
        .map(|p| {
            Ok(PairRule {
                src: find(p.src)?,
                dst: find(p.dst)?,
                delay: p.shape.delay.0,
                jitter: p.shape.jitter.0,
                // The emulator counts 0 as unlimited; 10gbit is EnOS's "unshaped" rate.
                rate_bps: if p.shape.rate >= enos_scenario::DEFAULT_RATE {
                    0
                } else {
                    p.shape.rate.0
                },
                loss: p.shape.loss.fraction(),
            })
        })
        .collect()
}

/// For each host, the peers it reaches through the emulator: those shaped in either direction.
fn routed_peers(plan: &TestbedPlan, rules: &[PairRule]) -> Vec<BTreeSet<Ipv4Addr>> {
    let mut peers = vec![BTreeSet::new(); plan.hosts.len()];
    for rule in rules {
        peers[rule.src].insert(plan.hosts[rule.dst].address);
        peers[rule.dst].insert(plan.hosts[rule.src].address);
    }
    peers
}

/// Shapes the local testbed's traffic as `matrix` asks, through the userspace emulator.
pub async fn shape(
    daemons: &Daemons,
    plan: &TestbedPlan,
    matrix: &WanMatrix,
    log: &Path,
    reporter: &dyn Reporter,
) -> Result<(), ProviderError> {
    let rules = rules(plan, matrix)?;
    let socket = socket_path(&plan.prefix);
    if emulator_pid(&plan.prefix).is_none() {
        if rules.is_empty() {
            return Ok(());
        }
        start(daemons, plan, &rules, log).await?;
        configure_devices(plan).await?;
    } else {
        let request = enos_emulator::Request::SetRules(rules.clone());
        let socket = socket.clone();
        tokio::task::spawn_blocking(move || enos_emulator::request(&socket, &request))
            .await
            .map_err(err)?
            .map_err(|e| err(format!("the WAN emulator did not take the new rules: {e}")))?;
    }
    let task = reporter.start("routing through the emulator", plan.hosts.len() as u64);
    let peers = routed_peers(plan, &rules);
    let mut set = JoinSet::new();
    for (slot, wanted) in plan.hosts.iter().cloned().zip(peers) {
        set.spawn(async move {
            let result = route(&slot, &wanted).await;
            (slot.name, result)
        });
    }
    while let Some(joined) = set.join_next().await {
        let (name, result) = joined.map_err(err)?;
        result?;
        reporter.advance(task, &name, true);
    }
    reporter.finish(task);
    Ok(())
}

/// Starts the emulator for every host of `plan` and waits until it answers.
async fn start(
    daemons: &Daemons,
    plan: &TestbedPlan,
    rules: &[PairRule],
    log: &Path,
) -> Result<(), ProviderError> {
    let dir = runtime_dir(&plan.prefix).join("wan");
    std::fs::create_dir_all(&dir)
        .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
    let config = EmulatorConfig {
        endpoints: plan
            .hosts
            .iter()
            .map(|h| Endpoint {
                netns: Path::new("/run/netns").join(&h.namespace),
                device: DEVICE.to_owned(),
                addresses: vec![h.address],
            })
            .collect(),
        rules: rules.to_vec(),
        queue_limit: 1000,
        seed: None,
    };
    let config_path = dir.join("emulator.json");
    let text = serde_json::to_vec_pretty(&config).map_err(err)?;
    enos_core::fsutil::write_atomic(&config_path, &text)
        .map_err(|e| err(format!("cannot write {}: {e}", config_path.display())))?;
    let socket = socket_path(&plan.prefix);
    let _ = std::fs::remove_file(&socket);
    let args: Vec<std::ffi::OsString> = vec![
        "wan-emulator".into(),
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
                return Ok(());
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
}

/// Brings every host's `wan0` up, without IPv6 and with loose reverse-path filtering (replies
/// may come back on `eth0` while a route is being changed).
async fn configure_devices(plan: &TestbedPlan) -> Result<(), ProviderError> {
    let mut set = JoinSet::new();
    for slot in plan.hosts.iter().cloned() {
        set.spawn(async move {
            sys::run(
                "ip",
                &[
                    "netns",
                    "exec",
                    &slot.namespace,
                    "sysctl",
                    "-qw",
                    "net.ipv6.conf.wan0.disable_ipv6=1",
                    "net.ipv4.conf.all.rp_filter=2",
                    "net.ipv4.conf.wan0.rp_filter=2",
                ],
                None,
            )
            .await?;
            sys::ip_batch(
                Some(&slot.namespace),
                &[format!("link set {DEVICE} mtu 1500 up")],
            )
            .await
        });
    }
    while let Some(joined) = set.join_next().await {
        joined.map_err(err)??;
    }
    Ok(())
}

/// Makes `slot`'s routes through `wan0` exactly `wanted`: new ones first, stale ones last.
async fn route(slot: &HostSlot, wanted: &BTreeSet<Ipv4Addr>) -> Result<(), ProviderError> {
    let listed = sys::run(
        "ip",
        &["-n", &slot.namespace, "-j", "route", "show", "dev", DEVICE],
        None,
    )
    .await
    .unwrap_or_default();
    let present: BTreeSet<Ipv4Addr> = serde_json::from_str::<Vec<serde_json::Value>>(&listed)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.get("dst")?.as_str()?.parse().ok())
        .collect();
    let mut lines: Vec<String> = wanted
        .difference(&present)
        .map(|a| format!("route replace {a}/32 dev {DEVICE} src {}", slot.address))
        .collect();
    lines.extend(
        present
            .difference(wanted)
            .map(|a| format!("route del {a}/32 dev {DEVICE}")),
    );
    sys::ip_batch(Some(&slot.namespace), &lines).await
}
