//! What the commands share: the provider a scenario names, the deployed experiment an `--env`
//! designates, and the SSH fleet of its hosts.

use std::time::Duration;

use enos_core::{Experiment, Phase, Provider, Testbed};
use enos_provider_local::LocalProvider;
use enos_provider_local::daemon::Daemons;
use enos_remote::{RemoteConfig, Target};
use enos_scenario::ProviderSpec;

use crate::Failure;
use crate::args::EnvArgs;

/// How long a host gets to accept an SSH connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// `"s"` unless `n` is one: `host{}`.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The provider a scenario names.
pub(crate) fn provider_for(spec: &ProviderSpec) -> Box<dyn Provider> {
    match spec {
        ProviderSpec::Local(_) => Box::new(LocalProvider::new(Daemons {
            // The daemons are this very binary, behind hidden subcommands.
            program: std::env::current_exe().unwrap_or_else(|_| "enos".into()),
        })),
    }
}

/// How to reach the testbed's hosts, `parallelism` at a time.
pub(crate) fn fleet_config(testbed: &Testbed, parallelism: usize) -> RemoteConfig {
    RemoteConfig {
        ssh_config: testbed.ssh.config.clone(),
        control_dir: testbed.ssh.control_dir.clone(),
        parallelism,
        connect_timeout: CONNECT_TIMEOUT,
        persist: Duration::from_secs(3600),
    }
}

/// The SSH targets of `hosts` (their names are their `ssh_config` aliases).
pub(crate) fn targets<'a>(hosts: impl IntoIterator<Item = &'a enos_core::Host>) -> Vec<Target> {
    hosts.into_iter().map(Target::from).collect()
}

/// Opens the experiment `env` designates, whose testbed is up: deployed, or failed after its
/// hosts were recorded (a WAN or deploy-step failure leaves hosts to inspect and to measure).
pub(crate) fn open_with_testbed(env: &EnvArgs) -> Result<(Experiment, Testbed), Failure> {
    let experiment = Experiment::open(&env.location())?;
    let state = experiment.state();
    match (&state.testbed, state.phase) {
        (Some(testbed), Phase::Deployed | Phase::Failed) => {
            let testbed = testbed.clone();
            Ok((experiment, testbed))
        }
        (_, phase) => Err(Failure::new(format!(
            "the experiment '{}' in {} is {phase}, not deployed",
            state.name,
            experiment.dir().display()
        ))
        .hint("run `enos deploy <scenario>` first")),
    }
}
