//! One command's hold on an experiment: the experiment opened (and locked), its testbed, and
//! one fleet of SSH masters that every phase of the command shares.

use std::path::Path;
use std::time::Duration;

use enos_core::{Experiment, Host, Phase, Reporter, Testbed};
use enos_remote::{Fleet, HostFailure, RemoteConfig, Target};

use crate::Error;
use crate::error::plural;

/// How long a host gets to accept an SSH connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How many hosts a command works on at once, unless told otherwise.
pub const PARALLELISM: usize = 64;

/// How to reach the testbed's hosts, `parallelism` at a time.
pub fn fleet_config(testbed: &Testbed, parallelism: usize) -> RemoteConfig {
    RemoteConfig {
        ssh_config: testbed.ssh.config.clone(),
        control_dir: testbed.ssh.control_dir.clone(),
        parallelism: parallelism.max(1),
        connect_timeout: CONNECT_TIMEOUT,
        persist: Duration::from_secs(3600),
    }
}

/// The SSH targets of `hosts` (their names are their `ssh_config` aliases).
pub fn targets<'a>(hosts: impl IntoIterator<Item = &'a Host>) -> Vec<Target> {
    hosts.into_iter().map(Target::from).collect()
}

/// Connects to `hosts`: one master per host, shared by whatever the command does next.
/// Returns the fleet of those that answered and the failures of the others.
pub async fn connect<'a>(
    testbed: &Testbed,
    hosts: impl IntoIterator<Item = &'a Host>,
    parallelism: usize,
    reporter: &dyn Reporter,
) -> (Fleet, Vec<HostFailure>) {
    Fleet::connect(fleet_config(testbed, parallelism), targets(hosts), reporter).await
}

/// Connects to every host of `testbed`; an error names every host that did not answer.
pub async fn connect_all(testbed: &Testbed, reporter: &dyn Reporter) -> Result<Fleet, Error> {
    let (fleet, failures) = connect(testbed, &testbed.hosts, PARALLELISM, reporter).await;
    if failures.is_empty() {
        return Ok(fleet);
    }
    let mut changed = 0;
    let lines: Vec<String> = failures
        .iter()
        .map(|f| {
            let why = f.outcome_error();
            match changed_key(&why) {
                Some(offered) => {
                    changed += 1;
                    format!(
                        "  {}: its SSH host key is not the one pinned for it (it offers {offered}); \
                         enos refuses it: someone may be in the middle, or the host was reinstalled",
                        f.host
                    )
                }
                None => format!("  {}: {why}", f.host),
            }
        })
        .collect();
    let error = Error::new(format!(
        "{} host{} did not answer over SSH:\n{}",
        failures.len(),
        plural(failures.len()),
        lines.join("\n")
    ));
    Err(if changed > 0 {
        error.hint(format!(
            "if a host was reinstalled, check its new key out of band, then remove its old one \
             from {} (`ssh-keygen -f <file> -R <host>`) or from the known_hosts file the \
             scenario gives",
            testbed.ssh.known_hosts.display()
        ))
    } else {
        error
    })
}

/// The fingerprint a host offers when OpenSSH refused it for not being the pinned one.
fn changed_key(why: &str) -> Option<String> {
    if !why.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        return None;
    }
    let at = why.find("SHA256:")?;
    let fingerprint: String = why[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "+/=:".contains(*c))
        .collect();
    Some(fingerprint.trim_end_matches('.').to_owned())
}

/// An experiment whose testbed is up, opened by this command, with its fleet once connected.
pub struct Session {
    /// The experiment, locked by this process.
    pub experiment: Experiment,
    /// Its testbed.
    pub testbed: Testbed,
    fleet: Option<Fleet>,
}

impl Session {
    /// Opens the experiment `location` designates, whose testbed is up: deployed, or failed
    /// after its hosts were recorded (a WAN or deploy-step failure leaves hosts to inspect and
    /// to measure).
    pub fn open(location: &Path) -> Result<Session, Error> {
        let experiment = Experiment::open(location)?;
        let state = experiment.state();
        match (&state.testbed, state.phase) {
            (Some(testbed), Phase::Deployed | Phase::Failed) => {
                let testbed = testbed.clone();
                Ok(Session {
                    experiment,
                    testbed,
                    fleet: None,
                })
            }
            (_, phase) => Err(Error::new(format!(
                "the experiment '{}' in {} is {phase}, not deployed",
                state.name,
                experiment.dir().display()
            ))
            .hint("run `enos deploy <scenario>` first")),
        }
    }

    /// A session over an experiment already open and its testbed.
    pub(crate) fn from_parts(experiment: Experiment, testbed: Testbed) -> Session {
        Session {
            experiment,
            testbed,
            fleet: None,
        }
    }

    /// A session over a testbed just provisioned, with the fleet that proved it answers.
    pub(crate) fn with_fleet(experiment: Experiment, testbed: Testbed, fleet: Fleet) -> Session {
        Session {
            experiment,
            testbed,
            fleet: Some(fleet),
        }
    }

    /// The fleet of every host, connected on first use; every later use shares it.
    pub async fn fleet(&mut self, reporter: &dyn Reporter) -> Result<Fleet, Error> {
        if let Some(fleet) = &self.fleet {
            return Ok(fleet.clone());
        }
        let fleet = connect_all(&self.testbed, reporter).await?;
        self.fleet = Some(fleet.clone());
        Ok(fleet)
    }
}
