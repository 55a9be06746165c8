//! WAN emulation end to end on the local testbed: what `enos deploy` and `enos tc` measure
//! against what the scenario asks, live changes, a partition, and nothing left after destroy.

use crate::common::{Workspace, assert_success, can_use_namespaces, repo_root, text, traces_of};

/// The rows of the latest validation.
fn validation(ws: &Workspace) -> Vec<serde_json::Value> {
    let path = ws.env_dir().join("wan/validation.json");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(report["version"], 1);
    report["rows"].as_array().unwrap().clone()
}

fn row<'a>(rows: &'a [serde_json::Value], src: &str, dst: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["src"] == src && r["dst"] == dst)
        .unwrap_or_else(|| panic!("no row {src} -> {dst}"))
}

fn number(value: &serde_json::Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

#[test]
fn three_sites_measure_as_asked_then_change_live_partition_heal_and_leave_nothing() {
    let test = "three_sites_measure_as_asked_then_change_live_partition_heal_and_leave_nothing";
    if !can_use_namespaces(test)
        || !enos_testkit::require_program(test, "fping")
        || !enos_testkit::require_program(test, "iperf3")
    {
        return;
    }
    let _measuring = crate::common::measuring();
    let scenario =
        std::fs::read_to_string(repo_root().join("scenarios/wan-three-sites.yaml")).unwrap();
    let ws = Workspace::new(&scenario);
    let deploy = ws.enos(&["deploy", "scenario.yaml"]);
    assert_success(&deploy, "enos deploy");
    let prefix = ws.prefix();
    let out = text(&deploy.stdout);
    assert!(
        out.contains("pairs"),
        "deploy prints the site table:\n{out}"
    );

    // Every ordered pair: median RTT within max(0.3 ms, 3 %) of the asked RTT.
    let rows = validation(&ws);
    assert_eq!(rows.len(), 12, "4 hosts, 12 ordered pairs");
    let asked = |a: &str, b: &str| -> f64 {
        let site = |h: &str| h.split('-').next().unwrap().to_owned();
        let mut pair = [site(a), site(b)];
        pair.sort();
        match (pair[0].as_str(), pair[1].as_str()) {
            ("paris", "rennes") => 10.0,
            ("nice", "paris") => 50.0,
            ("nice", "rennes") => 100.0,
            _ => 2.0, // inside paris: the 1 ms default each way
        }
    };
    for r in &rows {
        let (src, dst) = (r["src"].as_str().unwrap(), r["dst"].as_str().unwrap());
        let want = asked(src, dst);
        assert_eq!(number(&r["asked_rtt_ms"]), want, "{src} -> {dst}");
        let median = number(&r["median_ms"]);
        let tolerance = (want * 0.03).max(0.3);
        assert!(
            (median - want).abs() <= tolerance,
            "{src} -> {dst}: median {median} ms, asked {want} ± {tolerance}"
        );
        assert_eq!(r["verdict"], "pass", "{r}");
    }
    let info = ws.enos(&["info"]);
    assert!(
        text(&info.stdout).contains("userspace emulator (this kernel has no netem), pid"),
        "{}",
        text(&info.stdout)
    );

    // 10 % loss one way, over 1000 probes.
    let lossy = ws.enos(&[
        "tc",
        "apply",
        "--set",
        "rennes->nice loss=10%",
        "--probes",
        "1000",
        "--interval",
        "5",
    ]);
    assert_success(&lossy, "tc apply loss=10%");
    let rows = validation(&ws);
    let loss = number(&row(&rows, "rennes-server-1", "nice-server-1")["loss_percent"]);
    assert!((8.0..=12.0).contains(&loss), "loss {loss}%");
    // The delay is kept: a change keeps what it does not name.
    let median = number(&row(&rows, "rennes-server-1", "nice-server-1")["median_ms"]);
    assert!((median - 100.0).abs() <= 3.0, "median {median}");

    // 50 mbit one way, measured with iperf3.
    let rate = ws.enos(&[
        "tc",
        "apply",
        "--set",
        "paris-server-1->rennes-server-1 rate=50mbit",
        "--rate",
        "paris-server-1->rennes-server-1",
    ]);
    assert_success(&rate, "tc apply rate=50mbit");
    let rows = validation(&ws);
    let measured = number(&row(&rows, "paris-server-1", "rennes-server-1")["rate_bps"]);
    assert!(
        (measured - 50e6).abs() <= 50e6 * 0.05,
        "rate {measured} bit/s for 50mbit"
    );

    // A live change: before 10 ms, after 5 + 20 ms.
    let before = number(&row(&rows, "paris-server-2", "rennes-server-1")["median_ms"]);
    let change = ws.enos(&["tc", "apply", "--set", "paris->rennes delay=20ms"]);
    assert_success(&change, "tc apply delay=20ms");
    let rows = validation(&ws);
    let after = number(&row(&rows, "paris-server-2", "rennes-server-1")["median_ms"]);
    assert!((before - 10.0).abs() <= 0.5, "before {before}");
    assert!((after - 25.0).abs() <= 0.75, "after {after}");

    // A partition, then healed.
    let cut = ws.enos(&["tc", "apply", "--set", "paris<->nice loss=100%"]);
    assert_success(&cut, "tc apply partition");
    let rows = validation(&ws);
    for (a, b) in [
        ("paris-server-1", "nice-server-1"),
        ("nice-server-1", "paris-server-2"),
    ] {
        assert_eq!(
            number(&row(&rows, a, b)["loss_percent"]),
            100.0,
            "{a} -> {b}"
        );
    }
    // SSH still reaches every host: management traffic is never shaped.
    assert_success(&ws.enos(&["exec", "--", "true"]), "exec during a partition");
    let heal = ws.enos(&["tc", "apply", "--set", "paris<->nice loss=0%"]);
    assert_success(&heal, "tc apply heal");
    let rows = validation(&ws);
    let healed = row(&rows, "paris-server-1", "nice-server-1");
    assert_eq!(number(&healed["loss_percent"]), 0.0);
    assert!((number(&healed["median_ms"]) - 50.0).abs() <= 1.5);

    // Reset: nothing shaped; then destroy leaves nothing (emulator, TUN devices, routes).
    assert_success(&ws.enos(&["tc", "reset"]), "tc reset");
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
    assert_eq!(traces_of(&prefix), Vec::<String>::new());
}

#[test]
fn a_bad_change_is_refused_and_changes_nothing() {
    let test = "a_bad_change_is_refused_and_changes_nothing";
    if !can_use_namespaces(test) || !enos_testkit::require_program(test, "fping") {
        return;
    }
    let _measuring = crate::common::measuring();
    let ws = Workspace::new(
        "name: wan-bad-change\nsites: {a: {roles: {x: 1}}, b: {roles: {y: 1}}}\nnetwork:\n  \
         constraints: [{src: a, dst: b, delay: 3ms}]\n",
    );
    assert_success(&ws.enos(&["deploy", "scenario.yaml"]), "enos deploy");
    let applied = std::fs::read(ws.env_dir().join("wan/applied.json")).unwrap();
    let bad = ws.enos(&["tc", "apply", "--set", "a->rome delay=5ms"]);
    assert!(!bad.status.success());
    let stderr = text(&bad.stderr);
    assert!(
        stderr.starts_with("error: --set 'a->rome delay=5ms': unknown site, role or host 'rome'"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(ws.env_dir().join("wan/applied.json")).unwrap(),
        applied
    );
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
}
