//! Resolution of the network section into a [`WanMatrix`].
//!
//! The rules, with EnOSlib's semantics (docs/network.md has worked examples):
//! 1. The defaults apply to every ordered pair of distinct hosts of `groups` (every host when
//!    `groups` is absent) that `except` does not name — hosts of the same site included.
//! 2. Constraints then apply in file order to every ordered pair (a host of `src`, a host of
//!    `dst`), hosts of `except` included; a symmetric constraint also applies from `dst` to
//!    `src`. A key a constraint leaves out takes the default's value, not an earlier
//!    constraint's: the last constraint setting a direction replaces its whole shape.
//! 3. A host is never shaped towards itself, and a direction whose shape is neutral (no delay,
//!    jitter or loss, and the 10gbit default rate) is left out of the matrix: it is not shaped.

use std::collections::HashMap;

use enos_scenario::{DEFAULT_RATE, NetworkSpec, Selector};

use crate::{LinkShape, PairShape, WanHost, WanMatrix};

/// Resolves the network section `spec` over `hosts` into one shape per ordered pair.
///
/// Pairs are ordered by source, then destination, in the order of `hosts`. Names the section
/// uses that match no host (a host the testbed did not give) select nothing.
pub fn resolve(spec: &NetworkSpec, hosts: &[WanHost]) -> WanMatrix {
    let default = LinkShape {
        delay: spec.default_delay,
        jitter: spec.default_jitter,
        rate: spec.default_rate,
        loss: spec.default_loss,
    };
    let selects = |selector: &Selector, host: &WanHost| {
        selector.names_host(&host.name, &host.site, &host.role)
    };
    let mut shapes: HashMap<(usize, usize), LinkShape> = HashMap::new();
    let in_defaults: Vec<bool> = hosts
        .iter()
        .map(|h| {
            let grouped = spec
                .groups
                .as_ref()
                .is_none_or(|groups| groups.iter().any(|g| selects(g, h)));
            grouped && !spec.except.iter().any(|e| selects(e, h))
        })
        .collect();
    for (a, &a_in) in in_defaults.iter().enumerate() {
        for (b, &b_in) in in_defaults.iter().enumerate() {
            if a != b && a_in && b_in {
                shapes.insert((a, b), default);
            }
        }
    }
    for constraint in &spec.constraints {
        let shape = LinkShape {
            delay: constraint.delay.unwrap_or(default.delay),
            jitter: constraint.jitter.unwrap_or(default.jitter),
            rate: constraint.rate.unwrap_or(default.rate),
            loss: constraint.loss.unwrap_or(default.loss),
        };
        let members = |selector: &Selector| -> Vec<usize> {
            (0..hosts.len())
                .filter(|&i| selects(selector, &hosts[i]))
                .collect()
        };
        let (srcs, dsts) = (members(&constraint.src), members(&constraint.dst));
        let mut set = |from: &[usize], to: &[usize]| {
            for &a in from {
                for &b in to {
                    if a != b {
                        shapes.insert((a, b), shape);
                    }
                }
            }
        };
        set(&srcs, &dsts);
        if constraint.symmetric {
            set(&dsts, &srcs);
        }
    }
    let mut ordered: Vec<((usize, usize), LinkShape)> = shapes
        .into_iter()
        .filter(|(_, shape)| !is_neutral(shape))
        .collect();
    ordered.sort_by_key(|(pair, _)| *pair);
    WanMatrix {
        pairs: ordered
            .into_iter()
            .map(|((a, b), shape)| PairShape {
                src: hosts[a].name.clone(),
                dst: hosts[b].name.clone(),
                dst_address: hosts[b].address,
                shape,
            })
            .collect(),
    }
}

/// Whether `shape` changes nothing: no delay, jitter or loss, and a rate of at least 10gbit.
pub fn is_neutral(shape: &LinkShape) -> bool {
    !shape.needs_netem() && shape.rate >= DEFAULT_RATE
}
