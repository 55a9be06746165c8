//! What a scenario becomes on Vagrant: one VM per host, each with its flavour and its address.
//!
//! Each site gets the next /24 of the subnet, its VMs `.10` on in the scenario's order. The
//! sites' blocks share one private network (the whole subnet, on one bridge or host-only
//! adapter): a VM reaches the others directly, whatever their site, and the WAN between sites
//! is what tc shapes on that interface. The hypervisor's own address on it is the subnet's
//! first; the testbed gives it as every site's gateway.

use std::net::Ipv4Addr;

use enos_scenario::Scenario;
use ipnet::Ipv4Net;

use crate::options::{FIRST_HOST_BYTE, MAX_HOSTS_PER_SITE, VagrantOptions};

/// One VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// Its name: the scenario's host name (`<site>-<role>-<n>`), also the VM's hostname and its
    /// name in the Vagrantfile.
    pub name: String,
    /// Its site.
    pub site: String,
    /// Its role.
    pub role: String,
    /// Its address on the private network (the experiment's interface).
    pub address: Ipv4Addr,
    /// Virtual CPUs.
    pub cpus: u32,
    /// Memory, in MiB.
    pub memory: u32,
}

/// The network of one site: its /24 of the subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteBlock {
    /// The site.
    pub site: String,
    /// Its /24.
    pub block: Ipv4Net,
}

/// The VMs and networks of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The VMs, in the scenario's order (site, role, index).
    pub machines: Vec<Machine>,
    /// The sites' blocks, in the scenario's order.
    pub sites: Vec<SiteBlock>,
    /// The private network all VMs sit on (the subnet).
    pub network: Ipv4Net,
}

impl Layout {
    /// The hypervisor's address on the private network: the subnet's first address.
    pub fn gateway(&self) -> Ipv4Addr {
        self.network
            .hosts()
            .next()
            .unwrap_or(self.network.network())
    }
}

/// The layout of `scenario` with `options`; an error says what does not fit (the scenario's
/// checks refuse it first, with its location).
pub fn layout(scenario: &Scenario, options: &VagrantOptions) -> Result<Layout, String> {
    let capacity = options.site_capacity();
    if scenario.sites.len() as u64 > capacity {
        return Err(format!(
            "the subnet {} holds {capacity} sites (a /24 each), the scenario has {}",
            options.subnet,
            scenario.sites.len()
        ));
    }
    let blocks = options
        .subnet
        .subnets(24)
        .map_err(|e| format!("the subnet {}: {e}", options.subnet))?;
    let sites: Vec<SiteBlock> = scenario
        .sites
        .iter()
        .zip(blocks)
        .map(|(site, block)| SiteBlock {
            site: site.name.clone(),
            block,
        })
        .collect();
    let mut machines = Vec::new();
    for site in &sites {
        let hosts: Vec<_> = scenario
            .hosts()
            .into_iter()
            .filter(|h| h.site == site.site)
            .collect();
        if hosts.len() > MAX_HOSTS_PER_SITE as usize {
            return Err(format!(
                "site '{}' has {} hosts, a site holds at most {MAX_HOSTS_PER_SITE}",
                site.site,
                hosts.len()
            ));
        }
        let first = u32::from(site.block.network()) + FIRST_HOST_BYTE;
        for (offset, host) in (0u32..).zip(hosts) {
            let flavour = options.flavour_of(&host.role);
            machines.push(Machine {
                address: Ipv4Addr::from(first + offset),
                cpus: flavour.cpus,
                memory: flavour.memory,
                name: host.name,
                site: host.site,
                role: host.role,
            });
        }
    }
    Ok(Layout {
        machines,
        sites,
        network: options.subnet,
    })
}
