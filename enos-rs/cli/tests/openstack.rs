//! OpenStack's control plane for real on the local testbed (the `nova` stack: Debian's Nova,
//! Placement, Glance, Neutron's API, RabbitMQ, after the keystone stack; Nova's fake driver on
//! the computes), and a short version of the OpenStack-WAN experiment: Rally's Boot & Delete
//! at two delays between the control site and the computes, Keystone's API-only scenario as
//! the control.

use std::collections::BTreeMap;

use enos_analysis::compare::{RunSamples, Verdict, compare};

use crate::common::{Workspace, assert_success, can_use_namespaces, repo_root, text, traces_of};

/// The example `openstack-wan.yaml`, made short: one compute, two delays, a few iterations.
fn short_experiment() -> String {
    let source = std::fs::read_to_string(repo_root().join("scenarios/openstack-wan.yaml")).unwrap();
    let short = source
        .replace(
            "edge:    {roles: {compute: 3}}",
            "edge:    {roles: {compute: 1}}",
        )
        .replace("        - \"control<->edge delay=10ms\"\n", "")
        .replace("        - \"control<->edge delay=25ms\"\n", "")
        .replace("        - \"control<->edge delay=100ms\"\n", "")
        .replace(
            "args: {times: 20, concurrency: 1}",
            "args: {times: 8, concurrency: 1}",
        )
        .replace("task: openstack-wan/nova-wan.json", "task: nova-wan.json");
    assert_ne!(short, source);
    assert!(
        short.contains("compute: 1}") && short.contains("times: 8"),
        "{short}"
    );
    short
}

/// The totals line of a deploy's output.
fn totals(out: &str) -> String {
    out.lines()
        .find(|l| l.starts_with("deploy steps: "))
        .unwrap_or_else(|| panic!("no totals in:\n{out}"))
        .to_owned()
}

/// The durations of the passed Rally iterations of `bench/current/nova.jsonl`, by (point,
/// scenario).
fn iterations(ws: &Workspace) -> BTreeMap<(u64, String), Vec<f64>> {
    let records = std::fs::read_to_string(ws.env_dir().join("bench/current/nova.jsonl")).unwrap();
    let mut by_point: BTreeMap<(u64, String), Vec<f64>> = BTreeMap::new();
    for line in records.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        if record["rally"] != "iteration" {
            continue;
        }
        assert!(record["error"].is_null(), "{record}");
        let point = record["point"].as_u64().unwrap();
        let scenario = record["scenario"].as_str().unwrap().to_owned();
        by_point
            .entry((point, scenario))
            .or_default()
            .push(record["duration_s"].as_f64().unwrap());
    }
    by_point
}

/// The verdict of `enos compare` (its rank test, p < `ALPHA`, an effect of at least
/// `MIN_EFFECT`, and its default threshold: the median changed by more than 5 %) on the
/// iterations `b` against `a`.
fn verdict(a: &[f64], b: &[f64]) -> Verdict {
    let run = |durations: &[f64]| {
        let mut samples = RunSamples::default();
        samples.points.insert(
            ("nova".to_owned(), "{}".to_owned()),
            (
                durations.iter().map(|s| s * 1e3).collect(),
                0,
                durations.len() as u64,
            ),
        );
        samples
    };
    let comparisons = compare(&[run(a)], &[run(b)], 0.05);
    assert_eq!(comparisons.len(), 1, "{comparisons:?}");
    comparisons[0].verdict
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

#[test]
fn nova_boots_a_server_for_real_a_second_deploy_changes_nothing_and_boots_slow_down_with_the_wan() {
    let test = "nova_boots_a_server_for_real_a_second_deploy_changes_nothing_and_boots_slow_down_with_the_wan";
    if !can_use_namespaces(test) {
        return;
    }
    // It installs about 800 packages and measures: no other testbed starts beside it.
    let _loading = crate::common::loading();
    let ws = Workspace::alone(&short_experiment());
    std::fs::copy(
        repo_root().join("scenarios/openstack-wan/nova-wan.json"),
        ws.path().join("nova-wan.json"),
    )
    .unwrap();

    // The deploy ends with its sanity check: a server booted to ACTIVE, paused, unpaused and
    // deleted (the stack's last step, a `wait`, fails the deploy otherwise).
    let first = ws.enos(&["deploy", "scenario.yaml"]);
    assert_success(&first, "enos deploy");
    let first = text(&first.stdout);
    assert!(totals(&first).contains(" 0 failed"), "{first}");
    assert!(first.contains("a server boots"), "{first}");
    let computes = ws.enos(&[
        "exec",
        "--roles",
        "client",
        "--",
        ". /root/admin-openrc control >/dev/null && openstack hypervisor list -f value -c 'Hypervisor Hostname' && openstack compute service list -f value -c Binary -c State",
    ]);
    assert_success(&computes, "the cloud's hypervisors and services");
    let out = text(&computes.stdout);
    assert!(out.contains("edge-compute-1"), "{out}");
    for binary in ["nova-conductor", "nova-scheduler", "nova-compute"] {
        assert!(out.contains(&format!("{binary} up")), "{out}");
    }

    let second = ws.enos(&["deploy", "scenario.yaml"]);
    assert_success(&second, "a second enos deploy");
    let second = text(&second.stdout);
    assert!(
        totals(&second).contains(": 0 changed, ") && totals(&second).contains(" 0 failed"),
        "{second}"
    );

    // Rally at 0 and 50 ms between the control site and the compute.
    let bench = ws.enos(&["bench"]);
    assert_success(&bench, "enos bench");
    let runs = iterations(&ws);
    let boot = "NovaServers.boot_and_delete_server";
    let control = "KeystoneBasic.authenticate_user_and_validate_token";
    let at = |point: u64, scenario: &str| {
        runs.get(&(point, scenario.to_owned()))
            .unwrap_or_else(|| panic!("no iterations of {scenario} at point {point}: {runs:?}"))
            .clone()
    };
    for scenario in [boot, control, "NovaServers.pause_and_unpause_server"] {
        for point in [0, 1] {
            assert_eq!(at(point, scenario).len(), 8, "{scenario} at point {point}");
        }
    }
    let (lan, wan) = (at(0, boot), at(1, boot));
    assert_eq!(
        verdict(&lan, &wan),
        Verdict::Regression,
        "Boot & Delete: {:.2} s on the LAN, {:.2} s at 50 ms: {lan:?}, {wan:?}",
        mean(&lan),
        mean(&wan)
    );
    let (lan, wan) = (at(0, control), at(1, control));
    assert_ne!(
        verdict(&lan, &wan),
        Verdict::Regression,
        "Keystone's control: {:.3} s on the LAN, {:.3} s at 50 ms: {lan:?}, {wan:?}",
        mean(&lan),
        mean(&wan)
    );

    let prefix = ws.prefix();
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
    assert_eq!(traces_of(&prefix), Vec::<String>::new());
}
