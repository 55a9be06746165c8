//! `enos info` and `enos inventory`: what an experiment is, read from its state.

use std::path::Path;

use enos_core::{Experiment, ExperimentState, Host, Phase};
use enos_inventory::InventoryFormat;

use crate::registry::Providers;
use crate::session::Session;
use crate::{Error, provider_of, steps};

/// An experiment as `enos info` shows it.
#[derive(Debug, Clone)]
pub struct Info {
    /// Its whole state.
    pub state: ExperimentState,
    /// (label, value) facts: name, phase, results, provider details, deploy steps, ssh.
    pub rows: Vec<(String, String)>,
    /// Its hosts, when it has a testbed.
    pub hosts: Vec<Host>,
}

/// What the experiment at `location` is.
pub fn info(providers: &Providers, location: &Path) -> Result<Info, Error> {
    let experiment = Experiment::open(location)?;
    let state = experiment.state();
    let mut rows: Vec<(String, String)> = vec![
        ("experiment".to_owned(), state.name.clone()),
        ("phase".to_owned(), state.phase.to_string()),
        ("results".to_owned(), experiment.dir().display().to_string()),
    ];
    if state.phase == Phase::Failed
        && let Some(step) = state.history.last()
    {
        let outcome = step.outcome.as_deref().unwrap_or("did not end");
        let first = outcome.lines().next().unwrap_or_default();
        rows.push(("failed step".to_owned(), format!("{}: {first}", step.step)));
    }
    match provider_of(providers, &experiment) {
        Ok(provider) => rows.extend(provider.describe(&experiment)),
        Err(e) => rows.push(("provider".to_owned(), e.message)),
    }
    if let Some(report) = steps::current_report(&experiment) {
        rows.push(("deploy steps".to_owned(), steps::summary(&report)));
    }
    if let Some(testbed) = &state.testbed {
        rows.push((
            "ssh".to_owned(),
            format!("ssh -F {} <host>", testbed.ssh.config.display()),
        ));
    }
    Ok(Info {
        state: state.clone(),
        rows,
        hosts: state
            .testbed
            .as_ref()
            .map(|t| t.hosts.clone())
            .unwrap_or_default(),
    })
}

/// The inventory of the deployed experiment at `location`, in `format`.
pub fn inventory(location: &Path, format: InventoryFormat) -> Result<String, Error> {
    let session = Session::open(location)?;
    enos_inventory::render(format, &session.experiment.state().name, &session.testbed)
        .map_err(|e| Error::new(e.to_string()))
}
