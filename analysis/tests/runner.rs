//! The analysis of a made-up experiment directory holding records in the documented formats:
//! exact statistics, tables read back by polars and by pyarrow with their schemas.
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

/// An experiment with one http workload of two points (client a-c-1 to server b-s-1), a ping
/// workload with an event, agent samples of one host, and a WAN validation.
fn experiment(dir: &Path) {
    write(
        &dir.join("state.json"),
        &json!({"testbed": {"hosts": [
            {"name": "a-c-1", "site": "a", "role": "c", "address": "10.0.1.1"},
            {"name": "b-s-1", "site": "b", "role": "s", "address": "10.0.2.1"},
        ]}})
        .to_string(),
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

    // Energy: the model's joules added up over the three samples.
    assert_eq!(analysis.energy.len(), 1);
    let e = &analysis.energy[0];
    assert_eq!(
        (e.host.as_str(), e.site.as_str(), e.source.as_str()),
        ("a-c-1", "a", "model")
    );
    assert!((e.joules - 303.0).abs() < 1e-9);
    assert!((e.seconds - 2.0).abs() < 1e-9);

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
    assert_eq!(wan.height(), 1);
    let summary_csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(
        summary_csv
            .starts_with("run,workload,kind,point,params,site,destination_site,count,errors"),
        "{summary_csv}"
    );
    // Per site pair: the URL's address and the probe's target name their sites.
    let pairs: Vec<(&str, &str, &str, u64)> = analysis
        .pairs
        .iter()
        .map(|p| {
            (
                p.workload.as_str(),
                p.site.as_str(),
                p.destination_site.as_str(),
                p.count,
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
    assert_eq!(record["v"], 1);

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
