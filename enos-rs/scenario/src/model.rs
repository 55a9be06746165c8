//! The validated scenario: what the rest of enos works from.

use serde::{Deserialize, Serialize};

use crate::deploy::DeploySpec;
use crate::network::NetworkSpec;
use crate::provider::{LocalOptions, ProviderSpec};
use crate::sites::{HostPlan, Site};

/// A validated scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// The experiment's name (`[a-z0-9-]`).
    pub name: String,
    /// Which testbed provides the hosts.
    pub provider: ProviderSpec,
    /// The sites, in file order.
    pub sites: Vec<Site>,
    /// The WAN between sites.
    pub network: NetworkSpec,
    /// What to install and run on the hosts (`vars:` and `deploy:`).
    #[serde(default)]
    pub deploy: DeploySpec,
}

impl Scenario {
    /// Every host, ordered by site, then role, then index.
    pub fn hosts(&self) -> Vec<HostPlan> {
        let mut hosts = Vec::new();
        for site in &self.sites {
            for role in &site.roles {
                for index in 1..=role.count {
                    hosts.push(HostPlan {
                        name: format!("{}-{}-{index}", site.name, role.role),
                        site: site.name.clone(),
                        role: role.role.clone(),
                        index,
                    });
                }
            }
        }
        hosts
    }

    /// Whether `other` asks for the same testbed (name, provider, sites and roles): it may
    /// differ in its WAN, in what it deploys and in the local provider's `egress_allow`, which a
    /// later `enos deploy` applies to the testbed in place.
    pub fn same_testbed(&self, other: &Scenario) -> bool {
        // No provider option shapes the testbed yet; one that does must be compared here.
        let provider = |s: &Scenario| match &s.provider {
            ProviderSpec::Local(LocalOptions { egress_allow: _ }) => "local",
        };
        self.name == other.name && provider(self) == provider(other) && self.sites == other.sites
    }

    /// The site called `name`.
    pub fn site(&self, name: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.name == name)
    }
}
