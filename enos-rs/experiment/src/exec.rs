//! `enos exec`: one shell command on the selected hosts, each with its own time limit.

use std::path::Path;
use std::time::Duration;

use enos_core::Reporter;
use enos_remote::CommandOutput;

use crate::Error;
use crate::session::{Session, connect};

/// What `enos exec` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// Only hosts with these roles (all when empty).
    pub roles: Vec<String>,
    /// Only hosts in these sites (all when empty).
    pub sites: Vec<String>,
    /// How many hosts at once.
    pub parallelism: usize,
    /// How long a host gets to finish the command.
    pub timeout: Duration,
    /// The command, run by each host's shell.
    pub command: String,
}

/// What became of the command on one host.
#[derive(Debug)]
pub enum HostOutcome {
    /// It ran (its exit status says whether it succeeded).
    Ran(CommandOutput),
    /// It could not run or did not end in time.
    Failed(String),
    /// The host did not answer over SSH.
    Unreachable(String),
}

impl HostOutcome {
    /// Whether the command ran and exited with status 0.
    pub fn succeeded(&self) -> bool {
        matches!(self, HostOutcome::Ran(output) if output.exit.code() == Some(0))
    }
}

/// The command's outcome on every selected host, in testbed order.
#[derive(Debug)]
pub struct ExecRun {
    /// Host name and outcome.
    pub hosts: Vec<(String, HostOutcome)>,
}

impl ExecRun {
    /// How many hosts ran the command successfully.
    pub fn succeeded(&self) -> usize {
        self.hosts.iter().filter(|(_, o)| o.succeeded()).count()
    }
}

/// Runs `request.command` on the hosts it selects; one master per host, opened once.
pub async fn exec(
    location: &Path,
    request: &ExecRequest,
    reporter: &dyn Reporter,
) -> Result<ExecRun, Error> {
    let session = Session::open(location)?;
    let scenario = &session.experiment.state().scenario;
    for site in &request.sites {
        if scenario.site(site).is_none() {
            return Err(Error::new(format!(
                "no site '{site}' in experiment '{}'",
                scenario.name
            )));
        }
    }
    let selected = session.testbed.select(&request.roles, &request.sites);
    if selected.is_empty() {
        return Err(Error::new(
            "no host matches the selection (--roles, --sites)",
        ));
    }
    let (fleet, mut failures) = connect(
        &session.testbed,
        selected.iter().copied(),
        request.parallelism,
        reporter,
    )
    .await;
    let mut results = fleet.run(&request.command, request.timeout, reporter).await;
    let mut hosts = Vec::with_capacity(selected.len());
    for host in &selected {
        let outcome = if let Some(pos) = results.iter().position(|r| r.host == host.name) {
            match results.swap_remove(pos).outcome {
                Ok(output) => HostOutcome::Ran(output),
                Err(e) => HostOutcome::Failed(e.reason()),
            }
        } else if let Some(pos) = failures.iter().position(|f| f.host == host.name) {
            HostOutcome::Unreachable(failures.swap_remove(pos).outcome_error())
        } else {
            continue;
        };
        hosts.push((host.name.clone(), outcome));
    }
    Ok(ExecRun { hosts })
}
