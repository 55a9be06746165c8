//! What a provider gives back: hosts, the networks they sit on, and how to reach them over SSH.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A provisioned testbed: every host of the scenario, its networks and its SSH access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Testbed {
    /// The hosts, in the scenario's order (site, then role, then index).
    pub hosts: Vec<Host>,
    /// One network per site.
    pub networks: Vec<SiteNetwork>,
    /// How to reach the hosts with OpenSSH.
    pub ssh: SshAccess,
}

impl Testbed {
    /// The host called `name`, if any.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// The hosts whose role is in `roles` (all roles when empty) and whose site is in `sites`
    /// (all sites when empty), in testbed order.
    pub fn select(&self, roles: &[String], sites: &[String]) -> Vec<&Host> {
        self.hosts
            .iter()
            .filter(|h| roles.is_empty() || roles.contains(&h.role))
            .filter(|h| sites.is_empty() || sites.contains(&h.site))
            .collect()
    }
}

/// One machine of the testbed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// Host name, also its name in inventories and in the SSH configuration.
    pub name: String,
    /// The site (unit of geography) the host belongs to.
    pub site: String,
    /// The role the host plays.
    pub role: String,
    /// The host's address on its site network.
    pub address: IpAddr,
    /// The user to log in as.
    pub user: String,
    /// The SSH port.
    pub port: u16,
}

/// The network of one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteNetwork {
    /// The site's name.
    pub site: String,
    /// The subnet in CIDR notation, e.g. `198.18.1.0/24`.
    pub cidr: String,
    /// The site's gateway, where traffic leaves the site.
    pub gateway: IpAddr,
}

/// The files that make the testbed reachable with a plain `ssh -F <config> <host>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshAccess {
    /// OpenSSH client configuration with one `Host` entry per testbed host.
    pub config: PathBuf,
    /// The experiment's private key.
    pub identity: PathBuf,
    /// A known_hosts file pinning every host's key.
    pub known_hosts: PathBuf,
    /// Where multiplexed master connections keep their control sockets (a short path).
    pub control_dir: PathBuf,
}
