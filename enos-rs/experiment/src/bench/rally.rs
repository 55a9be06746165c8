//! `rally` workloads: a Rally task run on each host of `from` against each target site's
//! OpenStack, its reports kept and its iterations recorded.
//!
//! For each target site in turn, every host of `from` (in parallel):
//! 1. writes the task (the scenario's file, as checked) into a directory of its own;
//! 2. sources the workload's openrc with the site as its argument (the keystone stack's
//!    `admin-openrc` on its clients), so that credentials go through the environment, never a
//!    command line;
//! 3. makes a Rally environment of them (`rally env create --from-sysenv`) and runs the task
//!    with the point's task arguments (`rally task start --task-args`);
//! 4. writes Rally's JSON report and its static HTML report, even when iterations failed.
//!
//! The directory comes back into the run's `rally/` ([`enos_core::layout::bench_rally`]):
//! `<host>/<site>/` holds `task.json`, `start.log`, `rally.log`, `report.json` and
//! `report.html`. Each iteration of the JSON report becomes a record (`"rally": "iteration"`),
//! and each task one more (`"rally": "task"`).

use std::path::Path;
use std::time::Duration;

use enos_core::{Host, layout};
use enos_remote::{Bytes, Fleet, HostCommand};
use enos_scenario::bench::{Point, Workload};
use serde_json::{Value, json};

use super::{Label, tail};
use crate::Error;
use crate::stream::RecordStream;

/// The openrc sourced when the workload names none: the keystone stack's, on its clients.
pub const DEFAULT_OPENRC: &str = "/root/admin-openrc";
/// How long one task may run when the workload gives no duration.
const TASK_TIMEOUT: Duration = Duration::from_secs(1800);

/// What the host's script says when it stops before the task ran.
const EXIT_NO_TASK_DIR: i32 = 90;
const EXIT_NO_OPENRC: i32 = 91;
const EXIT_NO_RALLY: i32 = 92;
const EXIT_NO_ENV: i32 = 93;
const EXIT_NO_TASK: i32 = 94;

/// Where one run of a point works on the hosts: `/tmp/enos-rally-<run>-<workload>-p<i>-r<j>`.
fn remote_dir(run: &str, label: &Label) -> String {
    format!(
        "/tmp/enos-rally-{run}-{}-p{}-r{}",
        label.workload, label.point, label.repeat
    )
}

/// The script each host runs for one target site (`site` empty: the openrc's default).
fn script(dir: &str, openrc: &str, site: &str, env: &str, task_args: &str, tag: &str) -> String {
    let q = enos_deploy::script::quote;
    let sub = format!("{dir}/{}", if site.is_empty() { "default" } else { site });
    format!(
        "d={sub}\n\
         rm -rf \"$d\" && mkdir -p \"$d\" && chmod 0700 {dir} && cat > \"$d/task.json\" || exit {EXIT_NO_TASK_DIR}\n\
         [ -r {openrc} ] || {{ echo 'no openrc at {openrc_text} on this host (the keystone stack writes one on the hosts of its `clients`)' >&2; exit {EXIT_NO_OPENRC}; }}\n\
         . {openrc} {site_arg} >/dev/null || {{ echo 'sourcing {openrc_text} {site_text} failed' >&2; exit {EXIT_NO_OPENRC}; }}\n\
         command -v rally >/dev/null || {{ echo 'rally is not installed on this host (the rally stack installs it)' >&2; exit {EXIT_NO_RALLY}; }}\n\
         # Its output shows the credentials: it stays on the host, and goes.\n\
         rally --log-file \"$d/rally.log\" env create --name {env} --from-sysenv --no-use >\"$d/.env\" 2>&1 \
           || {{ rm -f \"$d/.env\"; echo 'rally env create failed: see rally.log' >&2; exit {EXIT_NO_ENV}; }}\n\
         rm -f \"$d/.env\"\n\
         rally --log-file \"$d/rally.log\" task start --task \"$d/task.json\" --task-args {args} \
           --deployment {env} --tag {tag} >\"$d/start.log\" 2>&1\n\
         status=$?\n\
         uuid=$(sed -n 's/.*Task .*\\([0-9a-f]\\{{8\\}}-[0-9a-f-]\\{{27\\}}\\): started.*/\\1/p' \"$d/start.log\" | head -n 1)\n\
         [ -n \"$uuid\" ] || {{ tail -n 20 \"$d/start.log\" >&2; exit {EXIT_NO_TASK}; }}\n\
         rally task report --uuid \"$uuid\" --json --out \"$d/report.json\" >>\"$d/start.log\" 2>&1\n\
         rally task report --uuid \"$uuid\" --html-static --out \"$d/report.html\" >>\"$d/start.log\" 2>&1\n\
         echo \"task=$uuid status=$status\"\n",
        openrc = q(openrc),
        openrc_text = openrc.replace('\'', ""),
        site_arg = if site.is_empty() {
            String::new()
        } else {
            q(site)
        },
        site_text = site.replace('\'', ""),
        env = q(env),
        args = q(task_args),
        tag = q(tag),
    )
}

/// Runs the point's task from `hosts` against each site of `targets` (or once, against the
/// openrc's default, without targets), keeps the reports under `reports` and streams the
/// records. Returns the records written and the hosts lost.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    fleet: &Fleet,
    workload: &Workload,
    point: &Point,
    hosts: &[Host],
    targets: &[Host],
    label: &Label,
    stream: &RecordStream,
    run: &str,
    run_dir: &Path,
) -> Result<(u64, Vec<String>), Error> {
    let reports = run_dir.join(layout::bench_rally(
        &label.workload,
        label.point,
        label.repeat,
    ));
    let task_name = point.args.get("task").and_then(Value::as_str).unwrap_or("");
    let Some(task) = workload.files.get(task_name) else {
        return Err(Error::new(format!(
            "workload '{}': the text of the Rally task '{task_name}' was not kept; run \
             `enos deploy` again to read the scenario",
            workload.name
        )));
    };
    let task = Bytes::from(task.clone().into_bytes());
    let openrc = point
        .args
        .get("openrc")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_OPENRC);
    let task_args = serde_json::to_string(&point.task_args).unwrap_or_else(|_| "{}".to_owned());
    let mut sites: Vec<String> = Vec::new();
    for t in targets {
        if !sites.contains(&t.site) {
            sites.push(t.site.clone());
        }
    }
    if sites.is_empty() {
        sites.push(String::new());
    }
    let dir = remote_dir(run, label);
    let timeout = point.duration.map_or(TASK_TIMEOUT, |d| d.0 + TASK_TIMEOUT);
    let reporter = enos_core::NullReporter;
    let mut written = 0u64;
    let mut lost: Vec<String> = Vec::new();
    for site in &sites {
        let env = format!(
            "enos-{run}-{}-p{}-r{}-{}",
            label.workload,
            label.point,
            label.repeat,
            if site.is_empty() { "default" } else { site }
        );
        let tag = format!("enos-{}", label.workload);
        let commands: Vec<HostCommand> = hosts
            .iter()
            .filter(|h| !lost.contains(&h.name))
            .map(|h| HostCommand {
                host: h.name.clone(),
                command: h.as_root(&script(&dir, openrc, site, &env, &task_args, &tag)),
                input: vec![task.clone()],
            })
            .collect();
        let target = (!site.is_empty()).then(|| site.clone());
        let results = fleet
            .run_commands("rally", commands, timeout, &reporter)
            .await;
        let mut ran: Vec<(String, String, i32)> = Vec::new();
        for result in results {
            let host = result.host.clone();
            let failed = |why: String| {
                label.record(
                    "rally",
                    json!({"rally": "task", "host": host, "target": target, "error": why}),
                )
            };
            match result.outcome {
                Ok(output) => {
                    let text = output.stdout_text();
                    let ended = text.lines().rev().find_map(|l| {
                        let rest = l.strip_prefix("task=")?;
                        let (uuid, status) = rest.split_once(" status=")?;
                        Some((uuid.to_owned(), status.trim().parse::<i32>().unwrap_or(-1)))
                    });
                    match ended {
                        Some((uuid, status)) => ran.push((host, uuid, status)),
                        None => {
                            stream.push(&failed(format!(
                                "the task did not run ({}): {}",
                                output.exit,
                                tail(&output.stderr).trim()
                            )))?;
                            written += 1;
                        }
                    }
                }
                Err(e) => {
                    if e.is_connection_failure() {
                        lost.push(host.clone());
                    }
                    stream.push(&failed(e.reason()))?;
                    written += 1;
                }
            }
        }
        // Reports and logs come back, whatever the task's status: a task whose iterations
        // partly failed keeps every iteration it ran.
        let names: Vec<&str> = ran.iter().map(|(h, _, _)| h.as_str()).collect();
        let sub = format!("{dir}/{}", if site.is_empty() { "default" } else { site });
        let local: Vec<(String, Result<std::path::PathBuf, String>)> = fleet
            .subset(&names)
            .download(&sub, &reports, Duration::from_secs(120), &reporter)
            .await
            .into_iter()
            .map(|r| (r.host, r.outcome.map_err(|e| e.reason())))
            .collect();
        for (host, uuid, status) in ran {
            let copy = local
                .iter()
                .find(|(h, _)| *h == host)
                .map(|(_, p)| p.clone())
                .unwrap_or_else(|| Err("not downloaded".to_owned()));
            let task = TaskRun {
                host: &host,
                target: target.as_deref(),
                uuid: &uuid,
                status,
            };
            written += record_task(stream, label, &task, copy, run_dir)?;
        }
    }
    // The work directories go: their copies are in the results.
    let clean: Vec<(String, String)> = hosts
        .iter()
        .filter(|h| !lost.contains(&h.name))
        .map(|h| (h.name.clone(), h.as_root(&format!("rm -rf {dir}"))))
        .collect();
    let _ = fleet
        .run_each(&clean, Duration::from_secs(30), &reporter)
        .await;
    Ok((written, lost))
}

/// One task that ran on a host.
struct TaskRun<'a> {
    host: &'a str,
    target: Option<&'a str>,
    uuid: &'a str,
    /// `rally task start`'s exit status.
    status: i32,
}

/// The records of one task: one per iteration of its JSON report, then the task's own; the
/// files its `copy` holds are named relative to `run_dir`.
fn record_task(
    stream: &RecordStream,
    label: &Label,
    task: &TaskRun<'_>,
    copy: Result<std::path::PathBuf, String>,
    run_dir: &Path,
) -> Result<u64, Error> {
    let TaskRun {
        host,
        target,
        uuid,
        status,
    } = *task;
    let mut written = 0;
    let report = copy.and_then(|dir| {
        let file = dir.join("report.json");
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        serde_json::from_str::<Value>(&text)
            .map_err(|e| format!("{} is not a Rally JSON report: {e}", file.display()))
            .map(|report| (dir, report))
    });
    let (iterations, failures, error, files) = match &report {
        Ok((dir, report)) => {
            let mut iterations = 0u64;
            let mut failures = 0u64;
            for workload in workloads(report) {
                let scenario = workload["scenario"]
                    .as_object()
                    .and_then(|m| m.keys().next().cloned())
                    .unwrap_or_default();
                for (index, iteration) in workload["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let error = iteration_error(iteration);
                    iterations += 1;
                    failures += u64::from(error.is_some());
                    stream.push(&label.record(
                        "rally",
                        json!({
                            "rally": "iteration",
                            "host": host,
                            "target": target,
                            "task": uuid,
                            "scenario": scenario,
                            "iteration": index,
                            "timestamp": iteration["timestamp"],
                            "duration_s": iteration["duration"],
                            "idle_duration_s": iteration["idle_duration"],
                            "error": error,
                            "atomic_s": atomic_durations(&iteration["atomic_actions"]),
                        }),
                    ))?;
                    written += 1;
                }
            }
            let files: Vec<String> = ["report.json", "report.html", "start.log", "rally.log"]
                .iter()
                .filter(|name| dir.join(name).is_file())
                .map(|name| {
                    let path = dir.join(name);
                    path.strip_prefix(run_dir)
                        .unwrap_or(&path)
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            (iterations, failures, None, files)
        }
        Err(why) => (0, 0, Some(why.clone()), Vec::new()),
    };
    stream.push(&label.record(
        "rally",
        json!({
            "rally": "task",
            "host": host,
            "target": target,
            "task": uuid,
            // Rally's: 0 done, 1 failed to run, 2 an SLA failed.
            "exit": status,
            "iterations": iterations,
            "failed_iterations": failures,
            "files": files,
            "error": error,
        }),
    ))?;
    Ok(written + 1)
}

/// The workloads of every subtask of every task of a JSON report.
fn workloads(report: &Value) -> impl Iterator<Item = &Value> {
    report["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["subtasks"].as_array().into_iter().flatten())
        .flat_map(|s| s["workloads"].as_array().into_iter().flatten())
}

/// An iteration's error as one line (`Type: message`), if it failed.
fn iteration_error(iteration: &Value) -> Option<String> {
    let parts = iteration["error"].as_array()?;
    let text: Vec<&str> = parts.iter().take(2).filter_map(Value::as_str).collect();
    (!text.is_empty()).then(|| text.join(": "))
}

/// `{name: seconds}` of an iteration's atomic actions (the top level; a name repeated is
/// summed).
fn atomic_durations(actions: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for action in actions.as_array().into_iter().flatten() {
        let (Some(name), Some(start), Some(end)) = (
            action["name"].as_str(),
            action["started_at"].as_f64(),
            action["finished_at"].as_f64(),
        ) else {
            continue;
        };
        let sum = out.get(name).and_then(Value::as_f64).unwrap_or(0.0) + (end - start);
        out.insert(name.to_owned(), json!(sum));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iteration_errors_and_atomic_actions_read_from_a_report() {
        let iteration = json!({
            "error": ["ConnectFailure", "Unable to establish connection", "Traceback…"],
            "atomic_actions": [
                {"name": "keystone_v3.issue_token", "started_at": 10.0, "finished_at": 10.25, "children": []},
                {"name": "keystone_v3.validate_token", "started_at": 10.25, "finished_at": 10.5, "children": []},
                {"name": "keystone_v3.issue_token", "started_at": 11.0, "finished_at": 11.5, "children": []},
            ],
        });
        assert_eq!(
            iteration_error(&iteration).as_deref(),
            Some("ConnectFailure: Unable to establish connection")
        );
        assert_eq!(iteration_error(&json!({"error": []})), None);
        assert_eq!(
            atomic_durations(&iteration["atomic_actions"]),
            json!({"keystone_v3.issue_token": 0.75, "keystone_v3.validate_token": 0.25})
        );
    }
}
