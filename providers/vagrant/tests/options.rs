//! The Vagrant provider's options: the example scenario, the defaults, the form the EnOS
//! importer writes, and errors located in the scenario (snapshots of their text).

use enos_provider_vagrant::{Backend, Flavour, VagrantKind, options};
use enos_scenario::ProviderKind;
use serde_json::json;

use crate::common::{KINDS, load, located, parse};

#[test]
fn the_example_resolves_its_flavours_and_keeps_its_sites() {
    let s = load("../../scenarios/vagrant.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.provider.name, "vagrant");
    let o = options(&s.provider.options).unwrap();
    assert_eq!(o.backend, Backend::Libvirt);
    assert_eq!(o.vagrant_box, "generic/debian12");
    assert_eq!(o.subnet.to_string(), "192.168.56.0/21");
    assert_eq!(o.flavour, Flavour::named("tiny").unwrap());
    assert_eq!(
        (o.flavour_of("server").cpus, o.flavour_of("server").memory),
        (2, 2048)
    );
    assert_eq!(
        o.flavour_of("client"),
        &Flavour {
            name: None,
            cpus: 1,
            memory: 1024
        }
    );
    let names: Vec<_> = s.hosts().into_iter().map(|h| h.name).collect();
    assert_eq!(
        names,
        [
            "paris-server-1",
            "paris-client-1",
            "lyon-client-1",
            "lyon-client-2"
        ]
    );
    // The state keeps the resolved options, and reads them back.
    let back: enos_scenario::Scenario =
        serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
}

#[test]
fn the_provider_named_alone_takes_every_default() {
    let s = parse("name: q\nprovider: vagrant\nsites:\n  paris: {roles: {server: 2}}\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.provider.options,
        json!({
            "backend": "libvirt",
            "box": "generic/debian12",
            "flavour": {"name": "tiny", "cpus": 1, "memory": 512},
            "subnet": "192.168.56.0/21",
        })
    );
}

#[test]
fn the_importer_s_form_is_read() {
    // What the EnOS importer writes: a backend, a box, a flavour and flavours by name.
    let s = parse(
        "name: q\nprovider:\n  vagrant:\n    backend: virtualbox\n    box: debian/bookworm64\n    \
         flavour: large\n    flavours: {control: extra-large, compute: medium}\nsites:\n  \
         paris: {roles: {control: 1, compute: 2, network: 1}}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = options(&s.provider.options).unwrap();
    assert_eq!(o.backend, Backend::Virtualbox);
    assert_eq!(o.vagrant_box, "debian/bookworm64");
    let sizes: Vec<_> = ["control", "compute", "network"]
        .iter()
        .map(|r| o.flavour_of(r).label())
        .collect();
    assert_eq!(sizes, ["extra-large", "medium", "large"]);
}

#[test]
fn errors_in_the_options_are_located_at_their_key_or_value() {
    let error = load("tests/fixtures/bad-options.yaml").unwrap_err();
    insta::assert_snapshot!("bad-options", error.to_string());
}

#[test]
fn too_many_sites_for_the_subnet_is_an_error_at_the_first_site_left_out() {
    let error = load("tests/fixtures/too-many-sites.yaml").unwrap_err();
    assert_eq!(
        located(&error),
        [
            "tests/fixtures/too-many-sites.yaml:8:3: sites.nantes: `provider.vagrant.subnet` \
             10.10.0.0/23 holds 2 sites (a /24 each), the scenario has 3: give \
             `provider.vagrant.subnet` a shorter prefix (VirtualBox allows host-only networks \
             outside 192.168.56.0/21 only when /etc/vbox/networks.conf lists them)"
        ]
    );
    insta::assert_snapshot!("too-many-sites", error.to_string());
}

#[test]
fn the_default_subnet_holds_8_sites_of_245_vms() {
    let error = load("tests/fixtures/crowded-site.yaml").unwrap_err();
    let all = located(&error);
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(
        all[0].starts_with(
            "tests/fixtures/crowded-site.yaml:11:3: sites.h: a site holds at most 245 VMs \
             (.10 to .254 of its /24), site 'h' has 246"
        ),
        "{all:?}"
    );
    assert!(
        all[1].starts_with(
            "tests/fixtures/crowded-site.yaml:12:3: sites.i: the default subnet \
             192.168.56.0/21 holds 8 sites (a /24 each), the scenario has 9"
        ),
        "{all:?}"
    );
}

#[test]
fn single_option_errors() {
    for (options, expected) in [
        (
            "[libvirt]",
            "s.yaml:2:21: provider.vagrant: expected the vagrant provider's options (a mapping \
             such as `{backend: libvirt, box: generic/debian12}`), found a list",
        ),
        (
            "{subnet: 10.0.0.0/25}",
            "s.yaml:2:30: provider.vagrant.subnet: each site takes a /24 of the subnet: it must \
             be a /24 or larger, found a /25",
        ),
        (
            "{subnet: fd00::/64}",
            "s.yaml:2:30: provider.vagrant.subnet: expected an IPv4 block such as \
             192.168.56.0/21, found 'fd00::/64'",
        ),
        (
            "{flavours: [small]}",
            "s.yaml:2:32: provider.vagrant.flavours: expected the flavour of each role that has \
             its own",
        ),
        (
            "{flavour: 2}",
            "s.yaml:2:31: provider.vagrant.flavour: expected a flavour (tiny, small, medium, big, \
             large, extra-large) or `{cpus: 2, memory: 2048}`, found 2",
        ),
        (
            "{box: ''}",
            "s.yaml:2:27: provider.vagrant.box: expected a Vagrant box such as generic/debian12",
        ),
    ] {
        let error = parse(&format!(
            "name: q\nprovider: {{vagrant: {options}}}\nsites:\n  paris: {{roles: {{server: \
             1}}}}\n"
        ))
        .unwrap_err();
        let all = located(&error);
        assert_eq!(all.len(), 1, "{options}: {all:?}");
        assert!(all[0].starts_with(expected), "{options}: {all:?}");
    }
}

#[test]
fn the_schema_describes_the_options() {
    let schema = enos_scenario::json_schema(KINDS);
    let choices = &schema["properties"]["provider"]["oneOf"];
    let fragment = choices
        .as_array()
        .unwrap()
        .iter()
        .find_map(|c| c["properties"].get("vagrant"))
        .expect("the vagrant provider's options in the schema");
    assert_eq!(fragment, &VagrantKind.options_schema());
    let mut keys: Vec<_> = fragment["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(keys, ["backend", "box", "flavour", "flavours", "subnet"]);
    assert_eq!(
        fragment["properties"]["backend"]["enum"],
        json!(["libvirt", "virtualbox"])
    );
    assert_eq!(
        fragment["properties"]["flavours"]["additionalProperties"]["oneOf"][0]["enum"],
        json!(["tiny", "small", "medium", "big", "large", "extra-large"])
    );
}
