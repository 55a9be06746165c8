//! The metrics agent: `enos daemon metrics --dir DIR [--period 1s] [--energy auto|rapl|model|none]
//! [--model JSON] [--share-cpu] [--no-system]`, started by enos on every testbed host while
//! workloads run. Every period it samples the system (through `enos-system`) and the energy (RAPL
//! zones through `enos-energy`, and the power model), and appends one JSON line per sample to
//! files in `DIR`, flushed as they go, until SIGTERM or SIGINT:
//!
//! * `agent.json`: what the agent runs with (host, pid, period, the energy sources it has, the
//!   best of them and why), written when it starts and again when it stops (with `stopped`);
//! * `agent.pid`: its process id, while it runs;
//! * `system.jsonl`: `{"v":1,"time":…, <enos-system's sample>}` (its `interval_s`,
//!   `cpu`, `memory`, `net`, `disk`, `processes`, `agent`, `cgroup`);
//! * `energy.jsonl`: `{"v":1,"time":…,"interval_s":…,"source":"rapl"|"model","zone":…,
//!   "watts":…,"joules":…,"total_joules":…}` (+ `utilisation` for the model, `wrapped` for RAPL).
//!
//! Nothing is kept in memory beyond the previous sample: the files are the buffer, fetched by
//! `enos backup`. Times are UTC, RFC 3339 with nanoseconds.
//!
//! Where the hosts share the machine's CPU (`--share-cpu`: the local testbed's namespaces), the
//! model's utilisation is the CPU of the host's own processes over the machine's cores, not the
//! machine's; `agent.json` says which.
#![warn(missing_docs)]

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use enos_energy::Source;
use enos_energy::model::PowerModel;
use enos_energy::rapl::{self, Counter, Zone};
use serde::{Deserialize, Serialize};

/// The daemon's name on the command line.
pub const NAME: &str = "metrics";
/// The version of the records the agent writes.
pub const VERSION: u32 = 1;
/// What the agent runs with (a record).
pub const INFO_FILE: &str = "agent.json";
/// The agent's process id.
pub const PID_FILE: &str = "agent.pid";
/// The agent's own log.
pub const LOG_FILE: &str = "agent.log";
/// System samples (records).
pub const SYSTEM_FILE: &str = "system.jsonl";
/// Energy samples (records).
pub const ENERGY_FILE: &str = "energy.jsonl";
/// Where powercap's zones are on a host.
pub const POWERCAP: &str = "/sys/class/powercap";

/// Which energy sources the agent is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnergyAsked {
    /// RAPL where readable, and the model always (the best is said).
    Auto,
    /// RAPL only.
    Rapl,
    /// The model only.
    Model,
    /// None from the agent (Kwollect is fetched by enos from Grid'5000's API, not on hosts).
    None,
}

/// The energy part of [`AgentInfo`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyInfo {
    /// What was asked.
    pub asked: EnergyAsked,
    /// The sources the agent writes samples of.
    pub sources: Vec<Source>,
    /// The best of them (the node-level figure analysis should use), if any.
    pub best: Option<Source>,
    /// Why the sources are what they are (a missing meter, a model stand-in).
    pub why: String,
    /// The RAPL zones read.
    pub zones: Vec<String>,
    /// The model, when the model is a source.
    pub model: Option<PowerModel>,
    /// What the model's utilisation is: `machine` (/proc/stat) or `processes` (the host's own
    /// processes over the machine's cores).
    pub utilisation: String,
}

/// What the agent runs with: `agent.json` (a record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// Record version.
    pub v: u32,
    /// The host's name, as enos knows it.
    pub host: String,
    /// The agent's process id.
    pub pid: u32,
    /// When it started (RFC 3339, UTC).
    pub started: String,
    /// When it stopped, once it has.
    pub stopped: Option<String>,
    /// The sampling period, in milliseconds.
    pub period_ms: u64,
    /// Whether system samples are written.
    pub system: bool,
    /// Energy.
    pub energy: EnergyInfo,
    /// Samples taken so far (written at the stop).
    pub samples: u64,
}

/// The daemon's arguments.
#[derive(Debug, Parser)]
#[command(name = "metrics", no_binary_name = true)]
struct Args {
    /// Where to write the samples.
    #[arg(long)]
    dir: PathBuf,
    /// The host's name, as enos knows it.
    #[arg(long, default_value = "")]
    host: String,
    /// How often to sample (`1s`, `100ms`).
    #[arg(long, value_parser = parse_period, default_value = "1s")]
    period: Duration,
    /// Do not write system samples (energy only).
    #[arg(long)]
    no_system: bool,
    /// Energy sources.
    #[arg(long, value_enum, default_value_t = EnergyAsked::Auto)]
    energy: EnergyAsked,
    /// The power model, as JSON (`{"kind":"linear","idle_w":90,"max_w":200}`).
    #[arg(long)]
    model: Option<String>,
    /// The host shares the machine's CPU with other hosts: the model's utilisation is that of
    /// its own processes.
    #[arg(long)]
    share_cpu: bool,
    /// Stop after this many samples (for tests).
    #[arg(long, hide = true)]
    samples: Option<u64>,
    /// Where /proc is (for tests).
    #[arg(long, hide = true, default_value = "/proc")]
    proc_root: PathBuf,
    /// Where /sys is (for tests).
    #[arg(long, hide = true, default_value = "/sys")]
    sys_root: PathBuf,
    /// Where powercap's zones are (for tests).
    #[arg(long, hide = true, default_value = POWERCAP)]
    powercap: PathBuf,
}

fn parse_period(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else {
        (text, 1.0)
    };
    let seconds: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a period (e.g. 1s, 100ms)"))?;
    let period = Duration::try_from_secs_f64(seconds * scale).map_err(|e| e.to_string())?;
    if period < Duration::from_millis(1) {
        return Err(format!("{text:?}: the period is at least 1ms"));
    }
    Ok(period)
}

/// RFC 3339 UTC with nanoseconds.
fn now_text() -> String {
    format!("{:.9}", jiff::Timestamp::now())
}

/// A JSON-lines file, flushed after every line.
struct Lines {
    path: PathBuf,
    out: BufWriter<File>,
}

impl Lines {
    fn open(path: PathBuf) -> Result<Lines, String> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(Lines {
            path,
            out: BufWriter::new(file),
        })
    }

    fn write(&mut self, record: &impl Serialize) -> Result<(), String> {
        serde_json::to_writer(&mut self.out, record)
            .map_err(|e| e.to_string())
            .and_then(|()| self.out.write_all(b"\n").map_err(|e| e.to_string()))
            .and_then(|()| self.out.flush().map_err(|e| e.to_string()))
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

/// Writes `value` as JSON to `path` atomically (a temporary file renamed over it).
fn write_json_atomic(path: &Path, value: &impl Serialize) -> Result<(), String> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[derive(Serialize)]
struct SystemLine<'a> {
    v: u32,
    time: &'a str,
    #[serde(flatten)]
    sample: &'a enos_system::Sample,
}

#[derive(Serialize)]
struct EnergyLine<'a> {
    v: u32,
    time: &'a str,
    interval_s: f64,
    source: Source,
    zone: &'a str,
    watts: f64,
    joules: f64,
    total_joules: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    utilisation: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wrapped: Option<bool>,
}

/// A RAPL zone followed sample after sample.
struct RaplZone {
    zone: Zone,
    counter: Counter,
}

/// The RAPL zones readable here, or why there are none.
fn readable_zones(powercap: &Path) -> Result<Vec<RaplZone>, String> {
    let zones = rapl::zones(powercap).map_err(|e| e.to_string())?;
    if zones.is_empty() {
        return Err(format!(
            "no RAPL zone under {} (no powercap here: a VM, a container, or a CPU without RAPL)",
            powercap.display()
        ));
    }
    let mut readable = Vec::new();
    let mut refused = Vec::new();
    for zone in zones {
        match zone.read_uj() {
            Ok(first) => {
                let mut counter = Counter::new(zone.max_energy_range_uj);
                counter.update(first);
                readable.push(RaplZone { zone, counter });
            }
            Err(e) => refused.push(e.to_string()),
        }
    }
    if readable.is_empty() {
        return Err(format!(
            "RAPL zones exist but none is readable ({}); energy_uj is root-only since Linux 5.10",
            refused.join("; ")
        ));
    }
    Ok(readable)
}

/// Runs the agent until SIGTERM or SIGINT; the arguments are those after the daemon's name.
pub fn main(args: Vec<OsString>) -> Result<(), String> {
    let args = Args::try_parse_from(args).map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| format!("cannot handle signals: {e}"))?;
    }
    run(&args, &stop)
}

fn run(args: &Args, stop: &AtomicBool) -> Result<(), String> {
    let model: Option<PowerModel> = match &args.model {
        Some(text) => {
            let model: PowerModel =
                serde_json::from_str(text).map_err(|e| format!("--model: {e}"))?;
            model.check().map_err(|e| format!("--model: {e}"))?;
            Some(model)
        }
        None => None,
    };
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| format!("cannot create {}: {e}", args.dir.display()))?;
    let pid = std::process::id();
    let sources = enos_system::Sources {
        proc_root: args.proc_root.clone(),
        sys_root: args.sys_root.clone(),
        self_pid: Some(pid),
        ..enos_system::Sources::live()
    };
    let cores = enos_system::cpu_count(&sources)
        .map_err(|e| format!("cannot count the CPUs: {e}"))?
        .max(1);

    // Energy sources.
    let wants_rapl = matches!(args.energy, EnergyAsked::Auto | EnergyAsked::Rapl);
    let wants_model = matches!(args.energy, EnergyAsked::Auto | EnergyAsked::Model);
    let (mut zones, rapl_why) = if wants_rapl {
        match readable_zones(&args.powercap) {
            Ok(zones) => (zones, None),
            Err(why) => (Vec::new(), Some(why)),
        }
    } else {
        (Vec::new(), None)
    };
    let model = if wants_model {
        Some(model.ok_or("--model is needed for the model's energy")?)
    } else {
        None
    };
    let mut energy_sources = Vec::new();
    if !zones.is_empty() {
        energy_sources.push(Source::Rapl);
    }
    if model.is_some() {
        energy_sources.push(Source::Model);
    }
    let best = energy_sources.first().copied();
    let utilisation = if args.share_cpu {
        "processes"
    } else {
        "machine"
    };
    let why = match (args.energy, &rapl_why) {
        (EnergyAsked::None, _) => "no energy asked".to_owned(),
        (EnergyAsked::Model, _) => "the model was asked for".to_owned(),
        (_, Some(why)) if model.is_some() => format!("{why}: the model stands in"),
        (_, Some(why)) => why.clone(),
        (EnergyAsked::Auto, None) => {
            "RAPL zones are readable: RAPL is the measurement, the model beside it".to_owned()
        }
        (_, None) => "RAPL zones are readable".to_owned(),
    };
    let mut info = AgentInfo {
        v: VERSION,
        host: args.host.clone(),
        pid,
        started: now_text(),
        stopped: None,
        period_ms: args.period.as_millis() as u64,
        system: !args.no_system,
        energy: EnergyInfo {
            asked: args.energy,
            sources: energy_sources,
            best,
            why,
            zones: zones.iter().map(|z| z.zone.name.clone()).collect(),
            model: model.clone(),
            utilisation: utilisation.to_owned(),
        },
        samples: 0,
    };
    let info_path = args.dir.join(INFO_FILE);
    let pid_path = args.dir.join(PID_FILE);
    std::fs::write(&pid_path, format!("{pid}\n"))
        .map_err(|e| format!("cannot write {}: {e}", pid_path.display()))?;
    write_json_atomic(&info_path, &info)?;
    tracing::info!(host = %args.host, period_ms = info.period_ms, "sampling");

    let mut system_out = if args.no_system {
        None
    } else {
        Some(Lines::open(args.dir.join(SYSTEM_FILE))?)
    };
    let mut energy_out = if info.energy.sources.is_empty() {
        None
    } else {
        Some(Lines::open(args.dir.join(ENERGY_FILE))?)
    };
    let mut model_total = 0.0;
    let mut previous =
        enos_system::snapshot(&sources).map_err(|e| format!("cannot sample: {e}"))?;
    let start = Instant::now();
    let mut tick: u32 = 0;
    let result = loop {
        tick += 1;
        let due = start + args.period * tick;
        // Sleep to the next tick in short steps, so that a signal is acted on within 50 ms.
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= due {
                break;
            }
            std::thread::sleep((due - now).min(Duration::from_millis(50)));
        }
        if stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        let next = match enos_system::snapshot(&sources) {
            Ok(s) => s,
            Err(e) => break Err(format!("cannot sample: {e}")),
        };
        let sample = enos_system::rates(&previous, &next);
        let interval_s = sample.interval_s;
        previous = next;
        let time = now_text();
        if let Some(out) = system_out.as_mut()
            && let Err(e) = out.write(&SystemLine {
                v: VERSION,
                time: &time,
                sample: &sample,
            })
        {
            break Err(e);
        }
        if let Some(out) = energy_out.as_mut() {
            let mut failed = None;
            for z in &mut zones {
                let step = match z.zone.read_uj() {
                    Ok(reading) => z.counter.update(reading),
                    Err(e) => {
                        failed = Some(e.to_string());
                        break;
                    }
                };
                let joules = step.delta_uj as f64 / 1e6;
                let line = EnergyLine {
                    v: VERSION,
                    time: &time,
                    interval_s,
                    source: Source::Rapl,
                    zone: &z.zone.name,
                    watts: if interval_s > 0.0 {
                        joules / interval_s
                    } else {
                        0.0
                    },
                    joules,
                    total_joules: z.counter.total_joules(),
                    utilisation: None,
                    wrapped: Some(step.wrapped),
                };
                if let Err(e) = out.write(&line) {
                    failed = Some(e);
                    break;
                }
            }
            if let Some(e) = failed {
                break Err(e);
            }
            if let Some(model) = &model {
                // The host's own processes, the agent included: its load is the host's too.
                let u = if args.share_cpu {
                    let own = sample.processes.cpu_cores
                        + sample.agent.as_ref().map_or(0.0, |a| a.cpu_cores);
                    own / cores as f64
                } else {
                    sample.cpu.busy
                };
                let u = u.clamp(0.0, 1.0);
                let joules = model.joules(u, interval_s);
                model_total += joules;
                let line = EnergyLine {
                    v: VERSION,
                    time: &time,
                    interval_s,
                    source: Source::Model,
                    zone: "host",
                    watts: model.watts(u),
                    joules,
                    total_joules: model_total,
                    utilisation: Some(u),
                    wrapped: None,
                };
                if let Err(e) = out.write(&line) {
                    break Err(e);
                }
            }
        }
        info.samples += 1;
        if args.samples.is_some_and(|n| info.samples >= n) {
            break Ok(());
        }
    };
    info.stopped = Some(now_text());
    let saved = write_json_atomic(&info_path, &info);
    let _ = std::fs::remove_file(&pid_path);
    tracing::info!(samples = info.samples, "stopped");
    result.and(saved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_read_with_or_without_their_unit() {
        assert_eq!(parse_period("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_period("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_period("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_period("0ms").is_err());
        assert!(parse_period("fast").is_err());
    }
}
