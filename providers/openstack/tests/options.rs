//! The OpenStack provider's options: the example scenario, defaults, errors located in the
//! scenario (snapshots of their text), what they must agree on with the sites, the schema.

use std::path::Path;

use enos_provider_openstack::{
    DEFAULT_CIDR, Lease, LeaseRequest, NetworkChoice, OpenStackKind, options,
};
use enos_scenario::{ProviderKind, Scenario, ScenarioError, UncheckedKind};
use serde_json::json;

const KINDS: &[&dyn ProviderKind] = &[&UncheckedKind("local"), &OpenStackKind];

fn load(path: &str) -> Result<Scenario, ScenarioError> {
    enos_scenario::load(Path::new(path), KINDS)
}

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    enos_scenario::parse(text, "s.yaml", KINDS)
}

/// Each diagnostic as `file:line:column: path: message`.
fn located(error: &ScenarioError) -> Vec<String> {
    error
        .diagnostics()
        .iter()
        .map(|d| {
            format!(
                "{}:{}:{}: {}: {}",
                d.file, d.line, d.column, d.path, d.message
            )
        })
        .collect()
}

#[test]
fn the_example_scenario_reads() {
    let s = load("../../scenarios/openstack-cloud.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.provider.name, "openstack");
    let o = options(&s.provider.options).unwrap();
    assert_eq!(o.image, "debian-12");
    assert_eq!(o.user, "debian");
    assert!(s.hosts().len() >= 4);
    for host in s.hosts() {
        assert!(o.flavour_of(&host.role).is_some(), "{}", host.role);
    }
    assert!(
        !s.network.constraints.is_empty(),
        "the example shapes a WAN"
    );
    assert!(!s.deploy.groups.is_empty(), "the example deploys something");
    // The state keeps the checked options, and reads them back.
    let back: Scenario = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
}

#[test]
fn defaults_are_filled_in() {
    let s = parse(
        "name: q\nprovider: {openstack: {image: debian-12, user: debian, flavour: m1.small}}\n\
         sites: {a: {roles: {x: 2}}}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = options(&s.provider.options).unwrap();
    assert_eq!(
        o.network,
        NetworkChoice::Create {
            cidr: DEFAULT_CIDR.into(),
            dns_nameservers: Vec::new()
        }
    );
    assert_eq!(
        (o.cloud, o.security_groups, o.key_name, o.lease),
        (None, None, None, None)
    );
    assert_eq!(
        s.provider.options["network"],
        json!({"cidr": "10.87.0.0/24"})
    );

    let s = parse(
        "name: q\nprovider:\n  openstack:\n    image: debian-12\n    user: cc\n    flavour: \
         baremetal\n    network: {name: sharednet1}\n    lease: {create: {end: '2030-01-01 \
         10:00'}}\nsites: {a: {roles: {x: 1}}}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = options(&s.provider.options).unwrap();
    assert_eq!(
        o.network,
        NetworkChoice::Existing {
            name: "sharednet1".into()
        }
    );
    assert_eq!(
        o.lease,
        Some(Lease::Create(LeaseRequest {
            start: "now".into(),
            end: "2030-01-01 10:00".into(),
            resource_properties: None
        }))
    );
    assert_eq!(
        s.provider.options["lease"],
        json!({"create": {"start": "now", "end": "2030-01-01 10:00"}})
    );
}

#[test]
fn errors_in_the_options_are_located() {
    let error = load("tests/fixtures/bad-options.yaml").unwrap_err();
    insta::assert_snapshot!("bad-options", error.to_string());
}

#[test]
fn the_options_must_agree_with_the_sites() {
    let error = load("tests/fixtures/bad-sites.yaml").unwrap_err();
    insta::assert_snapshot!("bad-sites", error.to_string());
}

#[test]
fn image_and_user_are_required() {
    for (provider, expected) in [
        (
            "openstack",
            vec![
                "s.yaml:2:11: provider.openstack.image: missing key `image`: the image every \
                 server boots, by name or id (e.g. `image: debian-12`)",
                "s.yaml:2:11: provider.openstack.user: missing key `user`: the image's login \
                 user (debian on Debian's cloud images, ubuntu on Ubuntu's, cc on Chameleon's) \
                 (e.g. `user: debian`)",
            ],
        ),
        (
            "{openstack: {image: debian-12, user: debian}}",
            vec![
                "s.yaml:2:23: provider.openstack.flavour: missing key `flavour`: the flavour of \
                 role x (or give it one under `flavours`) (e.g. `flavour: m1.small`)",
            ],
        ),
        (
            "{openstack: {image: debian-12, user: debian, flavour: m, lease: {}}}",
            vec![
                "s.yaml:2:75: provider.openstack.lease: expected `reservation: ID` (an existing \
                 Blazar reservation) or `create: {start: now, end: +4h}`",
            ],
        ),
        (
            "{openstack: {image: debian-12, user: debian, flavour: m, lease: {reservation: r, \
             create: {end: +1h}}}}",
            vec![
                "s.yaml:2:92: provider.openstack.lease.create: give `reservation` (an existing \
                 reservation) or `create` (a lease to make), not both",
            ],
        ),
        (
            "{openstack: {image: debian-12, user: debian, flavour: m, network: {name: n, cidr: \
             10.0.0.0/24}}}",
            vec![
                "s.yaml:2:87: provider.openstack.network.cidr: an existing network (`name`) is \
                 used as it is: `cidr` and `dns_nameservers` are for a network made for the \
                 experiment",
            ],
        ),
    ] {
        let error = parse(&format!(
            "name: q\nprovider: {provider}\nsites: {{a: {{roles: {{x: 1}}}}}}\n"
        ))
        .unwrap_err();
        assert_eq!(located(&error), expected, "{provider}");
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
        .find_map(|c| c["properties"].get("openstack"))
        .unwrap_or_else(|| panic!("{choices}"));
    assert_eq!(fragment["required"], json!(["image", "user"]));
    let mut keys: Vec<_> = fragment["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "cloud",
            "external_network",
            "flavour",
            "flavours",
            "image",
            "key_name",
            "lease",
            "network",
            "region",
            "security_groups",
            "sites",
            "user"
        ]
    );
    assert_eq!(fragment["additionalProperties"], json!(false));
}
