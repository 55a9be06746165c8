//! The experiment state: one versioned JSON document that every command reads and writes.

use enos_scenario::Scenario;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::testbed::Testbed;

/// The version of the state format this build writes and reads.
pub const STATE_VERSION: u32 = 1;

/// The outcome recorded for a step that never ended (see [`ExperimentState::settle_interrupted`]).
pub const INTERRUPTED: &str = "interrupted: enos stopped before the step ended";

/// Where an experiment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The results directory exists; nothing has been provisioned yet.
    Planned,
    /// The provider is creating the testbed (a crash here leaves a half-made testbed to destroy).
    Provisioning,
    /// Every host is up and answers over SSH.
    Deployed,
    /// A deployment failed, or was interrupted: the error is in the history, what was created
    /// is recorded; `deploy` again completes it, `destroy` removes it.
    Failed,
    /// `destroy` is removing the testbed.
    Destroying,
    /// Everything the experiment created has been removed.
    Destroyed,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            Phase::Planned => "planned",
            Phase::Provisioning => "provisioning",
            Phase::Deployed => "deployed",
            Phase::Failed => "failed",
            Phase::Destroying => "destroying",
            Phase::Destroyed => "destroyed",
        };
        f.write_str(text)
    }
}

/// One step of the experiment's history (a command run on it and how it ended).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step, e.g. `deploy` or `destroy`.
    pub step: String,
    /// When it started.
    pub started: Timestamp,
    /// When it ended, if it did.
    pub ended: Option<Timestamp>,
    /// `ok`, or the error it ended with.
    pub outcome: Option<String>,
}

/// Everything known about one experiment, saved as `state.json` in its results directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentState {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// The experiment's name (from the scenario).
    pub name: String,
    /// When the results directory was created.
    pub created: Timestamp,
    /// When this state was last saved.
    pub updated: Timestamp,
    /// The validated scenario the experiment runs.
    pub scenario: Scenario,
    /// Where the experiment stands.
    pub phase: Phase,
    /// The provider's name, e.g. `local`.
    pub provider: String,
    /// The provider's own handles (names, addresses, process ids…), opaque to the core.
    #[serde(default)]
    pub provider_state: serde_json::Value,
    /// The testbed, once the provider has given it back.
    #[serde(default)]
    pub testbed: Option<Testbed>,
    /// Commands run on this experiment, oldest first.
    #[serde(default)]
    pub history: Vec<StepRecord>,
}

impl ExperimentState {
    /// A fresh state for `scenario`, in phase [`Phase::Planned`].
    pub fn new(scenario: Scenario, provider: &str) -> Self {
        let now = Timestamp::now();
        Self {
            version: STATE_VERSION,
            name: scenario.name.clone(),
            created: now,
            updated: now,
            scenario,
            phase: Phase::Planned,
            provider: provider.to_owned(),
            provider_state: serde_json::Value::Null,
            testbed: None,
            history: Vec::new(),
        }
    }

    /// Records that `step` starts now.
    pub fn begin_step(&mut self, step: &str) {
        self.history.push(StepRecord {
            step: step.to_owned(),
            started: Timestamp::now(),
            ended: None,
            outcome: None,
        });
    }

    /// Records how the last started step ended.
    pub fn end_step(&mut self, outcome: Result<(), String>) {
        if let Some(last) = self.history.last_mut() {
            last.ended = Some(Timestamp::now());
            last.outcome = Some(match outcome {
                Ok(()) => "ok".to_owned(),
                Err(e) => e,
            });
        }
    }

    /// Records that the last step never ended: the command running it was killed, or the
    /// machine went down. Its outcome becomes [`INTERRUPTED`] (its end time stays unknown), and
    /// the experiment becomes [`Phase::Failed`], unless a destroy was interrupted (it stays
    /// `destroying`: `destroy` again finishes it). Returns whether anything changed.
    ///
    /// Only the holder of the experiment's lock may conclude this: [`crate::Experiment`] does
    /// when it opens an experiment, since the lock of a dead command is released.
    pub fn settle_interrupted(&mut self) -> bool {
        let Some(last) = self.history.last_mut() else {
            return false;
        };
        if last.ended.is_some() || last.outcome.is_some() {
            return false;
        }
        last.outcome = Some(INTERRUPTED.to_owned());
        if !matches!(self.phase, Phase::Destroying | Phase::Destroyed) {
            self.phase = Phase::Failed;
        }
        true
    }
}
