//! Which node becomes which host: the usable nodes of each cluster go to the scenario's sites
//! and roles in scenario order, every role getting its `min` first, then as many as asked. Hosts
//! kept are named `<site>-<role>-<n>` from 1; the hosts that could not be given a node are
//! named the same way, after the kept ones.

use std::collections::{BTreeMap, VecDeque};

/// What one role of one scenario site asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Demand {
    /// The scenario site.
    pub site: String,
    /// The role.
    pub role: String,
    /// How many hosts the scenario asks for.
    pub count: u32,
    /// The fewest it accepts.
    pub min: u32,
    /// Where its nodes come from: (Grid'5000 site, cluster).
    pub pool: (String, String),
}

/// A host given a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kept {
    /// `<site>-<role>-<n>`.
    pub name: String,
    /// The scenario site.
    pub site: String,
    /// The role.
    pub role: String,
    /// The node's FQDN.
    pub node: String,
}

/// A role that got fewer hosts than its `min`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Short {
    /// The scenario site.
    pub site: String,
    /// The role.
    pub role: String,
    /// The fewest it accepts.
    pub min: u32,
    /// How many it got.
    pub got: u32,
}

/// The outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Allotment {
    /// The hosts, in scenario order.
    pub kept: Vec<Kept>,
    /// The names of the hosts asked for but not kept.
    pub missing: Vec<String>,
    /// The roles below their `min`.
    pub short: Vec<Short>,
}

/// Gives the nodes of `pools` (per (site, cluster), in order) to `demands` (in scenario order).
pub(crate) fn allot(
    demands: &[Demand],
    pools: &BTreeMap<(String, String), Vec<String>>,
) -> Allotment {
    let mut left: BTreeMap<&(String, String), usize> = pools
        .iter()
        .map(|(key, nodes)| (key, nodes.len()))
        .collect();
    let mut got = vec![0u32; demands.len()];
    // Every role its minimum first, then as many as asked, in scenario order.
    for pass in [true, false] {
        for (i, demand) in demands.iter().enumerate() {
            let want = if pass {
                demand.min.min(demand.count)
            } else {
                demand.count
            };
            let available = left.get_mut(&demand.pool);
            let Some(available) = available else { continue };
            let need = want.saturating_sub(got[i]) as usize;
            let take = need.min(*available);
            *available -= take;
            got[i] += take as u32;
        }
    }
    let mut queues: BTreeMap<&(String, String), VecDeque<&String>> = pools
        .iter()
        .map(|(key, nodes)| (key, nodes.iter().collect()))
        .collect();
    let mut allotment = Allotment::default();
    for (demand, &got) in demands.iter().zip(&got) {
        for index in 1..=demand.count {
            let name = format!("{}-{}-{index}", demand.site, demand.role);
            let node = if index <= got {
                queues.get_mut(&demand.pool).and_then(VecDeque::pop_front)
            } else {
                None
            };
            match node {
                Some(node) => allotment.kept.push(Kept {
                    name,
                    site: demand.site.clone(),
                    role: demand.role.clone(),
                    node: node.clone(),
                }),
                None => allotment.missing.push(name),
            }
        }
        if got < demand.min {
            allotment.short.push(Short {
                site: demand.site.clone(),
                role: demand.role.clone(),
                min: demand.min,
                got,
            });
        }
    }
    allotment
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(site: &str, role: &str, count: u32, min: u32) -> Demand {
        Demand {
            site: site.into(),
            role: role.into(),
            count,
            min,
            pool: ("rennes".into(), "paravance".into()),
        }
    }

    fn pool(nodes: &[&str]) -> BTreeMap<(String, String), Vec<String>> {
        BTreeMap::from([(
            ("rennes".into(), "paravance".into()),
            nodes.iter().map(|n| n.to_string()).collect(),
        )])
    }

    #[test]
    fn every_host_gets_a_node_when_there_are_enough() {
        let a = allot(
            &[
                demand("paris", "server", 1, 1),
                demand("paris", "client", 2, 2),
            ],
            &pool(&["p-1", "p-2", "p-3"]),
        );
        let names: Vec<_> = a
            .kept
            .iter()
            .map(|k| format!("{}={}", k.name, k.node))
            .collect();
        assert_eq!(
            names,
            [
                "paris-server-1=p-1",
                "paris-client-1=p-2",
                "paris-client-2=p-3"
            ]
        );
        assert!(a.missing.is_empty() && a.short.is_empty());
    }

    #[test]
    fn minimums_are_served_first_and_the_rest_named_missing() {
        // Two usable nodes for 1 server (min 1) and 3 clients (min 1).
        let a = allot(
            &[
                demand("paris", "server", 1, 1),
                demand("paris", "client", 3, 1),
            ],
            &pool(&["p-1", "p-4"]),
        );
        let names: Vec<_> = a.kept.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["paris-server-1", "paris-client-1"]);
        assert_eq!(a.missing, ["paris-client-2", "paris-client-3"]);
        assert!(a.short.is_empty());
        // Without a lower minimum, the clients are short.
        let a = allot(
            &[
                demand("paris", "server", 1, 1),
                demand("paris", "client", 3, 3),
            ],
            &pool(&["p-1", "p-4"]),
        );
        assert_eq!(
            a.short,
            [Short {
                site: "paris".into(),
                role: "client".into(),
                min: 3,
                got: 1
            }]
        );
    }
}
