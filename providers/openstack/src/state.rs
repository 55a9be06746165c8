//! What the provider records in the experiment's `provider_state`: every id it made or
//! adopted, saved right after each creation, so that `destroy` removes them after a crash or a
//! half-finished deploy, and a second deploy reuses them. Never a secret.

use enos_core::Experiment;
use enos_provider::ProviderError;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// The provider's handles on the cloud.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenStackState {
    /// Where the credentials came from, as shown to the user (the clouds.yaml entry and file,
    /// or the `OS_*` environment).
    #[serde(default)]
    pub cloud: String,
    /// Keystone's URL.
    #[serde(default)]
    pub auth_url: String,
    /// The region whose endpoints were used, when one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The project the servers are in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The Blazar lease made for the experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Made>,
    /// The reservation id given to Nova as a scheduler hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<String>,
    /// The private network (made, or the existing one named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Made>,
    /// Its subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<Made>,
    /// The router between the subnet and the external network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<Made>,
    /// Whether the router's interface on the subnet was added (by this provider).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub router_interface: bool,
    /// The security group made for the experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group: Option<Made>,
    /// Whether its rules were added.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub security_group_rules: bool,
    /// The keypair made from the experiment's key (its id is its name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keypair: Option<Made>,
    /// The servers by host name, in the scenario's order.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub servers: IndexMap<String, String>,
    /// The floating IP of the gateway host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floating_ip: Option<FloatingIp>,
    /// The host holding the floating IP, through which the others are reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

/// A thing on the cloud: made by the provider (and so deleted on destroy), or found there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Made {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether the provider made it (and deletes it on destroy).
    pub created: bool,
}

/// The gateway host's floating IP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloatingIp {
    /// Its id.
    pub id: String,
    /// The address.
    pub address: String,
    /// Whether the provider made it (a free one of the project's is reused, not deleted).
    pub created: bool,
}

impl OpenStackState {
    /// The state recorded in `experiment` (empty when nothing is).
    pub fn of(experiment: &Experiment) -> Result<Self, ProviderError> {
        let value = &experiment.state().provider_state;
        if value.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(value.clone()).map_err(|e| {
            ProviderError::new(format!(
                "the openstack provider's state in {} cannot be read: {e}",
                experiment.dir().display()
            ))
        })
    }

    /// Records this state in `experiment` and saves it.
    pub fn save(&self, experiment: &mut Experiment) -> Result<(), ProviderError> {
        experiment.state_mut().provider_state =
            serde_json::to_value(self).map_err(|e| ProviderError::new(e.to_string()))?;
        experiment.save()?;
        Ok(())
    }

    /// Whether anything on the cloud is recorded (something to remove or to keep track of).
    pub fn holds_anything(&self) -> bool {
        self.lease.is_some()
            || self.network.is_some()
            || self.subnet.is_some()
            || self.router.is_some()
            || self.security_group.is_some()
            || self.keypair.is_some()
            || !self.servers.is_empty()
            || self.floating_ip.is_some()
    }
}
