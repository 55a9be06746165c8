//! `enos deploy`: provision the testbed, prove every host answers, write the SSH client files
//! and inventories, shape and measure the WAN, apply the deploy steps. Each phase is a step of
//! the experiment's history, saved as it starts and ends; a failure marks the experiment failed
//! and keeps what was done.

use std::path::PathBuf;

use enos_core::{Experiment, Phase, Reporter, Testbed, layout};
use enos_inventory as inventory;
use enos_provider::Provider;

use crate::records::{HOST_KEYS_VERSION, HostKeys, PhaseRecorder, write_json};
use crate::registry::Providers;
use crate::session::{Session, connect_all};
use crate::steps::StepsRun;
use crate::wan::Validation;
use crate::{Error, scenario, steps};

/// What `enos deploy` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployRequest {
    /// The scenario file.
    pub file: PathBuf,
    /// The results root; the experiment gets `<root>/<name>/<timestamp>/`.
    pub results: PathBuf,
    /// Measure the WAN after shaping it.
    pub validate: bool,
    /// The scenario's text, when it is not the file's (a point of a sweep): `file` still names
    /// it in messages, and the files it names are relative to `file`'s directory.
    pub source: Option<String>,
}

/// The testbed a deploy left up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// The experiment's name.
    pub name: String,
    /// Its number of hosts, every one of which answers over SSH.
    pub hosts: usize,
    /// Its number of sites.
    pub sites: usize,
    /// Whether the testbed was already up as asked.
    pub unchanged: bool,
    /// The experiment's directory.
    pub results: PathBuf,
    /// Its `ssh -F` configuration.
    pub ssh_config: PathBuf,
}

/// What a deploy did, phase by phase, and how it ended. Every phase that ran is here even when
/// a later one failed.
#[derive(Debug)]
pub struct DeployRun {
    /// The testbed, once it was up.
    pub testbed: Option<Deployed>,
    /// The WAN's validation, if it was measured.
    pub validation: Option<Validation>,
    /// The deploy steps' run, if they ran.
    pub steps: Option<StepsRun>,
    /// How it ended.
    pub result: Result<(), Error>,
}

impl DeployRun {
    fn failed(error: Error) -> Self {
        Self {
            testbed: None,
            validation: None,
            steps: None,
            result: Err(error),
        }
    }
}

/// Writes the phases' record when dropped: whether the deploy succeeds, fails or returns early.
struct PhasesRecord<'a> {
    path: PathBuf,
    recorder: &'a PhaseRecorder<'a>,
}

impl Drop for PhasesRecord<'_> {
    fn drop(&mut self) {
        if let Err(e) = write_json(&self.path, &self.recorder.record()) {
            tracing::warn!("{e}");
        }
    }
}

/// Deploys the scenario `request.file`: see the module's documentation.
pub async fn deploy(
    providers: &Providers,
    request: &DeployRequest,
    reporter: &dyn Reporter,
) -> DeployRun {
    let loaded = match &request.source {
        Some(text) => scenario::load_text(providers, &request.file, text.clone()),
        None => scenario::load(providers, &request.file),
    };
    let (scenario, source) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return DeployRun::failed(e),
    };
    if scenario.sweep.is_some() {
        return DeployRun::failed(Error::new(format!(
            "{}: the scenario sweeps parameters (`sweep:`): `enos run` runs its points, one \
             experiment each",
            request.file.display()
        )));
    }
    if let Err(e) = steps::example_plan(&scenario) {
        return DeployRun::failed(e);
    }
    let provider = match providers.get(scenario::provider_name(&scenario)) {
        Ok(provider) => provider,
        Err(e) => return DeployRun::failed(e),
    };
    if let Err(e) = provider.check().await {
        return DeployRun::failed(e.into());
    }
    let experiment =
        match Experiment::open_for_deploy(&request.results, &scenario, &source, provider.name()) {
            Ok((experiment, _)) => experiment,
            Err(e) => return DeployRun::failed(e.into()),
        };
    let recorder = PhaseRecorder::new(reporter);
    let _record = match experiment.path(layout::DEPLOY_PHASES) {
        Ok(path) => PhasesRecord {
            path,
            recorder: &recorder,
        },
        Err(e) => return DeployRun::failed(e.into()),
    };
    run(experiment, provider.as_ref(), request.validate, &recorder).await
}

async fn run(
    mut experiment: Experiment,
    provider: &dyn Provider,
    validate: bool,
    reporter: &dyn Reporter,
) -> DeployRun {
    let mut outcome = DeployRun::failed(Error::new("not run"));
    experiment.state_mut().begin_step("deploy");
    let before = experiment.state().testbed.clone();
    if experiment.state().phase != Phase::Deployed
        && let Err(e) = experiment.set_phase(Phase::Provisioning)
    {
        return DeployRun::failed(e.into());
    }
    let (experiment, testbed, fleet) = match provision(experiment, provider, reporter).await {
        Ok(up) => up,
        Err((mut experiment, error)) => {
            let dir = experiment.dir().display().to_string();
            let hint = error.hint.clone().unwrap_or_else(|| {
                format!(
                    "the partial testbed is recorded in {dir}; `enos destroy --env {dir}` removes \
                     it, `enos deploy` again completes it"
                )
            });
            outcome.result = Err(mark_failed(&mut experiment, error).hint(hint));
            return outcome;
        }
    };
    let mut session = Session::with_fleet(experiment, testbed, fleet);
    // Hosts the provider does not own say what they are at once: their experiment interface,
    // when the scenario names none, is the one holding their address.
    let mut facts = None;
    if provider.hosts_outlive_destroy() {
        match steps::gather_facts(&mut session, reporter).await {
            Ok(gathered) => {
                fill_interfaces(&mut session.testbed, &gathered);
                facts = Some(gathered);
            }
            Err(error) => {
                outcome.result = Err(mark_failed(&mut session.experiment, error));
                return outcome;
            }
        }
    }
    let testbed = session.testbed.clone();
    let unchanged = before.as_ref() == Some(&testbed);
    let experiment = &mut session.experiment;
    let state = experiment.state_mut();
    state.testbed = Some(testbed.clone());
    state.phase = Phase::Deployed;
    state.end_step(Ok(()));
    if let Err(e) = experiment.save() {
        outcome.result = Err(e.into());
        return outcome;
    }
    outcome.testbed = Some(Deployed {
        name: experiment.state().name.clone(),
        hosts: testbed.hosts.len(),
        sites: experiment.state().scenario.sites.len(),
        unchanged,
        results: experiment.dir().to_owned(),
        ssh_config: experiment.dir().join(layout::SSH_CONFIG),
    });

    experiment.state_mut().begin_step("wan");
    if let Err(e) = experiment.save() {
        outcome.result = Err(e.into());
        return outcome;
    }
    let shaped = crate::wan::deploy_phase(&mut session, provider, validate, reporter).await;
    let shaped = match shaped {
        Ok(validation) => {
            let failure = validation.as_ref().and_then(Validation::failure);
            outcome.validation = validation;
            failure.map_or(Ok(()), Err)
        }
        Err(e) => Err(e),
    };
    if let Err(error) = shaped {
        outcome.result = Err(mark_failed(&mut session.experiment, error).hint(
            "the testbed is up; `enos tc validate` measures again, `enos deploy` again shapes \
             and measures again, `enos deploy --no-validate` skips the measurement",
        ));
        return outcome;
    }
    let experiment = &mut session.experiment;
    experiment.state_mut().end_step(Ok(()));
    if let Err(e) = experiment.save() {
        outcome.result = Err(e.into());
        return outcome;
    }
    if experiment.state().scenario.deploy.is_empty() {
        outcome.result = Ok(());
        return outcome;
    }

    experiment.state_mut().begin_step("deploy steps");
    if let Err(e) = experiment.save() {
        outcome.result = Err(e.into());
        return outcome;
    }
    let ran = async {
        let facts = match facts {
            Some(facts) => facts,
            None => steps::gather_facts(&mut session, reporter).await?,
        };
        steps::run(&mut session, &facts, reporter).await.map(Some)
    }
    .await;
    let failure = match ran {
        Ok(run) => {
            let failure = run.as_ref().and_then(StepsRun::failure);
            outcome.steps = run;
            failure
        }
        Err(e) => Some(e),
    };
    let experiment = &mut session.experiment;
    outcome.result = match failure {
        Some(error) => Err(mark_failed(experiment, error)),
        None => {
            experiment.state_mut().end_step(Ok(()));
            experiment.save().map_err(Error::from)
        }
    };
    outcome
}

/// Gives each host that names no experiment interface the one its facts show holding its
/// address.
fn fill_interfaces(testbed: &mut Testbed, facts: &[(String, enos_deploy::Facts)]) {
    for host in testbed.hosts.iter_mut().filter(|h| h.interface.is_none()) {
        let address = host.address.to_string();
        host.interface = facts
            .iter()
            .find(|(name, _)| *name == host.name)
            .and_then(|(_, f)| f.interfaces.iter().find(|i| i.address == address))
            .map(|i| i.name.clone());
    }
}

/// Brings the testbed up, records it, writes its SSH client files and inventories, and proves
/// every host answers over SSH with the fleet the rest of the command shares.
async fn provision(
    mut experiment: Experiment,
    provider: &dyn Provider,
    reporter: &dyn Reporter,
) -> Result<(Experiment, Testbed, enos_remote::Fleet), (Experiment, Error)> {
    let testbed = match provider.deploy(&mut experiment, reporter).await {
        Ok(testbed) => testbed,
        Err(e) => return Err((experiment, e.into())),
    };
    experiment.state_mut().testbed = Some(testbed.clone());
    let written = experiment
        .save()
        .map_err(Error::from)
        .and_then(|()| write_access_files(&experiment, &testbed));
    if let Err(e) = written {
        return Err((experiment, e));
    }
    let fleet = match connect_all(&testbed, reporter).await {
        Ok(fleet) => fleet,
        Err(e) => return Err((experiment, e)),
    };
    match pin_learnt_keys(&experiment, &testbed) {
        Ok(()) => Ok((experiment, testbed, fleet)),
        Err(e) => Err((experiment, e)),
    }
}

/// The files that give access to the testbed, for every provider alike: the SSH client files
/// (`ssh_config`, `known_hosts`) and inventories for other tools.
fn write_access_files(experiment: &Experiment, testbed: &Testbed) -> Result<(), Error> {
    enos_core::ssh::write_client_files(testbed).map_err(|e| Error::new(e.to_string()))?;
    let dir = experiment.dir().join(layout::INVENTORY_DIR);
    inventory::write_all(&dir, &experiment.state().name, testbed)
        .map(|_| ())
        .map_err(|e| Error::new(e.to_string()))
}

/// Records the fingerprints of the host keys learnt on first contact, and refuses a host whose
/// key is not the one recorded before (even if known_hosts lost it).
fn pin_learnt_keys(experiment: &Experiment, testbed: &Testbed) -> Result<(), Error> {
    let offered =
        enos_core::ssh::learnt_host_keys(testbed).map_err(|e| Error::new(e.to_string()))?;
    if offered.is_empty() {
        return Ok(());
    }
    let path = experiment.dir().join(layout::HOST_KEYS);
    let mut record: HostKeys = std::fs::read(&path)
        .ok()
        .and_then(|text| serde_json::from_slice(&text).ok())
        .unwrap_or_default();
    enos_core::ssh::check_host_keys(&record.keys, &offered).map_err(|e| {
        Error::new(e.to_string()).hint(format!(
            "if the host was reinstalled, check its new key out of band, then remove its line \
             from {} and {}",
            path.display(),
            testbed.ssh.known_hosts.display()
        ))
    })?;
    for key in offered {
        if !record.keys.iter().any(|k| k.host == key.host) {
            record.keys.push(key);
        }
    }
    record.version = HOST_KEYS_VERSION;
    write_json(&path, &record)
}

/// Records that the deploy failed: the phase becomes `failed` and the error ends the step in
/// the history, saved at once (atomically). Returns the error to show.
pub(crate) fn mark_failed(experiment: &mut Experiment, error: Error) -> Error {
    let state = experiment.state_mut();
    state.phase = Phase::Failed;
    state.end_step(Err(error.message.clone()));
    match experiment.save() {
        Ok(()) => error,
        Err(e) => Error {
            message: format!(
                "{}\nmoreover the experiment could not be marked failed: {e}",
                error.message.trim_end()
            ),
            ..error
        },
    }
}
