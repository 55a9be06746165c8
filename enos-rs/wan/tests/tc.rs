//! The tc backend: EnOSlib's command strings byte for byte, the plan of a matrix, and the
//! scripts run for real on this kernel (rate only: it has HTB but no netem).

use std::net::IpAddr;
use std::process::Command;

use enos_scenario::{Delay, LossRate, Rate};
use enos_wan::tc::{HtbConstraint, apply_script, ingress_commands, plan, reset_script};
use enos_wan::{ClassMember, ClassShape, HostClass, LinkShape, WanHost, WanMatrix};

fn shape(delay: &str, jitter: &str, rate: &str, loss: f64) -> LinkShape {
    LinkShape {
        delay: delay.parse::<Delay>().unwrap(),
        jitter: jitter.parse::<Delay>().unwrap(),
        rate: rate.parse::<Rate>().unwrap(),
        loss: LossRate::from_percent(loss).unwrap(),
    }
}

fn constraint(target: &str, s: LinkShape) -> HtbConstraint {
    HtbConstraint {
        device: "eth0".to_owned(),
        target: target.parse().unwrap(),
        shape: s,
    }
}

// EnOSlib's tests/unit/service/emul/test_htb.py, `nc.commands(1)`.

#[test]
fn enoslib_ipv4() {
    let nc = constraint("1.1.1.2", shape("10ms", "0ms", "10gbit", 0.0));
    assert_eq!(nc.remove_commands(), ["tc qdisc del dev eth0 root || true"]);
    assert_eq!(
        nc.add_commands(),
        ["tc qdisc add dev eth0 root handle 1: htb"]
    );
    assert_eq!(
        nc.commands(1),
        [
            "tc class add dev eth0 parent 1: classid 1:2 htb rate 10gbit",
            "tc qdisc add dev eth0 parent 1:2 handle 11: netem delay 10ms",
            "tc filter add dev eth0 parent 1: protocol ip u32 match ip dst 1.1.1.2 flowid 1:2",
        ]
    );
}

#[test]
fn enoslib_ipv4_with_loss() {
    let nc = constraint("1.1.1.2", shape("10ms", "0ms", "10gbit", 0.5));
    assert_eq!(
        nc.commands(1),
        [
            "tc class add dev eth0 parent 1: classid 1:2 htb rate 10gbit",
            "tc qdisc add dev eth0 parent 1:2 handle 11: netem delay 10ms loss 0.5%",
            "tc filter add dev eth0 parent 1: protocol ip u32 match ip dst 1.1.1.2 flowid 1:2",
        ]
    );
}

#[test]
fn enoslib_ipv6() {
    let nc = constraint(
        "2001:660:4406:700:1::d",
        shape("10ms", "0ms", "10gbit", 0.0),
    );
    assert_eq!(
        nc.commands(1),
        [
            "tc class add dev eth0 parent 1: classid 1:2 htb rate 10gbit",
            "tc qdisc add dev eth0 parent 1:2 handle 11: netem delay 10ms",
            "tc filter add dev eth0 parent 1: protocol ipv6 u32 match ip6 dst 2001:660:4406:700:1::d flowid 1:2",
        ]
    );
}

#[test]
fn jitter_follows_the_delay_and_rate_alone_needs_no_netem() {
    let jittery = constraint("1.1.1.2", shape("10ms", "2ms", "100mbit", 1.0));
    assert_eq!(
        jittery.commands(0)[1],
        "tc qdisc add dev eth0 parent 1:1 handle 10: netem delay 10ms 2ms loss 1%"
    );
    let rate_only = constraint("1.1.1.2", shape("0ms", "0ms", "50mbit", 0.0));
    assert_eq!(
        rate_only.commands(0),
        [
            "tc class add dev eth0 parent 1: classid 1:1 htb rate 50mbit",
            "tc filter add dev eth0 parent 1: protocol ip u32 match ip dst 1.1.1.2 flowid 1:1",
        ]
    );
}

/// Hosts `(name, address)` of one site.
fn hosts(list: &[(&str, &str)]) -> Vec<WanHost> {
    list.iter()
        .map(|(name, address)| WanHost {
            name: (*name).to_owned(),
            site: "s".to_owned(),
            role: "r".to_owned(),
            address: address.parse::<IpAddr>().unwrap(),
        })
        .collect()
}

#[test]
fn a_matrix_gives_one_plan_per_source_numbered_per_interface() {
    let hosts = hosts(&[("a", "10.0.0.1"), ("b", "10.0.0.2"), ("c", "10.0.0.3")]);
    let m = WanMatrix::from_pairs(
        &hosts,
        [
            ("a", "b", shape("5ms", "0ms", "1gbit", 0.0)),
            ("a", "c", shape("25ms", "0ms", "100mbit", 0.0)),
            ("b", "a", shape("5ms", "0ms", "1gbit", 0.0)),
        ],
    )
    .unwrap();
    let plans = plan(&m, |_| Some("eth0".to_owned())).unwrap();
    let text: Vec<String> = plans
        .iter()
        .map(|p| {
            let d = &p.devices[0];
            format!(
                "# {}\n{}\n",
                p.host,
                d.remove
                    .iter()
                    .chain(&d.add)
                    .chain(&d.commands)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
        .collect();
    insta::assert_snapshot!("tc__matrix_plan", text.join(""));
    assert!(plan(&m, |h| (h != "b").then(|| "eth0".to_owned())).is_err());
    assert!(plan(&m, |_| Some("eth0; rm -rf /".to_owned())).is_err());
    assert!(apply_script(&plans[0], "a b").is_err());
}

#[test]
fn a_class_matrix_plans_each_host_as_its_pairs() {
    let member = |name: &str, address: &str| ClassMember {
        name: name.to_owned(),
        address: address.parse().unwrap(),
    };
    let near = shape("1ms", "0ms", "10gbit", 0.0);
    let far = shape("20ms", "1ms", "100mbit", 0.5);
    // Two classes of two hosts: 1 ms inside the first, 20 ms from the first to the second.
    let m = WanMatrix {
        classes: vec![
            HostClass {
                hosts: vec![member("p1", "10.0.0.1"), member("p2", "10.0.0.2")],
            },
            HostClass {
                hosts: vec![member("r1", "10.0.0.3"), member("r2", "10.0.0.4")],
            },
        ],
        shapes: vec![
            ClassShape {
                src: 0,
                dst: 0,
                shape: near,
            },
            ClassShape {
                src: 0,
                dst: 1,
                shape: far,
            },
        ],
    };
    assert_eq!(m.pair_count(), 6);
    let hosts = hosts(&[
        ("p1", "10.0.0.1"),
        ("p2", "10.0.0.2"),
        ("r1", "10.0.0.3"),
        ("r2", "10.0.0.4"),
    ]);
    let per_host = WanMatrix::from_pairs(
        &hosts,
        [
            ("p1", "p2", near),
            ("p1", "r1", far),
            ("p1", "r2", far),
            ("p2", "p1", near),
            ("p2", "r1", far),
            ("p2", "r2", far),
        ],
    )
    .unwrap();
    let device = |_: &str| Some("eth0".to_owned());
    let plans = plan(&m, device).unwrap();
    assert_eq!(plans, plan(&per_host, device).unwrap());
    assert_eq!(
        plans.iter().map(|p| p.host.as_str()).collect::<Vec<_>>(),
        ["p1", "p2"]
    );
    assert_eq!(
        plans[1].devices[0].commands,
        [
            "tc class add dev eth0 parent 1: classid 1:1 htb rate 10gbit",
            "tc qdisc add dev eth0 parent 1:1 handle 10: netem delay 1ms",
            "tc filter add dev eth0 parent 1: protocol ip u32 match ip dst 10.0.0.1 flowid 1:1",
            "tc class add dev eth0 parent 1: classid 1:2 htb rate 100mbit",
            "tc qdisc add dev eth0 parent 1:2 handle 11: netem delay 20ms 1ms loss 0.5%",
            "tc filter add dev eth0 parent 1: protocol ip u32 match ip dst 10.0.0.3 flowid 1:2",
            "tc class add dev eth0 parent 1: classid 1:3 htb rate 100mbit",
            "tc qdisc add dev eth0 parent 1:3 handle 12: netem delay 20ms 1ms loss 0.5%",
            "tc filter add dev eth0 parent 1: protocol ip u32 match ip dst 10.0.0.4 flowid 1:3",
        ]
    );
}

#[test]
fn ingress_goes_through_an_ifb() {
    let cmds = ingress_commands("eth0", "ifb0", &shape("10ms", "0ms", "1gbit", 0.0)).unwrap();
    assert_eq!(
        cmds,
        [
            "tc qdisc add dev eth0 ingress",
            "ip link add ifb0 type ifb",
            "ip link set dev ifb0 up",
            "tc filter add dev eth0 parent ffff: protocol ip u32 match u32 0 0 action mirred egress redirect dev ifb0",
            "tc qdisc add dev ifb0 root netem delay 10ms rate 1gbit",
        ]
    );
}

/// A namespace with a veth pair inside, removed on drop.
struct Netns(String);

impl Netns {
    /// The namespace of `test`, or `None` when it cannot run here (see `enos_testkit`).
    fn new(test: &str) -> Option<Self> {
        if !enos_testkit::require_root(test)
            || !enos_testkit::require_program(test, "ip")
            || !enos_testkit::require_program(test, "tc")
        {
            return None;
        }
        let name = format!("etc{}", std::process::id());
        let ns = Netns(name.clone());
        sh(&format!(
            "ip netns add {name} && ip -n {name} link add v0 type veth peer name v1 && \
             ip -n {name} link set v0 up && ip -n {name} link set v1 up"
        ));
        Some(ns)
    }

    fn run(&self, script: &str) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.0, "unshare", "--mount", "sh", "-c"])
            .arg(format!("mount -t tmpfs none /run && {script}"))
            .output()
            .unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn sh(script: &str) -> String {
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn scripts_apply_refuse_a_foreign_root_and_reset_to_the_default() {
    let Some(ns) = Netns::new("scripts_apply_refuse_a_foreign_root_and_reset_to_the_default")
    else {
        return;
    };
    let hosts = hosts(&[("a", "10.9.0.1"), ("b", "10.9.0.2"), ("c", "10.9.0.3")]);
    let m = WanMatrix::from_pairs(
        &hosts,
        [
            ("a", "b", shape("0ms", "0ms", "50mbit", 0.0)),
            ("a", "c", shape("0ms", "0ms", "20mbit", 0.0)),
        ],
    )
    .unwrap();
    let plans = plan(&m, |_| Some("v0".to_owned())).unwrap();
    let apply = apply_script(&plans[0], "exp1").unwrap();
    let reset = reset_script(&["v0".to_owned()]).unwrap();
    // The mount namespace keeps the markers of this test to itself: one shell for all steps.
    let foreign = apply_script(&plan(&m, |_| Some("v1".to_owned())).unwrap()[0], "exp1").unwrap();
    // A tree that fails halfway, as where the kernel lacks a qdisc: its second class names a
    // parent that does not exist.
    let broken = apply.replace("parent 1: classid 1:2 ", "parent 7: classid 1:2 ");
    assert_ne!(broken, apply);
    let all = format!(
        "{apply}\ntc qdisc show dev v0; echo ---; tc class show dev v0; echo ---\n\
         {apply}\necho again ok; echo ---\n\
         tc qdisc add dev v1 root handle 5: htb\n\
         ( {foreign} ) || echo \"foreign exit $?\"; tc qdisc show dev v1 root; echo ---\n\
         {reset}\n{reset}\ntc qdisc show dev v0 root; ls /run/enos-tc; echo ---\n\
         ( {broken} ) || echo \"broken exit $?\"; tc qdisc show dev v0 root; echo ---\n\
         {reset}\ntc qdisc show dev v0 root"
    );
    let out = ns.run(&all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let parts: Vec<&str> = stdout.split("---\n").collect();
    assert!(parts[0].contains("qdisc htb 1: root"), "{stdout}");
    assert!(
        parts[1].contains("class htb 1:1 root prio 0 rate 50Mbit"),
        "{stdout}"
    );
    assert!(
        parts[1].contains("class htb 1:2 root prio 0 rate 20Mbit"),
        "{stdout}"
    );
    assert!(
        parts[2].contains("again ok"),
        "applying twice works: {stdout}"
    );
    assert!(parts[3].contains("foreign exit 3"), "{stdout}");
    assert!(
        parts[3].contains("qdisc htb 5: root"),
        "left as it was: {stdout}"
    );
    assert!(
        stderr.contains("v1 has a root qdisc enos did not install"),
        "{stderr}"
    );
    assert!(
        parts[4].contains(" 0: root"),
        "back to the default: {stdout}"
    );
    assert!(!parts[4].contains("htb"), "{stdout}");
    assert!(parts[5].contains("broken exit"), "{stdout}");
    assert!(
        parts[5].contains("qdisc htb 1: root"),
        "half a tree: {stdout}"
    );
    assert!(
        parts[6].contains(" 0: root") && !parts[6].contains("htb"),
        "a reset removes half a tree: {stdout}"
    );
}
