//! Live changes keep what they do not name; partitions and heals.

use std::net::{IpAddr, Ipv4Addr};

use enos_scenario::Scenario;
use enos_wan::{WanHost, apply_change, parse_change, resolve};

fn setup() -> (Scenario, Vec<WanHost>) {
    let s = enos_scenario::parse(
        "name: q\nsites:\n  paris: {roles: {server: 1}}\n  rennes: {roles: {server: 1}}\n  \
         nice: {roles: {server: 1}}\nnetwork:\n  constraints:\n    \
         - {src: paris, dst: rennes, delay: 10ms, rate: 1gbit, symmetric: true}\n",
        "t.yaml",
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
    assert_eq!(new.pairs.len(), 3);
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
