//! Running a plan: step after step, each on its hosts in parallel over SSH, with the failure
//! policy applied once the step has ended everywhere, a log per host and step, and the report
//! saved after every step.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use enos_core::Reporter;
use enos_core::fsutil::{write_atomic, write_atomic_with_mode};
use enos_remote::{CommandOutput, Fleet, HostCommand, HostResult};
use enos_scenario::deploy::FailurePolicy;

use crate::plan::{DeployPlan, HostAction, PlannedStep, Work};
use crate::report::{DeployReport, HostReport, Outcome, Status, StepReport};
use crate::script::{Said, fetched, script, status_of};

/// Extra time a host gets beyond a step's timeout, for the SSH round trip, before enos gives up
/// on it (services and waits end themselves at the timeout).
const SLACK: Duration = Duration::from_secs(30);
/// How many lines of a failed step's output its report keeps.
const TAIL_LINES: usize = 15;

/// Where a deploy writes: the experiment's results directory and this run's directory in it.
#[derive(Debug, Clone)]
pub struct RunDirs {
    /// The experiment's results directory (fetched files go there).
    pub results: PathBuf,
    /// This run's directory, relative to `results` (`deploy/<timestamp>`): `report.json` and
    /// `logs/<step>/<host>.log`.
    pub run: PathBuf,
}

impl RunDirs {
    /// The directories of a run that starts now in `results`.
    pub fn new(results: &Path) -> RunDirs {
        let stamp = jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S").to_string();
        RunDirs {
            results: results.to_owned(),
            run: Path::new("deploy").join(stamp),
        }
    }

    /// The report file.
    pub fn report(&self) -> PathBuf {
        self.results.join(&self.run).join("report.json")
    }
}

/// Runs `plan` on the hosts of `fleet`; returns the report (also saved after every step).
pub async fn execute(
    plan: &DeployPlan,
    fleet: &Fleet,
    dirs: &RunDirs,
    reporter: &dyn Reporter,
) -> DeployReport {
    let mut report = DeployReport::start();
    report.services = plan.services();
    let _ = save(&report, dirs);
    // The hosts each step changed something on (for services that watch it).
    let mut changed: Vec<HashSet<String>> = Vec::new();
    let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
    let total = plan.steps.len();
    for step in &plan.steps {
        let started = Instant::now();
        let (hosts, changed_here) =
            run_step(step, total, fleet, dirs, &changed, &dropped, reporter).await;
        let step_report = StepReport {
            number: step.number,
            name: step.name.clone(),
            kind: step.kind.to_owned(),
            origin: step.origin.clone(),
            duration_ms: millis(started.elapsed()),
            hosts,
        };
        let verdict = judge(step, &step_report);
        changed.push(changed_here);
        if let FailurePolicy::Min(_) = step.on_failure {
            for host in step_report
                .hosts
                .iter()
                .filter(|h| h.status == Status::Failed)
            {
                dropped.insert(host.host.clone(), step.number);
            }
        }
        report.steps.push(step_report);
        if let Err(reason) = verdict {
            report.outcome = Outcome::Failed { reason };
            break;
        }
        let _ = save(&report, dirs);
    }
    if report.outcome == Outcome::Running {
        report.outcome = Outcome::Succeeded;
    }
    report.ended = Some(jiff::Timestamp::now());
    if let Err(e) = save(&report, dirs) {
        tracing::warn!("cannot save the deploy report: {e}");
    }
    report
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn save(report: &DeployReport, dirs: &RunDirs) -> std::io::Result<()> {
    let path = dirs.report();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut text = serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?;
    text.push(b'\n');
    write_atomic(&path, &text)
}

/// Whether the deploy may go on after `step`: its failure policy against what happened.
fn judge(step: &PlannedStep, report: &StepReport) -> Result<(), String> {
    let failed: Vec<&str> = report
        .hosts
        .iter()
        .filter(|h| h.status == Status::Failed)
        .map(|h| h.host.as_str())
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    let which = format!("step {} '{}'", step.number, step.name);
    match step.on_failure {
        FailurePolicy::Continue => Ok(()),
        FailurePolicy::Fail => Err(format!("{which} failed on {}", failed.join(", "))),
        FailurePolicy::Min(min) => {
            let mut short = Vec::new();
            let mut roles: Vec<&str> = Vec::new();
            for task in &step.tasks {
                if !roles.contains(&task.role.as_str()) {
                    roles.push(&task.role);
                }
            }
            for role in roles {
                let ok = step
                    .tasks
                    .iter()
                    .zip(&report.hosts)
                    .filter(|(t, h)| {
                        t.role == role && matches!(h.status, Status::Changed | Status::Unchanged)
                    })
                    .count();
                let ran = step
                    .tasks
                    .iter()
                    .zip(&report.hosts)
                    .filter(|(t, h)| t.role == role && h.status != Status::Skipped)
                    .count();
                if ran > 0 && ok < min as usize {
                    short.push(format!("role {role}: {ok} of the {min} needed"));
                }
            }
            if short.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{which} failed on {} ({})",
                    failed.join(", "),
                    short.join("; ")
                ))
            }
        }
    }
}

/// A file or directory name made of a step's number and name.
fn slug(step: &PlannedStep) -> String {
    let mut name: String = step
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    let name: String = name.trim_matches('-').chars().take(48).collect();
    format!("{:02}-{name}", step.number)
}

/// Runs one step; returns each host's report (in the step's order) and the hosts it changed.
async fn run_step(
    step: &PlannedStep,
    total: usize,
    fleet: &Fleet,
    dirs: &RunDirs,
    changed: &[HashSet<String>],
    dropped: &BTreeMap<String, usize>,
    reporter: &dyn Reporter,
) -> (Vec<HostReport>, HashSet<String>) {
    let mut reports: Vec<Option<HostReport>> = vec![None; step.tasks.len()];
    let mut commands = Vec::new();
    for (i, task) in step.tasks.iter().enumerate() {
        let early = |status, detail: String| HostReport {
            host: task.host.clone(),
            status,
            detail: Some(detail),
            duration_ms: 0,
            log: None,
        };
        if let Some(failed_at) = dropped.get(&task.host) {
            reports[i] = Some(early(
                Status::Dropped,
                format!("left out after failing step {failed_at}"),
            ));
            continue;
        }
        match &task.work {
            Work::Skip(why) => reports[i] = Some(early(Status::Skipped, why.clone())),
            Work::Do(action) => {
                let restart = step.watch.iter().any(|&w| {
                    changed
                        .get(w)
                        .is_some_and(|hosts| hosts.contains(&task.host))
                });
                let s = script(action, restart, step.timeout.as_secs().max(1))
                    .become_root(task.become_root);
                commands.push((
                    i,
                    HostCommand {
                        host: task.host.clone(),
                        command: s.command,
                        input: s.input,
                    },
                ));
            }
        }
    }
    let title = format!("{}/{total} {}", step.number, step.name);
    let batch_size = step.throttle.map_or(usize::MAX, |t| t.max(1) as usize);
    let log_dir = dirs.run.join("logs").join(slug(step));
    let mut changed_here = HashSet::new();
    let mut pending = commands;
    while !pending.is_empty() {
        let rest = pending.split_off(pending.len().min(batch_size));
        let batch = std::mem::replace(&mut pending, rest);
        let (indices, batch): (Vec<usize>, Vec<HostCommand>) = batch.into_iter().unzip();
        let results = fleet
            .run_commands(&title, batch, step.timeout + SLACK, reporter)
            .await;
        for result in results {
            let Some(&i) = indices.iter().find(|&&i| step.tasks[i].host == result.host) else {
                continue;
            };
            let Work::Do(action) = &step.tasks[i].work else {
                continue;
            };
            let report = host_outcome(step, action, &result, dirs, &log_dir);
            if report.status == Status::Changed {
                changed_here.insert(report.host.clone());
            }
            reports[i] = Some(report);
        }
    }
    let reports = reports
        .into_iter()
        .zip(&step.tasks)
        .map(|(r, task)| {
            r.unwrap_or_else(|| HostReport {
                host: task.host.clone(),
                status: Status::Failed,
                detail: Some("no outcome".to_owned()),
                duration_ms: 0,
                log: None,
            })
        })
        .collect();
    (reports, changed_here)
}

/// The last `n` non-empty lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// What a host's result means, with its log written.
fn host_outcome(
    step: &PlannedStep,
    action: &HostAction,
    result: &HostResult<CommandOutput>,
    dirs: &RunDirs,
    log_dir: &Path,
) -> HostReport {
    let host = result.host.clone();
    let output = match &result.outcome {
        Err(e) => {
            return HostReport {
                host,
                status: Status::Failed,
                detail: Some(e.reason()),
                duration_ms: 0,
                log: None,
            };
        }
        Ok(output) => output,
    };
    let duration_ms = millis(output.duration);
    let stderr = output.stderr_text();
    let (status, detail, shown_stdout) = match action {
        HostAction::Fetch { dest, .. } if output.success() => {
            let path = dirs.results.join(dest);
            let Some((host_mode, content)) = fetched(&output.stdout) else {
                let detail = "the host did not say the file's mode".to_owned();
                return HostReport {
                    host,
                    status: Status::Failed,
                    detail: Some(detail),
                    duration_ms,
                    log: None,
                };
            };
            // The copy grants nobody more than the host's file does.
            let mode = host_mode & 0o777;
            let same = std::fs::read(&path).is_ok_and(|old| old == content)
                && std::fs::metadata(&path)
                    .is_ok_and(|m| m.permissions().mode() & 0o777 & !mode == 0);
            let written = if same {
                Ok(())
            } else {
                path.parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| write_atomic_with_mode(&path, content, Some(mode)))
            };
            let note = format!("{} bytes into {}\n", content.len(), dest.display());
            match (written, same) {
                (Err(e), _) => (
                    Status::Failed,
                    Some(format!("cannot write {}: {e}", path.display())),
                    note,
                ),
                (Ok(()), true) => (Status::Unchanged, None, note),
                (Ok(()), false) => (Status::Changed, None, note),
            }
        }
        HostAction::Fetch { .. } => {
            let detail = format!("{}: {}", output.exit, tail(&stderr, TAIL_LINES));
            (Status::Failed, Some(detail), String::new())
        }
        _ => {
            let (before, said) = status_of(&output.stdout);
            let before = String::from_utf8_lossy(before).into_owned();
            match (output.success(), said) {
                (true, Some(Said::Changed)) => (Status::Changed, None, before),
                (true, Some(Said::Unchanged)) => (Status::Unchanged, None, before),
                (true, None) => (
                    Status::Failed,
                    Some("the step's script ended without saying what it did".to_owned()),
                    before,
                ),
                (false, _) => {
                    let end = if stderr.trim().is_empty() {
                        tail(&before, TAIL_LINES)
                    } else {
                        tail(&stderr, TAIL_LINES)
                    };
                    (
                        Status::Failed,
                        Some(format!("{}\n{end}", output.exit).trim_end().to_owned()),
                        before,
                    )
                }
            }
        }
    };
    let log = log_dir.join(format!("{host}.log"));
    let text = format!(
        "step {}: {} ({})\nfrom: {}\nhost: {host}\nexit: {}, {} ms, {:?}\n\n--- output ---\n{}\n--- \
         errors ---\n{}\n",
        step.number,
        step.name,
        step.kind,
        step.origin,
        output.exit,
        duration_ms,
        status,
        shown_stdout.trim_end(),
        stderr.trim_end()
    );
    let full = dirs.results.join(&log);
    // A host's output may show anything its commands print: readable by the owner only.
    let logged = full
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| write_atomic_with_mode(&full, text.as_bytes(), Some(0o600)))
        .is_ok();
    HostReport {
        host,
        status,
        detail,
        duration_ms,
        log: logged.then(|| log.display().to_string()),
    }
}
