//! `enos metrics start|stop`, and the collection `enos bench` starts and stops around its
//! workloads: the metrics agent (`enos daemon metrics`, crate `enos-agent`) on every host,
//! sampling the system and the energy at the scenario's period into files on the host (the
//! buffer `enos backup` fetches), and, at the stop, the measured power of Grid'5000 nodes
//! fetched from Kwollect for the collection's window.
//!
//! The collection's record is `metrics/agents.json` ([`Collection`]): when it started and
//! stopped, and per host where its agent writes, which energy sources it has, the best of them
//! and why.

use std::path::Path;
use std::time::Duration;

use enos_agent::{AgentInfo, EnergyAsked};
use enos_core::{Host, Reporter, layout};
pub use enos_energy::Source;
use enos_provider::Provider;
use enos_remote::Fleet;
use enos_scenario::metrics::{EnergyChoice, MetricsSection};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::records::write_json;
use crate::registry::Providers;
use crate::session::Session;

/// The version of `metrics/agents.json`.
pub const METRICS_VERSION: u32 = 1;
/// Where enos keeps what it writes on hosts: `<root>/<experiment>-<created>/`.
pub const REMOTE_ROOT: &str = "/var/lib/enos";
/// How long an agent gets to start or to stop.
const AGENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The directory on hosts where the experiment's files go (`/var/lib/enos/<name>-<created>`).
pub fn remote_experiment_dir(state: &enos_core::ExperimentState) -> String {
    format!(
        "{REMOTE_ROOT}/{}-{}",
        state.name,
        state.created.strftime("%Y%m%d-%H%M%S")
    )
}

/// Where the agent of `host` writes, on the host.
pub fn remote_metrics_dir(state: &enos_core::ExperimentState, host: &str) -> String {
    format!("{}/metrics/{host}", remote_experiment_dir(state))
}

/// A collection: `metrics/agents.json` (a record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    /// Record version.
    pub v: u32,
    /// When the agents were started (RFC 3339).
    pub started: String,
    /// When they were stopped, once they were.
    pub stopped: Option<String>,
    /// Who started it: `bench` (stopped at the bench's end) or `metrics` (`enos metrics start`).
    pub by: String,
    /// The sampling period, in milliseconds.
    pub period_ms: u64,
    /// Each host's agent.
    pub hosts: Vec<HostAgent>,
}

impl Collection {
    /// Whether agents run (started, not stopped).
    pub fn running(&self) -> bool {
        self.stopped.is_none()
    }
}

/// One host's agent in a [`Collection`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostAgent {
    /// The host.
    pub host: String,
    /// Its site.
    pub site: String,
    /// Its role.
    pub role: String,
    /// Where its agent writes, on the host.
    pub dir: String,
    /// What the agent said when it started or stopped; none when it could not be reached.
    pub agent: Option<AgentInfo>,
    /// Why the agent could not be started or stopped.
    pub error: Option<String>,
    /// The Kwollect series fetched for it, relative to the experiment's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kwollect: Option<String>,
    /// Why its Kwollect series could not be fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kwollect_error: Option<String>,
    /// The best energy source of the host, the one analysis should use: Kwollect's measured
    /// node power for a Grid'5000 node whose series was fetched, else the agent's best (RAPL,
    /// else the model); none when it has no energy figure.
    #[serde(default)]
    pub best: Option<enos_energy::Source>,
}

impl HostAgent {
    /// Sets [`best`](Self::best) from what the host has.
    pub(crate) fn settle_best(&mut self) {
        self.best = if self.kwollect.is_some() {
            Some(enos_energy::Source::Kwollect)
        } else {
            self.agent.as_ref().and_then(|a| a.energy.best)
        };
    }
}

/// The collection of the experiment in `dir`, if any was started.
pub fn read_collection(dir: &Path) -> Option<Collection> {
    let text = std::fs::read(dir.join(layout::METRICS_AGENTS)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// What `enos metrics start|stop` did.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsRun {
    /// The collection as it now stands.
    pub collection: Collection,
    /// Whether it was already in the state asked (running for a start, stopped for a stop).
    pub already: bool,
}

/// `enos metrics start`: starts the agents of the scenario's `metrics:` section on every host;
/// they run until `enos metrics stop` (an `enos bench` meanwhile leaves them running).
pub async fn metrics_start(
    providers: &Providers,
    location: &Path,
    program: &Path,
    reporter: &dyn Reporter,
) -> Result<MetricsRun, Error> {
    let mut session = Session::open(location)?;
    let provider = crate::provider_of(providers, &session.experiment)?;
    let Some(section) = session.experiment.state().scenario.metrics.clone() else {
        return Err(no_section());
    };
    if let Some(collection) = read_collection(session.experiment.dir())
        && collection.running()
    {
        return Ok(MetricsRun {
            collection,
            already: true,
        });
    }
    let collection = start_in(
        &mut session,
        provider.as_ref(),
        &section,
        program,
        "metrics",
        reporter,
    )
    .await?;
    Ok(MetricsRun {
        collection,
        already: false,
    })
}

/// `enos metrics stop`: stops the agents, and fetches the Kwollect series of Grid'5000 nodes.
pub async fn metrics_stop(
    providers: &Providers,
    location: &Path,
    reporter: &dyn Reporter,
) -> Result<MetricsRun, Error> {
    let mut session = Session::open(location)?;
    crate::provider_of(providers, &session.experiment)?;
    let Some(collection) = read_collection(session.experiment.dir()) else {
        return Err(Error::new("no metrics were started for this experiment")
            .hint("`enos metrics start` or `enos bench` starts them"));
    };
    if !collection.running() {
        return Ok(MetricsRun {
            collection,
            already: true,
        });
    }
    let collection = stop_in(&mut session, collection, reporter).await?;
    Ok(MetricsRun {
        collection,
        already: false,
    })
}

fn no_section() -> Error {
    Error::new("the scenario has no metrics: section")
        .hint("add `metrics:` to the scenario (see docs/scenario.md), then `enos deploy` it")
}

/// The agent's `--energy` for a host, given the scenario's choice.
fn energy_asked(choice: EnergyChoice) -> EnergyAsked {
    match choice {
        EnergyChoice::Auto => EnergyAsked::Auto,
        EnergyChoice::Rapl => EnergyAsked::Rapl,
        EnergyChoice::Model => EnergyAsked::Model,
        EnergyChoice::Kwollect | EnergyChoice::None => EnergyAsked::None,
    }
}

/// `sh -c SCRIPT sh PROGRAM` as root on `host`: the program word is expanded by the login
/// user's shell (it may start with `"$HOME"`), the script runs as root.
fn as_root_with_program(host: &Host, script: &str, program: &str) -> String {
    format!(
        "{}sh -c {} sh {program}",
        host.root_prefix(),
        enos_deploy::script::quote(script)
    )
}

/// The script that starts the agent in `dir` unless it runs, waits until it says what it runs
/// with, and prints `started` or `running` then its `agent.json`.
fn start_script(dir: &str, args: &[String]) -> String {
    let q = enos_deploy::script::quote;
    let args: Vec<String> = args.iter().map(|a| q(a)).collect();
    format!(
        r#"d={dir}
mkdir -p "$d" || exit 70
if [ -f "$d/{pid}" ] && kill -0 "$(cat "$d/{pid}")" 2>/dev/null; then echo running; cat "$d/{info}"; exit 0; fi
rm -f "$d/{info}" "$d/{pid}"
cd / || exit 70
setsid "$1" daemon {name} --dir "$d" {args} </dev/null >>"$d/{log}" 2>&1 &
agent=$!
i=0
while [ ! -s "$d/{info}" ]; do
  i=$((i+1))
  if [ "$i" -gt 100 ] || ! kill -0 "$agent" 2>/dev/null; then
    [ -s "$d/{info}" ] && break
    echo "the agent did not start:" >&2; tail -n 5 "$d/{log}" >&2; exit 1
  fi
  sleep 0.1
done
echo started
cat "$d/{info}"
"#,
        dir = q(dir),
        pid = enos_agent::PID_FILE,
        info = enos_agent::INFO_FILE,
        log = enos_agent::LOG_FILE,
        name = enos_agent::NAME,
        args = args.join(" "),
    )
}

/// The script that stops the agent in `dir` (TERM, then KILL after 10 s) and prints its
/// `agent.json`.
fn stop_script(dir: &str) -> String {
    format!(
        r#"d={dir}
f="$d/{pid}"
if [ -f "$f" ]; then
  p=$(cat "$f")
  kill -TERM "$p" 2>/dev/null
  i=0
  while kill -0 "$p" 2>/dev/null; do
    i=$((i+1))
    if [ "$i" -gt 100 ]; then kill -KILL "$p" 2>/dev/null; rm -f "$f"; break; fi
    sleep 0.1
  done
fi
echo stopped
cat "$d/{info}" 2>/dev/null
exit 0
"#,
        dir = enos_deploy::script::quote(dir),
        pid = enos_agent::PID_FILE,
        info = enos_agent::INFO_FILE,
    )
}

/// The agent's `agent.json` after the first line of a start or stop script's output.
fn agent_info(stdout: &[u8]) -> Option<AgentInfo> {
    let text = String::from_utf8_lossy(stdout);
    let (_, json) = text.split_once('\n')?;
    serde_json::from_str(json.trim()).ok()
}

/// Starts the agents on every host and records the collection; `by` says who started it.
pub(crate) async fn start_in(
    session: &mut Session,
    provider: &dyn Provider,
    section: &MetricsSection,
    program: &Path,
    by: &str,
    reporter: &dyn Reporter,
) -> Result<Collection, Error> {
    let fleet = session.fleet(reporter).await?;
    let names: Vec<String> = session
        .testbed
        .hosts
        .iter()
        .map(|h| h.name.clone())
        .collect();
    let program =
        crate::program::on_hosts(&fleet, provider, program, &names, "the metrics agents").await?;
    let state = session.experiment.state();
    let share_cpu = provider.hosts_share_cpu();
    let asked = energy_asked(section.energy.source);
    let mut commands = Vec::new();
    let mut hosts = Vec::new();
    for host in &session.testbed.hosts {
        let dir = remote_metrics_dir(state, &host.name);
        let mut args = vec![
            "--host".to_owned(),
            host.name.clone(),
            "--period".to_owned(),
            format!("{}ms", section.period.as_millis()),
            "--energy".to_owned(),
            match asked {
                EnergyAsked::Auto => "auto",
                EnergyAsked::Rapl => "rapl",
                EnergyAsked::Model => "model",
                EnergyAsked::None => "none",
            }
            .to_owned(),
        ];
        if matches!(asked, EnergyAsked::Auto | EnergyAsked::Model) {
            let model = serde_json::to_string(section.energy.model_of(&host.role))
                .map_err(|e| Error::new(format!("the power model: {e}")))?;
            args.extend(["--model".to_owned(), model]);
        }
        if share_cpu {
            args.push("--share-cpu".to_owned());
        }
        if !section.system {
            args.push("--no-system".to_owned());
        }
        commands.push((
            host.name.clone(),
            as_root_with_program(host, &start_script(&dir, &args), &program),
        ));
        hosts.push(HostAgent {
            host: host.name.clone(),
            site: host.site.clone(),
            role: host.role.clone(),
            dir,
            agent: None,
            error: None,
            kwollect: None,
            kwollect_error: None,
            best: None,
        });
    }
    let results = fleet.run_each(&commands, AGENT_TIMEOUT, reporter).await;
    fold_results(&mut hosts, results);
    let collection = Collection {
        v: METRICS_VERSION,
        started: jiff::Timestamp::now().to_string(),
        stopped: None,
        by: by.to_owned(),
        period_ms: section.period.as_millis() as u64,
        hosts,
    };
    save(session, &collection)?;
    let failed: Vec<String> = collection
        .hosts
        .iter()
        .filter_map(|h| h.error.as_ref().map(|e| format!("{}: {e}", h.host)))
        .collect();
    if !failed.is_empty() {
        reporter.note(&format!(
            "warning: the metrics agent did not start on {} host(s): {}",
            failed.len(),
            failed.join("; ")
        ));
    }
    Ok(collection)
}

/// Folds the outputs of start or stop scripts into the hosts' records.
fn fold_results(
    hosts: &mut [HostAgent],
    results: Vec<enos_remote::HostResult<enos_remote::CommandOutput>>,
) {
    for result in results {
        let Some(h) = hosts.iter_mut().find(|h| h.host == result.host) else {
            continue;
        };
        match result.outcome {
            Ok(output) if output.success() => match agent_info(&output.stdout) {
                Some(info) => {
                    h.agent = Some(info);
                    h.error = None;
                    h.settle_best();
                }
                None => h.error = Some("the agent said nothing of itself".to_owned()),
            },
            Ok(output) => {
                h.error = Some(
                    String::from_utf8_lossy(&output.stderr)
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .collect::<Vec<_>>()
                        .join("; "),
                );
            }
            Err(e) => h.error = Some(e.reason()),
        }
    }
}

fn save(session: &Session, collection: &Collection) -> Result<(), Error> {
    let path = session.experiment.dir().join(layout::METRICS_AGENTS);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::new(format!("cannot create {}: {e}", parent.display())))?;
    }
    write_json(&path, collection)
}

/// Stops the agents of `collection` and records it stopped; hosts that cannot be reached keep
/// their error. Then fetches the Kwollect series of the hosts that have one.
pub(crate) async fn stop_in(
    session: &mut Session,
    mut collection: Collection,
    reporter: &dyn Reporter,
) -> Result<Collection, Error> {
    let (fleet, failures) = crate::session::connect(
        &session.testbed,
        &session.testbed.hosts,
        crate::session::PARALLELISM,
        reporter,
    )
    .await;
    stop_agents(&fleet, session, &mut collection, reporter).await;
    for f in failures {
        if let Some(h) = collection.hosts.iter_mut().find(|h| h.host == f.host) {
            h.error = Some(f.outcome_error());
        }
    }
    collection.stopped = Some(jiff::Timestamp::now().to_string());
    crate::kwollect::fetch_for(session, &mut collection, reporter).await;
    save(session, &collection)?;
    Ok(collection)
}

async fn stop_agents(
    fleet: &Fleet,
    session: &Session,
    collection: &mut Collection,
    reporter: &dyn Reporter,
) {
    let commands: Vec<(String, String)> = session
        .testbed
        .hosts
        .iter()
        .filter(|h| fleet.hosts().any(|n| n == h.name))
        .filter_map(|h| {
            let agent = collection.hosts.iter().find(|a| a.host == h.name)?;
            Some((h.name.clone(), h.as_root(&stop_script(&agent.dir))))
        })
        .collect();
    let results = fleet.run_each(&commands, AGENT_TIMEOUT, reporter).await;
    fold_results(&mut collection.hosts, results);
}

/// At `enos destroy` of a testbed whose hosts outlive it: stops the agents still running.
pub(crate) async fn stop_for_destroy(session: &mut Session, reporter: &dyn Reporter) {
    let Some(collection) = read_collection(session.experiment.dir()) else {
        return;
    };
    if !collection.running() {
        return;
    }
    if let Err(e) = stop_in(session, collection, reporter).await {
        reporter.note(&format!(
            "warning: stopping the metrics agents: {}",
            e.message
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agents_output_is_read_after_its_status_line() {
        let info = r#"{"v":1,"host":"a-x-1","pid":12,"started":"2026-12-01T10:00:00Z","stopped":null,"period_ms":1000,"system":true,"energy":{"asked":"auto","sources":["model"],"best":"model","why":"no RAPL zone","zones":[],"model":{"kind":"linear","idle_w":1.0,"max_w":2.0},"utilisation":"processes"},"samples":0}"#;
        let parsed = agent_info(format!("started\n{info}\n").as_bytes()).unwrap();
        assert_eq!(parsed.host, "a-x-1");
        assert_eq!(parsed.energy.best, Some(enos_energy::Source::Model));
        assert!(agent_info(b"started\n").is_none());
    }

    #[test]
    fn a_fetched_kwollect_series_is_the_best_source_of_its_host() {
        let info = r#"{"v":1,"host":"h","pid":1,"started":"t","stopped":null,"period_ms":1000,"system":true,"energy":{"asked":"auto","sources":["rapl","model"],"best":"rapl","why":"","zones":["package-0"],"model":null,"utilisation":"machine"},"samples":0}"#;
        let mut host = HostAgent {
            host: "taurus-7".into(),
            site: "lyon".into(),
            role: "compute".into(),
            dir: "/d".into(),
            agent: Some(serde_json::from_str(info).unwrap()),
            error: None,
            kwollect: None,
            kwollect_error: None,
            best: None,
        };
        host.settle_best();
        assert_eq!(host.best, Some(Source::Rapl));
        host.kwollect = Some("metrics/kwollect/taurus-7.jsonl".into());
        host.settle_best();
        assert_eq!(host.best, Some(Source::Kwollect));
    }

    #[test]
    fn the_start_script_quotes_every_argument() {
        let script = start_script(
            "/var/lib/enos/q-1/metrics/a b",
            &["--model".to_owned(), r#"{"kind":"linear"}"#.to_owned()],
        );
        assert!(
            script.contains(r#"d='/var/lib/enos/q-1/metrics/a b'"#),
            "{script}"
        );
        assert!(script.contains(r#"'{"kind":"linear"}'"#), "{script}");
        assert!(
            script.contains("setsid \"$1\" daemon metrics --dir \"$d\""),
            "{script}"
        );
    }
}
