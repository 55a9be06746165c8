//! Running a plan: step after step, each on its hosts in parallel over SSH, with the failure
//! policy applied once the step has ended everywhere, a log per host and step, and the report
//! saved after every step.
//!
//! A step that writes a large file (or directory) goes in two round trips
//! ([`check_first`]): every host is asked first whether it holds the content, and only those
//! that lack it are sent it, in a second round trip.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use enos_core::Reporter;
use enos_core::fsutil::{write_atomic, write_atomic_with_mode};
use enos_remote::{CommandOutput, Fleet, HostCommand, HostResult};
use enos_scenario::deploy::FailurePolicy;

use crate::plan::{DeployPlan, HostAction, PlannedStep, Work};
use crate::report::{DeployReport, HostReport, Outcome, Status, StepReport};
use crate::script::{
    CheckFirst, Said, Script, check_first, fetched, lacks_content, script, status_of,
};

/// Extra time a host gets beyond a step's timeout, for the SSH round trip, before enos gives up
/// on it (services and waits end themselves at the timeout).
const SLACK: Duration = Duration::from_secs(30);
/// How many lines of a failed step's output its report keeps.
const TAIL_LINES: usize = 15;
/// The least time a host is given to receive a content it lacks, whatever the check took.
const MIN_SEND_TIME: Duration = Duration::from_secs(1);

/// What runs commands on hosts: the fleet, or, in tests, this machine.
trait Runner {
    /// As [`Fleet::run_commands`].
    async fn run_commands(
        &self,
        title: &str,
        commands: Vec<HostCommand>,
        timeout: Duration,
        reporter: &dyn Reporter,
    ) -> Vec<HostResult<CommandOutput>>;
}

impl Runner for Fleet {
    async fn run_commands(
        &self,
        title: &str,
        commands: Vec<HostCommand>,
        timeout: Duration,
        reporter: &dyn Reporter,
    ) -> Vec<HostResult<CommandOutput>> {
        Fleet::run_commands(self, title, commands, timeout, reporter).await
    }
}

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

/// A host's part of a step, ready to go: its script, and the check that goes first when the
/// script carries a large content (the script then only writes it).
struct Delivery {
    /// The task's index in the step.
    index: usize,
    host: String,
    check: Option<Script>,
    script: Script,
}

/// How a host's part went: the outcome of its last round trip and, when it was asked first
/// whether it holds the content, whether it was sent the content.
struct Delivered {
    index: usize,
    result: HostResult<CommandOutput>,
    sent: Option<bool>,
}

fn command(host: &str, script: Script) -> HostCommand {
    HostCommand {
        host: host.to_owned(),
        command: script.command,
        input: script.input,
    }
}

/// Runs `batch` on its hosts: the scripts without a check, and the checks, in one round trip;
/// then the scripts of the hosts whose check says they lack the content, in a second. Both
/// round trips of a host take at most `limit` (but the second at least [`MIN_SEND_TIME`]).
async fn deliver(
    runner: &impl Runner,
    title: &str,
    batch: Vec<Delivery>,
    limit: Duration,
    reporter: &dyn Reporter,
) -> Vec<Delivered> {
    let started = Instant::now();
    let mut index_of = HashMap::with_capacity(batch.len());
    let mut commands = Vec::with_capacity(batch.len());
    // The scripts held back until their host's check answers.
    let mut held = HashMap::new();
    for d in batch {
        index_of.insert(d.host.clone(), d.index);
        match d.check {
            Some(check) => {
                commands.push(command(&d.host, check));
                held.insert(d.host, d.script);
            }
            None => commands.push(command(&d.host, d.script)),
        }
    }
    let mut delivered = Vec::with_capacity(commands.len());
    let mut second = Vec::new();
    // How long the check of each host that lacks the content took.
    let mut checks = HashMap::new();
    for result in runner.run_commands(title, commands, limit, reporter).await {
        let Some(&index) = index_of.get(&result.host) else {
            continue;
        };
        let lacking = result
            .outcome
            .as_ref()
            .is_ok_and(|output| output.success() && lacks_content(&output.stdout));
        match held.remove(&result.host) {
            Some(script) if lacking => {
                if let Ok(output) = &result.outcome {
                    checks.insert(result.host.clone(), output.duration);
                }
                second.push(command(&result.host, script));
            }
            checked => delivered.push(Delivered {
                index,
                result,
                sent: checked.map(|_| false),
            }),
        }
    }
    if second.is_empty() {
        return delivered;
    }
    let left = limit.saturating_sub(started.elapsed()).max(MIN_SEND_TIME);
    let title = format!("{title}: sending");
    for mut result in runner.run_commands(&title, second, left, reporter).await {
        let Some(&index) = index_of.get(&result.host) else {
            continue;
        };
        if let (Ok(output), Some(check)) = (&mut result.outcome, checks.get(&result.host)) {
            output.duration += *check;
        }
        delivered.push(Delivered {
            index,
            result,
            sent: Some(true),
        });
    }
    delivered
}

/// Runs one step; returns each host's report (in the step's order) and the hosts it changed.
async fn run_step(
    step: &PlannedStep,
    total: usize,
    fleet: &impl Runner,
    dirs: &RunDirs,
    changed: &[HashSet<String>],
    dropped: &BTreeMap<String, usize>,
    reporter: &dyn Reporter,
) -> (Vec<HostReport>, HashSet<String>) {
    let mut reports: Vec<Option<HostReport>> = vec![None; step.tasks.len()];
    let mut deliveries = Vec::new();
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
                // Both round trips become root the same way.
                let how = task.become_root;
                let (check, script) = match check_first(action) {
                    Some(CheckFirst { check, send }) => {
                        (Some(check.become_root(how)), send.become_root(how))
                    }
                    None => (
                        None,
                        script(action, restart, step.timeout.as_secs().max(1)).become_root(how),
                    ),
                };
                deliveries.push(Delivery {
                    index: i,
                    host: task.host.clone(),
                    check,
                    script,
                });
            }
        }
    }
    let title = format!("{}/{total} {}", step.number, step.name);
    let batch_size = step.throttle.map_or(usize::MAX, |t| t.max(1) as usize);
    let log_dir = dirs.run.join("logs").join(slug(step));
    let mut changed_here = HashSet::new();
    let mut pending = deliveries;
    while !pending.is_empty() {
        let rest = pending.split_off(pending.len().min(batch_size));
        let batch = std::mem::replace(&mut pending, rest);
        let delivered = deliver(fleet, &title, batch, step.timeout + SLACK, reporter).await;
        for Delivered {
            index: i,
            result,
            sent,
        } in delivered
        {
            let Work::Do(action) = &step.tasks[i].work else {
                continue;
            };
            let report = host_outcome(step, action, &result, sent, dirs, &log_dir);
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

/// What a host's result means, with its log written; `sent` says, when the host was asked first
/// whether it holds the step's content, whether it was sent it.
fn host_outcome(
    step: &PlannedStep,
    action: &HostAction,
    result: &HostResult<CommandOutput>,
    sent: Option<bool>,
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
    let content = match sent {
        None => "",
        Some(true) => "content: sent (the host lacked it)\n",
        Some(false) if status == Status::Failed => "content: not sent (the check failed)\n",
        Some(false) => "content: not sent (the host holds it)\n",
    };
    let text = format!(
        "step {}: {} ({})\nfrom: {}\nhost: {host}\n{content}exit: {}, {} ms, {:?}\n\n--- output \
         ---\n{}\n--- errors ---\n{}\n",
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

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::sync::Mutex;

    use bytes::Bytes;
    use enos_core::{Become, NullReporter};
    use enos_remote::Exit;

    use super::*;
    use crate::plan::{Content, HostTask};
    use crate::script::CHECK_ABOVE;

    /// One command as a [`Here`] ran it: its host, its command line and how many bytes it was
    /// sent.
    type Sent = (String, String, usize);

    /// Runs every host's command on this machine with `sh` (one after the other, `PATH` set to
    /// `path`), and records each round trip.
    struct Here {
        path: String,
        rounds: Mutex<Vec<Vec<Sent>>>,
    }

    impl Runner for Here {
        async fn run_commands(
            &self,
            _title: &str,
            commands: Vec<HostCommand>,
            _timeout: Duration,
            _reporter: &dyn Reporter,
        ) -> Vec<HostResult<CommandOutput>> {
            let mut round = Vec::new();
            let mut results = Vec::new();
            for c in commands {
                let sent = c.input.iter().map(Bytes::len).sum();
                round.push((c.host.clone(), c.command.clone(), sent));
                let started = Instant::now();
                let mut child = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(&c.command)
                    .env("PATH", &self.path)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                let mut stdin = child.stdin.take().unwrap();
                let input = c.input;
                let writer = std::thread::spawn(move || {
                    for part in input {
                        if stdin.write_all(&part).is_err() {
                            break;
                        }
                    }
                });
                let out = child.wait_with_output().unwrap();
                writer.join().unwrap();
                results.push(HostResult {
                    host: c.host,
                    outcome: Ok(CommandOutput {
                        exit: Exit::Code(out.status.code().unwrap_or(-1)),
                        stdout: out.stdout,
                        stderr: out.stderr,
                        duration: started.elapsed(),
                    }),
                });
            }
            self.rounds.lock().unwrap().push(round);
            results
        }
    }

    fn copy_step(tasks: Vec<(&str, HostAction)>) -> PlannedStep {
        PlannedStep {
            number: 1,
            name: "copy".into(),
            origin: "test".into(),
            kind: "copy",
            on_failure: FailurePolicy::Fail,
            throttle: None,
            timeout: Duration::from_secs(10),
            watch: Vec::new(),
            tasks: tasks
                .into_iter()
                .map(|(host, action)| HostTask {
                    host: host.to_owned(),
                    role: "r".into(),
                    work: Work::Do(action),
                    become_root: Some(Become::Sudo),
                })
                .collect(),
        }
    }

    #[tokio::test]
    async fn a_large_file_goes_only_to_the_hosts_that_lack_it_both_round_trips_through_sudo() {
        if !enos_testkit::require_root("a_large_file_goes_only_to_the_hosts_that_lack_it") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        // A stand-in for sudo that runs the command when it is asked not to prompt.
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let sudo = bin.join("sudo");
        std::fs::write(
            &sudo,
            "#!/bin/sh\n[ \"$1\" = -n ] || exit 1\nshift\nexec \"$@\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let runner = Here {
            path,
            rounds: Mutex::default(),
        };
        let dirs = RunDirs {
            results: dir.path().join("results"),
            run: PathBuf::from("deploy/test"),
        };
        // Each host's file is its own here: one lacks it, one holds it, one holds it with
        // another mode.
        let bytes: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
        let content = Content::new(bytes.clone());
        let hosts = ["lacks", "holds", "other-mode"];
        let dest = |host: &str| dir.path().join(host).join("big.bin");
        for (host, mode) in [("holds", 0o644), ("other-mode", 0o600)] {
            std::fs::create_dir_all(dir.path().join(host)).unwrap();
            std::fs::write(dest(host), &bytes).unwrap();
            std::fs::set_permissions(dest(host), std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let put = |host: &str, content: &Content| HostAction::Put {
            dest: dest(host).display().to_string(),
            content: content.clone(),
            mode: "0644".into(),
            owner: None,
            group: None,
        };
        let step = copy_step(hosts.iter().map(|h| (*h, put(h, &content))).collect());
        let none = BTreeMap::new();

        let (reports, changed) =
            run_step(&step, 1, &runner, &dirs, &[], &none, &NullReporter).await;
        let statuses: Vec<_> = reports
            .iter()
            .map(|r| (r.host.as_str(), r.status))
            .collect();
        assert_eq!(
            statuses,
            [
                ("lacks", Status::Changed),
                ("holds", Status::Unchanged),
                ("other-mode", Status::Changed)
            ],
            "{reports:?}"
        );
        assert_eq!(
            changed,
            HashSet::from(["lacks".to_owned(), "other-mode".to_owned()])
        );
        let rounds = std::mem::take(&mut *runner.rounds.lock().unwrap());
        assert_eq!(rounds.len(), 2, "{rounds:?}");
        // First every host is asked, through sudo, and none is sent the content…
        let asked: Vec<&str> = rounds[0].iter().map(|(h, _, _)| h.as_str()).collect();
        assert_eq!(asked, hosts);
        for (host, command, sent) in &rounds[0] {
            assert!(command.starts_with("sudo -n sh -c "), "{host}: {command}");
            assert!(*sent < CHECK_ABOVE, "{host}: {sent} bytes");
        }
        // …then only the host that lacks it is sent it, through sudo too.
        let [(host, command, sent)] = &rounds[1][..] else {
            panic!("{:?}", rounds[1]);
        };
        assert_eq!(host, "lacks");
        assert!(command.starts_with("sudo -n sh -c "), "{command}");
        assert!(*sent > bytes.len());
        for host in hosts {
            assert!(std::fs::read(dest(host)).unwrap() == bytes, "{host}");
            let mode = std::fs::metadata(dest(host)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644, "{host}");
        }
        let log = |i: usize| {
            std::fs::read_to_string(dirs.results.join(reports[i].log.as_ref().unwrap())).unwrap()
        };
        assert!(
            log(0).contains("content: sent (the host lacked it)"),
            "{}",
            log(0)
        );
        assert!(
            log(1).contains("content: not sent (the host holds it)"),
            "{}",
            log(1)
        );

        // Again: one round trip, nothing sent, nothing changed.
        let (reports, changed) =
            run_step(&step, 1, &runner, &dirs, &[], &none, &NullReporter).await;
        assert!(
            reports.iter().all(|r| r.status == Status::Unchanged),
            "{reports:?}"
        );
        assert!(changed.is_empty());
        let rounds = std::mem::take(&mut *runner.rounds.lock().unwrap());
        assert_eq!(rounds.len(), 1, "{rounds:?}");
        assert!(rounds[0].iter().all(|(_, _, sent)| *sent < CHECK_ABOVE));

        // A small file goes with its script, in one round trip.
        let small = Content::new("small\n");
        let step = copy_step(vec![("lacks", put("lacks", &small))]);
        let (reports, _) = run_step(&step, 1, &runner, &dirs, &[], &none, &NullReporter).await;
        assert_eq!(reports[0].status, Status::Changed, "{reports:?}");
        let rounds = std::mem::take(&mut *runner.rounds.lock().unwrap());
        assert_eq!(rounds.len(), 1, "{rounds:?}");
        assert_eq!(std::fs::read_to_string(dest("lacks")).unwrap(), "small\n");
    }
}
