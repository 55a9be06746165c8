//! Live changes keep what they do not name; partitions and heals; classes a change splits.

use std::net::{IpAddr, Ipv4Addr};

use enos_scenario::Scenario;
use enos_wan::{WanHost, WanMatrix, apply_change, parse_change, resolve};

fn setup() -> (Scenario, Vec<WanHost>) {
    let s = enos_scenario::parse(
        "name: q\nsites:\n  paris: {roles: {server: 1}}\n  rennes: {roles: {server: 1}}\n  \
         nice: {roles: {server: 1}}\nnetwork:\n  constraints:\n    \
         - {src: paris, dst: rennes, delay: 10ms, rate: 1gbit, symmetric: true}\n",
        "t.yaml",
        &[&enos_scenario::UncheckedKind("local")],
    )
    .unwrap();
    let hosts = s
        .hosts()
        .into_iter()
        .zip(1u8..)
        .map(|(h, i)| WanHost {
            name: h.name,
            site: h.site,
            role: h.role,
            address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)),
        })
        .collect();
    (s, hosts)
}

#[test]
fn a_change_keeps_what_it_does_not_name() {
    let (s, hosts) = setup();
    let m = resolve(&s.network, &hosts);
    let change = parse_change("paris->rennes delay=50ms", &s.sites).unwrap();
    let changed = apply_change(&m, &change, &hosts).unwrap();
    let forward = changed.shape("paris-server-1", "rennes-server-1").unwrap();
    assert_eq!(forward.delay.to_string(), "50ms");
    assert_eq!(forward.rate.to_string(), "1gbit");
    let back = changed.shape("rennes-server-1", "paris-server-1").unwrap();
    assert_eq!(back.delay.to_string(), "10ms", "-> is one way");
    // A direction that was not shaped starts from nothing.
    let new = apply_change(
        &m,
        &parse_change("nice->paris delay=3ms", &s.sites).unwrap(),
        &hosts,
    )
    .unwrap();
    let shape = new.shape("nice-server-1", "paris-server-1").unwrap();
    assert_eq!(
        (shape.delay.to_string(), shape.rate.to_string()),
        ("3ms".to_owned(), "10gbit".to_owned())
    );
    assert_eq!(new.pair_count(), 3);
}

#[test]
fn a_partition_heals_back_to_the_earlier_shape() {
    let (s, hosts) = setup();
    let m = resolve(&s.network, &hosts);
    let cut = parse_change("paris<->rennes loss=100%", &s.sites).unwrap();
    let cut_matrix = apply_change(&m, &cut, &hosts).unwrap();
    for (a, b) in [
        ("paris-server-1", "rennes-server-1"),
        ("rennes-server-1", "paris-server-1"),
    ] {
        assert_eq!(
            cut_matrix.shape(a, b).unwrap().loss.percent(),
            100.0,
            "{a}->{b}"
        );
    }
    let heal = parse_change("paris<->rennes loss=0%", &s.sites).unwrap();
    assert_eq!(apply_change(&cut_matrix, &heal, &hosts).unwrap(), m);
    // Healing a pair with nothing else left unshapes it.
    let fresh = parse_change("nice<->paris loss=100%", &s.sites).unwrap();
    let healed = apply_change(
        &apply_change(&m, &fresh, &hosts).unwrap(),
        &parse_change("nice<->paris loss=0%", &s.sites).unwrap(),
        &hosts,
    )
    .unwrap();
    assert_eq!(healed, m);
}

#[test]
fn bad_changes_say_what_is_wrong() {
    let (s, hosts) = setup();
    let m = resolve(&s.network, &hosts);
    for (text, expected) in [
        ("", "empty change"),
        ("paris rennes delay=1ms", "names no direction"),
        ("paris->rome delay=1ms", "unknown site, role or host 'rome'"),
        ("paris->rennes", "changes nothing"),
        ("paris->rennes delay", "is not key=value"),
        ("paris->rennes delay=5", "bad delay '5'"),
        ("paris->rennes speed=5ms", "unknown key 'speed'"),
        ("paris->rennes loss=120%", "bad loss"),
    ] {
        let error = parse_change(text, &s.sites).unwrap_err();
        assert!(error.contains(expected), "{text}: {error}");
    }
    let jitter = parse_change("paris->rennes jitter=20ms", &s.sites).unwrap();
    let error = apply_change(&m, &jitter, &hosts).unwrap_err();
    assert!(error.contains("larger than its delay"), "{error}");
    let itself = parse_change("paris->paris delay=1ms", &s.sites).unwrap();
    assert!(apply_change(&m, &itself, &hosts).is_err());
}

/// paris: 3 servers, rennes: 2 servers; paris <-> rennes 10 ms at 1gbit.
fn split_setup() -> (Scenario, Vec<WanHost>) {
    let s = enos_scenario::parse(
        "name: q\nsites:\n  paris: {roles: {server: 3}}\n  rennes: {roles: {server: 2}}\n\
         network:\n  constraints:\n    \
         - {src: paris, dst: rennes, delay: 10ms, rate: 1gbit, symmetric: true}\n",
        "t.yaml",
        &[&enos_scenario::UncheckedKind("local")],
    )
    .unwrap();
    let hosts = s
        .hosts()
        .into_iter()
        .zip(1u8..)
        .map(|(h, i)| WanHost {
            name: h.name,
            site: h.site,
            role: h.role,
            address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)),
        })
        .collect();
    (s, hosts)
}

/// The shaped directions as `src>dst delay rate`, sorted.
fn directions(m: &WanMatrix) -> Vec<String> {
    let mut all: Vec<String> = m
        .pairs()
        .map(|p| format!("{}>{} {} {}", p.src, p.dst, p.shape.delay, p.shape.rate))
        .collect();
    all.sort();
    all
}

fn class_names(m: &WanMatrix) -> Vec<Vec<&str>> {
    m.classes
        .iter()
        .map(|c| c.hosts.iter().map(|h| h.name.as_str()).collect())
        .collect()
}

#[test]
fn a_change_naming_part_of_a_class_splits_it_first() {
    let (s, hosts) = split_setup();
    let m = resolve(&s.network, &hosts);
    assert_eq!(m.classes.len(), 2);
    let change = parse_change("paris-server-2->rennes delay=50ms", &s.sites).unwrap();
    let changed = apply_change(&m, &change, &hosts).unwrap();
    assert_eq!(
        class_names(&changed),
        [
            vec!["paris-server-1", "paris-server-3"],
            vec!["paris-server-2"],
            vec!["rennes-server-1", "rennes-server-2"],
        ]
    );
    assert_eq!(
        directions(&changed),
        [
            "paris-server-1>rennes-server-1 10ms 1gbit",
            "paris-server-1>rennes-server-2 10ms 1gbit",
            "paris-server-2>rennes-server-1 50ms 1gbit",
            "paris-server-2>rennes-server-2 50ms 1gbit",
            "paris-server-3>rennes-server-1 10ms 1gbit",
            "paris-server-3>rennes-server-2 10ms 1gbit",
            "rennes-server-1>paris-server-1 10ms 1gbit",
            "rennes-server-1>paris-server-2 10ms 1gbit",
            "rennes-server-1>paris-server-3 10ms 1gbit",
            "rennes-server-2>paris-server-1 10ms 1gbit",
            "rennes-server-2>paris-server-2 10ms 1gbit",
            "rennes-server-2>paris-server-3 10ms 1gbit",
        ]
    );
    // Inside a split class, and between its parts, nothing was shaped and nothing is.
    assert_eq!(changed.shape("paris-server-1", "paris-server-2"), None);
    assert_eq!(changed.shape("paris-server-1", "paris-server-3"), None);
    // Healing gives the same directions; the classes stay refined.
    let heal = parse_change("paris-server-2->rennes delay=10ms", &s.sites).unwrap();
    let healed = apply_change(&changed, &heal, &hosts).unwrap();
    assert_eq!(directions(&healed), directions(&m));
    assert_eq!(healed.classes.len(), 3);
}

#[test]
fn a_change_inside_a_class_shapes_between_its_parts() {
    let (s, hosts) = split_setup();
    let m = resolve(&s.network, &hosts);
    // One host of paris towards the rest of paris: from nothing.
    let change = parse_change("paris-server-1<->paris delay=2ms", &s.sites).unwrap();
    let changed = apply_change(&m, &change, &hosts).unwrap();
    let delay = |a: &str, b: &str| changed.shape(a, b).map(|s| s.delay.to_string());
    assert_eq!(
        delay("paris-server-1", "paris-server-2").as_deref(),
        Some("2ms")
    );
    assert_eq!(
        delay("paris-server-3", "paris-server-1").as_deref(),
        Some("2ms")
    );
    // paris <-> paris-server-1 both ways covers every pair of paris hosts with paris-server-1
    // on one end, not the pairs without it.
    assert_eq!(delay("paris-server-2", "paris-server-3"), None);
    assert_eq!(changed.pair_count(), m.pair_count() + 4);
    assert_eq!(
        delay("paris-server-1", "rennes-server-1").as_deref(),
        Some("10ms")
    );
}

#[test]
fn a_change_on_an_empty_matrix_starts_from_nothing() {
    let (s, hosts) = split_setup();
    let change = parse_change("rennes->paris-server-3 loss=5%", &s.sites).unwrap();
    let changed = apply_change(&WanMatrix::default(), &change, &hosts).unwrap();
    assert_eq!(changed.host_count(), hosts.len());
    assert_eq!(changed.pair_count(), 2);
    let shape = changed.shape("rennes-server-2", "paris-server-3").unwrap();
    assert_eq!(
        (shape.delay.to_string(), shape.loss.to_string()),
        ("0ms".to_owned(), "5%".to_owned())
    );
}

#[test]
fn a_jitter_error_names_the_first_pair_in_testbed_order() {
    let (s, hosts) = split_setup();
    let m = resolve(&s.network, &hosts);
    let change = parse_change("rennes<->paris-server-[2-3] jitter=15ms", &s.sites).unwrap();
    let error = apply_change(&m, &change, &hosts).unwrap_err();
    assert_eq!(
        error,
        "'rennes<->paris-server-[2-3] jitter=15ms' leaves paris-server-2 -> rennes-server-1 with \
         a jitter (15ms) larger than its delay (10ms)"
    );
}
