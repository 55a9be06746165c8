//! The validated model: host plans, look-ups, canonical quantities and the JSON round trip that
//! the experiment state relies on.

use enos_scenario::{Delay, LossRate, ProviderSection, Rate, Scenario};

fn parse(text: &str) -> Scenario {
    enos_scenario::parse(text, "t.yaml", crate::KINDS).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn hosts_are_ordered_by_site_then_role_then_index() {
    let s = parse("name: q\nsites:\n  b: {roles: {web: 2, db: 1}}\n  a: {roles: {web: 1}}\n");
    let hosts: Vec<_> = s
        .hosts()
        .into_iter()
        .map(|h| (h.name, h.site, h.role, h.index))
        .collect();
    let expected = [
        ("b-web-1", "b", "web", 1),
        ("b-web-2", "b", "web", 2),
        ("b-db-1", "b", "db", 1),
        ("a-web-1", "a", "web", 1),
    ];
    assert_eq!(hosts.len(), expected.len());
    for (got, want) in hosts.iter().zip(expected) {
        assert_eq!(
            (got.0.as_str(), got.1.as_str(), got.2.as_str(), got.3),
            want
        );
    }
    assert_eq!(s.site("a").map(|site| site.roles.len()), Some(1));
    assert!(s.site("c").is_none());
}

#[test]
fn quantities_print_canonically_and_read_back() {
    for (text, canonical) in [
        ("0ms", "0ms"),
        ("2ms", "2ms"),
        ("1.5ms", "1500us"),
        ("250us", "250us"),
        ("1s", "1000ms"),
    ] {
        let d: Delay = text.parse().unwrap();
        assert_eq!(d.to_string(), canonical);
        assert_eq!(canonical.parse::<Delay>().unwrap(), d);
    }
    for (text, bits, canonical) in [
        ("10kbit", 10_000, "10kbit"),
        ("100mbit", 100_000_000, "100mbit"),
        ("1gbit", 1_000_000_000, "1gbit"),
        ("10gbit", 10_000_000_000, "10gbit"),
        ("1500bit", 1500, "1500bit"),
        ("1kbps", 8_000, "8kbit"),
        ("1mbps", 8_000_000, "8mbit"),
        ("1gbps", 8_000_000_000, "8gbit"),
        ("1.5gbit", 1_500_000_000, "1500mbit"),
    ] {
        let r: Rate = text.parse().unwrap();
        assert_eq!(r, Rate(bits), "{text}");
        assert_eq!(r.to_string(), canonical);
        assert_eq!(canonical.parse::<Rate>().unwrap(), r);
    }
    for (text, percent) in [("0%", 0.0), ("0.5%", 0.5), ("100%", 100.0)] {
        let l: LossRate = text.parse().unwrap();
        assert_eq!(l.percent(), percent);
        assert_eq!(l.to_string(), text);
    }
}

#[test]
fn quantities_serialize_as_their_canonical_strings() {
    let s = parse(
        "name: q\nsites: {a: {roles: {x: 1}}, b: {roles: {y: 1}}}\nnetwork:\n  \
         constraints: [{src: a, dst: b, delay: 1.5ms, rate: 1mbps, loss: 0.5%}]\n",
    );
    let json = serde_json::to_value(&s).unwrap();
    let c = &json["network"]["constraints"][0];
    assert_eq!(c["delay"], "1500us");
    assert_eq!(c["rate"], "8mbit");
    assert_eq!(c["loss"], "0.5%");
    assert_eq!(c["symmetric"], false);
    assert_eq!(json["network"]["default_rate"], "10gbit");
    assert_eq!(json["provider"], serde_json::json!({"local": {}}));
    let back: Scenario = serde_json::from_value(json).unwrap();
    assert_eq!(back, s);
    // Deserializing checks the quantities too.
    assert!(serde_json::from_str::<Rate>("\"0mbit\"").is_err());
    assert!(serde_json::from_str::<LossRate>("\"150%\"").is_err());
}

#[test]
fn absent_keys_take_their_defaults() {
    let short = parse("name: q\nsites: {a: {roles: {x: 1}}}\n");
    assert_eq!(
        short.provider,
        ProviderSection::new("local", serde_json::json!({}))
    );
    assert_eq!(short.network.default_delay, Delay::default());
    assert_eq!(short.network.default_rate, Rate(10_000_000_000));
    assert_eq!(short.network.default_loss.percent(), 0.0);
    assert!(short.network.constraints.is_empty());
    for provider in ["local", "{local: {}}", "{local: }"] {
        let long = parse(&format!(
            "name: q\nprovider: {provider}\nsites: {{a: {{roles: {{x: 1}}}}}}\nnetwork:\n"
        ));
        assert_eq!(long, short, "{provider}");
    }
    let c = parse(
        "name: q\nsites: {a: {roles: {x: 1}}, b: {roles: {y: 1}}}\nnetwork:\n  \
         constraints: [{src: a, dst: b}]\n",
    );
    let c = &c.network.constraints[0];
    assert_eq!(
        (c.delay, c.rate, c.loss, c.symmetric),
        (None, None, None, false)
    );
}

#[test]
fn yaml_conveniences_work() {
    // Anchors and aliases, merge keys, quoted keys, comments, CRLF, a byte order mark.
    let s = parse(
        "\u{feff}# a scenario\r\nname: q\r\nsites:\r\n  a: &site {roles: {x: 2}}\r\n  b: *site\r\n  \
         \"c\": {<<: *site}\r\n",
    );
    let names: Vec<_> = s.hosts().into_iter().map(|h| h.name).collect();
    assert_eq!(
        names,
        ["a-x-1", "a-x-2", "b-x-1", "b-x-2", "c-x-1", "c-x-2"]
    );
}

#[test]
fn selectors_name_sites_roles_hosts_and_ranges() {
    use enos_scenario::Named;
    let s = parse(
        "name: q\nsites:\n  paris: {roles: {server: 3, client: 1}}\n  lyon: {roles: {server: 1}}\n\
         network:\n  default_delay: 1ms\n  default_jitter: 100us\n  groups: [paris]\n  \
         except: [paris-server-3]\n  constraints:\n    \
         - {src: 'paris-server-[1-2]', dst: lyon, delay: 5ms, jitter: 1ms, symetric: true}\n    \
         - {src: client, dst: lyon-server-1, delay: 7ms}\n",
    );
    let net = &s.network;
    assert_eq!(net.default_jitter, "100us".parse::<Delay>().unwrap());
    let groups = net.groups.as_ref().unwrap();
    assert_eq!(groups[0].names, [Named::Site("paris".into())]);
    assert_eq!(net.except[0].names, [Named::Host("paris-server-3".into())]);
    let c = &net.constraints[0];
    assert_eq!(
        c.src.names,
        [
            Named::Host("paris-server-1".into()),
            Named::Host("paris-server-2".into())
        ]
    );
    assert_eq!(c.src.text, "paris-server-[1-2]");
    assert!(c.symmetric, "EnOS's `symetric` spelling is read");
    assert_eq!(c.jitter, Some("1ms".parse().unwrap()));
    assert_eq!(net.constraints[1].src.names, [Named::Role("client".into())]);
    assert_eq!(
        net.constraints[1].dst.names,
        [Named::Host("lyon-server-1".into())]
    );
    let hosts = s.hosts();
    let in_src: Vec<_> = hosts
        .iter()
        .filter(|h| c.src.contains(h))
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(in_src, ["paris-server-1", "paris-server-2"]);
}

#[test]
fn later_constraints_may_override_earlier_ones() {
    // EnOS semantics: the last constraint setting a direction wins, so overlaps are fine.
    let s = parse(
        "name: q\nsites: {a: {roles: {x: 2}}, b: {roles: {y: 1}}}\nnetwork:\n  constraints:\n    \
         - {src: a, dst: b, delay: 10ms, symmetric: true}\n    \
         - {src: a-x-2, dst: b, delay: 20ms}\n    - {src: b, dst: a, delay: 30ms}\n",
    );
    assert_eq!(s.network.constraints.len(), 3);
}

#[test]
fn a_constraints_file_is_a_network_section_alone() {
    let s = parse("name: q\nsites: {paris: {roles: {x: 2}}, lyon: {roles: {y: 1}}}\n");
    let net = enos_scenario::parse_network(
        "default_delay: 1ms\nconstraints:\n  - {src: paris, dst: lyon, delay: 20ms}\n",
        "wan.yaml",
        &s.sites,
    )
    .unwrap();
    assert_eq!(net.default_delay, "1ms".parse().unwrap());
    assert_eq!(net.constraints[0].dst.text, "lyon");
    let error = enos_scenario::parse_network(
        "constraints:\n  - {src: paris, dst: rome, delay: 20ms}\n",
        "wan.yaml",
        &s.sites,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with(
            "error: wan.yaml:2:23: constraints[0].dst: unknown site, role or host 'rome'"
        ),
        "{error}"
    );
    let error = enos_scenario::parse_network("- 1\n", "wan.yaml", &s.sites)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("expected a mapping of network constraints"),
        "{error}"
    );
}

#[test]
fn selectors_read_alone_say_what_is_wrong() {
    let s = parse("name: q\nsites: {paris: {roles: {x: 2}}}\n");
    let one = enos_scenario::selector("paris-x-[1-2]", &s.sites).unwrap();
    assert_eq!(one.names.len(), 2);
    let bad = enos_scenario::selector("paris-x-[1-3]", &s.sites).unwrap_err();
    assert!(
        bad.contains("unknown site, role or host 'paris-x-3'"),
        "{bad}"
    );
    assert!(enos_scenario::selector("x[", &s.sites).is_err());
}
