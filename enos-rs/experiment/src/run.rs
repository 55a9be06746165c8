//! `enos run`: deploy → bench → backup → analyze → destroy in one command, for CI. Each phase is
//! the library's own (nothing here runs a second implementation of one); `destroy` runs even
//! when an earlier phase failed (unless `keep`), and the verdict says whether the run
//! succeeded, kept partial results, or failed.
//!
//! The analysis lives in a crate this one does not depend on (polars stays there): the caller
//! hands it in as a function of the experiment's directory.

use std::future::Future;
use std::path::{Path, PathBuf};

use enos_core::Reporter;

use crate::Error;
use crate::backup::{BackupRun, HostStatus};
use crate::bench::{BenchRequest, BenchRun, RunStatus};
use crate::deploy::{DeployRequest, DeployRun};
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
        if backup_whole && analysed && destroyed {
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
    let scenario = crate::scenario::load(providers, &request.deploy.file).ok();
    let has_workloads = scenario
        .as_ref()
        .is_none_or(|(s, _)| !s.bench.workloads.is_empty());
    let name = scenario.map(|(s, _)| s.name);
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
    };
    let Some(location) = results.or_else(|| {
        // A deploy that failed after creating its experiment: destroy it all the same.
        made_by(&request.deploy.results, name.as_deref()?, started)
    }) else {
        return outcome;
    };
    if outcome.deploy.result.is_ok() {
        let bench_request = BenchRequest {
            workload: None,
            program: request.program.clone(),
        };
        if has_workloads {
            outcome.bench =
                Some(crate::bench(providers, &location, &bench_request, reporter, stop).await);
        }
        // Whatever the bench did, what it left is fetched and analysed.
        outcome.backup = Some(crate::backup(providers, &location, reporter).await);
        outcome.analysis = Some(analyze(&location));
    }
    if !request.keep {
        outcome.destroy = Some(crate::destroy(providers, &location, reporter).await);
    }
    outcome.results = Some(location);
    outcome
}
