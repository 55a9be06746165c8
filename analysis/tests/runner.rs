//! The analysis of a made-up experiment directory holding records in the documented formats:
//! exact statistics, energy per request and RTT per site pair, tables read back by polars and
//! by pyarrow with their schemas, figures that are valid SVG, and a report that a real browser
//! opens offline with every figure and no console error.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use polars::prelude::*;
use serde_json::json;

const RUN: &str = "20261201-100000";
/// 2026-12-01T10:00:00Z.
const ORIGIN_NS: i64 = 1_796_119_200_000_000_000;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn lines(values: &[serde_json::Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

/// The scenario as given: markup and a URL, which the report must show as text.
const SCENARIO: &str = "name: web\n# a <b>bold</b> & \"quoted\" comment\nworkloads:\n  - name: load\n    \
                        url: http://10.0.2.1:80/\n";

/// An experiment with one http workload of two points (client a-c-1 to server b-s-1), a ping
/// workload with an event, agent samples (CPU and the power model) of a-c-1 over its first two
/// seconds, a Kwollect series of b-s-1 over half a second, facts of a-c-1 only, and a WAN
/// validation of three host pairs (two from site a to site b).
fn experiment(dir: &Path) {
    write(
        &dir.join("state.json"),
        &json!({"name": "web", "testbed": {"hosts": [
            {"name": "a-c-1", "site": "a", "role": "c", "address": "10.0.1.1"},
            {"name": "b-s-1", "site": "b", "role": "s", "address": "10.0.2.1"},
            {"name": "b-s-2", "site": "b", "role": "s", "address": "10.0.2.2"},
        ]}})
        .to_string(),
    );
    write(&dir.join("scenario.yaml"), SCENARIO);
    write(
        &dir.join("facts.json"),
        &json!({"version": 1, "hosts": {"a-c-1": {
            "hostname": "a-c-1", "os_id": "debian", "os_version": "13", "os_codename": "trixie",
            "arch": "x86_64", "cpus": 4, "memory_mb": 8192, "systemd": false, "interfaces": []
        }}})
        .to_string(),
    );
    // b-s-1's measured power: 200 W from 0.5 s to 1 s after the origin.
    write(
        &dir.join("metrics/kwollect/b-s-1.jsonl"),
        &lines(&[
            json!({"v": 1, "time": "2026-12-01T10:00:00.5Z", "source": "kwollect",
                   "node": "b-s-1", "metric": "wattmetre_power_watt", "watts": 200.0,
                   "labels": {}}),
            json!({"v": 1, "time": "2026-12-01T10:00:01Z", "source": "kwollect",
                   "node": "b-s-1", "metric": "wattmetre_power_watt", "watts": 200.0,
                   "labels": {}}),
        ]),
    );
    let label = |point: u32, extra: serde_json::Value| {
        let mut r = json!({"v": 1, "kind": "http", "workload": "load", "point": point,
                           "repeat": 1, "params": {"rate": point * 10 + 10}, "host": "a-c-1"});
        r.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        r
    };
    let mut http = Vec::new();
    for point in 0..2u32 {
        http.push(label(
            point,
            json!({"http": "start", "start_unix_ns": ORIGIN_NS,
                                        "url": "http://10.0.2.1:80/"}),
        ));
        // A warm-up request, left out of the statistics.
        http.push(label(
            point,
            json!({"http": "request", "intended_ns": 0, "sent_ns": 0,
                                        "latency_ns": 900_000_000, "status": 200, "error": null,
                                        "bytes": 10, "warmup": true}),
        ));
        // 100 requests 10 ms apart, latencies 1..100 ms (point 1: twice as long); the last
        // of point 0 times out.
        for i in 1..=100i64 {
            let latency = i * 1_000_000 * (i64::from(point) + 1);
            let (status, error) = if point == 0 && i == 100 {
                (json!(null), json!("timeout"))
            } else {
                (json!(200), json!(null))
            };
            http.push(label(
                point,
                json!({"http": "request", "intended_ns": i * 10_000_000,
                                            "sent_ns": i * 10_000_000 + 5, "latency_ns": latency,
                                            "status": status, "error": error, "bytes": 10,
                                            "warmup": false}),
            ));
        }
        http.push(label(point, json!({"http": "summary", "count": 100})));
    }
    write(&dir.join(format!("bench/{RUN}/load.jsonl")), &lines(&http));
    let ping = |seq: u32, rtt: serde_json::Value| {
        json!({"v": 1, "kind": "ping", "workload": "probe", "point": 0, "repeat": 1,
               "params": {}, "host": "a-c-1", "target": "b-s-1", "seq": seq,
               "at_ms": seq * 200, "rtt_ms": rtt})
    };
    write(
        &dir.join(format!("bench/{RUN}/probe.jsonl")),
        &lines(&[
            ping(0, json!(20.0)),
            ping(1, json!(null)),
            ping(2, json!(40.0)),
            json!({"v": 1, "kind": "event", "workload": "probe", "point": 0, "repeat": 1,
                   "params": {}, "event": "set", "action": "a<->b delay=20ms", "at_ms": 300.0,
                   "done_ms": 310.0, "time": "2026-12-01T10:00:00.31Z", "error": null}),
            // A record of a version this analysis does not know: skipped, counted.
            json!({"v": 7, "kind": "ping", "workload": "probe"}),
        ]),
    );
    let metrics = "var/lib/enos/q-1/metrics/a-c-1";
    write(
        &dir.join("backup/manifest.json"),
        &json!({"v": 1, "files": [
            {"host": "a-c-1", "path": format!("/{metrics}/system.jsonl"),
             "file": format!("a-c-1/{metrics}/system.jsonl"), "size": 1, "sha256": "", "mtime": "1",
             "collected_at": ""},
            {"host": "a-c-1", "path": format!("/{metrics}/energy.jsonl"),
             "file": format!("a-c-1/{metrics}/energy.jsonl"), "size": 1, "sha256": "", "mtime": "1",
             "collected_at": ""},
        ]})
        .to_string(),
    );
    let system: Vec<serde_json::Value> = (0..3)
        .map(|i| {
            json!({"v": 1, "time": format!("2026-12-01T10:00:0{i}Z"), "interval_s": 1.0,
                   "cpu": {"busy": 0.25 * f64::from(i), "user": 0.1, "system": 0.1, "iowait": 0.0},
                   "memory": {"used_bytes": 1000, "available_bytes": 9000},
                   "net": {"eth0": {"rx_bytes_per_s": 5.0, "tx_bytes_per_s": 6.0}},
                   "disk": {}, "processes": {"cpu_cores": 0.5, "rss_bytes": 100},
                   "agent": {"cpu_cores": 0.01, "rss_bytes": 50}})
        })
        .collect();
    write(
        &dir.join(format!("backup/a-c-1/{metrics}/system.jsonl")),
        &lines(&system),
    );
    let energy: Vec<serde_json::Value> = (0..3)
        .map(|i| {
            json!({"v": 1, "time": format!("2026-12-01T10:00:0{i}Z"), "interval_s": 1.0,
                   "source": "model", "zone": "host", "watts": 100.0 + f64::from(i),
                   "joules": 100.0 + f64::from(i), "total_joules": 0.0, "utilisation": 0.1})
        })
        .collect();
    write(
        &dir.join(format!("backup/a-c-1/{metrics}/energy.jsonl")),
        &lines(&energy),
    );
    write(
        &dir.join("wan/validation.json"),
        &json!({"version": 2, "rows": [
            {"src": "a-c-1", "dst": "b-s-1", "src_site": "a", "dst_site": "b",
             "asked_rtt_ms": 40.0, "median_ms": 40.3, "p99_ms": 41.0,
             "asked_loss_percent": 0.0, "loss_percent": 0.0, "verdict": "pass"},
            {"src": "a-c-1", "dst": "b-s-2", "src_site": "a", "dst_site": "b",
             "asked_rtt_ms": 40.0, "median_ms": 40.9, "p99_ms": 42.0,
             "asked_loss_percent": 0.0, "loss_percent": 0.0, "verdict": "pass"},
            {"src": "b-s-1", "dst": "a-c-1", "src_site": "b", "dst_site": "a",
             "asked_rtt_ms": 40.0, "median_ms": 40.5, "p99_ms": 41.0,
             "asked_loss_percent": 0.0, "loss_percent": 0.0, "verdict": "pass"},
        ]})
        .to_string(),
    );
}

fn read_parquet(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap()
}

#[test]
fn an_experiment_becomes_tidy_tables_and_exact_statistics() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path());
    let analysis = enos_analysis::analyze(dir.path()).unwrap();
    assert_eq!(analysis.record.skipped_records, 1);

    // Statistics per point: the warm-up left out, the timeout an error.
    let load: Vec<_> = analysis
        .summary
        .iter()
        .filter(|s| s.workload == "load")
        .collect();
    assert_eq!(load.len(), 2);
    let (p0, p1) = (load[0], load[1]);
    assert_eq!((p0.point, p0.count, p0.errors), (0, 100, 1));
    assert_eq!((p1.point, p1.count, p1.errors), (1, 100, 0));
    assert_eq!(p0.params, r#"{"rate":10}"#);
    assert!((p0.error_rate - 0.01).abs() < 1e-12);
    // Latencies 1..=100 ms: linear quantiles.
    assert!((p0.p50_ms.unwrap() - 50.5).abs() < 1e-9, "{p0:?}");
    assert!((p0.p99_ms.unwrap() - 99.01).abs() < 1e-9, "{p0:?}");
    assert_eq!(p0.max_ms, Some(100.0));
    assert!((p1.p50_ms.unwrap() - 101.0).abs() < 1e-9, "{p1:?}");
    // 100 starts over 990 ms.
    assert!(
        (p0.throughput_per_s.unwrap() - 100.0 / 0.99).abs() < 1e-6,
        "{p0:?}"
    );
    let probe = analysis
        .summary
        .iter()
        .find(|s| s.workload == "probe")
        .unwrap();
    assert_eq!((probe.count, probe.errors), (3, 1));
    assert_eq!(
        probe.throughput_per_s, None,
        "ping records have no absolute time"
    );
    assert_eq!(probe.p50_ms, Some(30.0));

    // Energy: the model's joules added up over the three samples; Kwollect's power by the
    // trapezoid rule.
    assert_eq!(analysis.energy.len(), 2);
    let e = &analysis.energy[0];
    assert_eq!(
        (e.host.as_str(), e.site.as_str(), e.source.as_str()),
        ("a-c-1", "a", "model")
    );
    assert!((e.joules - 303.0).abs() < 1e-9);
    assert!((e.seconds - 2.0).abs() < 1e-9);
    let e = &analysis.energy[1];
    assert_eq!(
        (e.host.as_str(), e.site.as_str(), e.source.as_str()),
        ("b-s-1", "b", "kwollect")
    );
    assert!((e.joules - 100.0).abs() < 1e-9);
    assert!((e.seconds - 0.5).abs() < 1e-9);

    // The tables, read back by polars.
    let out = dir.path().join("analysis");
    let requests = read_parquet(&out.join("requests.parquet"));
    assert_eq!(requests.height(), 2 * 101 + 3);
    let utc = DataType::Datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC));
    assert_eq!(requests.column("start").unwrap().dtype(), &utc);
    assert_eq!(requests.column("intended_start").unwrap().dtype(), &utc);
    assert_eq!(
        requests.column("latency_ms").unwrap().dtype(),
        &DataType::Float64
    );
    assert_eq!(requests.column("ok").unwrap().dtype(), &DataType::Boolean);
    let first_start = requests
        .column("start")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .get(1);
    assert_eq!(
        first_start,
        Some(ORIGIN_NS + 10_000_005),
        "the start is absolute, in ns"
    );
    let samples = read_parquet(&out.join("samples.parquet"));
    let names: Vec<String> = samples
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "time", "host", "site", "role", "metric", "value", "unit", "source"
        ]
    );
    let busy = samples
        .clone()
        .lazy()
        .filter(col("metric").eq(lit("cpu.busy")))
        .collect()
        .unwrap();
    assert_eq!(busy.height(), 3);
    let events = read_parquet(&out.join("events.parquet"));
    assert_eq!(events.height(), 1);
    assert_eq!(events.column("time").unwrap().dtype(), &utc);
    let wan = read_parquet(&out.join("wan.parquet"));
    assert_eq!(wan.height(), 3);
    let summary_csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(
        summary_csv.starts_with(
            "run,workload,kind,point,params,operation,site,destination_site,count,errors"
        ),
        "{summary_csv}"
    );
    // Per site pair: the URL's address and the probe's target name their sites.
    let pairs: Vec<(&str, &str, &str, u64)> = analysis
        .pairs
        .iter()
        .map(|p| {
            (
                p.summary.workload.as_str(),
                p.summary.site.as_str(),
                p.summary.destination_site.as_str(),
                p.summary.count,
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("load", "a", "b", 100),
            ("load", "a", "b", 100),
            ("probe", "a", "b", 3)
        ]
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    assert_eq!(record["v"], 3);
    assert_eq!(record["report"], "analysis/report.html");

    // And by pyarrow (from PyPI), as other tools will read them.
    let test = "an_experiment_becomes_tidy_tables_and_exact_statistics";
    let python = std::env::var("ENOS_PYARROW_PYTHON")
        .unwrap_or_else(|_| "/var/cache/enos-ci/pyarrow/bin/python".to_owned());
    if enos_testkit::require_file(
        test,
        Path::new(&python),
        "a Python with pyarrow (.ci/run makes it)",
    ) {
        let script = "import sys, pyarrow.parquet as pq\n\
                      t = pq.read_table(sys.argv[1])\n\
                      print(t.num_rows, t.schema.field('start').type, t.schema.field('ok').type)\n";
        let out = std::process::Command::new(&python)
            .args(["-c", script])
            .arg(out.join("requests.parquet"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "205 timestamp[ns, tz=UTC] bool"
        );
    }
}

#[test]
fn a_directory_that_is_not_an_experiment_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let err = enos_analysis::analyze(dir.path()).unwrap_err();
    assert!(
        err.message.contains("is not an experiment"),
        "{}",
        err.message
    );
    assert!(!dir.path().join("analysis").exists());
}

fn close(actual: Option<f64>, expected: f64) -> bool {
    actual.is_some_and(|a| (a - expected).abs() < 1e-6)
}

#[test]
fn energy_per_request_says_its_source_and_how_much_of_the_span_it_covers() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path());
    let analysis = enos_analysis::analyze(dir.path()).unwrap();

    // Per point and source, in the summary's order, sources sorted.
    let rows: Vec<(&str, u32, &str, u64, u64)> = analysis
        .energy_per_request
        .iter()
        .map(|e| {
            (
                e.workload.as_str(),
                e.point,
                e.source.as_str(),
                e.hosts,
                e.count,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("load", 0, "kwollect", 1, 100),
            ("load", 0, "model", 1, 100),
            ("load", 1, "kwollect", 1, 100),
            ("load", 1, "model", 1, 100),
            ("probe", 0, "kwollect", 1, 3),
            ("probe", 0, "model", 1, 3),
        ]
    );
    let row = |workload: &str, point: u32, source: &str| {
        analysis
            .energy_per_request
            .iter()
            .find(|e| e.workload == workload && e.point == point && e.source == source)
            .unwrap()
    };
    // Point 0 spans from its first request's start (10 ms + 5 ns) to its last one's end
    // (1 s + 5 ns + 100 ms): 1.09 s. The model's power is 100 W + 1 W/s from the origin, so
    // over [a, b] it draws 100 (b − a) + (b² − a²) / 2 joules:
    // 109 + (1.100000005² − 0.010000005²) / 2 = 109.60495000545 J, for 100 requests.
    let model = row("load", 0, "model");
    assert!(close(model.seconds, 1.09), "{model:?}");
    assert_eq!(model.coverage, Some(1.0), "{model:?}");
    assert!(close(model.joules, 109.604_950_005_45), "{model:?}");
    assert!(
        close(model.joules_per_request, 1.096_049_500_054_5),
        "{model:?}"
    );
    // Point 1's latencies are twice as long: it ends at 1.200000005 s.
    // 119 + (1.200000005² − 0.010000005²) / 2 = 119.71995000595 J.
    let model = row("load", 1, "model");
    assert!(close(model.seconds, 1.19), "{model:?}");
    assert!(close(model.joules, 119.719_950_005_95), "{model:?}");
    assert!(
        close(model.joules_per_request, 1.197_199_500_059_5),
        "{model:?}"
    );
    // Kwollect's samples cover 0.5 s of the 1.09 s: 100 J of that part only, and it says so.
    let kwollect = row("load", 0, "kwollect");
    assert!(close(kwollect.coverage, 0.5 / 1.09), "{kwollect:?}");
    assert!(close(kwollect.joules, 100.0), "{kwollect:?}");
    assert!(close(kwollect.joules_per_request, 1.0), "{kwollect:?}");
    assert!(close(row("load", 1, "kwollect").coverage, 0.5 / 1.19));
    // Ping probes carry no absolute time: no span, nothing invented.
    let probe = row("probe", 0, "model");
    assert_eq!(
        (
            probe.seconds,
            probe.coverage,
            probe.joules,
            probe.joules_per_request
        ),
        (None, None, None, None)
    );

    // Per site: the hosts' rows added up.
    let sites: Vec<(&str, &str, u64, f64, f64, f64)> = analysis
        .energy_sites
        .iter()
        .map(|s| {
            (
                s.site.as_str(),
                s.source.as_str(),
                s.hosts,
                s.joules,
                s.mean_watts,
                s.seconds,
            )
        })
        .collect();
    assert_eq!(
        sites,
        [
            ("a", "model", 1, 303.0, 151.5, 2.0),
            ("b", "kwollect", 1, 100.0, 200.0, 0.5)
        ]
    );

    // The tables, as written.
    let out = dir.path().join("analysis");
    let table = read_parquet(&out.join("energy_per_request.parquet"));
    let names: Vec<String> = table
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "run",
            "workload",
            "kind",
            "point",
            "params",
            "source",
            "hosts",
            "count",
            "seconds",
            "coverage",
            "joules",
            "joules_per_request"
        ]
    );
    assert_eq!(table.height(), 6);
    let csv = std::fs::read_to_string(out.join("energy_sites.csv")).unwrap();
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "site,source,hosts,joules,mean_watts,seconds",
            "a,model,1,303.0,151.5,2.0",
            "b,kwollect,1,100.0,200.0,0.5"
        ]
    );
}

#[test]
fn site_pairs_carry_the_rtt_asked_and_measured_between_their_sites() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path());
    let analysis = enos_analysis::analyze(dir.path()).unwrap();
    // From a to b: two host pairs measured 40.3 and 40.9 ms, median 40.6; 40 asked.
    assert_eq!(analysis.pairs.len(), 3);
    for (pair, (workload, point, p50_minus_rtt)) in analysis.pairs.iter().zip([
        ("load", 0, 50.5 - 40.6),
        ("load", 1, 101.0 - 40.6),
        ("probe", 0, 30.0 - 40.6),
    ]) {
        assert_eq!(
            (pair.summary.workload.as_str(), pair.summary.point),
            (workload, point),
            "{pair:?}"
        );
        assert_eq!(pair.asked_rtt_ms, Some(40.0), "{pair:?}");
        assert!(close(pair.measured_rtt_ms, 40.6), "{pair:?}");
        assert!(close(pair.p50_minus_rtt_ms, p50_minus_rtt), "{pair:?}");
    }

    let out = dir.path().join("analysis");
    let pairs = read_parquet(&out.join("pairs.parquet"));
    let measured = pairs.column("measured_rtt_ms").unwrap();
    assert_eq!(measured.dtype(), &DataType::Float64);
    assert!(close(measured.f64().unwrap().get(0), 40.6));
    let csv = std::fs::read_to_string(out.join("pairs.csv")).unwrap();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",max_ms,asked_rtt_ms,measured_rtt_ms,p50_minus_rtt_ms"),
        "{csv}"
    );
    // The per-point summary keeps its schema.
    let summary = read_parquet(&out.join("summary.parquet"));
    assert!(summary.column("measured_rtt_ms").is_err());

    // Without a validation of the pair the columns are null, not invented.
    std::fs::remove_file(dir.path().join("wan/validation.json")).unwrap();
    let analysis = enos_analysis::analyze(dir.path()).unwrap();
    assert!(analysis.pairs.iter().all(|p| p.asked_rtt_ms.is_none()
        && p.measured_rtt_ms.is_none()
        && p.p50_minus_rtt_ms.is_none()));
}

/// What an SVG document holds, once parsed as XML.
#[derive(Debug, Default)]
struct Svg {
    root: String,
    /// The text of each `<text>` element.
    texts: Vec<String>,
    /// The points of each `<polyline>`.
    polylines: Vec<usize>,
}

/// Parses `text` as XML (tags balanced, attributes well formed, only XML's own entities) and
/// says what it holds; panics when it is not well-formed.
fn parse_svg(text: &str) -> Svg {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut svg = Svg::default();
    let mut open: Vec<String> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("not XML at {}: {e}", reader.buffer_position()));
        let polyline = |e: &quick_xml::events::BytesStart| {
            e.try_get_attribute("points")
                .unwrap()
                .expect("a polyline has points")
                .unescape_value()
                .unwrap()
                .split_whitespace()
                .count()
        };
        match event {
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                for attribute in e.attributes() {
                    attribute.unwrap().unescape_value().unwrap();
                }
                if open.is_empty() {
                    assert!(svg.root.is_empty(), "a second root element: {name}");
                    svg.root = name.clone();
                }
                if name == "text" {
                    svg.texts.push(String::new());
                }
                if name == "polyline" {
                    svg.polylines.push(polyline(&e));
                }
                open.push(name);
            }
            Event::Empty(e) => {
                assert!(!open.is_empty(), "an element outside the root");
                for attribute in e.attributes() {
                    attribute.unwrap().unescape_value().unwrap();
                }
                if e.name().as_ref() == b"polyline" {
                    svg.polylines.push(polyline(&e));
                }
            }
            Event::End(_) => {
                open.pop().expect("an end tag without a start");
            }
            Event::Text(t) => {
                let t = t.decode().unwrap();
                if open.last().is_some_and(|n| n == "text") {
                    svg.texts.last_mut().unwrap().push_str(t.trim());
                }
            }
            Event::GeneralRef(r) => {
                let name = r.decode().unwrap();
                let resolved = match r.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_xml_entity(&name)
                        .unwrap_or_else(|| panic!("an entity XML does not know: &{name};"))
                        .to_owned(),
                };
                if open.last().is_some_and(|n| n == "text") {
                    svg.texts.last_mut().unwrap().push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty(), "unclosed elements: {open:?}");
    svg
}

const FIGURES: [&str; 7] = [
    "latency-cdf-load.svg",
    "latency-cdf-probe.svg",
    "latency-vs-rtt.svg",
    "timeline-cpu.svg",
    "timeline-latency.svg",
    "timeline-power.svg",
    "timeline-throughput.svg",
];

/// The files of a directory, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_figure_is_valid_svg_and_the_report_stands_alone() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path());
    let analysis = enos_analysis::analyze(dir.path()).unwrap();
    let out = dir.path().join("analysis");
    let figures = out.join("figures");
    assert_eq!(files(&figures), FIGURES);
    let mut named = analysis.figures.clone();
    named.sort();
    assert_eq!(
        named,
        FIGURES.map(|f| figures.join(f)).to_vec(),
        "the analysis names every figure"
    );
    let mut recorded = analysis.record.figures.clone();
    recorded.sort();
    assert_eq!(
        recorded,
        FIGURES.map(|f| format!("analysis/figures/{f}")).to_vec()
    );
    assert_eq!(analysis.report, out.join("report.html"));

    for name in FIGURES {
        let text = std::fs::read_to_string(figures.join(name)).unwrap();
        let svg = parse_svg(&text);
        assert_eq!(svg.root, "svg", "{name}");
        assert!(!svg.polylines.is_empty(), "{name} draws lines");
        // Text is drawn as text: the title and the axes' descriptions are there.
        assert!(svg.texts.len() > 5, "{name}: {:?}", svg.texts);
        assert!(
            svg.texts.iter().any(|t| t.contains("(ms)")
                || t.contains("(%)")
                || t.contains("(W)")
                || t.contains("per second")),
            "{name}: {:?}",
            svg.texts
        );
    }
    let cdf = parse_svg(&std::fs::read_to_string(figures.join("latency-cdf-load.svg")).unwrap());
    assert!(
        cdf.texts.contains(&"Latency CDF: load".to_owned()),
        "{:?}",
        cdf.texts
    );
    assert!(cdf.texts.contains(&"a → b".to_owned()), "{:?}", cdf.texts);
    // The event's action holds `<`: escaped in the SVG, and read back as it was.
    let latency =
        parse_svg(&std::fs::read_to_string(figures.join("timeline-latency.svg")).unwrap());
    assert!(
        latency.texts.contains(&"set: a<->b delay=20ms".to_owned()),
        "{:?}",
        latency.texts
    );
    for legend in ["load p50", "load p99"] {
        assert!(
            latency.texts.contains(&legend.to_owned()),
            "{:?}",
            latency.texts
        );
    }
    let power = parse_svg(&std::fs::read_to_string(figures.join("timeline-power.svg")).unwrap());
    for legend in ["a-c-1 (model)", "b-s-1 (kwollect)"] {
        assert!(
            power.texts.contains(&legend.to_owned()),
            "{:?}",
            power.texts
        );
    }

    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    // Every figure inline, in a figure with a caption.
    assert_eq!(report.matches("<figure").count(), FIGURES.len());
    assert_eq!(report.matches("<figcaption>").count(), FIGURES.len());
    assert_eq!(report.matches("<svg").count(), FIGURES.len());
    // Nothing fetched from elsewhere: no external script, style, font or image.
    let lower = report.to_lowercase();
    for attribute in ["src", "href", "xlink:href", "url("] {
        for quote in ["=\"", "='", "=", ""] {
            for scheme in ["http:", "https:", "//"] {
                let pattern = if attribute == "url(" {
                    format!("url({scheme}")
                } else {
                    format!("{attribute}{quote}{scheme}")
                };
                assert!(!lower.contains(&pattern), "the report refers to {pattern}");
            }
        }
    }
    assert!(!lower.contains("<link rel=\"stylesheet\""));
    assert!(!lower.contains("<script src"));
    assert!(!lower.contains("@import"));
    // The scenario as text, escaped; the testbed with its facts; the WAN matrix.
    assert!(
        report.contains("# a &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; comment\nworkloads:"),
        "{report}"
    );
    assert!(!report.contains("<b>bold</b>"));
    assert!(report.contains("<td>debian 13 trixie</td>"), "{report}");
    assert!(report.contains("<td class=\"n\">8192</td>"), "{report}");
    assert!(
        report.contains("<td class=\"n\">40.0 / 40.6</td>"),
        "{report}"
    );
    assert!(
        report.contains("<td class=\"n\">40.0 / 40.5</td>"),
        "{report}"
    );
    // The tables: statistics, RTT, energy per request.
    assert!(report.contains("<td class=\"n\">50.50</td>"), "{report}");
    assert!(report.contains("<td class=\"n\">9.90</td>"), "{report}");
    assert!(report.contains("<td class=\"n\">1.0960</td>"), "{report}");
    assert!(!report.contains("no data for"), "{report}");
}

#[test]
fn figures_without_data_are_not_drawn_and_the_report_says_so() {
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path());
    enos_analysis::analyze(dir.path()).unwrap();
    // Only the ping workload is left: latencies without start times, no samples, no WAN.
    for gone in ["backup", "metrics", "wan"] {
        std::fs::remove_dir_all(dir.path().join(gone)).unwrap();
    }
    std::fs::remove_file(dir.path().join(format!("bench/{RUN}/load.jsonl"))).unwrap();
    let analysis = enos_analysis::analyze(dir.path()).unwrap();
    let figures = dir.path().join("analysis/figures");
    // The earlier analysis's figures are gone with their data.
    assert_eq!(files(&figures), ["latency-cdf-probe.svg"]);
    assert_eq!(analysis.figures, [figures.join("latency-cdf-probe.svg")]);
    let report = std::fs::read_to_string(&analysis.report).unwrap();
    assert_eq!(report.matches("<figure").count(), 1);
    for missing in [
        "no data for latency against RTT",
        "no data for the latency time series",
        "no data for the throughput time series",
        "no data for the CPU time series",
        "no data for the power time series",
    ] {
        assert!(report.contains(missing), "{missing}: {report}");
    }
    assert!(report.contains("No WAN validation"), "{report}");
}

#[test]
fn a_large_run_makes_small_figures() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("state.json"),
        &json!({"testbed": {"hosts": [
            {"name": "a-c-1", "site": "a", "role": "c", "address": "10.0.1.1"},
            {"name": "b-s-1", "site": "b", "role": "s", "address": "10.0.2.1"},
        ]}})
        .to_string(),
    );
    // 30 000 requests over 3000 s: more than the CDF's 1000 quantiles, more than 1000 seconds.
    let mut records = vec![
        json!({"v": 1, "kind": "http", "workload": "long", "point": 0,
        "repeat": 1, "params": {}, "host": "a-c-1", "http": "start",
        "start_unix_ns": ORIGIN_NS, "url": "http://10.0.2.1:80/"}),
    ];
    for i in 0..30_000i64 {
        records.push(
            json!({"v": 1, "kind": "http", "workload": "long", "point": 0,
            "repeat": 1, "params": {}, "host": "a-c-1", "http": "request",
            "intended_ns": i * 100_000_000, "sent_ns": i * 100_000_000,
            "latency_ns": 1_000_000 + (i % 997) * 10_000, "status": 200, "error": null,
            "bytes": 10, "warmup": false}),
        );
    }
    // And an event every 30 s: too many to label.
    for k in 0..100 {
        let at = k * 30;
        records.push(
            json!({"v": 1, "kind": "event", "workload": "long", "point": 0,
            "repeat": 1, "params": {}, "event": "set", "action": format!("step {k}"),
            "at_ms": at * 1000, "done_ms": at * 1000,
            "time": format!("2026-12-01T10:{:02}:{:02}Z", at / 60, at % 60), "error": null}),
        );
    }
    write(
        &dir.path().join(format!("bench/{RUN}/long.jsonl")),
        &lines(&records),
    );
    let analysis = enos_analysis::analyze(dir.path()).unwrap();
    let figures = dir.path().join("analysis/figures");
    assert_eq!(
        files(&figures),
        [
            "latency-cdf-long.svg",
            "timeline-latency.svg",
            "timeline-throughput.svg"
        ]
    );
    for name in files(&figures) {
        let text = std::fs::read_to_string(figures.join(&name)).unwrap();
        assert!(text.len() < 150_000, "{name}: {} bytes", text.len());
        let svg = parse_svg(&text);
        let longest = svg.polylines.iter().max().copied().unwrap_or(0);
        assert!(
            longest <= enos_analysis::CDF_POINTS + 1,
            "{name}: a line of {longest} points"
        );
        assert!(longest > 500, "{name}: a line of {longest} points");
    }
    // 2999.9 s in buckets of 3 s: 1000 buckets of 30 requests.
    let throughput = std::fs::read_to_string(figures.join("timeline-throughput.svg")).unwrap();
    assert_eq!(parse_svg(&throughput).polylines.iter().max(), Some(&1000));
    let report = std::fs::read_to_string(&analysis.report).unwrap();
    assert!(report.contains("per 3 s bucket"), "{report}");
    assert!(
        report.contains("Grey lines: the workloads&#39; 100 timeline events (unlabelled"),
        "{report}"
    );
    assert!(!throughput.contains("step 50"));
}

fn open_in_chromium(page: &Path) -> enos_testkit::browser::BrowserView {
    enos_testkit::browser::open_in_chromium(page).unwrap()
}

/// The `<svg` elements inside each `<figure>` of a serialised DOM (each with its caption).
fn svgs_per_figure(dom: &str) -> Vec<usize> {
    enos_testkit::browser::svgs_per_figure(dom)
        .into_iter()
        .map(|(svgs, captioned)| {
            assert!(captioned, "a figure without caption");
            svgs
        })
        .collect()
}

#[test]
fn the_report_opens_in_a_headless_browser_with_every_figure_and_no_console_error() {
    let test = "the_report_opens_in_a_headless_browser_with_every_figure_and_no_console_error";
    if !enos_testkit::require_program(test, "chromium") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    experiment(dir.path());
    let analysis = enos_analysis::analyze(dir.path()).unwrap();
    assert_eq!(analysis.figures.len(), FIGURES.len());

    let view = open_in_chromium(&analysis.report);
    assert!(view.console.is_empty(), "console: {:?}", view.console);
    // Every figure written is in the page, as an SVG the browser parsed: the page's script
    // counted them once the DOM was built.
    assert_eq!(
        svgs_per_figure(&view.dom),
        vec![1; FIGURES.len()],
        "{}",
        view.dom
    );
    assert!(
        view.dom
            .contains(&format!("<body data-figures=\"{}\">", FIGURES.len())),
        "{}",
        view.dom
    );
    assert!(view.dom.contains("Latency CDF: load"));

    // The check can fail: the same page with an error in its console is caught.
    let html = std::fs::read_to_string(&analysis.report).unwrap();
    let broken = analysis.dir.join("report-with-console-error.html");
    std::fs::write(
        &broken,
        html.replace(
            "</body>",
            "<script>console.error(\"enos-report-canary\");</script></body>",
        ),
    )
    .unwrap();
    let view = open_in_chromium(&broken);
    assert!(
        view.console
            .iter()
            .any(|l| l.contains("enos-report-canary")),
        "the console error was not seen: {:?}",
        view.console
    );
}

#[test]
fn an_experiment_without_records_still_gets_its_report() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("state.json"),
        &json!({"name": "empty", "testbed": {"hosts": [{"name": "<h>"}]}}).to_string(),
    );
    let analysis = enos_analysis::analyze(dir.path()).unwrap();
    assert!(analysis.figures.is_empty());
    assert!(analysis.energy_per_request.is_empty() && analysis.energy_sites.is_empty());
    assert!(files(&dir.path().join("analysis/figures")).is_empty());
    let report = std::fs::read_to_string(&analysis.report).unwrap();
    assert!(!report.contains("<figure"));
    assert!(report.contains("<td>&lt;h&gt;</td>"), "{report}");
    for missing in [
        "No scenario.yaml",
        "no data for the latency CDF",
        "no data for the time series",
        "No energy or power samples",
    ] {
        assert!(report.contains(missing), "{missing}: {report}");
    }
}

#[test]
fn many_hosts_are_drawn_per_site_and_only_the_heaviest_lines() {
    let dir = tempfile::tempdir().unwrap();
    // Twelve hosts, each in a site of its own, with CPU and power samples; h00 pings every
    // host, h<i> i + 1 times.
    let hosts: Vec<String> = (0..12).map(|i| format!("h{i:02}")).collect();
    let testbed: Vec<serde_json::Value> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| json!({"name": h, "site": format!("s{i:02}"), "role": "r"}))
        .collect();
    write(
        &dir.path().join("state.json"),
        &json!({"testbed": {"hosts": testbed}}).to_string(),
    );
    let mut files = Vec::new();
    for host in &hosts {
        let metrics = format!("var/lib/enos/q-1/metrics/{host}");
        for kind in ["system.jsonl", "energy.jsonl"] {
            files.push(json!({"host": host, "path": format!("/{metrics}/{kind}"),
                "file": format!("{host}/{metrics}/{kind}"), "size": 1, "sha256": "",
                "mtime": "1", "collected_at": ""}));
        }
        let times = (0..3).map(|i| format!("2026-12-01T10:00:0{i}Z"));
        let system: Vec<serde_json::Value> = times
            .clone()
            .map(|time| json!({"v": 1, "time": time, "cpu": {"busy": 0.5}}))
            .collect();
        let energy: Vec<serde_json::Value> = times
            .map(|time| {
                json!({"v": 1, "time": time, "source": "model", "zone": "host",
                       "watts": 50.0, "joules": 50.0})
            })
            .collect();
        write(
            &dir.path()
                .join(format!("backup/{host}/{metrics}/system.jsonl")),
            &lines(&system),
        );
        write(
            &dir.path()
                .join(format!("backup/{host}/{metrics}/energy.jsonl")),
            &lines(&energy),
        );
    }
    write(
        &dir.path().join("backup/manifest.json"),
        &json!({"v": 1, "files": files}).to_string(),
    );
    let mut pings = Vec::new();
    for (i, target) in hosts.iter().enumerate() {
        for seq in 0..=i {
            pings.push(
                json!({"v": 1, "kind": "ping", "workload": "mesh", "point": 0,
                "repeat": 1, "params": {}, "host": "h00", "target": target, "seq": seq,
                "at_ms": seq, "rtt_ms": 1.0 + i as f64}),
            );
        }
    }
    write(
        &dir.path().join(format!("bench/{RUN}/mesh.jsonl")),
        &lines(&pings),
    );

    let analysis = enos_analysis::analyze(dir.path()).unwrap();
    let figures = dir.path().join("analysis/figures");
    let texts = |name: &str| parse_svg(&std::fs::read_to_string(figures.join(name)).unwrap()).texts;
    assert_eq!(enos_analysis::MAX_LINES, 10);
    // CPU: twelve hosts, so per site; twelve sites, so the first ten (they weigh the same).
    let cpu = texts("timeline-cpu.svg");
    assert!(cpu.contains(&"site s09".to_owned()), "{cpu:?}");
    assert!(!cpu.contains(&"site s10".to_owned()), "{cpu:?}");
    assert!(!cpu.iter().any(|t| t.starts_with("h0")), "{cpu:?}");
    let power = texts("timeline-power.svg");
    assert!(power.contains(&"s00 (model)".to_owned()), "{power:?}");
    // The CDF: the ten site pairs with the most probes, s00 → s02 … s00 → s11.
    let cdf = texts("latency-cdf-mesh.svg");
    assert!(cdf.contains(&"s00 → s11".to_owned()), "{cdf:?}");
    assert!(cdf.contains(&"s00 → s02".to_owned()), "{cdf:?}");
    assert!(!cdf.contains(&"s00 → s01".to_owned()), "{cdf:?}");
    assert!(!cdf.contains(&"s00 → s00".to_owned()), "{cdf:?}");
    let report = std::fs::read_to_string(&analysis.report).unwrap();
    assert!(
        report.contains("Only the 10 site pairs of 12 with the most data are drawn."),
        "{report}"
    );
    assert!(
        report.contains("Only the 10 sites of 12 with the most data are drawn."),
        "{report}"
    );
}

/// A Rally workload whose task runs two scenarios at two points (the OpenStack-WAN
/// experiment's shape): Boot & Delete slows down at the second point, Keystone's control does
/// not; `scale` multiplies Boot & Delete's durations.
fn rally_experiment(dir: &Path, scale: f64) {
    write(
        &dir.join("state.json"),
        &json!({"name": "openstack-wan", "testbed": {"hosts": [
            {"name": "control-client-1", "site": "control", "role": "client", "address": "10.0.1.2"},
        ]}})
        .to_string(),
    );
    write(&dir.join("scenario.yaml"), "name: openstack-wan\n");
    let mut records = Vec::new();
    for point in 0..2u32 {
        let params = json!({"wan": format!("control<->edge delay={}ms", point * 50)});
        let mut t = 1_796_119_200.0 + f64::from(point) * 1000.0;
        for (scenario, base) in [
            ("NovaServers.boot_and_delete_server", 2.0 * scale),
            ("KeystoneBasic.authenticate_user_and_validate_token", 0.5),
        ] {
            for i in 0..10u32 {
                // Boot & Delete: 2.0, 2.1, … s, and 8 s more at the second point.
                let duration = if scenario.starts_with("Nova") {
                    base + 0.1 * f64::from(i) + 8.0 * f64::from(point)
                } else {
                    base + 0.01 * f64::from(i)
                };
                let failed = scenario.starts_with("Keystone") && point == 1 && i == 9;
                records.push(json!({"v": 1, "kind": "rally", "rally": "iteration",
                    "workload": "nova", "point": point, "repeat": 1, "params": params,
                    "host": "control-client-1", "target": "control", "task": "t",
                    "scenario": scenario, "iteration": i, "timestamp": t,
                    "duration_s": duration, "idle_duration_s": 0.0,
                    "error": if failed { json!("Timeout: too slow") } else { json!(null) },
                    "atomic_s": {}}));
                t += duration;
            }
        }
        records.push(
            json!({"v": 1, "kind": "rally", "rally": "task", "workload": "nova",
            "point": point, "repeat": 1, "params": params, "host": "control-client-1",
            "target": "control", "task": "t", "exit": 0, "iterations": 20,
            "failed_iterations": 0, "files": []}),
        );
    }
    write(
        &dir.join(format!("bench/{RUN}/nova.jsonl")),
        &lines(&records),
    );
}

#[test]
fn a_rally_tasks_scenarios_get_their_own_statistics_and_comparisons() {
    let dir = tempfile::tempdir().unwrap();
    rally_experiment(dir.path(), 1.0);
    let analysis = enos_analysis::analyze(dir.path()).unwrap();

    // Four lines: two scenarios at two points, never one mean of both.
    let rows: Vec<(u32, &str, u64, u64)> = analysis
        .summary
        .iter()
        .map(|s| (s.point, s.operation.as_str(), s.count, s.errors))
        .collect();
    assert_eq!(
        rows,
        [
            (
                0,
                "KeystoneBasic.authenticate_user_and_validate_token",
                10,
                0
            ),
            (0, "NovaServers.boot_and_delete_server", 10, 0),
            (
                1,
                "KeystoneBasic.authenticate_user_and_validate_token",
                10,
                1
            ),
            (1, "NovaServers.boot_and_delete_server", 10, 0),
        ]
    );
    let boot = |point: u32| {
        analysis
            .summary
            .iter()
            .find(|s| s.point == point && s.operation.starts_with("Nova"))
            .unwrap()
    };
    // 2.0 … 2.9 s: a mean of 2.45 s; 8 s more at the second point.
    assert!(
        (boot(0).mean_ms.unwrap() - 2450.0).abs() < 1e-6,
        "{:?}",
        boot(0)
    );
    assert!(
        (boot(1).mean_ms.unwrap() - 10_450.0).abs() < 1e-6,
        "{:?}",
        boot(1)
    );
    assert!(
        (boot(0).p90_ms.unwrap() - 2810.0).abs() < 1e-6,
        "{:?}",
        boot(0)
    );
    assert_eq!(boot(0).label(), "nova/NovaServers.boot_and_delete_server");

    // The tables carry the operation.
    let out = dir.path().join("analysis");
    let requests = read_parquet(&out.join("requests.parquet"));
    let operations = requests.column("operation").unwrap().str().unwrap().clone();
    assert_eq!(
        (0..operations.len())
            .filter(|&i| operations.get(i) == Some("NovaServers.boot_and_delete_server"))
            .count(),
        20
    );
    let summary = read_parquet(&out.join("summary.parquet"));
    assert_eq!(summary.height(), 4);
    assert!(summary.column("mean_ms").is_ok());
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    assert_eq!(record["v"], 3);
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("<th>operation</th>"), "the report's table");

    // Compared with a run whose boots take twice as long: Boot & Delete regressed, Keystone
    // did not, each compared on its own.
    let slower = tempfile::tempdir().unwrap();
    rally_experiment(slower.path(), 2.0);
    let a = enos_analysis::compare::read_run(dir.path()).unwrap();
    let b = enos_analysis::compare::read_run(slower.path()).unwrap();
    let comparisons = enos_analysis::compare::compare(&[a], &[b], 0.05);
    let verdict = |workload: &str, point: u32| {
        comparisons
            .iter()
            .find(|c| {
                c.workload == workload && c.params.contains(&format!("delay={}ms", point * 50))
            })
            .unwrap_or_else(|| panic!("no {workload} at point {point}: {comparisons:?}"))
            .verdict
    };
    use enos_analysis::compare::Verdict;
    assert_eq!(
        verdict("nova/NovaServers.boot_and_delete_server", 0),
        Verdict::Regression
    );
    assert_eq!(
        verdict("nova/KeystoneBasic.authenticate_user_and_validate_token", 0),
        Verdict::Noise
    );
    assert_eq!(comparisons.len(), 4);
}
