//! `enos bench`: the scenario's workloads run against the deployed testbed, point by point of
//! their parameter matrices, with their timeline events, records streamed as they come.
//!
//! A run lives in `bench/<stamp>/` (`bench/current` leads to the latest): `run.json` says what
//! ran and how it ended (`running`, `complete`, `partial` when a host was lost, `interrupted`),
//! and each workload streams its records to `<workload>.jsonl` ([`crate::stream`]: appended,
//! flushed at least every second). Every record carries the workload, the point's index and
//! labels (its varying parameters) and the repetition; see docs/data.md.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use enos_core::{Host, Reporter, Testbed, layout};
use enos_provider::Provider;
use enos_remote::Fleet;
use enos_scenario::bench::{Point, Targets, Workload, WorkloadKind};
use enos_scenario::{Selector, Span};
use enos_wan::WanMatrix;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::records::{applied_wan, write_json};
use crate::registry::Providers;
use crate::session::Session;
use crate::stream::RecordStream;
use crate::{Error, provider_of, wan};

mod events;
mod http;
mod rally;

/// The version of the bench records and of `run.json`.
pub const BENCH_VERSION: u32 = 1;
/// How long a `command` workload's command may run when the workload gives no duration.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// The processes enos runs on the hosts, reached through the binary's hidden
/// `enos daemon <name>`: the `http` load generator and the metrics agent.
pub fn daemons() -> Vec<enos_provider::Daemon> {
    vec![
        enos_provider::Daemon {
            name: enos_loadgen::daemon::NAME,
            main: enos_loadgen::daemon::main,
        },
        enos_provider::Daemon {
            name: enos_agent::NAME,
            main: enos_agent::main,
        },
    ]
}

/// What `enos bench` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BenchRequest {
    /// Only the workload of this name; all of them otherwise.
    pub workload: Option<String>,
    /// The `enos` program hosts run the `http` load generator and the metrics agent with
    /// (`<program> daemon http-load`, `<program> daemon metrics`); it is copied to hosts that
    /// do not share the machine's files.
    pub program: PathBuf,
}

/// How a bench run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// It is running (or an enos that ran it stopped).
    Running,
    /// Every point ran on every host.
    Complete,
    /// Every point ran, but some hosts were lost on the way: their records stop there.
    Partial,
    /// It was stopped (SIGINT) before its end; the records so far are kept.
    Interrupted,
}

/// What `run.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Format version.
    pub version: u32,
    /// When it started (RFC 3339).
    pub started: String,
    /// When it ended, if it did.
    pub ended: Option<String>,
    /// How it ended.
    pub status: RunStatus,
    /// The workloads run, with their point counts.
    pub workloads: Vec<WorkloadRun>,
    /// Hosts lost during the run.
    pub lost: Vec<String>,
}

/// One workload of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadRun {
    /// Its name.
    pub name: String,
    /// Its points.
    pub points: usize,
    /// Runs of points done (points × repetitions, when complete).
    pub done: usize,
    /// Records written.
    pub records: u64,
    /// Its records' file, relative to the run's directory.
    pub file: String,
}

/// What `enos bench` did.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchRun {
    /// The run's directory.
    pub dir: PathBuf,
    /// Its `run.json`.
    pub record: RunRecord,
}

/// Runs the scenario's workloads (or the one asked) on the deployed experiment at `location`,
/// until they end or `stop` resolves (SIGINT, for the binary).
pub async fn bench(
    providers: &Providers,
    location: &Path,
    request: &BenchRequest,
    reporter: &dyn Reporter,
    stop: impl Future<Output = ()>,
) -> Result<BenchRun, Error> {
    let mut session = Session::open(location)?;
    let provider = provider_of(providers, &session.experiment)?;
    let section = session.experiment.state().scenario.bench.clone();
    let workloads: Vec<Workload> = section
        .workloads
        .into_iter()
        .filter(|w| request.workload.as_ref().is_none_or(|name| *name == w.name))
        .collect();
    if workloads.is_empty() {
        return Err(match &request.workload {
            Some(name) => Error::new(format!(
                "no workload '{name}' in the scenario's bench: section"
            )),
            None => Error::new("the scenario has no bench: section")
                .hint("add workloads under `bench:` (see docs/scenario.md)"),
        });
    }
    let stamp = jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S").to_string();
    let relative = layout::bench_run(&stamp);
    let dir = session.experiment.dir().join(&relative);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
    let link = session.experiment.dir().join(layout::BENCH_CURRENT);
    enos_core::fsutil::symlink_atomic(Path::new(&stamp), &link)
        .map_err(|e| Error::new(format!("cannot link {}: {e}", link.display())))?;
    let mut record = RunRecord {
        version: BENCH_VERSION,
        started: jiff::Timestamp::now().to_string(),
        ended: None,
        status: RunStatus::Running,
        workloads: workloads
            .iter()
            .map(|w| WorkloadRun {
                name: w.name.clone(),
                points: w.point_count(),
                done: 0,
                records: 0,
                file: format!("{}.jsonl", w.name),
            })
            .collect(),
        lost: Vec::new(),
    };
    let run_file = dir.join(layout::BENCH_RUN);
    write_json(&run_file, &record)?;
    session.experiment.state_mut().begin_step("bench");
    session.experiment.save()?;
    // The WAN as it is now: events change it, and every run of a point starts from it.
    let wan_before = current_matrix(&session);
    // The scenario's metrics, unless `enos metrics start` runs them already: started here,
    // stopped at the end.
    let metrics = match session.experiment.state().scenario.metrics.clone() {
        Some(section)
            if !crate::metrics::read_collection(session.experiment.dir())
                .is_some_and(|c| c.running()) =>
        {
            Some(
                crate::metrics::start_in(
                    &mut session,
                    provider.as_ref(),
                    &section,
                    &request.program,
                    "bench",
                    reporter,
                )
                .await?,
            )
        }
        _ => None,
    };

    let outcome = {
        let run = run_all(
            &mut session,
            provider.as_ref(),
            &workloads,
            (&stamp, &dir),
            &mut record,
            &wan_before,
            request,
            reporter,
        );
        tokio::pin!(run);
        tokio::select! {
            result = &mut run => result.map(|()| false),
            () = stop => Ok(true),
        }
    };
    let interrupted = matches!(outcome, Ok(true));
    // Whatever happened, the WAN goes back to what it was.
    if current_matrix(&session) != wan_before
        && let Err(e) = wan::apply_matrix(
            &mut session,
            provider.as_ref(),
            &wan_before,
            vec!["bench: back to the WAN before the run".to_owned()],
            reporter,
        )
        .await
    {
        reporter.note(&format!(
            "warning: restoring the WAN after the bench: {}",
            e.message
        ));
    }
    if let Some(collection) = metrics
        && let Err(e) = crate::metrics::stop_in(&mut session, collection, reporter).await
    {
        reporter.note(&format!(
            "warning: stopping the metrics agents: {}",
            e.message
        ));
    }
    record.ended = Some(jiff::Timestamp::now().to_string());
    record.status = if interrupted {
        RunStatus::Interrupted
    } else if record.lost.is_empty() {
        RunStatus::Complete
    } else {
        RunStatus::Partial
    };
    write_json(&run_file, &record)?;
    let ended = match (&outcome, record.status) {
        (Err(e), _) => Err(e.message.clone()),
        (Ok(_), RunStatus::Complete) => Ok(()),
        (Ok(_), status) => Err(format!("bench {status:?}").to_lowercase()),
    };
    session.experiment.state_mut().end_step(ended);
    session.experiment.save()?;
    outcome?;
    Ok(BenchRun { dir, record })
}

/// The matrix in force, or the scenario's own.
fn current_matrix(session: &Session) -> WanMatrix {
    let hosts = wan::wan_hosts(&session.testbed);
    applied_wan(session.experiment.dir(), &hosts)
        .map(|a| a.matrix)
        .unwrap_or_else(|| enos_wan::resolve(&session.experiment.state().scenario.network, &hosts))
}

#[allow(clippy::too_many_arguments)]
async fn run_all(
    session: &mut Session,
    provider: &dyn Provider,
    workloads: &[Workload],
    (stamp, dir): (&str, &Path),
    record: &mut RunRecord,
    wan_before: &WanMatrix,
    request: &BenchRequest,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let fleet = session.fleet(reporter).await?;
    let program =
        http::program_on_hosts(&fleet, &session.testbed, provider, workloads, request).await?;
    let place = &RunPlace {
        stamp,
        dir,
        program,
    };
    let run_file = dir.join(layout::BENCH_RUN);
    for (w, workload) in workloads.iter().enumerate() {
        let stream = RecordStream::open(&dir.join(&record.workloads[w].file))?;
        let points = workload.points();
        let task = reporter.start(
            &format!("bench {}", workload.name),
            (points.len() as u64) * workload.repeat,
        );
        for (index, point) in points.iter().enumerate() {
            for repeat in 1..=workload.repeat {
                let lost: BTreeSet<String> = record.lost.iter().cloned().collect();
                let hosts: Vec<Host> = select(&session.testbed, &workload.from)
                    .into_iter()
                    .filter(|h| !lost.contains(&h.name))
                    .collect();
                let label = Label {
                    workload: workload.name.clone(),
                    point: index,
                    repeat,
                    params: json!(point.labels),
                };
                let changes = point.wan_changes();
                if !changes.is_empty() {
                    events::apply_changes(session, provider, &changes, reporter).await?;
                }
                let testbed = session.testbed.clone();
                let measured = run_point(
                    &fleet, &testbed, workload, point, &hosts, &label, &stream, place,
                );
                let events =
                    events::run_events(session, provider, workload, &label, &stream, reporter);
                let (written, _) = tokio::join!(measured, events);
                let written = written?;
                record.workloads[w].records += written.records;
                record.workloads[w].done += 1;
                for host in written.lost {
                    if !record.lost.contains(&host) {
                        reporter.note(&format!("bench: host {host} was lost; the others go on"));
                        record.lost.push(host);
                    }
                }
                if current_matrix(session) != *wan_before {
                    wan::apply_matrix(
                        session,
                        provider,
                        wan_before,
                        vec!["bench: back to the WAN before the point".to_owned()],
                        reporter,
                    )
                    .await?;
                }
                write_json(&run_file, &*record)?;
                reporter.advance(task, &workload.name, true);
            }
        }
        stream.close()?;
        reporter.finish(task);
    }
    Ok(())
}

/// Where a run is: its stamp and its directory, and the `enos` program hosts run the load
/// generator with.
struct RunPlace<'a> {
    stamp: &'a str,
    dir: &'a Path,
    program: String,
}

/// What every record of one run of a point carries.
#[derive(Clone)]
struct Label {
    workload: String,
    point: usize,
    repeat: u64,
    params: Value,
}

impl Label {
    /// `fields` with the label's fields in front.
    fn record(&self, kind: &str, fields: Value) -> Value {
        let mut record = json!({
            "v": BENCH_VERSION,
            "kind": kind,
            "workload": self.workload,
            "point": self.point,
            "repeat": self.repeat,
            "params": self.params,
        });
        if let (Some(map), Value::Object(extra)) = (record.as_object_mut(), fields) {
            map.extend(extra);
        }
        record
    }
}

/// What one run of a point wrote.
struct Written {
    records: u64,
    lost: Vec<String>,
}

/// The hosts `selector` names, in testbed order.
fn select(testbed: &Testbed, selector: &Selector) -> Vec<Host> {
    testbed
        .hosts
        .iter()
        .filter(|h| selector.names_host(&h.name, &h.site, &h.role))
        .cloned()
        .collect()
}

fn arg_str<'a>(point: &'a Point, name: &str) -> Option<&'a str> {
    point.args.get(name).and_then(Value::as_str)
}

fn arg_span(point: &Point, name: &str) -> Option<Duration> {
    arg_str(point, name)
        .and_then(|t| t.parse::<Span>().ok())
        .map(|s| s.0)
}

#[allow(clippy::too_many_arguments)]
async fn run_point(
    fleet: &Fleet,
    testbed: &Testbed,
    workload: &Workload,
    point: &Point,
    hosts: &[Host],
    label: &Label,
    stream: &RecordStream,
    place: &RunPlace<'_>,
) -> Result<Written, Error> {
    let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let all = fleet;
    let fleet = all.subset(&names);
    let targets: Vec<Host> = match &workload.targets {
        Some(Targets::Hosts(selector)) => select(testbed, selector),
        _ => Vec::new(),
    };
    let duration = point.duration.map(|s| s.0);
    let mut written = Written {
        records: 0,
        lost: Vec::new(),
    };
    let mut push = |record: Value| -> Result<(), Error> {
        stream.push(&record)?;
        written.records += 1;
        Ok(())
    };
    let reporter = enos_core::NullReporter;
    match workload.kind {
        WorkloadKind::Command => {
            let command = arg_str(point, "run").unwrap_or("true");
            let timeout = duration.unwrap_or(COMMAND_TIMEOUT);
            for result in fleet.run(command, timeout, &reporter).await {
                match result.outcome {
                    Ok(output) => push(label.record(
                        "command",
                        json!({
                            "host": result.host,
                            "exit": output.exit.code(),
                            "duration_ms": output.duration.as_secs_f64() * 1e3,
                            "stdout": tail(&output.stdout),
                            "stderr": tail(&output.stderr),
                        }),
                    ))?,
                    Err(e) => {
                        if e.is_connection_failure() {
                            written.lost.push(result.host.clone());
                        }
                        push(
                            label.record(
                                "command",
                                json!({"host": result.host, "error": e.reason()}),
                            ),
                        )?;
                    }
                }
            }
        }
        WorkloadKind::Ping => {
            let interval = arg_span(point, "interval").unwrap_or(Duration::from_secs(1));
            let probes = match (point.count, duration) {
                (Some(count), _) => count,
                (None, Some(d)) => (d.as_millis() / interval.as_millis().max(1)).max(1) as u64,
                (None, None) => 10,
            };
            let addresses: Vec<String> = targets.iter().map(|h| h.address.to_string()).collect();
            let by_address: Vec<(String, String)> = targets
                .iter()
                .map(|h| (h.address.to_string(), h.name.clone()))
                .collect();
            let command =
                enos_probes::fping::command(&addresses, probes, interval.as_millis() as u64);
            let budget = interval * probes as u32 + Duration::from_secs(30);
            for result in fleet.run(&command, budget, &reporter).await {
                let output = match result.outcome {
                    Ok(output) => output,
                    Err(e) => {
                        if e.is_connection_failure() {
                            written.lost.push(result.host.clone());
                        }
                        push(
                            label.record("ping", json!({"host": result.host, "error": e.reason()})),
                        )?;
                        continue;
                    }
                };
                let parsed = enos_probes::fping::parse(&output.stdout_text()).map_err(|e| {
                    Error::new(format!("reading fping's output on {}: {e}", result.host))
                })?;
                for (target, rtts) in parsed {
                    let target = by_address
                        .iter()
                        .find(|(a, _)| *a == target)
                        .map_or(target.clone(), |(_, n)| n.clone());
                    if target == result.host {
                        continue;
                    }
                    for (seq, rtt) in rtts.iter().enumerate() {
                        push(label.record(
                            "ping",
                            json!({
                                "host": result.host,
                                "target": target,
                                "seq": seq,
                                "at_ms": (interval.as_secs_f64() * 1e3) * seq as f64,
                                "rtt_ms": rtt,
                            }),
                        ))?;
                    }
                }
            }
        }
        WorkloadKind::Iperf3 => {
            let seconds = duration.map_or(5, |d| d.as_secs().max(1));
            for host in hosts {
                for target in targets.iter().filter(|t| t.name != host.name) {
                    let pair = fleet.subset(&[host.name.as_str()]);
                    let server = all.subset(&[target.name.as_str()]);
                    let measured = iperf3_pair(&server, &pair, target, seconds).await;
                    push(label.record(
                        "iperf3",
                        match measured {
                            Ok(bps) => json!({"host": host.name, "target": target.name, "bits_per_second": bps}),
                            Err(why) => json!({"host": host.name, "target": target.name, "error": why}),
                        },
                    ))?;
                }
            }
        }
        WorkloadKind::Http => {
            written.records += http::run_http(
                &fleet,
                testbed,
                workload,
                point,
                hosts,
                &targets,
                label,
                stream,
                &place.program,
            )
            .await?;
        }
        WorkloadKind::Rally => {
            let (records, lost) = rally::run(
                &fleet,
                workload,
                point,
                hosts,
                &targets,
                label,
                stream,
                place.stamp,
                place.dir,
            )
            .await?;
            written.records += records;
            written.lost.extend(lost);
        }
    }
    Ok(written)
}

/// The last 4 KiB of `bytes`, as text.
fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(4096);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

async fn iperf3_pair(
    server: &Fleet,
    client: &Fleet,
    target: &Host,
    seconds: u64,
) -> Result<f64, String> {
    let reporter = enos_core::NullReporter;
    let timeout = Duration::from_secs(seconds + 30);
    let started = server
        .run(&enos_probes::iperf3::server_command(), timeout, &reporter)
        .await;
    if let Some(Err(e)) = started.into_iter().next().map(|r| r.outcome) {
        return Err(e.reason());
    }
    let command = enos_probes::iperf3::client_command(&target.address.to_string(), seconds);
    let result = client
        .run(&command, timeout, &reporter)
        .await
        .into_iter()
        .next();
    match result.map(|r| r.outcome) {
        Some(Ok(output)) => {
            enos_probes::iperf3::parse(&output.stdout_text()).map_err(|e| e.to_string())
        }
        Some(Err(e)) => Err(e.reason()),
        None => Err("no result".to_owned()),
    }
}
