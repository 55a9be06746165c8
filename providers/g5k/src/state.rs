//! What the provider records in the experiment's state (`provider_state`): every job and
//! deployment as soon as it exists, so that `destroy` finds them after a crash or a
//! half-finished deploy. Nothing secret is recorded.

use enos_core::Experiment;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::options::Walltime;

/// The Grid'5000 provider's record of an experiment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct G5kState {
    /// The API the jobs were submitted to.
    #[serde(default)]
    pub api_url: String,
    /// Each scenario site's Grid'5000 site, once known.
    #[serde(default)]
    pub sites: IndexMap<String, String>,
    /// The OAR jobs, one per Grid'5000 site.
    #[serde(default)]
    pub jobs: Vec<JobRecord>,
}

/// One OAR job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Its Grid'5000 site.
    pub site: String,
    /// Its id.
    pub uid: u64,
    /// Its name.
    pub name: String,
    /// Its walltime, extensions included.
    pub walltime: Walltime,
    /// Its OAR state when last seen.
    #[serde(default)]
    pub state: String,
    /// Its nodes, once it runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// Its VLAN id, when it reserved one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<String>,
    /// The kadeploy environment installed on `deployed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The nodes kadeploy installed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployed: Vec<String>,
    /// The nodes kadeploy failed on, every attempt made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    /// Its kadeploy deployments, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployments: Vec<DeploymentRecord>,
}

/// One kadeploy deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    /// Its id.
    pub uid: String,
    /// The nodes it installs.
    pub nodes: Vec<String>,
    /// Its status when last seen.
    pub status: String,
}

impl G5kState {
    /// The record of `experiment`, empty when it has none.
    pub fn of(experiment: &Experiment) -> G5kState {
        serde_json::from_value(experiment.state().provider_state.clone()).unwrap_or_default()
    }

    /// Records itself in `experiment`'s state and saves it.
    pub(crate) fn save(&self, experiment: &mut Experiment) -> Result<(), enos_core::StateError> {
        experiment.state_mut().provider_state =
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        experiment.save()
    }

    /// The job on Grid'5000 site `site`.
    pub(crate) fn job_mut(&mut self, site: &str) -> Option<&mut JobRecord> {
        self.jobs.iter_mut().find(|j| j.site == site)
    }
}
