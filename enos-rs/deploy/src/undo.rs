//! Undoing a deploy on hosts enos does not own: the services its steps started are stopped and
//! their pid and definition files removed (their logs stay, in
//! [`SERVICE_LOG_DIR`](crate::script::SERVICE_LOG_DIR)). What steps wrote or installed stays:
//! files and packages are the host's.

use std::collections::BTreeMap;
use std::time::Duration;

use enos_core::{Reporter, Testbed};
use enos_remote::{Fleet, HostCommand, HostResult, RemoteError};

use crate::script::{Said, is_service_name, status_of, stop_script};

/// How long a host gets to stop its services: ten seconds of grace, five after SIGKILL, and
/// the SSH round trip.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// Stops on each host the services `services` names (host → service names, as
/// [`DeployReport::services`](crate::DeployReport::services) records them), as root (through
/// the host's [`become_root`](enos_core::Host::become_root)), in parallel. Stopping a service
/// that is not running (or was never started) is no error: running it twice is the same as
/// once. Returns, for each host of `services` that is in `fleet`, [`Said::Changed`] when it
/// stopped or removed something, [`Said::Unchanged`] when there was nothing left.
pub async fn stop_services(
    fleet: &Fleet,
    testbed: &Testbed,
    services: &BTreeMap<String, Vec<String>>,
    reporter: &dyn Reporter,
) -> Vec<HostResult<Said>> {
    let mut invalid = Vec::new();
    let mut commands = Vec::new();
    for (host, names) in services {
        if names.is_empty() {
            continue;
        }
        if let Some(bad) = names.iter().find(|n| !is_service_name(n)) {
            invalid.push(HostResult {
                host: host.clone(),
                outcome: Err(RemoteError::Invalid {
                    host: host.clone(),
                    message: format!("'{bad}' is not the name of a service"),
                }),
            });
            continue;
        }
        let how = testbed.host(host).and_then(|h| h.become_root);
        let script = stop_script(names).become_root(how);
        commands.push(HostCommand {
            host: host.clone(),
            command: script.command,
            input: script.input,
        });
    }
    let mut results: Vec<HostResult<Said>> = fleet
        .run_commands("stopping services", commands, STOP_TIMEOUT, reporter)
        .await
        .into_iter()
        .map(|result| {
            let host = result.host;
            let outcome = result.outcome.and_then(|output| {
                let (before, said) = status_of(&output.stdout);
                match said {
                    Some(said) if output.success() => Ok(said),
                    _ => {
                        let stderr = output.stderr_text();
                        let text = if stderr.trim().is_empty() {
                            String::from_utf8_lossy(before).into_owned()
                        } else {
                            stderr.into_owned()
                        };
                        let lines: Vec<&str> = text
                            .lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .collect();
                        Err(RemoteError::Remote {
                            host: host.clone(),
                            operation: "stopping services",
                            message: format!("{}: {}", output.exit, lines.join("; ")),
                        })
                    }
                }
            });
            HostResult { host, outcome }
        })
        .collect();
    results.extend(invalid);
    results
}
