//! Resolution of the network section into a [`WanMatrix`], in class form.
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
//!
//! Hosts that no selector of the section tells apart get the same shapes, so the rules run per
//! class of such hosts, not per host pair.

use enos_scenario::{DEFAULT_RATE, NetworkSpec, Selector};

use crate::matrix::group_by_key;
use crate::{LinkShape, WanHost, WanMatrix};

/// Resolves the network section `spec` over `hosts` into the shape of every ordered pair, in
/// class form.
///
/// Each host gets its signature: whether each selector of the section (each entry of `groups`
/// and `except`, each constraint's `src` and `dst`) names it. Hosts of one signature are one
/// class, numbered in the order of their first host in `hosts`. The rules then run once per
/// class pair, on a representative pair of distinct hosts. Cost: O(hosts × selectors +
/// classes² × constraints). Names the section uses that match no host (a host the testbed did
/// not give) select nothing.
pub fn resolve(spec: &NetworkSpec, hosts: &[WanHost]) -> WanMatrix {
    let default = LinkShape {
        delay: spec.default_delay,
        jitter: spec.default_jitter,
        rate: spec.default_rate,
        loss: spec.default_loss,
    };
    let groups: &[Selector] = spec.groups.as_deref().unwrap_or_default();
    let selectors: Vec<&Selector> = groups
        .iter()
        .chain(&spec.except)
        .chain(spec.constraints.iter().flat_map(|c| [&c.src, &c.dst]))
        .collect();
    let signatures: Vec<Vec<bool>> = hosts
        .iter()
        .map(|h| {
            selectors
                .iter()
                .map(|s| s.names_host(&h.name, &h.site, &h.role))
                .collect()
        })
        .collect();
    let (_, classes) = group_by_key(signatures.iter());
    // Where each part of a signature starts.
    let first_except = groups.len();
    let first_constraint = first_except + spec.except.len();
    let bit = |host: usize, selector: usize| {
        signatures
            .get(host)
            .and_then(|s| s.get(selector))
            .copied()
            .unwrap_or(false)
    };
    let in_defaults = |host: usize| {
        let grouped = spec.groups.is_none() || (0..first_except).any(|g| bit(host, g));
        grouped && !(first_except..first_constraint).any(|e| bit(host, e))
    };
    WanMatrix::from_classes(hosts, classes, |a, b| {
        let mut shape = (in_defaults(a) && in_defaults(b)).then_some(default);
        for (i, constraint) in spec.constraints.iter().enumerate() {
            let (src, dst) = (first_constraint + 2 * i, first_constraint + 2 * i + 1);
            let forward = bit(a, src) && bit(b, dst);
            let backward = constraint.symmetric && bit(a, dst) && bit(b, src);
            if forward || backward {
                shape = Some(LinkShape {
                    delay: constraint.delay.unwrap_or(default.delay),
                    jitter: constraint.jitter.unwrap_or(default.jitter),
                    rate: constraint.rate.unwrap_or(default.rate),
                    loss: constraint.loss.unwrap_or(default.loss),
                });
            }
        }
        shape
    })
}

/// Whether `shape` changes nothing: no delay, jitter or loss, and a rate of at least 10gbit.
pub fn is_neutral(shape: &LinkShape) -> bool {
    !shape.needs_netem() && shape.rate >= DEFAULT_RATE
}
