//! What an experiment's directory holds, read into rows: the bench records, the agents' samples
//! brought home by `enos backup`, Kwollect's series and the WAN validation. Plain Rust, no
//! polars: the tables module turns the rows into frames.
//!
//! Records of a version this crate does not know are skipped and counted, never guessed at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use enos_core::layout;
use serde_json::Value;

use crate::AnalysisError;

/// The record version this crate reads.
const RECORD_VERSION: u64 = 1;

/// A host's site and role.
#[derive(Debug, Clone, Default)]
pub(crate) struct Place {
    pub site: String,
    pub role: String,
}

/// One request, probe or iteration of a workload.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RequestRow {
    pub run: String,
    pub workload: String,
    pub kind: String,
    pub point: u32,
    pub repeat: u32,
    pub params: String,
    pub host: String,
    pub site: String,
    pub destination: String,
    pub destination_site: String,
    pub intended_ns: Option<i64>,
    pub start_ns: Option<i64>,
    pub latency_ms: Option<f64>,
    pub ok: bool,
    pub error: Option<String>,
    pub warmup: bool,
}

/// One value of one metric of one host at one time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SampleRow {
    pub time_ns: i64,
    pub host: String,
    pub site: String,
    pub role: String,
    pub metric: String,
    pub value: f64,
    pub unit: &'static str,
    pub source: String,
}

/// One timeline event of a workload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EventRow {
    pub run: String,
    pub workload: String,
    pub point: u32,
    pub repeat: u32,
    pub time_ns: Option<i64>,
    pub kind: String,
    pub detail: String,
    pub at_ms: Option<f64>,
    pub error: Option<String>,
}

/// One measured host pair of the latest WAN validation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WanRow {
    pub src: String,
    pub dst: String,
    pub src_site: String,
    pub dst_site: String,
    pub asked_rtt_ms: f64,
    pub median_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub asked_loss_percent: f64,
    pub loss_percent: f64,
    pub verdict: String,
}

/// A host of the testbed, as `state.json` names it, with what it said about itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TestbedHost {
    pub name: String,
    pub site: String,
    pub role: String,
    pub address: String,
    /// Its entry of `facts.json` (`os_id`, `cpus`, …), when there is one.
    pub facts: Option<Value>,
}

/// What the report shows beside the tables: the experiment's name, its scenario as given and
/// its testbed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Experiment {
    pub name: String,
    /// `scenario.yaml`, when it is there (not UTF-8 text is shown with replacement characters).
    pub scenario: Option<String>,
    pub hosts: Vec<TestbedHost>,
}

/// Everything read.
#[derive(Debug, Default)]
pub(crate) struct Inputs {
    pub experiment: Experiment,
    pub requests: Vec<RequestRow>,
    pub samples: Vec<SampleRow>,
    pub events: Vec<EventRow>,
    pub wan: Vec<WanRow>,
    /// Records skipped: of an unknown version, or that do not parse.
    pub skipped: u64,
}

fn read_json(path: &Path) -> Result<Option<Value>, AnalysisError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AnalysisError::new(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AnalysisError::new(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Each line of a JSON Lines file that parses, with the count of those that do not.
fn read_lines(path: &Path) -> Result<(Vec<Value>, u64), AnalysisError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AnalysisError::new(format!("cannot read {}: {e}", path.display())))?;
    let mut skipped = 0;
    let values = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| match serde_json::from_str::<Value>(l) {
            Ok(v) if v["v"].as_u64() == Some(RECORD_VERSION) => Some(v),
            _ => {
                skipped += 1;
                None
            }
        })
        .collect();
    Ok((values, skipped))
}

/// RFC 3339 text as Unix nanoseconds.
pub(crate) fn unix_ns(text: &str) -> Option<i64> {
    let t: jiff::Timestamp = text.parse().ok()?;
    i64::try_from(t.as_nanosecond()).ok()
}

/// A JSON value as text: a string as it is, null as nothing, anything else as JSON.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Reads the experiment in `dir`.
pub(crate) fn read(dir: &Path) -> Result<Inputs, AnalysisError> {
    let state = read_json(&dir.join(layout::STATE))?.ok_or_else(|| {
        AnalysisError::new(format!(
            "{} is not an experiment: no {}",
            dir.display(),
            layout::STATE
        ))
    })?;
    let mut places: BTreeMap<String, Place> = BTreeMap::new();
    for h in state["testbed"]["hosts"].as_array().into_iter().flatten() {
        let place = Place {
            site: text(&h["site"]),
            role: text(&h["role"]),
        };
        // By name and by address: destinations are named either way (URLs hold addresses).
        if let Some(address) = h["address"].as_str() {
            places.insert(address.to_owned(), place.clone());
        }
        if let Some(name) = h["name"].as_str() {
            places.insert(name.to_owned(), place);
        }
    }
    let mut inputs = Inputs {
        experiment: experiment(dir, &state),
        ..Inputs::default()
    };
    bench_runs(dir, &places, &mut inputs)?;
    agent_samples(dir, &places, &mut inputs)?;
    kwollect_samples(dir, &places, &mut inputs)?;
    wan_pairs(dir, &mut inputs)?;
    Ok(inputs)
}

/// The experiment's name, scenario and testbed. Only shown in the report: a scenario or facts
/// file that is missing or does not parse leaves its part out rather than fail the analysis.
fn experiment(dir: &Path, state: &Value) -> Experiment {
    let facts = read_json(&dir.join(layout::FACTS)).ok().flatten();
    let hosts = state["testbed"]["hosts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            let name = text(&h["name"]);
            TestbedHost {
                facts: facts
                    .as_ref()
                    .and_then(|f| f["hosts"].get(&name))
                    .filter(|v| v.is_object())
                    .cloned(),
                name,
                site: text(&h["site"]),
                role: text(&h["role"]),
                address: text(&h["address"]),
            }
        })
        .collect();
    Experiment {
        name: text(&state["name"]),
        scenario: std::fs::read(dir.join(layout::SCENARIO))
            .ok()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        hosts,
    }
}

/// The bench runs, oldest first.
fn bench_run_dirs(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir.join(layout::BENCH_DIR)) else {
        return Vec::new();
    };
    let mut runs: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    runs.sort();
    runs
}

fn bench_runs(
    dir: &Path,
    places: &BTreeMap<String, Place>,
    inputs: &mut Inputs,
) -> Result<(), AnalysisError> {
    for (run, run_dir) in bench_run_dirs(dir) {
        let Ok(entries) = std::fs::read_dir(&run_dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        files.sort();
        for file in files {
            let (records, skipped) = read_lines(&file)?;
            inputs.skipped += skipped;
            workload_records(&run, &records, places, inputs);
        }
    }
    Ok(())
}

/// The rows of one workload's records.
fn workload_records(
    run: &str,
    records: &[Value],
    places: &BTreeMap<String, Place>,
    inputs: &mut Inputs,
) {
    // The http generator's start line of each host (and point, and repetition): the origin of
    // its offsets and its URL.
    let mut starts: BTreeMap<(String, u64, u64), (i64, String)> = BTreeMap::new();
    for r in records {
        let host = text(&r["host"]);
        let point = r["point"].as_u64().unwrap_or(0);
        let repeat = r["repeat"].as_u64().unwrap_or(0);
        let base = RequestRow {
            run: run.to_owned(),
            workload: text(&r["workload"]),
            kind: text(&r["kind"]),
            point: point as u32,
            repeat: repeat as u32,
            params: r["params"].to_string(),
            site: places
                .get(&host)
                .map(|p| p.site.clone())
                .unwrap_or_default(),
            host: host.clone(),
            ..RequestRow::default()
        };
        match (r["kind"].as_str(), r["http"].as_str(), r["rally"].as_str()) {
            (Some("http"), Some("start"), _) => {
                let origin = r["start_unix_ns"].as_i64().unwrap_or(0);
                starts.insert((host, point, repeat), (origin, text(&r["url"])));
            }
            (Some("http"), Some("request"), _) => {
                let (origin, url) = starts
                    .get(&(host, point, repeat))
                    .cloned()
                    .unwrap_or_default();
                let status = r["status"].as_u64();
                let error = match (r["error"].as_str(), status) {
                    (Some(e), _) => Some(e.to_owned()),
                    (None, Some(s)) if s >= 400 => Some(format!("status {s}")),
                    (None, Some(_)) => None,
                    (None, None) => Some("no response".to_owned()),
                };
                inputs.requests.push(RequestRow {
                    destination_site: site_of_url(&url, places),
                    destination: url,
                    intended_ns: r["intended_ns"].as_i64().map(|n| origin + n),
                    start_ns: r["sent_ns"].as_i64().map(|n| origin + n),
                    latency_ms: r["latency_ns"].as_f64().map(|n| n / 1e6),
                    ok: error.is_none(),
                    error,
                    warmup: r["warmup"].as_bool().unwrap_or(false),
                    ..base
                });
            }
            (Some("rally"), _, Some("iteration")) => {
                let at = r["timestamp"].as_f64().map(|s| (s * 1e9) as i64);
                let error = r["error"].as_str().map(str::to_owned);
                // A Rally target is a site.
                inputs.requests.push(RequestRow {
                    destination: text(&r["target"]),
                    destination_site: text(&r["target"]),
                    intended_ns: at,
                    start_ns: at,
                    latency_ms: r["duration_s"].as_f64().map(|s| s * 1e3),
                    ok: error.is_none(),
                    error,
                    ..base
                });
            }
            (Some("ping"), _, _) if r.get("seq").is_some() => {
                let rtt = r["rtt_ms"].as_f64();
                let target = text(&r["target"]);
                inputs.requests.push(RequestRow {
                    destination_site: places
                        .get(&target)
                        .map(|p| p.site.clone())
                        .unwrap_or_default(),
                    destination: target,
                    latency_ms: rtt,
                    ok: rtt.is_some(),
                    error: rtt.is_none().then(|| "lost".to_owned()),
                    ..base
                });
            }
            (Some("event"), _, _) => inputs.events.push(EventRow {
                run: run.to_owned(),
                workload: base.workload,
                point: base.point,
                repeat: base.repeat,
                time_ns: r["time"].as_str().and_then(unix_ns),
                kind: text(&r["event"]),
                detail: text(&r["action"]),
                at_ms: r["at_ms"].as_f64(),
                error: r["error"].as_str().map(str::to_owned),
            }),
            _ => {}
        }
    }
}

/// The site of the host a URL names (by address or name); empty when it names none.
fn site_of_url(url: &str, places: &BTreeMap<String, Place>) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    places.get(host).map(|p| p.site.clone()).unwrap_or_default()
}

/// The agents' files among the backup's: `(host, kind, copy)`.
fn agent_files(dir: &Path) -> Result<Vec<(String, String, PathBuf)>, AnalysisError> {
    let Some(manifest) = read_json(&dir.join(layout::BACKUP_MANIFEST))? else {
        return Ok(Vec::new());
    };
    let backup = dir.join(layout::BACKUP_DIR);
    Ok(manifest["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let host = f["host"].as_str()?;
            let path = f["path"].as_str()?;
            let kind = ["system.jsonl", "energy.jsonl"]
                .into_iter()
                .find(|k| path.ends_with(&format!("/metrics/{host}/{k}")))?;
            Some((
                host.to_owned(),
                kind.to_owned(),
                backup.join(f["file"].as_str()?),
            ))
        })
        .collect())
}

fn agent_samples(
    dir: &Path,
    places: &BTreeMap<String, Place>,
    inputs: &mut Inputs,
) -> Result<(), AnalysisError> {
    for (host, kind, file) in agent_files(dir)? {
        let place = places.get(&host).cloned().unwrap_or_default();
        let (lines, skipped) = read_lines(&file)?;
        inputs.skipped += skipped;
        let mut push =
            |time_ns: i64, metric: String, value: f64, unit: &'static str, source: &str| {
                if value.is_finite() {
                    inputs.samples.push(SampleRow {
                        time_ns,
                        host: host.clone(),
                        site: place.site.clone(),
                        role: place.role.clone(),
                        metric,
                        value,
                        unit,
                        source: source.to_owned(),
                    });
                }
            };
        for l in &lines {
            let Some(time_ns) = l["time"].as_str().and_then(unix_ns) else {
                continue;
            };
            if kind == "energy.jsonl" {
                let source = text(&l["source"]);
                let zone = text(&l["zone"]);
                if let Some(w) = l["watts"].as_f64() {
                    push(time_ns, format!("power.{zone}"), w, "W", &source);
                }
                if let Some(j) = l["joules"].as_f64() {
                    push(time_ns, format!("energy.{zone}"), j, "J", &source);
                }
                continue;
            }
            let cpu = &l["cpu"];
            for (name, unit) in [
                ("busy", "ratio"),
                ("user", "ratio"),
                ("system", "ratio"),
                ("iowait", "ratio"),
            ] {
                if let Some(v) = cpu[name].as_f64() {
                    push(time_ns, format!("cpu.{name}"), v, unit, "system");
                }
            }
            for name in ["used_bytes", "available_bytes"] {
                if let Some(v) = l["memory"][name].as_f64() {
                    push(time_ns, format!("memory.{name}"), v, "B", "system");
                }
            }
            for (iface, n) in l["net"].as_object().into_iter().flatten() {
                for name in ["rx_bytes_per_s", "tx_bytes_per_s"] {
                    if let Some(v) = n[name].as_f64() {
                        push(time_ns, format!("net.{iface}.{name}"), v, "B/s", "system");
                    }
                }
            }
            for (device, d) in l["disk"].as_object().into_iter().flatten() {
                for name in ["read_bytes_per_s", "write_bytes_per_s"] {
                    if let Some(v) = d[name].as_f64() {
                        push(time_ns, format!("disk.{device}.{name}"), v, "B/s", "system");
                    }
                }
            }
            for part in ["processes", "agent"] {
                if let Some(v) = l[part]["cpu_cores"].as_f64() {
                    push(time_ns, format!("{part}.cpu_cores"), v, "cores", "system");
                }
                if let Some(v) = l[part]["rss_bytes"].as_f64() {
                    push(time_ns, format!("{part}.rss_bytes"), v, "B", "system");
                }
            }
        }
    }
    Ok(())
}

fn kwollect_samples(
    dir: &Path,
    places: &BTreeMap<String, Place>,
    inputs: &mut Inputs,
) -> Result<(), AnalysisError> {
    let Ok(entries) = std::fs::read_dir(dir.join(layout::METRICS_KWOLLECT)) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(host) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".jsonl"))
            .map(str::to_owned)
        else {
            continue;
        };
        let place = places.get(&host).cloned().unwrap_or_default();
        let (lines, skipped) = read_lines(&path)?;
        inputs.skipped += skipped;
        for l in lines {
            let (Some(time_ns), Some(watts)) =
                (l["time"].as_str().and_then(unix_ns), l["watts"].as_f64())
            else {
                continue;
            };
            inputs.samples.push(SampleRow {
                time_ns,
                host: host.clone(),
                site: place.site.clone(),
                role: place.role.clone(),
                metric: format!("power.{}", text(&l["metric"])),
                value: watts,
                unit: "W",
                source: "kwollect".to_owned(),
            });
        }
    }
    Ok(())
}

fn wan_pairs(dir: &Path, inputs: &mut Inputs) -> Result<(), AnalysisError> {
    let Some(validation) = read_json(&dir.join(layout::VALIDATION_JSON))? else {
        return Ok(());
    };
    for p in validation["rows"].as_array().into_iter().flatten() {
        inputs.wan.push(WanRow {
            src: text(&p["src"]),
            dst: text(&p["dst"]),
            src_site: text(&p["src_site"]),
            dst_site: text(&p["dst_site"]),
            asked_rtt_ms: p["asked_rtt_ms"].as_f64().unwrap_or(0.0),
            median_ms: p["median_ms"].as_f64(),
            p99_ms: p["p99_ms"].as_f64(),
            asked_loss_percent: p["asked_loss_percent"].as_f64().unwrap_or(0.0),
            loss_percent: p["loss_percent"].as_f64().unwrap_or(0.0),
            verdict: text(&p["verdict"]),
        });
    }
    Ok(())
}
