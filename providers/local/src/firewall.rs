//! The fabric's firewall: a testbed host reaches this machine only on the egress proxy's port.
//!
//! Every packet from a host to the root namespace leaves the fabric namespace through its
//! `mgmt` veth. An nftables table of the experiment's own (`table inet enos`), inside the
//! fabric namespace, lets through that link only the connections the root namespace opened
//! (SSH, the tests' probes: their replies are `established`) and new TCP connections to the
//! proxy (`management_root:3142`); anything else is refused (a TCP reset, or an ICMP
//! "administratively prohibited"). The fabric namespace itself answers hosts only with ICMP.
//! Traffic between hosts, within a site or between sites, is not filtered, and the WAN
//! emulator's path (TUN devices in the hosts' namespaces) does not cross the fabric at all.
//!
//! The machine's own firewall (the root namespace's rules) is never touched: the table lives,
//! and dies, with the fabric namespace.

use enos_provider::ProviderError;

use crate::egress::PORT;
use crate::plan::TestbedPlan;
use crate::sys;

/// The name of the experiment's nftables table in its fabric namespace (family `inet`).
pub const TABLE: &str = "enos";

/// The nftables script that (re)creates the table for `plan`, atomically (`nft -f`).
pub fn ruleset(plan: &TestbedPlan) -> String {
    format!(
        "# Written by enos-rs: hosts reach the control machine only on the egress proxy's port.\n\
         add table inet {TABLE}\n\
         delete table inet {TABLE}\n\
         table inet {TABLE} {{\n\
         \tchain forward {{\n\
         \t\ttype filter hook forward priority filter; policy accept;\n\
         \t\toifname \"mgmt\" ct state established,related accept\n\
         \t\toifname \"mgmt\" ip daddr {root} tcp dport {PORT} accept\n\
         \t\toifname \"mgmt\" meta l4proto tcp reject with tcp reset\n\
         \t\toifname \"mgmt\" reject with icmpx admin-prohibited\n\
         \t}}\n\
         \tchain input {{\n\
         \t\ttype filter hook input priority filter; policy accept;\n\
         \t\tiifname {{ \"lo\", \"mgmt\" }} accept\n\
         \t\tct state established,related accept\n\
         \t\tmeta l4proto {{ icmp, ipv6-icmp }} accept\n\
         \t\tmeta l4proto tcp reject with tcp reset\n\
         \t\treject with icmpx admin-prohibited\n\
         \t}}\n\
         }}\n",
        root = plan.management_root,
    )
}

/// Loads [`ruleset`] into the fabric namespace of `plan`, replacing any earlier version of the
/// table; idempotent.
pub async fn apply(plan: &TestbedPlan) -> Result<(), ProviderError> {
    sys::run(
        "ip",
        &["netns", "exec", &plan.fabric, "nft", "-f", "-"],
        Some(&ruleset(plan)),
    )
    .await
    .map(drop)
    .map_err(|e| {
        ProviderError::new(format!(
            "cannot load the firewall of the fabric namespace {}: {e}",
            plan.fabric
        ))
        .with_hint("the kernel needs nf_tables and conntrack (modprobe nf_tables nf_conntrack)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_proxy_port_is_open_towards_the_root_namespace() {
        let scenario = enos_scenario::parse(
            "name: q\nsites:\n  paris: {roles: {client: 1}}\n",
            "q.yaml",
            &[&crate::options::LocalKind],
        )
        .unwrap();
        let plan = crate::plan::plan(&scenario, "eab12", 3).unwrap();
        let rules = ruleset(&plan);
        let towards_root: Vec<&str> = rules
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("oifname \"mgmt\""))
            .collect();
        assert_eq!(
            towards_root,
            [
                "oifname \"mgmt\" ct state established,related accept",
                "oifname \"mgmt\" ip daddr 198.18.48.1 tcp dport 3142 accept",
                "oifname \"mgmt\" meta l4proto tcp reject with tcp reset",
                "oifname \"mgmt\" reject with icmpx admin-prohibited",
            ]
        );
        // Replaced as a whole, in one transaction, on every deploy.
        assert!(rules.contains("add table inet enos\ndelete table inet enos\ntable inet enos {"));
    }
}
