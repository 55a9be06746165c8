//! The `deploy:` section of a scenario: checked when a scenario is validated, rendered into a
//! plan on the testbed, and applied over SSH by `enos deploy`.
//!
//! Each run writes `deploy/<timestamp>/report.json` and a log per step and host under
//! `deploy/<timestamp>/logs/`; `deploy/current` links to the latest run.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use enos_core::{Experiment, Testbed};
use enos_deploy::report::StepReport;
use enos_deploy::{DeployPlan, DeployReport, Outcome, RunDirs, SecretStore, Status};
use enos_remote::Fleet;
use enos_scenario::Scenario;

use crate::Failure;
use crate::experiment::{fleet_config, plural, targets};
use crate::progress::TerminalReporter;

/// Renders the scenario's `deploy:` section on a made-up testbed (what `enos validate` and the
/// start of `enos deploy` check): an undefined variable or a missing template file is an error
/// before anything is provisioned.
pub fn example_plan(scenario: &Scenario) -> Result<DeployPlan, Failure> {
    let testbed = enos_deploy::example_testbed(scenario, "/results");
    enos_deploy::plan(
        &scenario.deploy,
        &testbed,
        Arc::new(SecretStore::placeholders()),
    )
    .map_err(|e| Failure::new(e.to_string()).hint("no host was touched"))
}

/// The report of the latest deploy run (`deploy/current`). One still `running` was left so by
/// an enos that stopped — this process holds the experiment's lock — and is marked
/// `interrupted`, in its file too.
pub fn current_report(experiment: &Experiment) -> Option<DeployReport> {
    let path = experiment.dir().join("deploy/current/report.json");
    let mut report: DeployReport = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    if report.settle_interrupted() {
        let saved = serde_json::to_vec_pretty(&report)
            .map_err(std::io::Error::other)
            .and_then(|mut text| {
                text.push(b'\n');
                enos_core::fsutil::write_atomic(&path, &text)
            });
        if let Err(e) = saved {
            tracing::warn!("cannot mark {} interrupted: {e}", path.display());
        }
    }
    Some(report)
}

/// Applies the `deploy:` section of the experiment's scenario to `testbed`.
pub async fn apply(
    experiment: &mut Experiment,
    testbed: &Testbed,
    reporter: &TerminalReporter,
) -> Result<ExitCode, Failure> {
    let scenario = experiment.state().scenario.clone();
    if scenario.deploy.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let (fleet, _) =
        Fleet::connect(fleet_config(testbed, 64), targets(&testbed.hosts), reporter).await;
    let no_step_ran = |e: enos_deploy::FactsError| Failure::new(e.to_string()).hint("no step ran");
    let facts = enos_deploy::gather_facts(&fleet, reporter)
        .await
        .map_err(no_step_ran)?;
    let secrets = Arc::new(
        SecretStore::open(&experiment.dir().join("secrets.json"))
            .map_err(|e| Failure::new(e.to_string()))?,
    );
    let view = enos_deploy::testbed_view(&scenario.name, experiment.dir(), testbed, &facts)
        .map_err(no_step_ran)?;
    let plan = enos_deploy::plan(&scenario.deploy, &view, secrets.clone())
        .map_err(|e| Failure::new(e.to_string()).hint("no step ran"))?;
    secrets.save().map_err(|e| Failure::new(e.to_string()))?;
    // The run before this one, if enos stopped during it, is recorded as interrupted.
    let _ = current_report(experiment);
    let dirs = RunDirs::new(experiment.dir());
    // `deploy/current` leads to this run from its start: a deploy killed halfway is found.
    let run_dir = dirs.results.join(&dirs.run);
    std::fs::create_dir_all(&run_dir)
        .map_err(|e| Failure::new(format!("cannot create {}: {e}", run_dir.display())))?;
    if let Some(stamp) = dirs.run.file_name() {
        let link = experiment.dir().join("deploy/current");
        enos_core::fsutil::symlink_atomic(Path::new(stamp), &link)
            .map_err(|e| Failure::new(format!("cannot link {}: {e}", link.display())))?;
    }
    let report = enos_deploy::execute(&plan, &fleet, &dirs, reporter).await;
    print_report(&report, &dirs, plan.steps.len());
    match &report.outcome {
        Outcome::Failed { reason } => Err(failure(&report, reason, &dirs)),
        _ => Ok(ExitCode::SUCCESS),
    }
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

/// One line per step, then the totals.
fn print_report(report: &DeployReport, dirs: &RunDirs, planned: usize) {
    let mut out = std::io::stdout().lock();
    let width = report
        .steps
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    for step in &report.steps {
        let _ = writeln!(
            out,
            "{:>3}/{planned} {:<width$}  {}",
            step.number,
            step.name,
            step_counts(step)
        );
    }
    let counts = report.counts();
    let hosts: std::collections::BTreeSet<&str> = report
        .steps
        .iter()
        .flat_map(|s| s.hosts.iter().map(|h| h.host.as_str()))
        .collect();
    let ran = report.steps.len();
    let not_run = if ran < planned {
        format!(" ({} not run)", planned - ran)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "deploy steps: {ran} step{}{not_run} on {} host{}: {} changed, {} unchanged, {} skipped, {} failed{}",
        plural(ran),
        hosts.len(),
        plural(hosts.len()),
        counts.changed,
        counts.unchanged,
        counts.skipped,
        counts.failed,
        if counts.dropped > 0 {
            format!(", {} left out", counts.dropped)
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "report: {}", dirs.report().display());
}

fn step_counts(step: &StepReport) -> String {
    let parts: Vec<String> = [
        (Status::Changed, "changed"),
        (Status::Unchanged, "unchanged"),
        (Status::Skipped, "skipped"),
        (Status::Failed, "failed"),
        (Status::Dropped, "left out"),
    ]
    .into_iter()
    .filter_map(|(status, word)| {
        let n = step.count(status);
        (n > 0).then(|| format!("{n} {word}"))
    })
    .collect();
    if parts.is_empty() {
        "no host".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The error of a failed deploy: the step, each failed host with the end of its output, and
/// where the logs are.
fn failure(report: &DeployReport, reason: &str, dirs: &RunDirs) -> Failure {
    let mut message = reason.to_owned();
    if let Some(step) = report.steps.last() {
        let _ = write!(message, "\n  from: {}", step.origin);
        for host in step.hosts.iter().filter(|h| h.status == Status::Failed) {
            let _ = write!(message, "\n  {}:", host.host);
            for line in host.detail.as_deref().unwrap_or("").lines() {
                let _ = write!(message, "\n    {line}");
            }
            if let Some(log) = &host.log {
                let _ = write!(message, "\n    log: {}", dirs.results.join(log).display());
            }
        }
    }
    Failure::new(message).hint(
        "what the other hosts did is kept and reported above; fix the cause and run `enos deploy` \
         again: steps whose work holds already are skipped",
    )
}
