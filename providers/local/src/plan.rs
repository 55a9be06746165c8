//! The local testbed's plan: every name and address, derived from the scenario, the experiment's
//! prefix and its address block. A pure function of its inputs, so teardown can recompute it.
//!
//! Address plan: experiments get a /20 block of the benchmarking range 198.18.0.0/15 (RFC 2544,
//! never routed on the internet), 32 blocks in all. Inside a block, the first /24 holds the
//! management link between the root namespace (`.1`) and the fabric namespace (`.2`); site `i`
//! gets the /24 number `i + 1`, its gateway is `.1` on the site bridge, hosts get `.2` onwards.

use std::net::Ipv4Addr;

use enos_scenario::Scenario;
use serde::{Deserialize, Serialize};

/// How many /20 blocks the local provider can hand out (one per experiment on this machine).
pub const BLOCKS: u32 = 32;
pub use crate::options::{MAX_HOSTS_PER_SITE, MAX_SITES};
const BASE: u32 = u32::from_be_bytes([198, 18, 0, 0]);

/// The link-layer address of the interface holding `address` (a host's `eth0`, a site's
/// bridge): locally administered, unicast, and derived from the address, so that neighbours
/// are written in advance on both sides and never resolved.
pub fn mac_of(address: Ipv4Addr) -> String {
    let [a, b, c, d] = address.octets();
    format!("02:e5:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

/// The namespace name of the fabric (bridges, inter-site routing) of experiment `prefix`.
pub fn fabric_namespace(prefix: &str) -> String {
    format!("enos-{prefix}-fabric")
}

/// The prefix every namespace of experiment `prefix` starts with.
pub fn namespace_prefix(prefix: &str) -> String {
    format!("enos-{prefix}-")
}

/// The management link's name in the root namespace.
pub fn management_link(prefix: &str) -> String {
    format!("{prefix}m")
}

/// The first address of block `block`.
pub fn block_base(block: u32) -> Ipv4Addr {
    Ipv4Addr::from(BASE + block * 4096)
}

/// The /20 block `block` in CIDR notation.
pub fn block_cidr(block: u32) -> String {
    format!("{}/20", block_base(block))
}

fn addr(block: u32, third: u32, fourth: u32) -> Ipv4Addr {
    Ipv4Addr::from(BASE + block * 4096 + third * 256 + fourth)
}

/// Every name and address of one local testbed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestbedPlan {
    /// The experiment's short prefix, carried by every namespace and link name.
    pub prefix: String,
    /// The experiment's address block.
    pub block: u32,
    /// The fabric namespace.
    pub fabric: String,
    /// The management link's name in the root namespace.
    pub management_link: String,
    /// The root namespace's end of the management link.
    pub management_root: Ipv4Addr,
    /// The fabric's end of the management link.
    pub management_fabric: Ipv4Addr,
    /// One entry per site.
    pub sites: Vec<SitePlan>,
    /// One entry per host.
    pub hosts: Vec<HostSlot>,
}

/// One site: a bridge in the fabric namespace with its own /24.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SitePlan {
    /// The site's name.
    pub name: String,
    /// The bridge's name (in the fabric namespace).
    pub bridge: String,
    /// The site's subnet.
    pub cidr: String,
    /// The gateway address, on the bridge.
    pub gateway: Ipv4Addr,
}

/// One host: a network namespace with one interface, `eth0`, on its site's bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSlot {
    /// The host's name (and hostname).
    pub name: String,
    /// Its site.
    pub site: String,
    /// Its role.
    pub role: String,
    /// Its network namespace.
    pub namespace: String,
    /// The fabric end of its veth pair (the host's end is `eth0`).
    pub port: String,
    /// Its address.
    pub address: Ipv4Addr,
    /// Index of its site in [`TestbedPlan::sites`].
    pub site_index: usize,
}

/// Why a scenario cannot be laid out on the local provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Too many sites.
    #[error("the local provider supports at most {MAX_SITES} sites, the scenario has {0}")]
    TooManySites(usize),
    /// Too many hosts in one site.
    #[error(
        "the local provider supports at most {MAX_HOSTS_PER_SITE} hosts per site, site '{0}' has {1}"
    )]
    TooManyHosts(String, usize),
    /// The block number is out of range.
    #[error("address block {0} is out of range (0..{BLOCKS})")]
    BadBlock(u32),
}

/// Lays out `scenario` with `prefix` in address block `block`.
pub fn plan(scenario: &Scenario, prefix: &str, block: u32) -> Result<TestbedPlan, PlanError> {
    if block >= BLOCKS {
        return Err(PlanError::BadBlock(block));
    }
    if scenario.sites.len() > MAX_SITES {
        return Err(PlanError::TooManySites(scenario.sites.len()));
    }
    let sites: Vec<SitePlan> = scenario
        .sites
        .iter()
        .enumerate()
        .map(|(i, site)| {
            let third = i as u32 + 1;
            SitePlan {
                name: site.name.clone(),
                bridge: format!("{prefix}b{i}"),
                cidr: format!("{}/24", addr(block, third, 0)),
                gateway: addr(block, third, 1),
            }
        })
        .collect();
    let mut next_in_site = vec![2u32; sites.len()];
    let mut hosts = Vec::new();
    for (n, host) in scenario.hosts().into_iter().enumerate() {
        let Some(site_index) = sites.iter().position(|s| s.name == host.site) else {
            continue;
        };
        let fourth = next_in_site[site_index];
        if fourth > 254 {
            let count = scenario
                .hosts()
                .iter()
                .filter(|h| h.site == host.site)
                .count();
            return Err(PlanError::TooManyHosts(host.site, count));
        }
        next_in_site[site_index] += 1;
        hosts.push(HostSlot {
            namespace: format!("{}{}", namespace_prefix(prefix), host.name),
            port: format!("{prefix}h{n}"),
            address: addr(block, site_index as u32 + 1, fourth),
            name: host.name,
            site: host.site,
            role: host.role,
            site_index,
        });
    }
    Ok(TestbedPlan {
        prefix: prefix.to_owned(),
        block,
        fabric: fabric_namespace(prefix),
        management_link: management_link(prefix),
        management_root: addr(block, 0, 1),
        management_fabric: addr(block, 0, 2),
        sites,
        hosts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> Scenario {
        enos_scenario::parse(text, "test.yaml", &[&crate::options::LocalKind]).unwrap()
    }

    #[test]
    fn quickstart_layout() {
        let s = scenario(
            "name: q\nsites:\n  paris: {roles: {server: 1, client: 1}}\n  nantes: {roles: {server: 1, client: 1}}\n  rennes: {roles: {client: 2}}\n",
        );
        let p = plan(&s, "eab12", 3).unwrap();
        assert_eq!(p.fabric, "enos-eab12-fabric");
        assert_eq!(p.management_link, "eab12m");
        assert_eq!(p.management_root, Ipv4Addr::new(198, 18, 48, 1));
        assert_eq!(p.sites[2].cidr, "198.18.51.0/24");
        assert_eq!(p.sites[2].gateway, Ipv4Addr::new(198, 18, 51, 1));
        let names: Vec<_> = p
            .hosts
            .iter()
            .map(|h| (h.name.as_str(), h.address.to_string(), h.port.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("paris-server-1", "198.18.49.2".to_owned(), "eab12h0"),
                ("paris-client-1", "198.18.49.3".to_owned(), "eab12h1"),
                ("nantes-server-1", "198.18.50.2".to_owned(), "eab12h2"),
                ("nantes-client-1", "198.18.50.3".to_owned(), "eab12h3"),
                ("rennes-client-1", "198.18.51.2".to_owned(), "eab12h4"),
                ("rennes-client-2", "198.18.51.3".to_owned(), "eab12h5"),
            ]
        );
        assert_eq!(p.hosts[4].namespace, "enos-eab12-rennes-client-1");
        assert!(p.hosts.iter().all(|h| h.port.len() <= 15));
    }

    #[test]
    fn last_block_stays_in_the_benchmarking_range() {
        assert_eq!(block_cidr(BLOCKS - 1), "198.19.240.0/20");
        assert_eq!(block_cidr(0), "198.18.0.0/20");
    }

    #[test]
    fn limits_are_checked_when_the_scenario_is_read() {
        let error = enos_scenario::parse(
            "name: q\nsites:\n  a: {roles: {r: 254}}\n",
            "q.yaml",
            &[&crate::options::LocalKind],
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("q.yaml:3:3"), "{error}");
        assert!(error.contains("at most 253 hosts per site"), "{error}");
        let sites: String = (0..16)
            .map(|i| format!("  s{i}: {{roles: {{r: 1}}}}\n"))
            .collect();
        let error = enos_scenario::parse(
            &format!("name: q\nsites:\n{sites}"),
            "q.yaml",
            &[&crate::options::LocalKind],
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("q.yaml:18:3"), "{error}");
        assert!(error.contains("at most 15 sites"), "{error}");
        let s = scenario("name: q\nsites:\n  a: {roles: {r: 253}}\n");
        assert_eq!(
            plan(&s, "e0000", 0).unwrap().hosts.last().unwrap().address,
            Ipv4Addr::new(198, 18, 1, 254)
        );
        assert_eq!(plan(&s, "e0000", BLOCKS), Err(PlanError::BadBlock(BLOCKS)));
    }
}
