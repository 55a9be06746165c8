//! The static provider's options as an experiment's state keeps them: every default filled in,
//! a hosts file read in, relative paths made absolute.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The static provider's options (`provider: {static: {…}}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticOptions {
    /// The hosts, in the order written.
    pub hosts: Vec<StaticHost>,
    /// A `known_hosts` file pinning the hosts' keys (absolute); without it, keys are learnt on
    /// first contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
}

/// One host and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticHost {
    /// Its name in the experiment: as written, or `<site>-<first role>-<n>`, `n` counting the
    /// hosts of that site and role from 1 in file order.
    pub name: String,
    /// Its IP address or DNS name, as written.
    pub address: String,
    /// Its SSH port (22 unless written).
    pub port: u16,
    /// The user to log in as (`root` unless written).
    pub user: String,
    /// The private key to log in with (absolute); `None`: SSH's own (agent, `~/.ssh/id_*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<PathBuf>,
    /// The host to go through, when the host is not reachable directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump: Option<Jump>,
    /// Its site.
    pub site: String,
    /// Its roles (at least one).
    pub roles: Vec<String>,
    /// The interface of the experiment's network (where the WAN is shaped); `None`: the one
    /// holding `address`, found on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// How deploy steps and WAN shaping get root: `None` when `user` is root, `sudo` otherwise
    /// (unless written).
    #[serde(default, rename = "become", skip_serializing_if = "Option::is_none")]
    pub r#become: Option<Become>,
}

/// How a host's user gets root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Become {
    /// `sudo -n`: sudo without a password prompt.
    Sudo,
}

/// A host to go through (SSH's `ProxyJump`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jump {
    /// Its IP address or DNS name.
    pub address: String,
    /// Its SSH port (22 unless written).
    pub port: u16,
    /// The user to log in as (the host's user unless written).
    pub user: String,
    /// The private key to log in with (the host's unless written; absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<PathBuf>,
}

/// The static provider's options as an experiment's state holds them
/// (`scenario.provider.options`, checked when the scenario was read).
pub fn options(value: &Value) -> Result<StaticOptions, String> {
    serde_json::from_value(value.clone()).map_err(|e| format!("the static provider's options: {e}"))
}
