//! The resolution rules: defaults inside and between groups, `except`, ranges, roles and hosts,
//! symmetric constraints, the last constraint winning, neutral directions left out; the class
//! form, checked against a resolution pair by pair, and its size at 1000 hosts.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use enos_scenario::{NetworkSpec, Scenario};
use enos_wan::{LinkShape, WanHost, WanMatrix, is_neutral, resolve};

fn scenario(network: &str) -> Scenario {
    let text = format!(
        "name: q\nsites:\n  paris: {{roles: {{server: 2, client: 1}}}}\n  \
         rennes: {{roles: {{server: 1}}}}\n  nantes: {{roles: {{client: 1}}}}\nnetwork:\n{network}"
    );
    enos_scenario::parse(&text, "t.yaml", &[&enos_scenario::UncheckedKind("local")])
        .unwrap_or_else(|e| panic!("{e}"))
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
    let m = matrix("  {}\n");
    assert!(m.shapes.is_empty());
    assert_eq!((m.pair_count(), m.pairs().count()), (0, 0));
    // Every host is still in a class: here one, as nothing tells them apart.
    assert_eq!(m.classes.len(), 1);
    assert_eq!(m.host_count(), 5);
    assert!(
        matrix("  default_rate: 10gbit\n  default_delay: 0ms\n")
            .shapes
            .is_empty()
    );
}

#[test]
fn the_default_applies_between_every_pair_of_hosts_inside_and_across_sites() {
    let m = matrix("  default_delay: 2ms\n");
    // 5 hosts: 5 × 4 ordered pairs, never a host to itself; one class, one shape.
    assert_eq!(m.pair_count(), 20);
    assert_eq!(m.pairs().count(), 20);
    assert_eq!((m.classes.len(), m.shapes.len()), (1, 1));
    assert_eq!(delay(&m, "paris-server-1", "paris-server-2"), "2ms");
    assert_eq!(delay(&m, "paris-server-1", "rennes-server-1"), "2ms");
    assert_eq!(delay(&m, "paris-server-1", "paris-server-1"), "-");
    // Ordered by source, then destination, in host order; addresses are the destination's.
    let first: Vec<_> = m
        .pairs()
        .take(4)
        .map(|p| (p.src, p.dst, p.dst_address.to_string()))
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
        m.pair_count(),
        6,
        "3 paris hosts × 1 nantes host × 2 directions"
    );
    assert_eq!(delay(&m, "paris-server-1", "nantes-client-1"), "10ms");
    assert_eq!(delay(&m, "nantes-client-1", "paris-client-1"), "10ms");
    assert_eq!(delay(&m, "paris-server-1", "paris-server-2"), "-");
    let one_way = matrix("  constraints:\n    - {src: paris, dst: nantes, delay: 10ms}\n");
    assert_eq!(one_way.pair_count(), 3);
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
    let shaped: Vec<_> = m.pairs().map(|p| format!("{}>{}", p.src, p.dst)).collect();
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
    let shaped: Vec<_> = m.pairs().map(|p| format!("{}>{}", p.src, p.dst)).collect();
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
    assert_eq!(m.pair_count(), 18);
    // A rate alone shapes.
    let rate = matrix("  constraints:\n    - {src: rennes, dst: nantes, rate: 50mbit}\n");
    assert_eq!(rate.pair_count(), 1);
    assert!(!rate.pairs().next().unwrap().shape.needs_netem());
}

#[test]
fn hosts_missing_from_the_testbed_are_simply_not_selected() {
    let s = scenario("  default_delay: 2ms\n");
    let mut only_two = hosts(&s);
    only_two.truncate(2);
    let m = resolve(&s.network, &only_two);
    assert_eq!(m.pair_count(), 2);
    assert_eq!(m.host_count(), 2);
}

// --- the class form ------------------------------------------------------------------------------

/// The resolution rules applied pair by pair, as before the class form: the reference.
fn per_pair(spec: &NetworkSpec, hosts: &[WanHost]) -> HashMap<(String, String), LinkShape> {
    let default = LinkShape {
        delay: spec.default_delay,
        jitter: spec.default_jitter,
        rate: spec.default_rate,
        loss: spec.default_loss,
    };
    let selects =
        |s: &enos_scenario::Selector, h: &WanHost| s.names_host(&h.name, &h.site, &h.role);
    let in_defaults = |h: &WanHost| {
        spec.groups
            .as_ref()
            .is_none_or(|groups| groups.iter().any(|g| selects(g, h)))
            && !spec.except.iter().any(|e| selects(e, h))
    };
    let mut shapes = HashMap::new();
    for a in hosts {
        for b in hosts {
            if a.name == b.name {
                continue;
            }
            let mut shape = (in_defaults(a) && in_defaults(b)).then_some(default);
            for c in &spec.constraints {
                let forward = selects(&c.src, a) && selects(&c.dst, b);
                let backward = c.symmetric && selects(&c.dst, a) && selects(&c.src, b);
                if forward || backward {
                    shape = Some(LinkShape {
                        delay: c.delay.unwrap_or(default.delay),
                        jitter: c.jitter.unwrap_or(default.jitter),
                        rate: c.rate.unwrap_or(default.rate),
                        loss: c.loss.unwrap_or(default.loss),
                    });
                }
            }
            if let Some(shape) = shape.filter(|s| !is_neutral(s)) {
                shapes.insert((a.name.clone(), b.name.clone()), shape);
            }
        }
    }
    shapes
}

/// The expansion of `m`, checked for duplicates.
fn expanded(m: &WanMatrix) -> HashMap<(String, String), LinkShape> {
    let mut shapes = HashMap::new();
    for p in m.pairs() {
        let previous = shapes.insert((p.src.to_owned(), p.dst.to_owned()), *p.shape);
        assert!(previous.is_none(), "{} -> {} twice", p.src, p.dst);
    }
    assert_eq!(shapes.len(), m.pair_count());
    shapes
}

#[test]
fn classes_give_the_same_shapes_as_the_rules_pair_by_pair() {
    for network in [
        "  default_delay: 2ms\n",
        "  constraints:\n    - {src: paris, dst: nantes, delay: 10ms}\n",
        "  constraints:\n    - {src: paris, dst: nantes, delay: 10ms, symmetric: true}\n",
        "  default_delay: 2ms\n  constraints:\n    - {src: paris, dst: rennes, delay: 25ms, loss: 1%}\n",
        "  constraints:\n    \
         - {src: paris, dst: rennes, delay: 10ms, rate: 100mbit, symmetric: true}\n    \
         - {src: paris-server-1, dst: rennes, delay: 50ms}\n",
        "  default_delay: 3ms\n  groups: [paris, rennes]\n  except: [paris-server-2]\n",
        "  default_delay: 3ms\n  except: [nantes]\n  constraints:\n    \
         - {src: nantes, dst: rennes, delay: 40ms}\n",
        "  default_delay: 2ms\n  constraints:\n    \
         - {src: rennes, dst: nantes, delay: 0ms, symmetric: true}\n",
        "  default_delay: 1ms\n  groups: [server]\n  constraints:\n    \
         - {src: server, dst: client, delay: 4ms, jitter: 1ms, symmetric: true}\n    \
         - {src: 'paris-server-[1-2]', dst: paris, rate: 20mbit}\n    \
         - {src: nantes-client-1, dst: paris-client-1, loss: 5%}\n",
        "  default_delay: 5ms\n  groups: []\n  constraints:\n    \
         - {src: paris, dst: paris, delay: 1ms}\n",
    ] {
        let s = scenario(network);
        let hosts = hosts(&s);
        let m = resolve(&s.network, &hosts);
        assert_eq!(expanded(&m), per_pair(&s.network, &hosts), "{network}");
        // Every host in exactly one class, members in testbed order.
        let mut names: Vec<&str> = m
            .classes
            .iter()
            .flat_map(|c| c.hosts.iter().map(|h| h.name.as_str()))
            .collect();
        names.sort_unstable();
        let mut all: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        all.sort_unstable();
        assert_eq!(names, all, "{network}");
        // The index agrees with the linear look-up.
        let index = m.index();
        for a in &hosts {
            for b in &hosts {
                assert_eq!(index.shape(&a.name, &b.name), m.shape(&a.name, &b.name));
            }
        }
    }
}

#[test]
fn hosts_no_selector_tells_apart_share_a_class() {
    let m = matrix("  constraints:\n    - {src: paris, dst: rennes, delay: 10ms}\n");
    let classes: Vec<Vec<&str>> = m
        .classes
        .iter()
        .map(|c| c.hosts.iter().map(|h| h.name.as_str()).collect())
        .collect();
    assert_eq!(
        classes,
        [
            vec!["paris-server-1", "paris-server-2", "paris-client-1"],
            vec!["rennes-server-1"],
            vec!["nantes-client-1"],
        ]
    );
    assert_eq!(m.shapes.len(), 1);
    assert_eq!((m.shapes[0].src, m.shapes[0].dst), (0, 1));
    let index = m.index();
    assert_eq!(index.class_of("paris-client-1"), Some(0));
    assert_eq!(index.class_of("nowhere-1"), None);
}

/// 1000 hosts, 100 on each of the sites s0 to s9, with `network` (indented by 2).
fn thousand(network: &str) -> (Scenario, Vec<WanHost>) {
    let sites: String = (0..10)
        .map(|i| format!("  s{i}: {{roles: {{node: 100}}}}\n"))
        .collect();
    let text = format!("name: big\nsites:\n{sites}network:\n{network}");
    let s = enos_scenario::parse(&text, "t.yaml", &[&enos_scenario::UncheckedKind("local")])
        .unwrap_or_else(|e| panic!("{e}"));
    let hosts = s
        .hosts()
        .into_iter()
        .enumerate()
        .map(|(i, h)| WanHost {
            name: h.name,
            site: h.site,
            role: h.role,
            address: IpAddr::V4(Ipv4Addr::new(10, 1, (i / 250) as u8, (i % 250 + 1) as u8)),
        })
        .collect();
    (s, hosts)
}

/// A 1 ms default, then between each two sites si and sj (i < j) a symmetric (i + j) × 10 ms.
fn site_to_site() -> String {
    let mut network = String::from("  default_delay: 1ms\n  constraints:\n");
    for i in 0..10 {
        for j in i + 1..10 {
            network.push_str(&format!(
                "    - {{src: s{i}, dst: s{j}, delay: {}ms, symmetric: true}}\n",
                (i + j) * 10
            ));
        }
    }
    network
}

#[test]
fn a_thousand_hosts_in_ten_sites_are_ten_classes() {
    let (s, hosts) = thousand(&site_to_site());
    let m = resolve(&s.network, &hosts);
    assert_eq!(m.classes.len(), 10);
    assert!(m.shapes.len() <= 100, "{}", m.shapes.len());
    assert!(m.classes.iter().all(|c| c.hosts.len() == 100));
    assert_eq!(m.pair_count(), 999_000);
    let index = m.index();
    for (src, dst, delay) in [
        ("s0-node-1", "s0-node-2", "1ms"),
        ("s0-node-1", "s1-node-100", "10ms"),
        ("s9-node-50", "s8-node-3", "170ms"),
        ("s3-node-7", "s5-node-7", "80ms"),
        ("s5-node-7", "s3-node-7", "80ms"),
    ] {
        assert_eq!(index.shape(src, dst).unwrap().delay.to_string(), delay);
        assert_eq!(m.shape(src, dst).unwrap().delay.to_string(), delay);
    }
    assert_eq!(index.shape("s4-node-4", "s4-node-4"), None);
    // The class form is small: well under a megabyte of JSON (a million pairs were 100+ MB).
    let json = serde_json::to_string(&m).unwrap();
    assert!(json.len() < 200_000, "{} bytes", json.len());
    let back: WanMatrix = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m);
}

#[test]
fn a_per_host_constraint_splits_exactly_one_class() {
    let mut network = site_to_site();
    network.push_str("    - {src: s3-node-7, dst: s5, delay: 99ms}\n");
    let (s, hosts) = thousand(&network);
    let m = resolve(&s.network, &hosts);
    assert_eq!(m.classes.len(), 11);
    let sizes: Vec<usize> = m.classes.iter().map(|c| c.hosts.len()).collect();
    assert_eq!(sizes, [100, 100, 100, 99, 1, 100, 100, 100, 100, 100, 100]);
    assert_eq!(m.classes[4].hosts[0].name, "s3-node-7");
    let index = m.index();
    assert_eq!(
        index
            .shape("s3-node-7", "s5-node-1")
            .unwrap()
            .delay
            .to_string(),
        "99ms"
    );
    assert_eq!(
        index
            .shape("s3-node-8", "s5-node-1")
            .unwrap()
            .delay
            .to_string(),
        "80ms"
    );
    // The way back, and to its own site, are as before.
    assert_eq!(
        index
            .shape("s5-node-1", "s3-node-7")
            .unwrap()
            .delay
            .to_string(),
        "80ms"
    );
    assert_eq!(
        index
            .shape("s3-node-7", "s3-node-8")
            .unwrap()
            .delay
            .to_string(),
        "1ms"
    );
    assert_eq!(
        index
            .shape("s3-node-8", "s3-node-7")
            .unwrap()
            .delay
            .to_string(),
        "1ms"
    );
    assert_eq!(m.pair_count(), 999_000);
}
