//! The validated scenario: what the rest of enos works from.

use serde::{Deserialize, Serialize};

use crate::bench::BenchSection;
use crate::deploy::DeploySpec;
use crate::metrics::MetricsSection;
use crate::network::NetworkSpec;
use crate::provider::ProviderSection;
use crate::sites::{HostPlan, Site};
use crate::sweep::Sweep;

/// A validated scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// The experiment's name (`[a-z0-9-]`).
    pub name: String,
    /// Which testbed provides the hosts, with its options.
    pub provider: ProviderSection,
    /// The sites, in file order.
    pub sites: Vec<Site>,
    /// The WAN between sites.
    pub network: NetworkSpec,
    /// What to install and run on the hosts (`vars:` and `deploy:`).
    #[serde(default)]
    pub deploy: DeploySpec,
    /// The workloads to run (`bench:`).
    #[serde(default)]
    pub bench: BenchSection,
    /// What the collectors measure (`metrics:`); none when the section is absent.
    #[serde(default)]
    pub metrics: Option<MetricsSection>,
    /// The keys whose values vary from run to run (`sweep:`); none when the section is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<Sweep>,
}

impl Scenario {
    /// Every host, ordered by site, then role, then index.
    pub fn hosts(&self) -> Vec<HostPlan> {
        let mut hosts = Vec::new();
        for site in &self.sites {
            for role in &site.roles {
                for index in 1..=role.count {
                    hosts.push(HostPlan {
                        name: role.host_name(&site.name, index),
                        site: site.name.clone(),
                        role: role.role.clone(),
                        index,
                    });
                }
            }
        }
        hosts
    }

    /// Whether `other` asks for the same testbed (name, provider, sites, roles and host
    /// names): it may differ in its WAN, in what it deploys and in the provider's options (the
    /// local provider's `egress_allow`, which a later `enos deploy` applies to the testbed in
    /// place).
    pub fn same_testbed(&self, other: &Scenario) -> bool {
        self.name == other.name
            && self.provider.name == other.provider.name
            && self.sites == other.sites
    }

    /// The site called `name`.
    pub fn site(&self, name: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.name == name)
    }
}
