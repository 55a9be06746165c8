//! The `bench:` section's model: parameter matrices, defaults shadowed by workloads, a workload
//! file, and the JSON round trip of the state.

use enos_scenario::bench::{Action, Targets, WorkloadKind};
use enos_scenario::{Scenario, Span};
use serde_json::json;

const SITES: &str = "name: q\nsites:\n  paris: {roles: {server: 1, client: 1}}\n  \
                     rennes: {roles: {server: 1}}\n";

fn parse(bench: &str) -> Scenario {
    let text = format!("{SITES}{bench}");
    enos_scenario::parse(&text, "t.yaml", crate::KINDS).unwrap_or_else(|e| panic!("{e}"))
}

fn span(text: &str) -> Span {
    text.parse().unwrap()
}

#[test]
fn two_lists_expand_to_their_product_with_labels_in_order() {
    let s = parse(
        "bench:\n  workloads:\n    - name: load\n      type: http\n      from: client\n      \
         targets: \"http://{{ target }}:5000/\"\n      duration: [30s, 60s]\n      \
         args: {connections: [1, 2, 4], path: /v3}\n",
    );
    let w = &s.bench.workloads[0];
    assert_eq!(w.kind, WorkloadKind::Http);
    assert_eq!(
        w.targets,
        Some(Targets::Urls(vec!["http://{{ target }}:5000/".to_owned()]))
    );
    let points = w.points();
    assert_eq!(points.len(), 6);
    assert_eq!(w.point_count(), 6);
    assert_eq!(s.bench.points(), 6);
    let labels: Vec<Vec<(String, String)>> = points
        .iter()
        .map(|p| p.labels.clone().into_iter().collect())
        .collect();
    let l = |d: &str, c: &str| {
        vec![
            ("duration".to_owned(), d.to_owned()),
            ("connections".to_owned(), c.to_owned()),
        ]
    };
    assert_eq!(
        labels,
        [
            l("30s", "1"),
            l("30s", "2"),
            l("30s", "4"),
            l("1m", "1"),
            l("1m", "2"),
            l("1m", "4")
        ]
    );
    // The fixed arguments are in every point, not in its labels.
    for p in &points {
        assert_eq!(p.args["path"], json!("/v3"));
    }
    assert_eq!(points[4].duration, Some(span("60s")));
    assert_eq!(points[4].args["connections"], json!(2));
    assert_eq!(points[4].count, None);
}

#[test]
fn a_one_value_workload_has_one_point_without_labels() {
    let s = parse(
        "bench:\n  workloads:\n    - {name: rtt, type: ping, from: paris, targets: rennes, \
         count: 10}\n",
    );
    let points = s.bench.workloads[0].points();
    assert_eq!(points.len(), 1);
    assert!(points[0].labels.is_empty());
    assert_eq!(points[0].count, Some(10));
    assert_eq!(s.bench.workloads[0].repeat, 1);
    assert_eq!(s.bench.workloads[0].warmup, Span::default());
}

#[test]
fn workload_values_shadow_the_defaults() {
    let s = parse(
        "bench:\n  duration: 30s\n  warmup: 5s\n  repeat: 3\n  args: {rate: [10, 20], timeout: \
         2s, interval: 1s}\n  workloads:\n    - {name: a, type: http, from: client, targets: \
         server}\n    - {name: b, type: http, from: client, targets: server, count: 100, \
         repeat: 1, args: {connections: 8, timeout: 9s}}\n    - {name: c, type: ping, from: \
         client, targets: server, warmup: 0s}\n",
    );
    let [a, b, c] = s.bench.workloads.as_slice() else {
        panic!("{:?}", s.bench)
    };
    // Defaults apply where the workload says nothing, and only the arguments its kind takes.
    assert_eq!(a.duration, [span("30s")]);
    assert_eq!((a.warmup, a.repeat), (span("5s"), 3));
    assert_eq!(a.args["rate"], [json!(10), json!(20)]);
    assert_eq!(a.args["timeout"], [json!("2s")]);
    assert!(!a.args.contains_key("interval"));
    assert_eq!(a.point_count(), 2);
    // `count` shadows the default `duration`, `connections` the default `rate`.
    assert!(b.duration.is_empty());
    assert_eq!(b.count, [100]);
    assert_eq!(b.repeat, 1);
    assert!(!b.args.contains_key("rate"));
    assert_eq!(b.args["connections"], [json!(8)]);
    assert_eq!(b.args["timeout"], [json!("9s")]);
    assert_eq!(b.point_count(), 1);
    assert_eq!(c.warmup, Span::default());
    assert_eq!(c.args.keys().collect::<Vec<_>>(), ["interval"]);
}

#[test]
fn events_are_read_in_order() {
    let s = parse(
        "bench:\n  workloads:\n    - name: rtt\n      type: ping\n      from: paris\n      \
         targets: rennes\n      duration: 2m\n      events:\n        - {at: 10s, set: \
         \"paris<->rennes delay=50ms\"}\n        - {at: 20s, partition: rennes}\n        - \
         {at: 30s, heal: rennes}\n        - {at: 40s, kill: keystone, on: server}\n        - \
         {at: 50s, cut: rennes-server-1}\n",
    );
    let events = &s.bench.workloads[0].events;
    assert_eq!(events.len(), 5);
    assert_eq!(events[0].at, span("10s"));
    assert_eq!(
        events[0].action,
        Action::Set("paris<->rennes delay=50ms".to_owned())
    );
    assert_eq!(events[1].action, Action::Partition("rennes".to_owned()));
    assert!(
        matches!(&events[3].action, Action::Kill { service, on } if service == "keystone" && on.text == "server")
    );
    assert_eq!(events[4].action, Action::Cut("rennes-server-1".to_owned()));
}

#[test]
fn a_workload_file_next_to_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rally")).unwrap();
    std::fs::write(dir.path().join("rally/tokens.json"), "{}").unwrap();
    std::fs::write(
        dir.path().join("workloads.yaml"),
        "repeat: 2\nworkloads:\n  - name: tokens\n    type: rally\n    from: client\n    \
         args:\n      task: rally/tokens.json\n      args: {concurrency: [1, 2, 4], times: \
         [100]}\n",
    )
    .unwrap();
    let scenario = dir.path().join("s.yaml");
    std::fs::write(&scenario, format!("{SITES}bench: workloads.yaml\n")).unwrap();
    let s = enos_scenario::load(&scenario, crate::KINDS).unwrap_or_else(|e| panic!("{e}"));
    let w = &s.bench.workloads[0];
    assert_eq!((w.kind, w.repeat), (WorkloadKind::Rally, 2));
    assert_eq!(w.args["task"], [json!("rally/tokens.json")]);
    // EnOS semantics: concurrency [1, 2, 4] × times [100] gives 3 points.
    let points = w.points();
    assert_eq!(points.len(), 3);
    let concurrency: Vec<_> = points
        .iter()
        .map(|p| p.labels["concurrency"].clone())
        .collect();
    assert_eq!(concurrency, ["1", "2", "4"]);
    assert!(points.iter().all(|p| p.task_args["times"] == json!(100)));
    assert!(points.iter().all(|p| !p.labels.contains_key("times")));
    // The file's own errors are located in it.
    std::fs::write(
        dir.path().join("workloads.yaml"),
        "workloads:\n  - {name: tokens, type: rally, from: lyon, args: {task: none.json}}\n",
    )
    .unwrap();
    let error = enos_scenario::load(&scenario, crate::KINDS).unwrap_err();
    let places: Vec<_> = error
        .diagnostics()
        .iter()
        .map(|d| {
            (
                d.file.rsplit('/').next().unwrap().to_owned(),
                d.line,
                d.path.clone(),
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            ("s.yaml".to_owned(), 5, "bench".to_owned()),
            (
                "workloads.yaml".to_owned(),
                2,
                "workloads[0].from".to_owned()
            ),
            (
                "workloads.yaml".to_owned(),
                2,
                "workloads[0].args.task".to_owned()
            ),
        ]
    );
}

#[test]
fn the_section_round_trips_through_json_and_old_states_read() {
    let s = parse(
        "bench:\n  workloads:\n    - {name: bw, type: iperf3, from: paris, targets: rennes, \
         duration: [10s, 20s], args: {parallel: [1, 4]}}\n",
    );
    let json = serde_json::to_value(&s).unwrap();
    let back: Scenario = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, s);
    let mut old = json;
    old.as_object_mut().unwrap().remove("bench");
    let old: Scenario = serde_json::from_value(old).unwrap();
    assert!(old.bench.workloads.is_empty());
    assert_eq!(s.bench.points(), 4);
}

#[test]
fn a_wan_axis_varies_slowest_and_a_rally_task_is_kept_with_the_workload() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("task.json"), "{\"Dummy.dummy\": []}\n").unwrap();
    let text = format!(
        "{SITES}bench:\n  wan: \"paris<->rennes delay=5ms\"\n  workloads:\n    - name: auth\n      \
         type: rally\n      from: client\n      targets: server\n      \
         wan: [\"paris<->rennes delay=5ms\", \"paris->rennes delay=50ms; rennes->paris loss=1%\"]\n      \
         args: {{task: task.json, args: {{times: [10, 20]}}}}\n    \
         - {{name: rtt, type: ping, from: paris, targets: rennes, count: 10}}\n"
    );
    let file = dir.path().join("s.yaml");
    std::fs::write(&file, &text).unwrap();
    let s = enos_scenario::parse(&text, file.to_str().unwrap(), crate::KINDS)
        .unwrap_or_else(|e| panic!("{e}"));
    let auth = &s.bench.workloads[0];
    assert_eq!(auth.files["task.json"], "{\"Dummy.dummy\": []}\n");
    let points = auth.points();
    let picked: Vec<(Option<&str>, &serde_json::Value)> = points
        .iter()
        .map(|p| (p.wan.as_deref(), &p.task_args["times"]))
        .collect();
    let (near, far) = (
        "paris<->rennes delay=5ms",
        "paris->rennes delay=50ms; rennes->paris loss=1%",
    );
    assert_eq!(
        picked,
        [
            (Some(near), &json!(10)),
            (Some(near), &json!(20)),
            (Some(far), &json!(10)),
            (Some(far), &json!(20)),
        ]
    );
    assert_eq!(points[2].labels["wan"], far);
    // The default applies where a workload says nothing.
    assert_eq!(s.bench.workloads[1].points()[0].wan.as_deref(), Some(near));
}
