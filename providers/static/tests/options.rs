//! The static provider's options: the example scenario, the hosts file, the sites the hosts
//! define, and errors located in the scenario or in the hosts file. Fixtures are in
//! `tests/fixtures/`, named relative to the crate so that messages hold nothing of the machine.

use std::path::{Path, PathBuf};

use enos_provider_static::{Become, Jump, StaticKind, options};
use enos_scenario::{ProviderKind, Scenario, ScenarioError, UncheckedKind};
use serde_json::json;

const KINDS: &[&dyn ProviderKind] = &[&UncheckedKind("local"), &StaticKind];

fn load(path: &str) -> Result<Scenario, ScenarioError> {
    enos_scenario::load(Path::new(path), KINDS)
}

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    enos_scenario::parse(text, "s.yaml", KINDS)
}

fn fixture(name: &str) -> PathBuf {
    std::path::absolute(Path::new("tests/fixtures").join(name)).unwrap()
}

/// The sites as `site: role=count, …`.
fn sites(s: &Scenario) -> Vec<String> {
    s.sites
        .iter()
        .map(|site| {
            let roles: Vec<String> = site
                .roles
                .iter()
                .map(|r| format!("{}={}", r.role, r.count))
                .collect();
            format!("{}: {}", site.name, roles.join(", "))
        })
        .collect()
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
fn the_example_defines_its_sites_with_its_hosts() {
    let s = load("../../scenarios/static.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.provider.name, "static");
    assert_eq!(sites(&s), ["paris: server=1, client=1", "lyon: client=1"]);
    let names: Vec<_> = s.hosts().into_iter().map(|h| h.name).collect();
    assert_eq!(names, ["paris-server-1", "paris-client-1", "lyon-client-1"]);
    let o = options(&s.provider.options).unwrap();
    let root = &o.hosts[0];
    assert_eq!(
        (root.port, root.user.as_str(), root.r#become, &root.jump),
        (22, "root", None, &None)
    );
    assert_eq!(o.hosts[1].r#become, Some(Become::Sudo));
    assert_eq!(
        o.hosts[2].jump,
        Some(Jump {
            address: "gw.lyon.example.org".into(),
            port: 2222,
            user: "admin".into(),
            identity: None,
        })
    );
    assert_eq!(s.deploy.groups.len(), 2);
    // The state keeps the resolved options, and reads them back.
    let back: Scenario = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
}

#[test]
fn a_hosts_file_holds_the_same_list_next_to_the_scenario() {
    let s = load("tests/fixtures/hosts-file.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sites(&s), ["paris: server=1, client=1", "lyon: client=1"]);
    let hosts: Vec<_> = s
        .hosts()
        .into_iter()
        .map(|h| format!("{} {} {}", h.name, h.role, h.index))
        .collect();
    assert_eq!(
        hosts,
        [
            "paris-server-1 server 1",
            "paris-client-1 client 1",
            "lyon-gw client 1"
        ]
    );
    let o = options(&s.provider.options).unwrap();
    assert_eq!(o.known_hosts, Some(fixture("keys/known_hosts")));
    assert_eq!(o.hosts[0].identity, Some(fixture("keys/id_test")));
    let gw = &o.hosts[2];
    assert_eq!(gw.interface.as_deref(), Some("eth1"));
    assert_eq!(gw.r#become, Some(Become::Sudo));
    assert_eq!(
        gw.jump,
        Some(Jump {
            address: "gw.example.org".into(),
            port: 22,
            user: "admin".into(),
            identity: None,
        })
    );
    // The state holds the hosts themselves, not the file's name.
    assert!(s.provider.options["hosts"].is_array());
}

#[test]
fn errors_in_a_hosts_file_are_located_in_it() {
    let error = load("tests/fixtures/bad-hosts-file.yaml").unwrap_err();
    assert!(
        error
            .diagnostics()
            .iter()
            .all(|d| d.file == "tests/fixtures/bad-hosts.yaml")
    );
    insta::assert_snapshot!("bad-hosts", error.to_string());
}

#[test]
fn errors_in_the_scenario_are_located_in_it() {
    let error = load("tests/fixtures/bad-inline.yaml").unwrap_err();
    insta::assert_snapshot!("bad-inline", error.to_string());
}

#[test]
fn the_hosts_must_be_there() {
    for (provider, expected) in [
        (
            "static",
            "s.yaml:2:11: provider.static.hosts: missing key `hosts`: the hosts: a list, or a \
             file holding it",
        ),
        (
            "{static: {}}",
            "s.yaml:2:20: provider.static.hosts: missing key `hosts`: the hosts: a list, or a \
             file holding it (e.g. `hosts: [{address: 10.0.0.11, site: paris, roles: [server]}]`)",
        ),
        (
            "{static: {hosts: []}}",
            "s.yaml:2:28: provider.static.hosts: expected at least one host, e.g. `[{address: \
             10.0.0.11, site: paris, roles: [server]}]`",
        ),
        (
            "{static: {hosts: nowhere.yaml}}",
            "s.yaml:2:28: provider.static.hosts: cannot read 'nowhere.yaml' (relative to the \
             directory of s.yaml): ",
        ),
    ] {
        let error = parse(&format!("name: q\nprovider: {provider}\n")).unwrap_err();
        let all = located(&error);
        assert_eq!(all.len(), 1, "{provider}: {all:?}");
        assert!(all[0].starts_with(expected), "{provider}: {all:?}");
    }
}

#[test]
fn sites_written_beside_the_hosts_must_agree_with_them() {
    let hosts = "provider:\n  static:\n    hosts:\n      \
                 - {address: 192.0.2.1, site: paris, roles: [server]}\n      \
                 - {address: 192.0.2.3, site: paris, roles: [client]}\n      \
                 - {address: 192.0.2.2, site: lyon, roles: [client], name: gw}\n";
    let s = parse(&format!(
        "name: q\n{hosts}sites:\n  paris: {{roles: {{server: 1, client: 1}}}}\n  \
         lyon: {{roles: {{client: 1}}}}\nnetwork:\n  constraints: [{{src: gw, dst: paris, \
         delay: 5ms}}]\n"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<_> = s.hosts().into_iter().map(|h| h.name).collect();
    assert_eq!(names, ["paris-server-1", "paris-client-1", "gw"]);
    let error = parse(&format!(
        "name: q\n{hosts}sites:\n  paris: {{roles: {{server: 2, client: 1}}}}\n"
    ))
    .unwrap_err();
    assert_eq!(
        located(&error),
        [
            "s.yaml:8:1: sites: `provider.static` defines hosts of site 'lyon', which `sites:` \
             does not list",
            "s.yaml:9:27: sites.paris.roles.server: `provider.static` defines 1 host of site \
             'paris' role 'server', `sites:` asks for 2",
        ]
    );
}

#[test]
fn unknown_providers_name_the_registered_ones() {
    let error = parse("name: q\nprovider: aws\n").unwrap_err();
    assert_eq!(
        located(&error),
        ["s.yaml:2:11: provider: unknown provider 'aws', expected one of local, static"]
    );
}

#[test]
fn the_schema_describes_the_hosts() {
    let schema = enos_scenario::json_schema(KINDS);
    let choices = &schema["properties"]["provider"]["oneOf"];
    assert_eq!(choices[1], json!({"const": "static"}));
    let fragment = &choices[3]["properties"]["static"];
    assert_eq!(fragment["required"], json!(["hosts"]));
    let host = &fragment["properties"]["hosts"]["oneOf"][1]["items"];
    assert_eq!(host["required"], json!(["address", "site", "roles"]));
    let mut keys: Vec<_> = host["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "address",
            "become",
            "identity",
            "interface",
            "jump",
            "name",
            "port",
            "roles",
            "site",
            "user"
        ]
    );
}
