//! `enos destroy`: undo what the experiment put on hosts that outlive it, close its SSH
//! masters, and let the provider remove what it created. The results are kept. And `enos
//! extend`: keep the hosts longer, where the provider lends them for a time.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use enos_core::{Experiment, Phase, Reporter, layout};
use enos_deploy::DeployReport;
use enos_provider::Provider;

use crate::registry::Providers;
use crate::session::Session;
use crate::{Error, provider_of};

/// What `enos destroy` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destroyed {
    /// The experiment was destroyed before.
    Already {
        /// Its name.
        name: String,
    },
    /// The experiment is destroyed now.
    Now {
        /// Its name.
        name: String,
        /// Where its results are kept.
        results: PathBuf,
    },
}

/// Extends the time the hosts of the experiment at `location` are lent for by `by` (Grid'5000's
/// walltime), recorded in its history; an error for a provider whose hosts are not lent for a
/// time, or an experiment that is destroyed. Returns the experiment's name.
pub async fn extend(
    providers: &Providers,
    location: &Path,
    by: std::time::Duration,
    reporter: &dyn Reporter,
) -> Result<String, Error> {
    let mut experiment = Experiment::open(location)?;
    let name = experiment.state().name.clone();
    if matches!(
        experiment.state().phase,
        Phase::Destroyed | Phase::Destroying
    ) {
        return Err(Error::new(format!(
            "'{name}' is destroyed: there is nothing to extend"
        )));
    }
    let provider = provider_of(providers, &experiment)?;
    experiment.state_mut().begin_step("extend");
    let outcome = provider.extend(&mut experiment, by, reporter).await;
    experiment
        .state_mut()
        .end_step(outcome.as_ref().map(|_| ()).map_err(|e| e.message.clone()));
    experiment.save()?;
    outcome?;
    Ok(name)
}

/// Destroys the experiment at `location`.
pub async fn destroy(
    providers: &Providers,
    location: &Path,
    reporter: &dyn Reporter,
) -> Result<Destroyed, Error> {
    let experiment = Experiment::open(location)?;
    if experiment.state().phase == Phase::Destroyed {
        return Ok(Destroyed::Already {
            name: experiment.state().name.clone(),
        });
    }
    let provider = provider_of(providers, &experiment)?;
    let mut experiment = match (
        provider.hosts_outlive_destroy(),
        &experiment.state().testbed,
    ) {
        (true, Some(testbed)) => {
            let testbed = testbed.clone();
            let mut session = Session::from_parts(experiment, testbed);
            undo_on_hosts(&mut session, provider.as_ref(), reporter).await;
            session.experiment
        }
        _ => experiment,
    };
    experiment.state_mut().begin_step("destroy");
    experiment.set_phase(Phase::Destroying)?;
    if let Some(testbed) = &experiment.state().testbed
        && let Err(e) = enos_remote::close_all(&testbed.ssh.control_dir).await
    {
        reporter.note(&format!("warning: closing SSH connections: {e}"));
    }
    match provider.destroy(&mut experiment, reporter).await {
        Ok(()) => {
            let state = experiment.state_mut();
            state.phase = Phase::Destroyed;
            state.end_step(Ok(()));
            experiment.save()?;
            Ok(Destroyed::Now {
                name: experiment.state().name.clone(),
                results: experiment.dir().to_owned(),
            })
        }
        Err(e) => {
            let state = experiment.state_mut();
            state.end_step(Err(e.message.clone()));
            experiment.save()?;
            Err(e.into())
        }
    }
}

/// Removes what the experiment put on hosts it does not own: its shaping and the services its
/// deploy steps started. A host that cannot be reached is a warning: destroy goes on.
async fn undo_on_hosts(session: &mut Session, provider: &dyn Provider, reporter: &dyn Reporter) {
    if let Err(e) = crate::wan::reset(session, provider, reporter).await {
        reporter.note(&format!("warning: removing the WAN shaping: {}", e.message));
    }
    crate::metrics::stop_for_destroy(session, reporter).await;
    let services = services_started(session.experiment.dir());
    if services.is_empty() {
        return;
    }
    let fleet = match session.fleet(reporter).await {
        Ok(fleet) => fleet,
        Err(e) => {
            reporter.note(&format!("warning: stopping services: {}", e.message));
            return;
        }
    };
    let results = enos_deploy::stop_services(&fleet, &session.testbed, &services, reporter).await;
    for result in results {
        if let Err(e) = result.outcome {
            reporter.note(&format!(
                "warning: stopping services on {}: {}",
                result.host,
                e.reason()
            ));
        }
    }
}

/// Every service a deploy run of the experiment in `dir` may have started, by host: the
/// union over the reports of every run, so that a service a later run dropped is stopped too.
fn services_started(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut services: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let Ok(runs) = std::fs::read_dir(dir.join(layout::DEPLOY_DIR)) else {
        return services;
    };
    for run in runs.flatten() {
        let Some(report) = std::fs::read(run.path().join(layout::DEPLOY_REPORT))
            .ok()
            .and_then(|text| serde_json::from_slice::<DeployReport>(&text).ok())
        else {
            continue;
        };
        for (host, names) in report.services {
            let known = services.entry(host).or_default();
            for name in names {
                if !known.contains(&name) {
                    known.push(name);
                }
            }
        }
    }
    services
}
