//! `enos run`: deploy → bench → backup → analyze → destroy in one command, for CI. Each phase is
//! the library's own (nothing here runs a second implementation of one); `destroy` runs even
//! when an earlier phase failed (unless `keep`), and the verdict says whether the run
//! succeeded, kept partial results, or failed.
//!
//! Every run is registered in the results root's ledger ([`crate::ledger`]) when it starts,
//! and its entry completed when it ends, with the testbed's facts read before the destroy.
//!
//! The analysis lives in a crate this one does not depend on (polars stays there): the caller
//! hands it in as a function of the experiment's directory.

use std::future::Future;
use std::path::{Path, PathBuf};

use enos_core::Reporter;
use indexmap::IndexMap;
use serde_json::Value;

use crate::Error;
use crate::backup::{BackupRun, HostStatus};
use crate::bench::{BenchRequest, BenchRun, RunStatus};
use crate::deploy::{DeployRequest, DeployRun};
use crate::exec::{ExecRequest, HostOutcome};
use crate::ledger::{self, LedgerEntry, LedgerStatus, ScenarioRef, SweepRef, TestbedFacts};
use crate::registry::Providers;
use crate::teardown::Destroyed;

/// What `enos run` asks for.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The deploy (scenario file, results root, WAN validation).
    pub deploy: DeployRequest,
    /// The `enos` program the hosts run the load generator and the metrics agent with.
    pub program: PathBuf,
    /// Leave the testbed up at the end.
    pub keep: bool,
    /// The swept keys and their values, for the ledger (empty outside a sweep).
    pub params: IndexMap<String, Value>,
    /// The sweep the run is a point of.
    pub sweep: Option<SweepRef>,
    /// The run a bundle's re-run repeats.
    pub rerun_of: Option<String>,
}

impl RunRequest {
    /// A run of the scenario `deploy` describes, outside a sweep.
    pub fn new(deploy: DeployRequest, program: PathBuf, keep: bool) -> RunRequest {
        RunRequest {
            deploy,
            program,
            keep,
            params: IndexMap::new(),
            sweep: None,
            rerun_of: None,
        }
    }
}

/// How a run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunVerdict {
    /// Every phase succeeded: complete results.
    Success,
    /// Results were kept but are incomplete: a host lost during the bench or unreachable at the
    /// backup, an interrupted bench, or an analysis that failed.
    Partial,
    /// A phase failed before any result was made (deploy, or the bench itself).
    Failure,
}

/// What each phase of a run did; a phase that did not run is `None`.
#[derive(Debug)]
pub struct RunOutcome {
    /// The deploy.
    pub deploy: DeployRun,
    /// The bench (none when the scenario has no workloads, or the deploy failed).
    pub bench: Option<Result<BenchRun, Error>>,
    /// Whether the scenario has workloads to bench.
    pub has_workloads: bool,
    /// The backup.
    pub backup: Option<Result<BackupRun, Error>>,
    /// The analysis: what it said, or why it failed.
    pub analysis: Option<Result<String, String>>,
    /// The destroy (none with `keep`).
    pub destroy: Option<Result<Destroyed, Error>>,
    /// The experiment's directory, once it exists.
    pub results: Option<PathBuf>,
    /// The run's entry in the ledger, as last written (none when the scenario did not load).
    pub ledger: Option<LedgerEntry>,
    /// Why the ledger could not be written.
    pub ledger_error: Option<String>,
}

impl RunOutcome {
    /// The run's verdict.
    pub fn verdict(&self) -> RunVerdict {
        if self.deploy.result.is_err() {
            return RunVerdict::Failure;
        }
        match &self.bench {
            None if !self.has_workloads => {}
            Some(Err(_)) | None => return RunVerdict::Failure,
            Some(Ok(run)) if run.record.status != RunStatus::Complete => {
                return RunVerdict::Partial;
            }
            Some(Ok(_)) => {}
        }
        let backup_whole = matches!(&self.backup, Some(Ok(b))
            if b.manifest.hosts.iter().all(|h| h.status == HostStatus::Complete));
        let analysed = matches!(&self.analysis, Some(Ok(_)));
        let destroyed = self.destroy.as_ref().is_none_or(Result::is_ok);
        if backup_whole && analysed && destroyed && self.ledger_error.is_none() {
            RunVerdict::Success
        } else {
            RunVerdict::Partial
        }
    }
}

/// The experiment the `current` link of the results root `root` leads to, if it is named `name`
/// and was created since `started` (by this run, then, and never an older one the link led to
/// before a deploy that failed early).
fn made_by(root: &Path, name: &str, started: jiff::Timestamp) -> Option<PathBuf> {
    let experiment = enos_core::Experiment::open(root).ok()?;
    let state = experiment.state();
    (state.name == name && state.created >= started).then(|| experiment.dir().to_owned())
}

/// Runs every phase on the scenario of `request`; `analyze` analyses an experiment's directory
/// (the binary passes `enos-analysis`), `stop` interrupts the bench (SIGINT).
pub async fn run(
    providers: &Providers,
    request: &RunRequest,
    reporter: &dyn Reporter,
    stop: impl Future<Output = ()>,
    analyze: &dyn Fn(&Path) -> Result<String, String>,
) -> RunOutcome {
    let started = jiff::Timestamp::now();
    let root = &request.deploy.results;
    let loaded = match &request.deploy.source {
        Some(text) => crate::scenario::load_text(providers, &request.deploy.file, text.clone()),
        None => crate::scenario::load(providers, &request.deploy.file),
    };
    let scenario = loaded.ok();
    let has_workloads = scenario
        .as_ref()
        .is_none_or(|(s, _)| !s.bench.workloads.is_empty());
    let name = scenario.as_ref().map(|(s, _)| s.name.clone());
    let mut entry = scenario
        .as_ref()
        .map(|(scenario, source)| new_entry(request, scenario, source, started));
    let mut ledger_error = None;
    if let Some(entry) = &entry {
        ledger_error = ledger::write(root, entry).err().map(|e| e.to_string());
    }
    let deploy = crate::deploy(providers, &request.deploy, reporter).await;
    let results = deploy.testbed.as_ref().map(|t| t.results.clone());
    let mut outcome = RunOutcome {
        deploy,
        bench: None,
        has_workloads,
        backup: None,
        analysis: None,
        destroy: None,
        results: results.clone(),
        ledger: None,
        ledger_error,
    };
    let location = results.or_else(|| {
        // A deploy that failed after creating its experiment: destroy it all the same.
        made_by(root, name.as_deref()?, started)
    });
    if let Some(location) = &location {
        if outcome.deploy.result.is_ok() {
            let bench_request = BenchRequest {
                workload: None,
                program: request.program.clone(),
            };
            if has_workloads {
                outcome.bench =
                    Some(crate::bench(providers, location, &bench_request, reporter, stop).await);
            }
            // Whatever the bench did, what it left is fetched and analysed.
            outcome.backup = Some(crate::backup(providers, location, reporter).await);
            outcome.analysis = Some(analyze(location));
            if let (Some(entry), Some((scenario, _))) = (&mut entry, &scenario) {
                read_testbed_facts(&mut entry.testbed, location, scenario).await;
            }
        }
        if !request.keep {
            outcome.destroy = Some(crate::destroy(providers, location, reporter).await);
        }
        outcome.results = Some(location.clone());
    }
    if let Some(mut entry) = entry {
        entry.experiment = location.as_deref().and_then(|l| relative_to(l, root));
        entry.finished = Some(jiff::Timestamp::now());
        let interrupted = matches!(&outcome.bench,
            Some(Ok(b)) if b.record.status == RunStatus::Interrupted);
        entry.status = match outcome.verdict() {
            RunVerdict::Success => LedgerStatus::Success,
            // Stopped by hand: its results are kept, but a sweep runs its point again.
            RunVerdict::Partial if interrupted => LedgerStatus::Interrupted,
            RunVerdict::Partial => LedgerStatus::Partial,
            RunVerdict::Failure => LedgerStatus::Failure,
        };
        entry.errors = outcome.errors();
        if let Err(e) = ledger::write(root, &entry) {
            outcome.ledger_error = Some(e.to_string());
        }
        outcome.ledger = Some(entry);
    }
    outcome
}

impl RunOutcome {
    /// What went wrong, phase by phase, for the ledger.
    pub fn errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if let Err(e) = &self.deploy.result {
            errors.push(format!("deploy: {e}"));
        }
        if let Some(Err(e)) = &self.bench {
            errors.push(format!("bench: {e}"));
        }
        if let Some(Err(e)) = &self.backup {
            errors.push(format!("backup: {e}"));
        }
        if let Some(Err(e)) = &self.analysis {
            errors.push(format!("analysis: {e}"));
        }
        if let Some(Err(e)) = &self.destroy {
            errors.push(format!("destroy: {e}"));
        }
        if let Some(e) = &self.ledger_error {
            errors.push(format!("ledger: {e}"));
        }
        errors
    }
}

/// `path` relative to the results root `root` (both resolved), when it is under it.
fn relative_to(path: &Path, root: &Path) -> Option<String> {
    let root = std::fs::canonicalize(root).ok()?;
    let path = std::fs::canonicalize(path).ok()?;
    path.strip_prefix(&root)
        .ok()
        .map(|p| p.display().to_string())
}

/// The ledger's entry of a run starting now.
fn new_entry(
    request: &RunRequest,
    scenario: &enos_scenario::Scenario,
    source: &str,
    started: jiff::Timestamp,
) -> LedgerEntry {
    let file =
        std::path::absolute(&request.deploy.file).unwrap_or_else(|_| request.deploy.file.clone());
    let pid = std::process::id();
    LedgerEntry {
        v: ledger::LEDGER_VERSION,
        id: format!(
            "{}-{}-{pid}",
            scenario.name,
            started.strftime("%Y%m%dT%H%M%S%.3fZ")
        ),
        name: scenario.name.clone(),
        scenario: ScenarioRef {
            file: file.display().to_string(),
            sha256: ledger::sha256_hex(source.as_bytes()),
        },
        status: LedgerStatus::Running,
        pid,
        started,
        finished: None,
        experiment: None,
        params: request.params.clone(),
        sweep: request.sweep.clone(),
        resolved: ledger::resolved(scenario),
        testbed: TestbedFacts {
            provider: crate::scenario::provider_name(scenario).to_owned(),
            sites: scenario
                .sites
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        s.roles.iter().map(|r| r.count as usize).sum(),
                    )
                })
                .collect(),
            controller: ledger::controller_facts(),
            ..TestbedFacts::default()
        },
        rerun_of: request.rerun_of.clone(),
        errors: Vec::new(),
    }
}

/// Reads the kernel, OS and package versions of every host of the experiment at `location`.
async fn read_testbed_facts(
    facts: &mut TestbedFacts,
    location: &Path,
    scenario: &enos_scenario::Scenario,
) {
    let request = ExecRequest {
        roles: Vec::new(),
        sites: Vec::new(),
        parallelism: crate::session::PARALLELISM,
        timeout: std::time::Duration::from_secs(60),
        command: ledger::host_facts_command(&ledger::scenario_packages(scenario)),
    };
    match crate::exec(location, &request, &enos_core::NullReporter).await {
        Ok(run) => {
            for (host, outcome) in run.hosts {
                match outcome {
                    HostOutcome::Ran(output) => {
                        ledger::read_host_facts(facts, &String::from_utf8_lossy(&output.stdout));
                    }
                    HostOutcome::Failed(why) | HostOutcome::Unreachable(why) => {
                        facts.unreachable.insert(host, why);
                    }
                }
            }
        }
        Err(e) => {
            facts.unreachable.insert("*".to_owned(), e.to_string());
        }
    }
}
