//! The resolution rules: defaults inside and between groups, `except`, ranges, roles and hosts,
//! symmetric constraints, the last constraint winning, neutral directions left out.

use std::net::{IpAddr, Ipv4Addr};

use enos_scenario::Scenario;
use enos_wan::{WanHost, WanMatrix, resolve};

fn scenario(network: &str) -> Scenario {
    let text = format!(
        "name: q\nsites:\n  paris: {{roles: {{server: 2, client: 1}}}}\n  \
         rennes: {{roles: {{server: 1}}}}\n  nantes: {{roles: {{client: 1}}}}\nnetwork:\n{network}"
    );
    enos_scenario::parse(&text, "t.yaml").unwrap_or_else(|e| panic!("{e}"))
}

/// The scenario's hosts with addresses 10.0.0.1, 10.0.0.2, … in host order.
fn hosts(s: &Scenario) -> Vec<WanHost> {
    s.hosts()
        .into_iter()
        .zip(1u8..)
        .map(|(h, i)| WanHost {
            name: h.name,
            site: h.site,
            role: h.role,
            address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)),
        })
        .collect()
}

fn matrix(network: &str) -> WanMatrix {
    let s = scenario(network);
    resolve(&s.network, &hosts(&s))
}

/// The one-way delay from `src` to `dst` as text, `-` when the direction is not shaped.
fn delay(m: &WanMatrix, src: &str, dst: &str) -> String {
    m.shape(src, dst)
        .map_or_else(|| "-".to_owned(), |s| s.delay.to_string())
}

// Hosts: paris-server-1, paris-server-2, paris-client-1, rennes-server-1, nantes-client-1.

#[test]
fn no_network_section_shapes_nothing() {
    assert!(matrix("  {}\n").pairs.is_empty());
    assert!(
        matrix("  default_rate: 10gbit\n  default_delay: 0ms\n")
            .pairs
            .is_empty()
    );
}

#[test]
fn the_default_applies_between_every_pair_of_hosts_inside_and_across_sites() {
    let m = matrix("  default_delay: 2ms\n");
    // 5 hosts: 5 × 4 ordered pairs, never a host to itself.
    assert_eq!(m.pairs.len(), 20);
    assert_eq!(delay(&m, "paris-server-1", "paris-server-2"), "2ms");
    assert_eq!(delay(&m, "paris-server-1", "rennes-server-1"), "2ms");
    assert_eq!(delay(&m, "paris-server-1", "paris-server-1"), "-");
    // Ordered by source, then destination, in host order; addresses are the destination's.
    let first: Vec<_> = m.pairs[..4]
        .iter()
        .map(|p| (p.src.as_str(), p.dst.as_str(), p.dst_address.to_string()))
        .collect();
    assert_eq!(
        first,
        [
            ("paris-server-1", "paris-server-2", "10.0.0.2".to_owned()),
            ("paris-server-1", "paris-client-1", "10.0.0.3".to_owned()),
            ("paris-server-1", "rennes-server-1", "10.0.0.4".to_owned()),
            ("paris-server-1", "nantes-client-1", "10.0.0.5".to_owned()),
        ]
    );
}

#[test]
fn constraints_override_the_default_one_direction_at_a_time() {
    let m = matrix(
        "  default_delay: 2ms\n  default_rate: 1gbit\n  constraints:\n    \
         - {src: paris, dst: rennes, delay: 25ms, loss: 1%}\n",
    );
    assert_eq!(delay(&m, "paris-client-1", "rennes-server-1"), "25ms");
    assert_eq!(delay(&m, "rennes-server-1", "paris-client-1"), "2ms");
    let shape = m.shape("paris-server-2", "rennes-server-1").unwrap();
    // Keys the constraint leaves out take the default's values.
    assert_eq!(shape.rate.to_string(), "1gbit");
    assert_eq!(shape.loss.to_string(), "1%");
    assert_eq!(shape.jitter.to_string(), "0ms");
}

#[test]
fn a_symmetric_constraint_applies_both_ways() {
    let m =
        matrix("  constraints:\n    - {src: paris, dst: nantes, delay: 10ms, symmetric: true}\n");
    assert_eq!(
        m.pairs.len(),
        6,
        "3 paris hosts × 1 nantes host × 2 directions"
    );
    assert_eq!(delay(&m, "paris-server-1", "nantes-client-1"), "10ms");
    assert_eq!(delay(&m, "nantes-client-1", "paris-client-1"), "10ms");
    assert_eq!(delay(&m, "paris-server-1", "paris-server-2"), "-");
    let one_way = matrix("  constraints:\n    - {src: paris, dst: nantes, delay: 10ms}\n");
    assert_eq!(one_way.pairs.len(), 3);
    assert_eq!(delay(&one_way, "nantes-client-1", "paris-client-1"), "-");
}

#[test]
fn the_last_constraint_setting_a_direction_wins_whole() {
    let m = matrix(
        "  constraints:\n    \
         - {src: paris, dst: rennes, delay: 10ms, rate: 100mbit, symmetric: true}\n    \
         - {src: paris-server-1, dst: rennes, delay: 50ms}\n    \
         - {src: rennes, dst: server, delay: 5ms}\n",
    );
    let overridden = m.shape("paris-server-1", "rennes-server-1").unwrap();
    assert_eq!(overridden.delay.to_string(), "50ms");
    // Not merged with the earlier constraint: the rate is back to the default.
    assert_eq!(overridden.rate.to_string(), "10gbit");
    assert_eq!(delay(&m, "paris-server-2", "rennes-server-1"), "10ms");
    // The role `server` names paris-server-1 and -2 (and rennes-server-1 itself, skipped).
    assert_eq!(delay(&m, "rennes-server-1", "paris-server-1"), "5ms");
    assert_eq!(delay(&m, "rennes-server-1", "paris-server-2"), "5ms");
    assert_eq!(delay(&m, "rennes-server-1", "paris-client-1"), "10ms");
}

#[test]
fn groups_limit_the_default_and_except_takes_hosts_out() {
    let m = matrix("  default_delay: 3ms\n  groups: [paris, rennes]\n  except: [paris-server-2]\n");
    let shaped: Vec<_> = m
        .pairs
        .iter()
        .map(|p| format!("{}>{}", p.src, p.dst))
        .collect();
    // Left: paris-server-1, paris-client-1, rennes-server-1 (3 × 2 pairs).
    assert_eq!(
        shaped,
        [
            "paris-server-1>paris-client-1",
            "paris-server-1>rennes-server-1",
            "paris-client-1>paris-server-1",
            "paris-client-1>rennes-server-1",
            "rennes-server-1>paris-server-1",
            "rennes-server-1>paris-client-1",
        ]
    );
}

#[test]
fn constraints_still_apply_to_hosts_taken_out_of_the_defaults() {
    let m = matrix(
        "  default_delay: 3ms\n  except: [nantes]\n  constraints:\n    \
         - {src: nantes, dst: rennes, delay: 40ms}\n",
    );
    assert_eq!(delay(&m, "nantes-client-1", "rennes-server-1"), "40ms");
    assert_eq!(delay(&m, "nantes-client-1", "paris-server-1"), "-");
    assert_eq!(delay(&m, "paris-server-1", "nantes-client-1"), "-");
}

#[test]
fn ranges_expand_to_each_name() {
    let m = matrix("  constraints:\n    - {src: 'paris-server-[1-2]', dst: client, delay: 7ms}\n");
    let shaped: Vec<_> = m
        .pairs
        .iter()
        .map(|p| format!("{}>{}", p.src, p.dst))
        .collect();
    assert_eq!(
        shaped,
        [
            "paris-server-1>paris-client-1",
            "paris-server-1>nantes-client-1",
            "paris-server-2>paris-client-1",
            "paris-server-2>nantes-client-1",
        ]
    );
}

#[test]
fn a_constraint_back_to_neutral_unshapes_the_direction() {
    let m = matrix(
        "  default_delay: 2ms\n  constraints:\n    \
         - {src: rennes, dst: nantes, delay: 0ms, symmetric: true}\n",
    );
    assert_eq!(delay(&m, "rennes-server-1", "nantes-client-1"), "-");
    assert_eq!(delay(&m, "nantes-client-1", "rennes-server-1"), "-");
    assert_eq!(m.pairs.len(), 18);
    // A rate alone shapes.
    let rate = matrix("  constraints:\n    - {src: rennes, dst: nantes, rate: 50mbit}\n");
    assert_eq!(rate.pairs.len(), 1);
    assert!(!rate.pairs[0].shape.needs_netem());
}

#[test]
fn hosts_missing_from_the_testbed_are_simply_not_selected() {
    let s = scenario("  default_delay: 2ms\n");
    let mut only_two = hosts(&s);
    only_two.truncate(2);
    let m = resolve(&s.network, &only_two);
    assert_eq!(m.pairs.len(), 2);
}
