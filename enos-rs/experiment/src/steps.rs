//! The `deploy:` section of a scenario: checked when a scenario is validated, rendered into a
//! plan on the testbed, and applied over SSH by a deploy.
//!
//! Each run writes `deploy/<timestamp>/report.json` and a log per step and host under
//! `deploy/<timestamp>/logs/`; `deploy/current` links to the latest run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use enos_core::{Experiment, Reporter, layout};
use enos_deploy::{DeployPlan, DeployReport, Facts, Outcome, RunDirs, SecretStore, Status};
use enos_scenario::Scenario;

use crate::Error;
use crate::error::plural;
use crate::records::{FACTS_VERSION, FactsRecord, write_json};
use crate::session::Session;

/// A run of the deploy steps.
#[derive(Debug, Clone)]
pub struct StepsRun {
    /// What each step did on each host.
    pub report: DeployReport,
    /// How many steps were planned.
    pub planned: usize,
    /// The report's file.
    pub report_file: PathBuf,
    /// The experiment's directory (host logs are relative to it).
    pub results: PathBuf,
}

impl StepsRun {
    /// The failure to report when the run failed: the step, each failed host with the end of
    /// its output, and where the logs are.
    pub fn failure(&self) -> Option<Error> {
        let Outcome::Failed { reason } = &self.report.outcome else {
            return None;
        };
        let mut message = reason.to_owned();
        if let Some(step) = self.report.steps.last() {
            let _ = write!(message, "\n  from: {}", step.origin);
            for host in step.hosts.iter().filter(|h| h.status == Status::Failed) {
                let _ = write!(message, "\n  {}:", host.host);
                for line in host.detail.as_deref().unwrap_or("").lines() {
                    let _ = write!(message, "\n    {line}");
                }
                if let Some(log) = &host.log {
                    let _ = write!(message, "\n    log: {}", self.results.join(log).display());
                }
            }
        }
        Some(Error::new(message).hint(
            "what the other hosts did is kept and reported above; fix the cause and run `enos \
             deploy` again: steps whose work holds already are skipped",
        ))
    }
}

/// Renders the scenario's `deploy:` section on a made-up testbed (what `enos validate` and the
/// start of a deploy check): an undefined variable or a missing template file is an error
/// before anything is provisioned.
pub fn example_plan(scenario: &Scenario) -> Result<DeployPlan, Error> {
    let testbed = enos_deploy::example_testbed(scenario, "/results");
    enos_deploy::plan(
        &scenario.deploy,
        &testbed,
        Arc::new(SecretStore::placeholders()),
    )
    .map_err(|e| Error::new(e.to_string()).hint("no host was touched"))
}

/// The report of the latest deploy run (`deploy/current`). One still `running` was left so by
/// an enos that stopped — this process holds the experiment's lock — and is marked
/// `interrupted`, in its file too.
pub fn current_report(experiment: &Experiment) -> Option<DeployReport> {
    let path = experiment.dir().join(layout::DEPLOY_CURRENT_REPORT);
    let mut report: DeployReport = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    if report.settle_interrupted()
        && let Err(e) = write_json(&path, &report)
    {
        tracing::warn!("cannot mark {} interrupted: {e}", path.display());
    }
    Some(report)
}

/// A deploy report in one line, for `enos info`.
pub fn summary(report: &DeployReport) -> String {
    let counts = report.counts();
    let outcome = match &report.outcome {
        Outcome::Running => "running".to_owned(),
        Outcome::Interrupted => "interrupted: enos stopped before the steps ended".to_owned(),
        Outcome::Succeeded => "succeeded".to_owned(),
        Outcome::Failed { reason } => format!("failed: {reason}"),
    };
    format!(
        "{outcome}; {} step{} at {}: {} changed, {} unchanged, {} skipped, {} failed",
        report.steps.len(),
        plural(report.steps.len()),
        report.started.strftime("%Y-%m-%d %H:%M:%S UTC"),
        counts.changed,
        counts.unchanged,
        counts.skipped,
        counts.failed
    )
}

/// Asks every host of the session what it is, over the session's fleet, and records it in
/// `facts.json`.
pub(crate) async fn gather_facts(
    session: &mut Session,
    reporter: &dyn Reporter,
) -> Result<Vec<(String, Facts)>, Error> {
    let fleet = session.fleet(reporter).await?;
    let facts = enos_deploy::gather_facts(&fleet, reporter)
        .await
        .map_err(|e| Error::new(e.to_string()).hint("no step ran"))?;
    let record = FactsRecord {
        version: FACTS_VERSION,
        hosts: facts.iter().cloned().collect(),
    };
    write_json(&session.experiment.dir().join(layout::FACTS), &record)?;
    Ok(facts)
}

/// Applies the `deploy:` section of the experiment's scenario to the session's testbed, with
/// the facts its hosts gave.
pub(crate) async fn run(
    session: &mut Session,
    facts: &[(String, Facts)],
    reporter: &dyn Reporter,
) -> Result<StepsRun, Error> {
    let scenario = session.experiment.state().scenario.clone();
    let fleet = session.fleet(reporter).await?;
    let experiment = &session.experiment;
    let secrets = Arc::new(
        SecretStore::open(&experiment.dir().join(layout::SECRETS))
            .map_err(|e| Error::new(e.to_string()))?,
    );
    let view = enos_deploy::testbed_view(&scenario.name, experiment.dir(), &session.testbed, facts)
        .map_err(|e| Error::new(e.to_string()).hint("no step ran"))?;
    let plan = enos_deploy::plan(&scenario.deploy, &view, secrets.clone())
        .map_err(|e| Error::new(e.to_string()).hint("no step ran"))?;
    secrets.save().map_err(|e| Error::new(e.to_string()))?;
    // The run before this one, if enos stopped during it, is recorded as interrupted.
    let _ = current_report(experiment);
    let dirs = RunDirs::new(experiment.dir());
    // `deploy/current` leads to this run from its start: a deploy killed halfway is found.
    let run_dir = dirs.results.join(&dirs.run);
    std::fs::create_dir_all(&run_dir)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", run_dir.display())))?;
    if let Some(stamp) = dirs.run.file_name() {
        let link = experiment.dir().join(layout::DEPLOY_CURRENT);
        enos_core::fsutil::symlink_atomic(Path::new(stamp), &link)
            .map_err(|e| Error::new(format!("cannot link {}: {e}", link.display())))?;
    }
    let report = enos_deploy::execute(&plan, &fleet, &dirs, reporter).await;
    Ok(StepsRun {
        report,
        planned: plan.steps.len(),
        report_file: dirs.report(),
        results: dirs.results.clone(),
    })
}
