//! End-to-end tests on the local provider: real namespaces, real sshd, real ssh and Ansible.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{
    Workspace, assert_success, can_use_namespaces, processes_in, repo_root, text, traces_of,
};

fn quickstart() -> String {
    std::fs::read_to_string(repo_root().join("scenarios/quickstart.yaml")).unwrap()
}

#[test]
fn quickstart_deploy_exec_ssh_ansible_destroy() {
    let test = "quickstart_deploy_exec_ssh_ansible_destroy";
    if !can_use_namespaces(test) || !enos_testkit::require_program(test, "ansible") {
        return;
    }
    let _measuring = crate::common::measuring();
    let ws = Workspace::new(&quickstart());
    let deploy = ws.enos(&["deploy", "scenario.yaml"]);
    assert_success(&deploy, "enos deploy");
    let state = ws.state();
    assert_eq!(state["version"], 1);
    assert_eq!(state["phase"], "deployed");
    let hosts: Vec<String> = state["testbed"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        hosts,
        [
            "paris-server-1",
            "paris-client-1",
            "nantes-server-1",
            "nantes-client-1",
            "rennes-client-1",
            "rennes-client-2"
        ]
    );
    let prefix = ws.prefix();

    // Every host prints its own name.
    let exec = ws.enos(&["exec", "--", "hostname"]);
    assert_success(&exec, "enos exec -- hostname");
    let out = text(&exec.stdout);
    for host in &hosts {
        assert!(
            out.contains(&format!("── {host} (exit 0")),
            "no header for {host} in:\n{out}"
        );
        assert!(
            out.lines().any(|l| l == host),
            "{host} did not print its name:\n{out}"
        );
    }
    assert!(out.contains("6 hosts: 6 ok, 0 failed"), "{out}");

    // Selection by role and site, and a failing command on some hosts.
    let exec = ws.enos(&[
        "exec",
        "--roles",
        "client",
        "--sites",
        "rennes",
        "--",
        "test $(hostname) = rennes-client-1",
    ]);
    assert!(!exec.status.success());
    let out = text(&exec.stdout);
    assert!(out.contains("── rennes-client-1 (exit 0"), "{out}");
    assert!(out.contains("── rennes-client-2 (exit 1"), "{out}");
    assert!(out.contains("2 hosts: 1 ok, 1 failed"), "{out}");

    // Plain OpenSSH with the experiment's configuration: pinned host keys, no prompt.
    let env = ws.env_dir();
    let ssh = Command::new("ssh")
        .args([
            "-F",
            env.join("ssh_config").to_str().unwrap(),
            "nantes-client-1",
            "cat /etc/hostname",
        ])
        .output()
        .unwrap();
    assert_success(&ssh, "ssh -F ssh_config nantes-client-1");
    assert_eq!(text(&ssh.stdout).trim(), "nantes-client-1");
    let config = std::fs::read_to_string(env.join("ssh_config")).unwrap();
    assert!(config.contains("StrictHostKeyChecking yes"));
    assert!(!config.to_lowercase().contains("stricthostkeychecking no"));

    // Each host has its own file system: a file written on one is not on another, nor here.
    let marker = format!("/etc/enos-test-{prefix}");
    assert_success(
        &ws.enos(&[
            "exec",
            "--sites",
            "paris",
            "--roles",
            "server",
            "--",
            &format!("touch {marker}"),
        ]),
        "touch",
    );
    let check = ws.enos(&[
        "exec",
        "--",
        &format!("test -e {marker} && echo present || echo absent"),
    ]);
    let out = text(&check.stdout);
    assert_eq!(out.matches("present").count(), 1, "{out}");
    assert_eq!(out.matches("absent").count(), 5, "{out}");
    assert!(!std::path::Path::new(&marker).exists());

    // Inventories: printed, parsed by real Ansible, and good enough to ping every host.
    for format in ["ini", "yaml", "json"] {
        let inv = ws.enos(&["inventory", "--format", format]);
        assert_success(&inv, "enos inventory");
        assert!(text(&inv.stdout).contains("rennes-client-2"));
    }
    for file in ["hosts.ini", "hosts.yaml"] {
        let path = env.join("inventory").join(file);
        let list = Command::new("ansible-inventory")
            .args(["-i", path.to_str().unwrap(), "--list"])
            .output()
            .unwrap();
        assert_success(&list, "ansible-inventory --list");
        let parsed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
        let mut in_paris: Vec<&str> = parsed["paris"]["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        in_paris.sort();
        assert_eq!(in_paris, ["paris-client-1", "paris-server-1"], "{file}");
        let mut clients: Vec<&str> = parsed["client"]["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        clients.sort();
        assert_eq!(clients.len(), 4, "{file}");
        assert_eq!(
            parsed["_meta"]["hostvars"]["rennes-client-2"]["enos_site"], "rennes",
            "{file}"
        );
    }
    let ping = Command::new("ansible")
        .args([
            "-i",
            env.join("inventory/hosts.ini").to_str().unwrap(),
            "all",
            "-m",
            "ping",
            "-f",
            "6",
        ])
        .env("ANSIBLE_HOST_KEY_CHECKING", "True")
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .unwrap();
    assert_success(&ping, "ansible all -m ping");
    let out = text(&ping.stdout);
    assert_eq!(out.matches("SUCCESS").count(), 6, "{out}");

    // Info shows the phase, the provider's details and every host.
    let info = ws.enos(&["info"]);
    assert_success(&info, "enos info");
    let out = text(&info.stdout);
    let fields = |l: &str| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    assert!(
        out.lines().any(|l| fields(l) == ["phase", "deployed"]),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| fields(l) == ["prefix", prefix.as_str()]),
        "{out}"
    );
    let rennes = out
        .lines()
        .find(|l| l.starts_with("rennes-client-2"))
        .map(fields);
    assert_eq!(
        rennes.as_ref().map(|f| &f[1..3]),
        Some(&["rennes".to_owned(), "client".to_owned()][..]),
        "{out}"
    );

    // Destroy leaves nothing behind.
    let destroy = ws.enos(&["destroy"]);
    assert_success(&destroy, "enos destroy");
    assert_eq!(ws.state()["phase"], "destroyed");
    assert_eq!(traces_of(&prefix), Vec::<String>::new());
    assert!(
        !text(
            &Command::new("ip")
                .args(["route", "show"])
                .output()
                .unwrap()
                .stdout
        )
        .contains(&prefix)
    );
}

#[test]
fn second_deploy_changes_nothing() {
    if !can_use_namespaces("second_deploy_changes_nothing") {
        return;
    }
    let _measuring = crate::common::measuring();
    let ws = Workspace::new("name: again\nsites:\n  a: {roles: {x: 2}}\n  b: {roles: {y: 1}}\n");
    assert_success(&ws.enos(&["deploy", "scenario.yaml"]), "first deploy");
    let env = ws.env_dir();
    let before = ws.state();
    let prefix = ws.prefix();
    let pids: Vec<Vec<u32>> = ["a-x-1", "a-x-2", "b-y-1"]
        .iter()
        .map(|h| processes_in(&format!("enos-{prefix}-{h}")))
        .collect();
    assert!(pids.iter().all(|p| !p.is_empty()), "{pids:?}");
    let files = [
        "ssh_config",
        "ssh/known_hosts",
        "ssh/id_ecdsa",
        "inventory/hosts.ini",
        "inventory/hosts.json",
    ];
    let contents: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(env.join(f)).unwrap())
        .collect();

    let again = ws.enos(&["deploy", "scenario.yaml"]);
    assert_success(&again, "second deploy");
    assert!(
        text(&again.stdout).contains("already deployed"),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(
        ws.env_dir(),
        env,
        "a second deploy must reuse the experiment"
    );
    let after = ws.state();
    assert_eq!(after["testbed"], before["testbed"]);
    assert_eq!(after["provider_state"], before["provider_state"]);
    let pids_after: Vec<Vec<u32>> = ["a-x-1", "a-x-2", "b-y-1"]
        .iter()
        .map(|h| processes_in(&format!("enos-{prefix}-{h}")))
        .collect();
    assert_eq!(pids_after, pids, "hosts were restarted");
    for (file, content) in files.iter().zip(&contents) {
        assert_eq!(
            &std::fs::read(env.join(file)).unwrap(),
            content,
            "{file} changed"
        );
    }
    assert_success(&ws.enos(&["destroy"]), "destroy");
    assert_eq!(traces_of(&prefix), Vec::<String>::new());
}

#[test]
fn killed_deploy_then_destroy_leaves_nothing() {
    if !can_use_namespaces("killed_deploy_then_destroy_leaves_nothing") {
        return;
    }
    let _measuring = crate::common::measuring();
    let ws = Workspace::new("name: killed\nsites:\n  a: {roles: {x: 12}}\n  b: {roles: {y: 12}}\n");
    let mut child = Command::new(crate::common::enos_bin())
        .args(["deploy", "scenario.yaml"])
        .current_dir(ws.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some hosts exist but before the deploy is over.
    let start = Instant::now();
    let mut prefix = None;
    while start.elapsed() < Duration::from_secs(30) {
        if let Some(p) = ws.prefixes().first().cloned() {
            let made = std::fs::read_dir("/run/netns")
                .map(|d| {
                    d.flatten()
                        .filter(|e| {
                            e.file_name()
                                .to_string_lossy()
                                .starts_with(&format!("enos-{p}-"))
                        })
                        .count()
                })
                .unwrap_or(0);
            if made >= 3 {
                prefix = Some(p);
                break;
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    let prefix = prefix.expect("the deploy never got halfway");
    assert!(
        !traces_of(&prefix).is_empty(),
        "the killed deploy should have left a half-made testbed"
    );

    let destroy = ws.enos(&["destroy"]);
    assert_success(&destroy, "destroy after a killed deploy");
    assert_eq!(traces_of(&prefix), Vec::<String>::new());
}

#[test]
fn two_experiments_side_by_side() {
    if !can_use_namespaces("two_experiments_side_by_side") {
        return;
    }
    let _measuring = crate::common::measuring();
    // Same experiment name, same site and role names, two results roots: fully separate testbeds.
    let scenario = "name: twin\nsites:\n  a: {roles: {x: 1}}\n  b: {roles: {x: 1}}\n";
    let one = Workspace::new(scenario);
    let two = Workspace::new(scenario);
    assert_success(&one.enos(&["deploy", "scenario.yaml"]), "deploy one");
    assert_success(&two.enos(&["deploy", "scenario.yaml"]), "deploy two");
    let (p1, p2) = (one.prefix(), two.prefix());
    assert_ne!(p1, p2);
    let a1 = one.state()["testbed"]["hosts"][0]["address"].clone();
    let a2 = two.state()["testbed"]["hosts"][0]["address"].clone();
    assert_ne!(a1, a2, "two experiments must not share addresses");
    // Each experiment's file systems are its own.
    assert_success(
        &one.enos(&["exec", "--", "echo one > /root/which"]),
        "write one",
    );
    assert_success(
        &two.enos(&["exec", "--", "echo two > /root/which"]),
        "write two",
    );
    let read = one.enos(&["exec", "--", "cat /root/which"]);
    assert_eq!(
        text(&read.stdout).lines().filter(|l| *l == "one").count(),
        2,
        "{}",
        text(&read.stdout)
    );
    assert!(
        !text(&read.stdout).contains("two"),
        "{}",
        text(&read.stdout)
    );
    // Destroying one leaves the other working.
    assert_success(&one.enos(&["destroy"]), "destroy one");
    assert_eq!(traces_of(&p1), Vec::<String>::new());
    let still = two.enos(&["exec", "--", "cat /root/which"]);
    assert_success(&still, "exec on two after destroying one");
    assert_eq!(
        text(&still.stdout).lines().filter(|l| *l == "two").count(),
        2
    );
    assert_success(&two.enos(&["destroy"]), "destroy two");
    assert_eq!(traces_of(&p2), Vec::<String>::new());
}

/// On a terminal, a deploy shows each phase with its count of items; `-q` shows none of it.
#[test]
fn a_deploy_on_a_terminal_shows_its_phases_and_counts_and_q_silences_them() {
    let test = "a_deploy_on_a_terminal_shows_its_phases_and_counts_and_q_silences_them";
    if !can_use_namespaces(test) || !enos_testkit::require_program(test, "script") {
        return;
    }
    let ws = Workspace::new("name: tty\nsites: {a: {roles: {x: 2}}, b: {roles: {y: 1}}}\n");
    // `script` runs the command on a pseudo-terminal and copies what it writes there.
    let on_terminal = |args: &str| {
        let line = format!("{} {args}", crate::common::enos_bin());
        let out = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .current_dir(ws.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{args}: {}", text(&out.stdout));
        text(&out.stdout)
    };
    let shown = on_terminal("deploy scenario.yaml");
    for phase in [
        "making SSH keys",
        "namespaces and links",
        "starting hosts",
        "waiting for sshd",
        "connect",
    ] {
        assert!(shown.contains(phase), "no {phase:?} in:\n{shown}");
    }
    assert!(shown.contains("/3 "), "no count of 3 hosts in:\n{shown}");
    assert!(
        shown.contains("deployed 'tty': 3 hosts in 2 sites"),
        "{shown}"
    );
    assert_success(&ws.enos(&["destroy"]), "enos destroy");

    let quiet = on_terminal("-q deploy scenario.yaml");
    assert!(
        quiet.contains("deployed 'tty': 3 hosts in 2 sites"),
        "{quiet}"
    );
    assert!(!quiet.contains("starting hosts"), "{quiet}");
    assert!(!quiet.contains("connect"), "{quiet}");
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
}
