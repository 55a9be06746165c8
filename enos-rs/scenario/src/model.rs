//! The validated scenario: what the rest of enos works from.

use serde::{Deserialize, Serialize};

use crate::deploy::DeploySpec;
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
    /// What to install and run on the hosts (`vars:` and `deploy:`).
    #[serde(default)]
    pub deploy: DeploySpec,
}

/// The testbed provider and its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderSpec {
    /// The local provider: a multi-site testbed of namespaces on this machine.
    Local(LocalOptions),
}

/// Options of the local provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalOptions {
    /// Hosts the egress proxy forwards to besides the package repositories this machine's apt
    /// and pip name: `name` (ports 80 and 443), `*.domain` (every name under it), `name:port`,
    /// or an IP literal, as written in the scenario (checked by [`check_egress_rule`]).
    ///
    /// [`check_egress_rule`]: crate::check_egress_rule
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress_allow: Vec<String>,
}

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
    /// Delay applied between the hosts of `groups` where no constraint says otherwise.
    pub default_delay: Delay,
    /// Jitter applied with the default delay.
    pub default_jitter: Delay,
    /// Rate applied where no constraint says otherwise.
    pub default_rate: Rate,
    /// Loss applied where no constraint says otherwise.
    pub default_loss: LossRate,
    /// The hosts between which the defaults apply; `None` means every host.
    pub groups: Option<Vec<Selector>>,
    /// Hosts taken out of `groups`: the defaults do not apply to them.
    pub except: Vec<Selector>,
    /// Constraints, in file order: where several set the same direction, the last one wins.
    pub constraints: Vec<Constraint>,
}

impl NetworkSpec {
    /// Whether the section shapes anything: a non-zero default or at least one constraint.
    pub fn shapes_anything(&self) -> bool {
        !self.constraints.is_empty() || self.default_shapes()
    }

    /// Whether the defaults alone shape traffic (a delay, jitter, loss, or a rate below 10gbit).
    pub fn default_shapes(&self) -> bool {
        !self.default_delay.0.is_zero()
            || !self.default_jitter.0.is_zero()
            || self.default_loss.percent() > 0.0
            || self.default_rate != DEFAULT_RATE
    }
}

/// The rate of a direction nothing limits: 10gbit, as in EnOSlib.
pub const DEFAULT_RATE: Rate = Rate(10_000_000_000);

impl Default for NetworkSpec {
    fn default() -> Self {
        Self {
            default_delay: Delay::default(),
            default_jitter: Delay::default(),
            default_rate: DEFAULT_RATE,
            default_loss: LossRate::default(),
            groups: None,
            except: Vec::new(),
            constraints: Vec::new(),
        }
    }
}

/// A set of hosts named in the network section: sites, roles or hosts, as written.
///
/// `paris` names a site, `server` a role, `paris-server-1` a host; an EnOS range such as
/// `paris-server-[1-3]` or `site[1-4]` names each of the expanded names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
    /// The text as written in the file.
    pub text: String,
    /// What it names, after expanding a range.
    pub names: Vec<Named>,
}

/// One name of a [`Selector`], with what it names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Named {
    /// Every host of a site.
    Site(String),
    /// Every host playing a role, on every site.
    Role(String),
    /// One host.
    Host(String),
}

impl Selector {
    /// Whether `host` is among the hosts this selector names.
    pub fn contains(&self, host: &HostPlan) -> bool {
        self.names_host(&host.name, &host.site, &host.role)
    }

    /// Whether the host called `name`, of `site` and `role`, is among the hosts this names.
    pub fn names_host(&self, name: &str, site: &str, role: &str) -> bool {
        self.names.iter().any(|n| match n {
            Named::Site(s) => s == site,
            Named::Role(r) => r == role,
            Named::Host(h) => h == name,
        })
    }
}

/// A constraint from some hosts to others (and back, when symmetric).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    /// The hosts traffic leaves.
    pub src: Selector,
    /// The hosts traffic goes to.
    pub dst: Selector,
    /// One-way delay (the default when absent).
    pub delay: Option<Delay>,
    /// Jitter (the default when absent).
    pub jitter: Option<Delay>,
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
