//! Reservations of EnOS's own sources (our copies, in `fixtures/`) import into scenarios that
//! enos-rs reads, asking for the same testbed.

use std::path::Path;

use enos_scenario::{Named, Scenario};
use serde_json::json;

use crate::common::{import, parse, report, tests_dir, warning_paths};

/// `(site, [(role, count)])` of a parsed scenario.
fn sites(scenario: &Scenario) -> Vec<(String, Vec<(String, u32)>)> {
    scenario
        .sites
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.roles.iter().map(|r| (r.role.clone(), r.count)).collect(),
            )
        })
        .collect()
}

fn owned(sites: &[(&str, &[(&str, u32)])]) -> Vec<(String, Vec<(String, u32)>)> {
    sites
        .iter()
        .map(|(s, roles)| {
            (
                (*s).to_owned(),
                roles.iter().map(|(r, n)| ((*r).to_owned(), *n)).collect(),
            )
        })
        .collect()
}

/// The file a scenario is parsed as when it names no file.
fn here() -> std::path::PathBuf {
    tests_dir().join("imported.yaml")
}

/// The lines of the suggested deploy step, uncommented.
fn suggested_deploy(scenario: &str) -> String {
    let start = scenario.find("# deploy:").expect("a suggested deploy step");
    scenario[start..]
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_tutorial_reservation_gives_its_two_groups_and_their_constraint() {
    let imported = import("tutorial-topo.yaml");
    let scenario = parse(&imported.scenario, &here());
    assert_eq!(scenario.name, "enos");
    assert_eq!(scenario.provider.name, "g5k");
    assert_eq!(
        scenario.provider.options,
        json!({
            "job_name": "enos",
            "walltime": "04:00:00",
            "sites": {"grp1": {"cluster": "paravance"}, "grp2": {"cluster": "paravance"}}
        })
    );
    assert_eq!(
        sites(&scenario),
        owned(&[
            ("grp1", &[("control", 1), ("network", 1)]),
            ("grp2", &[("compute", 1)])
        ])
    );
    let network = &scenario.network;
    assert_eq!(network.default_delay.to_string(), "25ms");
    assert_eq!(network.default_rate.to_string(), "100mbit");
    assert_eq!(network.default_loss.to_string(), "0.1%");
    let [constraint] = network.constraints.as_slice() else {
        panic!("one constraint: {:?}", network.constraints)
    };
    assert_eq!(constraint.src.names, [Named::Site("grp1".to_owned())]);
    assert_eq!(constraint.dst.names, [Named::Site("grp2".to_owned())]);
    assert_eq!(
        constraint.delay.map(|d| d.to_string()).as_deref(),
        Some("50ms")
    );
    assert_eq!(
        constraint.rate.map(|r| r.to_string()).as_deref(),
        Some("1gbit")
    );
    assert_eq!(
        constraint.loss.map(|l| l.to_string()).as_deref(),
        Some("0%")
    );
    assert!(constraint.symmetric);
    // Host names are those of enos-rs: <site>-<role>-<n>.
    let hosts: Vec<String> = scenario.hosts().into_iter().map(|h| h.name).collect();
    assert_eq!(
        hosts,
        ["grp1-control-1", "grp1-network-1", "grp2-compute-1"]
    );
    assert_eq!(warning_paths(&imported), ["registry", "enable_monitoring"]);
    assert!(imported.scenario.starts_with(
        "# Imported by `enos import` from the EnOS reservation tutorial-topo.yaml.\n"
    ));
    insta::assert_snapshot!("tutorial_topo", report(&imported));
}

#[test]
fn the_suggested_openstack_step_is_a_valid_deploy_step() {
    let imported = import("tutorial-topo.yaml");
    assert!(
        imported
            .scenario
            .contains("# deploy:\n#   - stack: openstack\n")
    );
    let with_deploy = format!(
        "{}\n{}\n",
        imported.scenario,
        suggested_deploy(&imported.scenario)
    );
    let scenario = parse(&with_deploy, &here());
    assert_eq!(scenario.deploy.groups.len(), 1);
    // With EnOS's `kolla:` values, they become the stack's `kolla` variable.
    let imported = import("vagrant-topology.yaml");
    let deploy = suggested_deploy(&imported.scenario);
    assert!(
        deploy.contains("kolla:\n        enable_heat: \"no\"\n"),
        "{deploy}"
    );
    let scenario = parse(&format!("{}\n{deploy}\n", imported.scenario), &here());
    assert_eq!(scenario.deploy.groups.len(), 1);
}

#[test]
fn g5k_resources_without_a_topology_give_a_site_per_cluster() {
    let imported = import("g5k-clusters.yaml");
    let scenario = parse(&imported.scenario, &here());
    assert_eq!(scenario.name, "enos-jenkins");
    assert_eq!(
        sites(&scenario),
        owned(&[
            ("parasilo", &[("control", 1)]),
            ("paravance", &[("compute", 2), ("network", 1)])
        ])
    );
    assert_eq!(
        scenario.provider.options,
        json!({
            "job_name": "enos-jenkins",
            "walltime": "14:00:00",
            "queue": "production",
            "reservation": "2020-02-29 19:00:00",
            "env_name": "debian11-min",
            "sites": {"parasilo": {"cluster": "parasilo"}, "paravance": {"cluster": "paravance"}}
        })
    );
    // tc's spellings are enos-rs's: 10msec, 10Gbit and a bare loss.
    assert_eq!(scenario.network.default_delay.to_string(), "10ms");
    assert_eq!(scenario.network.default_rate.to_string(), "10gbit");
    // `default_group` (every host) is spread over the cluster sites, one constraint per pair.
    let pairs: Vec<(String, String)> = scenario
        .network
        .constraints
        .iter()
        .map(|c| (c.src.text.clone(), c.dst.text.clone()))
        .collect();
    let expected = [
        ("control", "compute"),
        ("parasilo", "parasilo"),
        ("parasilo", "paravance"),
        ("paravance", "parasilo"),
        ("paravance", "paravance"),
    ];
    assert_eq!(
        pairs,
        expected
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect::<Vec<_>>()
    );
    assert!(
        scenario.network.constraints[1..]
            .iter()
            .all(|c| c.loss.map(|l| l.to_string()).as_deref() == Some("1%"))
    );
    // `enable_monitoring: false` and `job_type: deploy` have their equivalent: no warning.
    assert_eq!(warning_paths(&imported), ["registry", "inventory", "kolla"]);
    insta::assert_snapshot!("g5k_clusters", report(&imported));
}

#[test]
fn g5k_group_ranges_become_sites_and_stay_ranges_in_constraints() {
    let imported = import("g5k-ranges.yaml");
    let scenario = parse(&imported.scenario, &here());
    let names: Vec<&str> = scenario.sites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["grp1", "grp2", "grp3", "grp4"]);
    let [constraint] = scenario.network.constraints.as_slice() else {
        panic!("one constraint")
    };
    assert_eq!(constraint.dst.text, "grp[2-4]");
    assert_eq!(constraint.dst.names.len(), 3);
    // EnOS's `symetric` spelling.
    assert!(constraint.symmetric);
    assert_eq!(scenario.network.except.len(), 1);
    assert_eq!(warning_paths(&imported), ["network_constraints.except"]);
    insta::assert_snapshot!("g5k_ranges", report(&imported));
}

#[test]
fn g5k_machines_of_the_provider_give_a_site_per_cluster() {
    let imported = import("g5k-advanced.yaml");
    let scenario = parse(&imported.scenario, &here());
    assert_eq!(
        sites(&scenario),
        owned(&[
            ("paravance", &[("compute", 1)]),
            ("pararavance", &[("network", 1)]),
            ("parasilo", &[("control", 1)])
        ])
    );
    let paths = warning_paths(&imported);
    assert!(paths.contains(&"provider.resources.networks"), "{paths:?}");
    assert!(paths.contains(&"provider.role_distribution"), "{paths:?}");
    assert!(
        paths.contains(&"provider.resources.machines[0].primary_network"),
        "{paths:?}"
    );
    insta::assert_snapshot!("g5k_advanced", report(&imported));
}

#[test]
fn vagrant_resources_give_flavours_per_role() {
    let imported = import("vagrant-basic.yaml");
    let scenario = parse(&imported.scenario, &here());
    assert_eq!(scenario.provider.name, "vagrant");
    assert_eq!(
        scenario.provider.options,
        json!({
            "backend": "libvirt",
            "box": "generic/debian9",
            "flavours": {"control": "extra-large", "compute": "medium", "network": "medium"}
        })
    );
    assert_eq!(
        sites(&scenario),
        owned(&[(
            "default-group",
            &[("control", 1), ("compute", 1), ("network", 1)]
        )])
    );
    insta::assert_snapshot!("vagrant_basic", report(&imported));
}

#[test]
fn a_vagrant_topology_keeps_enos_default_backend_and_reads_a_bare_loss() {
    let imported = import("vagrant-topology.yaml");
    let scenario = parse(&imported.scenario, &here());
    // EnOS's vagrant provider defaults to VirtualBox (EnOSlib's to libvirt).
    assert_eq!(scenario.provider.options["backend"], "virtualbox");
    assert_eq!(
        sites(&scenario),
        owned(&[
            ("grp1", &[("control", 1)]),
            ("grp2", &[("compute", 1), ("network", 1)])
        ])
    );
    assert_eq!(scenario.network.default_loss.to_string(), "0%");
    assert_eq!(scenario.network.default_delay.to_string(), "10ms");
    insta::assert_snapshot!("vagrant_topology", report(&imported));
}

#[test]
fn vagrant_machines_of_the_provider_are_read() {
    let imported = import("vagrant-advanced.yaml");
    let scenario = parse(&imported.scenario, &here());
    assert_eq!(
        scenario.provider.options["flavours"],
        json!({"control": "extra-large", "compute": "medium", "network": "medium"})
    );
    assert_eq!(scenario.hosts().len(), 3);
    insta::assert_snapshot!("vagrant_advanced", report(&imported));
}

/// Writes `scenario` into a directory holding the files `files` (empty), and parses it there.
fn parse_beside(scenario: &str, files: &[&str]) -> Scenario {
    let dir = tempfile::tempdir().unwrap();
    for file in files {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "").unwrap();
    }
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, scenario).unwrap();
    parse(scenario, Path::new(&file))
}

#[test]
fn static_resources_give_the_hosts_of_the_static_provider() {
    let imported = import("static.yaml");
    // The static provider checks the key files: they are relative to the scenario.
    let scenario = parse_beside(
        &imported.scenario,
        &[
            ".vagrant/machines/enos-0/libvirt/private_key",
            ".vagrant/machines/enos-1/libvirt/private_key",
            ".vagrant/machines/enos-2/libvirt/private_key",
        ],
    );
    assert_eq!(scenario.provider.name, "static");
    assert!(!imported.scenario.contains("\nsites:"));
    let hosts: Vec<(String, String)> = scenario
        .hosts()
        .into_iter()
        .map(|h| (h.name, h.role))
        .collect();
    assert_eq!(
        hosts,
        [
            ("enos-2".to_owned(), "compute".to_owned()),
            ("enos-0".to_owned(), "control".to_owned()),
            ("enos-1".to_owned(), "network".to_owned())
        ]
    );
    let options = enos_provider_static::options(&scenario.provider.options).unwrap();
    assert_eq!(options.hosts[0].address, "192.168.142.243");
    assert_eq!(options.hosts[0].user, "root");
    assert!(
        options.hosts[0]
            .identity
            .as_ref()
            .unwrap()
            .ends_with(".vagrant/machines/enos-2/libvirt/private_key")
    );
    let paths = warning_paths(&imported);
    assert!(paths.contains(&"provider.networks"), "{paths:?}");
    assert!(paths.contains(&"resources.compute[0].keyfile"), "{paths:?}");
    assert!(!paths.contains(&"hosts"), "{paths:?}");
    insta::assert_snapshot!("static", report(&imported));
}

#[test]
fn a_static_host_in_several_roles_plays_the_first() {
    let imported = import("static-all-in-one.yaml");
    let scenario = parse_beside(&imported.scenario, &[]);
    let hosts: Vec<(String, String)> = scenario
        .hosts()
        .into_iter()
        .map(|h| (h.name, h.role))
        .collect();
    assert_eq!(hosts, [("enos-node".to_owned(), "compute".to_owned())]);
    let paths = warning_paths(&imported);
    assert!(paths.contains(&"resources.control[0]"), "{paths:?}");
    assert!(paths.contains(&"resources.network[0]"), "{paths:?}");
    insta::assert_snapshot!("static_all_in_one", report(&imported));
}

#[test]
fn static_groups_become_sites_and_gateways_jump_hosts() {
    let imported = import("static-groups.yaml");
    let scenario = parse_beside(&imported.scenario, &[]);
    let options = enos_provider_static::options(&scenario.provider.options).unwrap();
    let lyon = options.hosts.iter().find(|h| h.site == "lyon").unwrap();
    let jump = lyon.jump.as_ref().unwrap();
    assert_eq!(
        (jump.address.as_str(), jump.user.as_str(), jump.port),
        ("gw.lyon.example.org", "admin", 2222)
    );
    let names: Vec<String> = scenario.hosts().into_iter().map(|h| h.name).collect();
    assert_eq!(names, ["paris-srv", "paris-client-1", "lyon-client-1"]);
    assert_eq!(options.hosts[1].port, 2222);
    // kolla's `network_interface`, a host variable, is the interface the WAN is shaped on.
    assert_eq!(lyon.interface.as_deref(), Some("ens4"));
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    assert!(scenario.network.constraints[0].symmetric);
    insta::assert_snapshot!("static_groups", report(&imported));
}

#[test]
fn chameleon_imports_for_the_openstack_provider_with_enos_defaults() {
    let imported = import("chameleonkvm.yaml");
    let scenario = parse(&imported.scenario, &here());
    assert_eq!(scenario.provider.name, "openstack");
    assert_eq!(
        scenario.provider.options,
        json!({
            "image": "CC-Ubuntu16.04",
            "flavour": "m1.medium",
            "user": "cc",
            "key_name": "enos_matt"
        })
    );
    let paths = warning_paths(&imported);
    assert!(paths.contains(&"provider.type"), "{paths:?}");
    assert!(paths.contains(&"provider.gateway"), "{paths:?}");
    insta::assert_snapshot!("chameleonkvm", report(&imported));
}

#[test]
fn openstack_machines_of_the_provider_are_read() {
    let imported = import("openstack-advanced.yaml");
    let scenario = parse(&imported.scenario, &here());
    assert_eq!(scenario.provider.options["flavour"], "m1.medium");
    assert_eq!(
        sites(&scenario),
        owned(&[(
            "default-group",
            &[("compute", 1), ("network", 1), ("control", 1)]
        )])
    );
    insta::assert_snapshot!("openstack_advanced", report(&imported));
}
