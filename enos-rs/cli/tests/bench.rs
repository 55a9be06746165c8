//! `enos bench` on the local testbed: a parameter matrix labels every record with its point, a
//! partition event shows as lost probes from its time and recovery after the heal, and a host
//! lost mid-bench leaves the others' records complete and the run `partial`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{Workspace, assert_success, can_use_namespaces, processes_in, text};

/// Every record of workload `name` in the latest bench run of `ws`.
fn records(ws: &Workspace, name: &str) -> Vec<Value> {
    let path = ws.env_dir().join(format!("bench/current/{name}.jsonl"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `enos bench` started in `ws`, its output captured: the test acts on it while it runs.
fn spawn_bench(ws: &Workspace) -> std::process::Child {
    std::process::Command::new(crate::common::enos_bin())
        .args(["bench"])
        .current_dir(ws.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn run_json(ws: &Workspace) -> Value {
    let text = std::fs::read_to_string(ws.env_dir().join("bench/current/run.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_two_by_three_matrix_runs_six_points_each_labelled_in_its_records() {
    if !can_use_namespaces("a_two_by_three_matrix_runs_six_points_each_labelled_in_its_records") {
        return;
    }
    let ws = Workspace::new(
        "name: bench-matrix\nsites:\n  a: {roles: {x: 2}}\n  b: {roles: {y: 1}}\n\
         bench:\n  workloads:\n    - name: echo\n      type: command\n      from: x\n      \
         args: {run: [\"echo one\", \"echo two\"]}\n      duration: [1s, 2s, 3s]\n",
    );
    let out = ws.enos(&["validate", "scenario.yaml"]);
    assert_success(&out, "enos validate");
    assert!(
        text(&out.stdout).contains("1 workload (6 points)"),
        "{}",
        text(&out.stdout)
    );
    assert_success(&ws.enos(&["deploy", "scenario.yaml"]), "enos deploy");
    let out = ws.enos(&["bench"]);
    assert_success(&out, "enos bench");
    assert!(
        text(&out.stdout).contains("echo: 6 points, 6 runs, 12 records"),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).contains("bench complete"));
    let records = records(&ws, "echo");
    assert_eq!(records.len(), 12);
    let points: BTreeSet<(u64, String, String)> = records
        .iter()
        .map(|r| {
            (
                r["point"].as_u64().unwrap(),
                r["params"]["run"].as_str().unwrap().to_owned(),
                r["params"]["duration"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(points.len(), 6, "{points:?}");
    for r in &records {
        let said = r["stdout"].as_str().unwrap().trim();
        assert_eq!(format!("echo {said}"), r["params"]["run"].as_str().unwrap());
        assert_eq!(r["exit"], 0);
    }
    assert_eq!(run_json(&ws)["status"], "complete");
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
}

#[test]
fn partition_and_cut_events_lose_probes_from_their_time_until_the_heal() {
    if !can_use_namespaces("partition_and_cut_events_lose_probes_from_their_time_until_the_heal") {
        return;
    }
    let _measuring = crate::common::measuring();
    let ws = Workspace::new(
        "name: bench-partition\nsites:\n  a: {roles: {x: 1}}\n  b: {roles: {y: 1}}\n\
         network: {default_delay: 1ms}\n\
         bench:\n  workloads:\n    - name: ping\n      type: ping\n      from: a\n      \
         targets: b\n      args: {interval: 100ms}\n      duration: 6s\n      events:\n        \
         - {at: 2s, partition: b}\n        - {at: 4s, heal: b}\n        - {at: 5s, cut: b-y-1}\n",
    );
    assert_success(&ws.enos(&["deploy", "scenario.yaml"]), "enos deploy");
    let out = ws.enos(&["bench"]);
    assert_success(&out, "enos bench");
    let records = records(&ws, "ping");
    let probes: Vec<(f64, bool)> = records
        .iter()
        .filter(|r| r["kind"] == "ping")
        .map(|r| (r["at_ms"].as_f64().unwrap(), r["rtt_ms"].is_number()))
        .collect();
    assert_eq!(probes.len(), 60, "{records:?}");
    let answered = |from: f64, to: f64| {
        let window: Vec<bool> = probes
            .iter()
            .filter(|(at, _)| (from..to).contains(at))
            .map(|(_, ok)| *ok)
            .collect();
        (window.iter().filter(|ok| **ok).count(), window.len())
    };
    let (before, n) = answered(0.0, 1700.0);
    assert_eq!(before, n, "before the partition: {probes:?}");
    let (during, _) = answered(2400.0, 3700.0);
    assert_eq!(during, 0, "during the partition: {probes:?}");
    let (after, n) = answered(4600.0, 4900.0);
    assert_eq!(after, n, "after the heal: {probes:?}");
    let events: Vec<&Value> = records.iter().filter(|r| r["kind"] == "event").collect();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["event"], "partition");
    assert_eq!(events[2]["event"], "cut");
    assert!(events.iter().all(|e| e["error"].is_null()), "{events:?}");
    let (cut, _) = answered(5400.0, 6000.0);
    assert_eq!(cut, 0, "once the host is cut off: {probes:?}");
    // The WAN is back as the scenario has it.
    let applied = std::fs::read_to_string(ws.env_dir().join("wan/applied.json")).unwrap();
    assert!(!applied.contains("\"loss\": \"100%\""), "{applied}");
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
}

#[test]
fn a_host_lost_mid_bench_leaves_the_others_complete_and_the_run_partial() {
    if !can_use_namespaces("a_host_lost_mid_bench_leaves_the_others_complete_and_the_run_partial") {
        return;
    }
    let ws = Workspace::new(
        "name: bench-lost\nsites:\n  a: {roles: {x: 3}}\n  b: {roles: {y: 1}}\n\
         bench:\n  workloads:\n    - name: sleepy\n      type: command\n      from: x\n      \
         args: {run: \"sleep 2; echo done\"}\n      repeat: 3\n",
    );
    assert_success(&ws.enos(&["deploy", "scenario.yaml"]), "enos deploy");
    let child = spawn_bench(&ws);
    // During the first repetition, the host's sshd (its PID 1) and all it runs die.
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let namespace = format!("enos-{}-a-x-2", ws.prefix());
    for pid in processes_in(&namespace) {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("bench partial (lost: a-x-2)"),
        "{}",
        text(&out.stdout)
    );
    let records = records(&ws, "sleepy");
    for host in ["a-x-1", "a-x-3"] {
        let done: Vec<&Value> = records
            .iter()
            .filter(|r| r["host"] == host && r["stdout"].as_str() == Some("done\n"))
            .collect();
        assert_eq!(done.len(), 3, "{host}: {records:?}");
    }
    // The lost host's command died with it; the next repetition found it gone, and the one
    // after did not try it again.
    let lost: Vec<&Value> = records.iter().filter(|r| r["host"] == "a-x-2").collect();
    assert!(!lost.is_empty() && lost.len() < 3, "{lost:?}");
    assert!(
        lost.iter().all(|r| r["stdout"].as_str() != Some("done\n")),
        "{lost:?}"
    );
    assert!(lost.last().unwrap()["error"].is_string(), "{lost:?}");
    assert!(lost.iter().all(|r| r["repeat"] != 3), "{lost:?}");
    let run = run_json(&ws);
    assert_eq!(run["status"], "partial");
    assert_eq!(run["lost"], serde_json::json!(["a-x-2"]));
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
}

#[test]
fn http_across_sites_measures_the_wan_and_a_killed_service_from_intended_send_times() {
    if !can_use_namespaces(
        "http_at_a_fixed_rate_across_sites_measures_the_wan_from_intended_send_times",
    ) {
        return;
    }
    let _measuring = crate::common::measuring();
    let ws = Workspace::new(
        "name: bench-http\nsites:\n  a: {roles: {client: 1}}\n  b: {roles: {web: 1}}\n\
         network: {default_delay: 5ms}\n\
         deploy:\n  - name: page\n    run: mkdir -p /srv/www && echo hello > /srv/www/index.html\n    \
         creates: /srv/www/index.html\n    roles: [web]\n  - name: web\n    service:\n      \
         name: web\n      command: exec python3 -m http.server --bind {{ host.address }} 80 --directory /srv/www\n      \
         ready: {tcp: 80}\n    roles: [web]\n\
         bench:\n  workloads:\n    - name: get\n      type: http\n      from: client\n      \
         targets: web\n      args: {rate: 50, path: /index.html}\n      duration: 3s\n    \
         - name: killed\n      type: http\n      from: client\n      targets: web\n      \
         args: {rate: 50, path: /index.html, timeout: 1s}\n      duration: 3s\n      events:\n        \
         - {at: 1500ms, kill: web, on: web}\n",
    );
    assert_success(&ws.enos(&["deploy", "scenario.yaml"]), "enos deploy");
    let out = ws.enos(&["bench"]);
    assert_success(&out, "enos bench");
    let get = records(&ws, "get");
    let requests: Vec<&Value> = get.iter().filter(|r| r["http"] == "request").collect();
    // 50 requests a second for 3 s, sent at their intended times.
    assert!(
        (145..=151).contains(&requests.len()),
        "{} requests: {:?}",
        requests.len(),
        &get[..get.len().min(3)]
    );
    assert!(requests.iter().all(|r| r["status"] == 200), "{requests:?}");
    let mut latencies: Vec<f64> = requests
        .iter()
        .map(|r| r["latency_ns"].as_f64().unwrap() / 1e6)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let median = latencies[latencies.len() / 2];
    // One round trip of the WAN (2 × 5 ms) at least, and not much more for a small page.
    assert!((10.0..30.0).contains(&median), "median {median} ms");
    let summary = get.iter().find(|r| r["http"] == "summary").unwrap();
    assert_eq!(summary["params"], serde_json::json!({}));
    // A service killed at 1.5 s: requests intended before are answered, those intended well
    // after fail.
    let killed = records(&ws, "killed");
    let requests: Vec<&Value> = killed.iter().filter(|r| r["http"] == "request").collect();
    let answered = |from: f64, to: f64| {
        let window: Vec<bool> = requests
            .iter()
            .filter(|r| (from..to).contains(&(r["intended_ns"].as_f64().unwrap() / 1e6)))
            .map(|r| r["status"] == 200)
            .collect();
        (window.iter().filter(|ok| **ok).count(), window.len())
    };
    let (before, n) = answered(0.0, 1300.0);
    assert!(n > 50 && before == n, "{before}/{n}");
    let (after, n) = answered(1800.0, 3000.0);
    assert!(n > 50 && after == 0, "{after}/{n}");
    let event = killed.iter().find(|r| r["kind"] == "event").unwrap();
    assert_eq!(event["event"], "kill");
    assert!(event["error"].is_null(), "{event}");
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
}

#[test]
fn sigint_stops_a_bench_cleanly_and_says_so() {
    if !can_use_namespaces("sigint_stops_a_bench_cleanly_and_says_so") {
        return;
    }
    let ws = Workspace::new(
        "name: bench-sigint\nsites:\n  a: {roles: {x: 1}}\n  b: {roles: {y: 1}}\n\
         bench:\n  workloads:\n    - name: quick\n      type: command\n      from: x\n      \
         args: {run: \"echo quick\"}\n    - name: long\n      type: command\n      from: x\n      \
         args: {run: \"sleep 30\"}\n",
    );
    assert_success(&ws.enos(&["deploy", "scenario.yaml"]), "enos deploy");
    let child = spawn_bench(&ws);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("bench interrupted"),
        "{}",
        text(&out.stdout)
    );
    // What ran before the interruption is kept.
    let quick = records(&ws, "quick");
    assert_eq!(quick.len(), 1);
    assert_eq!(quick[0]["stdout"], "quick\n");
    let run = run_json(&ws);
    assert_eq!(run["status"], "interrupted");
    assert!(run["ended"].is_string());
    let state = ws.state();
    assert_eq!(state["phase"], "deployed");
    let last = state["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["step"], "bench", "{last}");
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
}
