//! What an experiment's directory holds, read into rows: the bench records, the agents' samples
//! brought home by `enos backup`, Kwollect's series and the WAN validation. Plain Rust, no
//! polars: the tables module turns the rows into frames.
//!
//! Records of a version this crate does not know are skipped and counted, never guessed at.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
///
/// Its texts repeat from row to row (a run has a few workloads, hosts and targets): each is
/// shared ([`Interner`]), so ten million rows hold pointers, not ten million copies.
pub(crate) struct RequestRow {
    pub run: Arc<str>,
    pub workload: Arc<str>,
    pub kind: Arc<str>,
    pub point: u32,
    pub repeat: u32,
    pub params: Arc<str>,
    /// What the request did, where its workload does several things: a Rally iteration's
    /// scenario; empty otherwise.
    pub operation: Arc<str>,
    pub host: Arc<str>,
    pub site: Arc<str>,
    pub destination: Arc<str>,
    pub destination_site: Arc<str>,
    pub intended_ns: Option<i64>,
    pub start_ns: Option<i64>,
    pub latency_ms: Option<f64>,
    pub ok: bool,
    pub error: Option<Arc<str>>,
    pub warmup: bool,
}

/// One shared copy of each text of the request rows.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    texts: std::collections::HashSet<Arc<str>>,
}

impl Interner {
    /// The shared copy of `text`.
    pub(crate) fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.texts.get(text) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(text);
        self.texts.insert(shared.clone());
        shared
    }
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
    /// The rows, until the requests' frame holds them (then emptied, see [`Inputs::release_requests`]).
    pub requests: Vec<RequestRow>,
    /// The first and last start of the requests outside warm-up, kept when the rows go.
    pub request_span: Option<(i64, i64)>,
    pub samples: Vec<SampleRow>,
    pub events: Vec<EventRow>,
    pub wan: Vec<WanRow>,
    /// Records skipped: of an unknown version, or that do not parse.
    pub skipped: u64,
}

impl Inputs {
    /// The requests' span (see `request_span`), then the rows dropped: once their frame is
    /// built, ten million of them need not be held twice.
    pub(crate) fn release_requests(&mut self) {
        let starts = self
            .requests
            .iter()
            .filter(|r| !r.warmup)
            .filter_map(|r| r.start_ns);
        self.request_span = starts.fold(None, |span, t| match span {
            None => Some((t, t)),
            Some((first, last)) => Some((first.min(t), last.max(t))),
        });
        self.requests = Vec::new();
    }
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

/// The fields of a bench record the analysis reads (every kind together: the others are
/// skipped by serde). Borrowed from the line where it has no escapes: a run of ten million
/// records is parsed without building a tree per line.
#[derive(Debug, Default, serde::Deserialize)]
struct BenchRecord<'a> {
    v: Option<u64>,
    #[serde(borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    workload: Option<Cow<'a, str>>,
    #[serde(borrow)]
    host: Option<Cow<'a, str>>,
    point: Option<u64>,
    repeat: Option<u64>,
    params: Option<Value>,
    #[serde(borrow)]
    http: Option<Cow<'a, str>>,
    #[serde(borrow)]
    rally: Option<Cow<'a, str>>,
    #[serde(borrow)]
    url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    scenario: Option<Cow<'a, str>>,
    target: Option<Value>,
    #[serde(borrow)]
    error: Option<Cow<'a, str>>,
    status: Option<u64>,
    start_unix_ns: Option<i64>,
    intended_ns: Option<i64>,
    sent_ns: Option<i64>,
    latency_ns: Option<f64>,
    warmup: Option<bool>,
    timestamp: Option<f64>,
    duration_s: Option<f64>,
    seq: Option<u64>,
    rtt_ms: Option<f64>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    action: Option<Value>,
    #[serde(borrow)]
    time: Option<Cow<'a, str>>,
    at_ms: Option<f64>,
}

/// Calls `each` with every line of a JSON Lines file that is not blank, one at a time (a run of
/// ten million records is never held whole).
fn for_each_line(path: &Path, mut each: impl FnMut(&str)) -> Result<(), AnalysisError> {
    use std::io::BufRead as _;
    let cannot =
        |e: std::io::Error| AnalysisError::new(format!("cannot read {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(cannot)? == 0 {
            return Ok(());
        }
        if !line.trim().is_empty() {
            each(&line);
        }
    }
}

/// Calls `each` with every bench record of a JSON Lines file that parses and has the version
/// this crate reads; gives the count of the others.
fn for_each_bench_record(
    path: &Path,
    mut each: impl FnMut(&BenchRecord<'_>),
) -> Result<u64, AnalysisError> {
    let mut skipped = 0;
    for_each_line(path, |line| {
        match serde_json::from_str::<BenchRecord<'_>>(line) {
            Ok(record) if record.v == Some(RECORD_VERSION) => each(&record),
            _ => skipped += 1,
        }
    })?;
    Ok(skipped)
}

/// Each record of a JSON Lines file that parses and has the version this crate reads, with the
/// count of the others.
fn read_lines(path: &Path) -> Result<(Vec<Value>, u64), AnalysisError> {
    let mut values = Vec::new();
    let mut skipped = 0;
    for_each_line(path, |line| match serde_json::from_str::<Value>(line) {
        Ok(v) if v["v"].as_u64() == Some(RECORD_VERSION) => values.push(v),
        _ => skipped += 1,
    })?;
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
        request_span: None,
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
    let mut interner = Interner::default();
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
            let mut workload = WorkloadReader {
                run: interner.get(&run),
                places,
                starts: BTreeMap::new(),
            };
            let skipped = for_each_bench_record(&file, |record| {
                workload.record(record, &mut interner, inputs);
            })?;
            inputs.skipped += skipped;
        }
    }
    Ok(())
}

/// Reads one workload's records, in file order.
struct WorkloadReader<'a> {
    run: Arc<str>,
    places: &'a BTreeMap<String, Place>,
    /// The http generator's start line of each host (and point, and repetition): the origin
    /// of its offsets and its URL.
    starts: BTreeMap<(String, u64, u64), (i64, String)>,
}

impl WorkloadReader<'_> {
    /// The site of `host`, shared.
    fn site(&self, host: &str, interner: &mut Interner) -> Arc<str> {
        interner.get(self.places.get(host).map_or("", |p| p.site.as_str()))
    }

    /// The row (or event) of one record.
    fn record(&mut self, r: &BenchRecord<'_>, interner: &mut Interner, inputs: &mut Inputs) {
        let host = r.host.as_deref().unwrap_or_default();
        let point = r.point.unwrap_or(0);
        let repeat = r.repeat.unwrap_or(0);
        let kind = r.kind.as_deref();
        let workload = r.workload.as_deref().unwrap_or_default();
        if kind == Some("event") {
            inputs.events.push(EventRow {
                run: self.run.to_string(),
                workload: workload.to_owned(),
                point: point as u32,
                repeat: repeat as u32,
                time_ns: r.time.as_deref().and_then(unix_ns),
                kind: r.event.as_deref().unwrap_or_default().to_owned(),
                detail: r.action.as_ref().map(text).unwrap_or_default(),
                at_ms: r.at_ms,
                error: r.error.as_deref().map(str::to_owned),
            });
            return;
        }
        if kind == Some("http") && r.http.as_deref() == Some("start") {
            let origin = r.start_unix_ns.unwrap_or(0);
            let url = r.url.as_deref().unwrap_or_default().to_owned();
            self.starts
                .insert((host.to_owned(), point, repeat), (origin, url));
            return;
        }
        let params = r.params.as_ref().unwrap_or(&Value::Null).to_string();
        let base = RequestRow {
            run: self.run.clone(),
            workload: interner.get(workload),
            kind: interner.get(kind.unwrap_or_default()),
            point: point as u32,
            repeat: repeat as u32,
            params: interner.get(&params),
            site: self.site(host, interner),
            host: interner.get(host),
            ..RequestRow::default()
        };
        let row = match (kind, r.http.as_deref(), r.rally.as_deref()) {
            (Some("http"), Some("request"), _) => {
                let (origin, url) = self
                    .starts
                    .get(&(host.to_owned(), point, repeat))
                    .map(|(o, u)| (*o, u.as_str()))
                    .unwrap_or((0, ""));
                let error = match (r.error.as_deref(), r.status) {
                    (Some(e), _) => Some(interner.get(e)),
                    (None, Some(s)) if s >= 400 => Some(interner.get(&format!("status {s}"))),
                    (None, Some(_)) => None,
                    (None, None) => Some(interner.get("no response")),
                };
                let destination_site = interner.get(&site_of_url(url, self.places));
                let destination = interner.get(url);
                RequestRow {
                    destination_site,
                    destination,
                    intended_ns: r.intended_ns.map(|n| origin + n),
                    start_ns: r.sent_ns.map(|n| origin + n),
                    latency_ms: r.latency_ns.map(|n| n / 1e6),
                    ok: error.is_none(),
                    error,
                    warmup: r.warmup.unwrap_or(false),
                    ..base
                }
            }
            (Some("rally"), _, Some("iteration")) => {
                let at = r.timestamp.map(|s| (s * 1e9) as i64);
                let error = r.error.as_deref().map(|e| interner.get(e));
                // A Rally target is a site.
                let target = interner.get(&r.target.as_ref().map(text).unwrap_or_default());
                RequestRow {
                    operation: interner.get(r.scenario.as_deref().unwrap_or_default()),
                    destination: target.clone(),
                    destination_site: target,
                    intended_ns: at,
                    start_ns: at,
                    latency_ms: r.duration_s.map(|s| s * 1e3),
                    ok: error.is_none(),
                    error,
                    ..base
                }
            }
            (Some("ping"), _, _) if r.seq.is_some() => {
                let rtt = r.rtt_ms;
                let target = r.target.as_ref().map(text).unwrap_or_default();
                RequestRow {
                    destination_site: self.site(&target, interner),
                    destination: interner.get(&target),
                    latency_ms: rtt,
                    ok: rtt.is_some(),
                    error: rtt.is_none().then(|| interner.get("lost")),
                    ..base
                }
            }
            _ => return,
        };
        inputs.requests.push(row);
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
