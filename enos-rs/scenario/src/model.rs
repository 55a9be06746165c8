//! The validated scenario: what the rest of enos works from.

use serde::{Deserialize, Serialize};

use crate::units::{Delay, LossRate, Rate};

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
}

/// The testbed provider and its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderSpec {
    /// The local provider: a multi-site testbed of namespaces on this machine.
    Local(LocalOptions),
}

/// Options of the local provider (none yet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalOptions {}

/// A site: the unit of geography (EnOS "groups").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// The site's name.
    pub name: String,
    /// Its roles and how many hosts play each, in file order.
    pub roles: Vec<RoleCount>,
}

/// How many hosts of a site play a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleCount {
    /// The role's name.
    pub role: String,
    /// The number of hosts (at least 1).
    pub count: u32,
}

/// One host the scenario asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPlan {
    /// `{site}-{role}-{index}`.
    pub name: String,
    /// Its site.
    pub site: String,
    /// Its role.
    pub role: String,
    /// Its number among the hosts of its site and role, from 1.
    pub index: u32,
}

/// The network section: defaults and constraints, with EnOS semantics (values are one-way).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Delay applied where no constraint says otherwise.
    pub default_delay: Delay,
    /// Rate applied where no constraint says otherwise.
    pub default_rate: Rate,
    /// Loss applied where no constraint says otherwise.
    pub default_loss: LossRate,
    /// Constraints between sites.
    pub constraints: Vec<Constraint>,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        Self {
            default_delay: Delay::default(),
            default_rate: Rate(10_000_000_000),
            default_loss: LossRate::default(),
            constraints: Vec::new(),
        }
    }
}

/// A constraint from one site to another (and back, when symmetric).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    /// The source site.
    pub src: String,
    /// The destination site.
    pub dst: String,
    /// One-way delay (the default when absent).
    pub delay: Option<Delay>,
    /// Rate (the default when absent).
    pub rate: Option<Rate>,
    /// Loss (the default when absent).
    pub loss: Option<LossRate>,
    /// Whether the constraint also applies from `dst` to `src`.
    pub symmetric: bool,
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

    /// The site called `name`.
    pub fn site(&self, name: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.name == name)
    }
}
