//! The static provider end to end, on machines the local provider did not make: a bare network
//! namespace per host with its own sshd, a non-root login with passwordless sudo, host keys the
//! test generated, and a gateway whose sshd serves as a jump host (see `common::machines`).

use std::process::Command;

use crate::common::machines::Machines;
use crate::common::{Workspace, assert_success, can_use_namespaces, text};

/// A static scenario over `machines`' hosts: site `a` holds the first, `b` the second; `extra`
/// goes into each host's mapping, `options` beside `hosts:`.
fn scenario(machines: &Machines, name: &str, extra: &str, options: &str) -> String {
    let host = |i: usize, site: &str, role: &str| {
        format!(
            "      - {{address: {}, site: {site}, roles: [{role}], user: {}, identity: {}{extra}}}\n",
            machines.hosts[i].address,
            machines.user,
            machines.identity.display()
        )
    };
    format!(
        "name: {name}\nprovider:\n  static:\n{options}    hosts:\n{}{}\
         network:\n  constraints:\n    - {{src: a, dst: b, rate: 20mbit, symmetric: true}}\n\
         deploy:\n  - name: a file only root may write\n    \
           run: id -u > /etc/enos-{px}-marker\n    creates: /etc/enos-{px}-marker\n",
        host(0, "a", "server"),
        host(1, "b", "client"),
        px = machines.prefix,
    )
}

/// The root qdisc of `namespace`'s eth0, as tc shows it.
fn root_qdisc(namespace: &str) -> String {
    let out = Command::new("ip")
        .args([
            "netns", "exec", namespace, "tc", "qdisc", "show", "dev", "eth0", "root",
        ])
        .output()
        .unwrap();
    text(&out.stdout)
}

#[test]
fn static_hosts_deploy_shape_exec_and_destroy_through_sudo_and_refuse_a_swapped_key() {
    let test = "static_hosts_deploy_shape_exec_and_destroy_through_sudo_and_refuse_a_swapped_key";
    if !can_use_namespaces(test) || !enos_testkit::require_program(test, "sudo") {
        return;
    }
    let _measuring = crate::common::measuring();
    let mut machines = Machines::start(2);
    machines.set_forwarding(true);
    let marker = format!("/etc/enos-{}-marker", machines.prefix);
    let _cleanup = RemoveOnDrop(marker.clone());
    // A web server on the first host, and an http workload from the second: the load
    // generator (enos itself) is copied to it, as to any host that does not share our files.
    // These hosts share the machine's files: the service has a name of its own, and its log
    // goes when the test ends.
    let service = format!("web-{}", machines.prefix);
    let _log = RemoveOnDrop(format!("{}/{service}.log", enos_deploy_log_dir()));
    let web = format!(
        "  - name: web\n    service:\n      name: {service}\n      \
         command: exec python3 -m http.server --bind {{{{ host.address }}}} 8000\n      \
         ready: {{tcp: 8000}}\n    roles: [server]\n\
         bench:\n  workloads:\n    - name: get\n      type: http\n      from: client\n      \
         targets: server\n      args: {{rate: 20, port: 8000}}\n      duration: 1s\n\
         metrics:\n  period: 200ms\n"
    );
    let ws = Workspace::new(&format!(
        "{}{web}",
        scenario(
            &machines,
            "static-e2e",
            "",
            "    known_hosts: known_hosts\n"
        )
    ));
    std::fs::write(ws.path().join("known_hosts"), machines.known_hosts()).unwrap();

    let out = ws.enos(&["validate", "scenario.yaml"]);
    assert_success(&out, "enos validate");
    assert!(text(&out.stdout).contains("2 sites, 2 hosts, 2 deploy steps"));

    // Deploy: every host answers, facts name each host's interface, the step runs as root
    // through sudo while the login is not root.
    let out = ws.enos(&["deploy", "scenario.yaml", "--no-validate"]);
    assert_success(&out, "enos deploy");
    assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), "0");
    let state = ws.state();
    for host in state["testbed"]["hosts"].as_array().unwrap() {
        assert_eq!(host["user"], machines.user.as_str());
        assert_eq!(host["become"], "sudo");
        assert_eq!(host["interface"], "eth0", "{host}");
    }
    let out = ws.enos(&["exec", "--", "id", "-un"]);
    assert_success(&out, "enos exec");
    assert_eq!(
        text(&out.stdout)
            .matches(&format!("\n{}\n", machines.user))
            .count(),
        2,
        "{}",
        text(&out.stdout)
    );

    let out = ws.enos(&["bench"]);
    assert_success(&out, "enos bench");
    let records = std::fs::read_to_string(ws.env_dir().join("bench/current/get.jsonl")).unwrap();
    let answered = records
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["http"] == "request" && r["status"] == 200)
        .count();
    assert_eq!(answered, 20, "{records}");
    let copies: Vec<_> = std::fs::read_dir(machines.home().join(".cache/enos"))
        .unwrap()
        .collect();
    assert_eq!(copies.len(), 1, "one copy of enos in the login's home");

    // The bench ran the metrics agents (the same copy, as root through sudo) and stopped them.
    let agents: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(ws.env_dir().join("metrics/agents.json")).unwrap(),
    )
    .unwrap();
    let dirs: Vec<String> = agents["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            assert!(h["error"].is_null(), "{h}");
            assert!(h["agent"]["samples"].as_u64().unwrap() >= 3, "{h}");
            assert_eq!(h["agent"]["energy"]["utilisation"], "machine", "{h}");
            h["dir"].as_str().unwrap().to_owned()
        })
        .collect();
    // These hosts write into the machine's /var/lib/enos: removed when the test ends.
    let _metrics = RemoveDirOnDrop(
        std::path::Path::new(&dirs[0])
            .parent()
            .and_then(std::path::Path::parent)
            .unwrap()
            .to_owned(),
    );
    // Started by hand, they run until destroy stops them; a backup meanwhile fetches them.
    assert_success(&ws.enos(&["metrics", "start"]), "enos metrics start");
    for dir in &dirs {
        assert!(
            std::path::Path::new(dir).join("agent.pid").exists(),
            "{dir}"
        );
    }
    let out = ws.enos(&["backup"]);
    assert_success(&out, "enos backup");
    let manifest = std::fs::read_to_string(ws.env_dir().join("backup/manifest.json")).unwrap();
    for dir in &dirs {
        assert!(
            manifest.contains(&format!("{dir}/system.jsonl")),
            "{manifest}"
        );
    }

    // Shaping: a rate limit with htb alone (this kernel may lack netem), through sudo, on each
    // host's eth0; iperf3 measures it.
    let out = ws.enos(&["tc", "apply", "--no-validate"]);
    assert_success(&out, "enos tc apply");
    assert!(
        text(&out.stdout).contains("with tc on eth0"),
        "{}",
        text(&out.stdout)
    );
    for host in &machines.hosts {
        assert!(
            root_qdisc(&host.namespace).contains("htb"),
            "{}",
            root_qdisc(&host.namespace)
        );
    }
    let out = ws.enos(&[
        "tc",
        "validate",
        "--rate",
        "a-server-1->b-client-1",
        "--rate-seconds",
        "3",
    ]);
    assert_success(&out, "enos tc validate --rate");
    let csv = std::fs::read_to_string(ws.env_dir().join("wan/validation.csv")).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with("a-server-1,b-client-1,"))
        .unwrap();
    let rate: f64 = row.split(',').nth(11).unwrap().parse().unwrap();
    assert!((16e6..22e6).contains(&rate), "{row}");

    // A delay needs netem: where the hosts' kernel lacks it, the host is named with the qdisc.
    let out = ws.enos(&["tc", "apply", "--no-validate", "--set", "a->b delay=5ms"]);
    if crate::wan::kernel_has_netem() {
        assert_success(&out, "enos tc apply of a delay");
    } else {
        assert!(!out.status.success());
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("a-server-1: ") && stderr.contains("its kernel lacks"),
            "{stderr}"
        );
    }

    // Static hosts are not lent for a time: `enos extend` says so, and records the refusal.
    let out = ws.enos(&["extend", "--by", "1h"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: the static provider's hosts are not lent for a time: there is nothing to extend\n"
    );
    let last = ws.state()["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["step"], "extend", "{last}");

    // Destroy: the shaping goes, the hosts stay, the results are kept.
    let out = ws.enos(&["destroy"]);
    assert_success(&out, "enos destroy");
    for host in &machines.hosts {
        assert!(
            !root_qdisc(&host.namespace).contains("htb"),
            "{}",
            root_qdisc(&host.namespace)
        );
    }
    assert_eq!(ws.state()["phase"], "destroyed");
    for dir in &dirs {
        assert!(
            !std::path::Path::new(dir).join("agent.pid").exists(),
            "{dir}"
        );
        let running = Command::new("pgrep").args(["-f", dir]).output().unwrap();
        assert!(
            running.stdout.is_empty(),
            "an agent outlived destroy: {}",
            text(&running.stdout)
        );
    }
    let control = enos_provider_static::control_dir(&ws.env_dir());
    assert!(!control.exists(), "{}", control.display());

    // Another machine answers at the second host's address: refused, nothing run on it.
    let old = machines.fingerprint(1);
    machines.swap_host_key(1);
    assert_ne!(machines.fingerprint(1), old);
    let _ = std::fs::remove_file(&marker);
    let out = ws.enos(&["deploy", "scenario.yaml", "--no-validate"]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "b-client-1: its SSH host key is not the one pinned for it (it offers {})",
            machines.fingerprint(1)
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: if a host was reinstalled"),
        "{stderr}"
    );
    assert!(!std::path::Path::new(&marker).exists());
    let _ = ws.enos(&["destroy"]);
}

#[test]
fn static_hosts_behind_a_jump_host_learn_their_keys_and_refuse_a_changed_one() {
    let test = "static_hosts_behind_a_jump_host_learn_their_keys_and_refuse_a_changed_one";
    if !can_use_namespaces(test) || !enos_testkit::require_program(test, "sudo") {
        return;
    }
    let mut machines = Machines::start(2);
    // The gateway does not route: the hosts are reachable only through its sshd.
    machines.set_forwarding(false);
    let jump = format!(
        ", jump: {{address: {}, user: {}, identity: {}}}",
        machines.gateway.address,
        machines.user,
        machines.identity.display()
    );
    let marker = format!("/etc/enos-{}-marker", machines.prefix);
    let _cleanup = RemoveOnDrop(marker.clone());
    let ws = Workspace::new(&scenario(&machines, "static-jump", &jump, ""));
    let out = ws.enos(&["deploy", "scenario.yaml", "--no-validate"]);
    assert_success(&out, "enos deploy through the jump host");
    let config = std::fs::read_to_string(ws.env_dir().join("ssh_config")).unwrap();
    assert!(config.contains("ProxyJump enos-jump-"), "{config}");
    let keys = std::fs::read_to_string(ws.env_dir().join("ssh/host-keys.json")).unwrap();
    assert!(keys.contains(&machines.fingerprint(0)), "{keys}");
    let out = ws.enos(&["exec", "--", "cat", "/proc/sys/kernel/hostname"]);
    assert_success(&out, "enos exec through the jump host");
    // Straight from here, without the gateway, nothing answers.
    let direct = Command::new("ssh")
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=2",
            "-o",
            "StrictHostKeyChecking=no",
        ])
        .arg(format!("{}@{}", machines.user, machines.hosts[0].address))
        .arg("true")
        .output()
        .unwrap();
    assert!(!direct.status.success());

    // The first host is reinstalled: its new key is refused, naming both fingerprints.
    let recorded = machines.fingerprint(0);
    machines.swap_host_key(0);
    let out = ws.enos(&["deploy", "scenario.yaml", "--no-validate"]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "a-server-1: its SSH host key is not the one pinned for it (it offers {})",
            machines.fingerprint(0)
        )),
        "{stderr}"
    );
    assert_ne!(recorded, machines.fingerprint(0));
    let out = ws.enos(&["destroy"]);
    assert_success(&out, "enos destroy after a refused key");
}

/// Removes a file when dropped, also when the test fails.
/// Removes a file when dropped, and its directory if that leaves it empty.
struct RemoveOnDrop(String);

/// A directory removed with all it holds when the test ends.
struct RemoveDirOnDrop(std::path::PathBuf);

impl Drop for RemoveDirOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        if let Some(dir) = std::path::Path::new(&self.0).parent()
            && dir.starts_with("/var/log/")
        {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Where deploy services write their logs on a host (here, the machine's own).
fn enos_deploy_log_dir() -> &'static str {
    "/var/log/enos"
}
