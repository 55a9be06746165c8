//! Golden tests of the stacks that cannot run on this machine (k3s, kolla-ansible): their plans,
//! commands and generated files, rendered on a made-up testbed, are snapshots; real
//! `ansible-inventory` reads the kolla inventory.

use std::sync::Arc;

use enos_deploy::plan::{HostAction, Work};
use enos_deploy::{DeployPlan, SecretStore};

fn plan_of(scenario: &str) -> DeployPlan {
    let scenario = enos_scenario::parse(
        scenario,
        "scenario.yaml",
        &[&enos_scenario::UncheckedKind("local")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let testbed = enos_deploy::example_testbed(&scenario, "/results");
    enos_deploy::plan(
        &scenario.deploy,
        &testbed,
        Arc::new(SecretStore::placeholders()),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

const K3S_SITES: &str = "sites:\n  paris: {roles: {control: 1, worker: 2}}\n  nantes: {roles: {control: 1, worker: 1}}\n";

#[test]
fn k3s_with_one_global_server() {
    let plan = plan_of(&format!(
        "name: k3s-global\n{K3S_SITES}deploy:\n  - stack: k3s\n    vars: {{servers: control}}\n"
    ));
    insta::assert_snapshot!(plan.describe());
}

#[test]
fn k3s_with_one_server_per_site() {
    let plan = plan_of(&format!(
        "name: k3s-sites\n{K3S_SITES}deploy:\n  - stack: k3s\n    vars: {{servers: control, layout: per-site, version: v1.34.9+k3s1, server_args: --disable=traefik}}\n"
    ));
    insta::assert_snapshot!(plan.describe());
}

const OPENSTACK: &str = "name: os-wan
sites:
  rennes: {roles: {control: 1, compute: 2}}
  nantes: {roles: {compute: 2, storage: 1}}
deploy:
  - stack: openstack
    vars:
      control: control
      compute: compute
      storage: storage
      kolla: {enable_cinder: \"yes\", nova_compute_virt_type: kvm, docker_registry: \"10.1.0.250:4000\"}
";

/// The content of the file `dest` that `plan` writes.
fn written<'a>(plan: &'a DeployPlan, dest: &str) -> &'a str {
    plan.steps
        .iter()
        .flat_map(|s| &s.tasks)
        .find_map(|t| match &t.work {
            Work::Do(HostAction::Put {
                dest: d, content, ..
            }) if d == dest => Some(std::str::from_utf8(content).unwrap()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("nothing writes {dest}"))
}

#[test]
fn openstack_plan_inventory_and_globals() {
    let plan = plan_of(OPENSTACK);
    insta::assert_snapshot!("openstack_plan", plan.describe());
    insta::assert_snapshot!(
        "kolla_multinode_groups",
        written(&plan, "/etc/kolla/multinode.groups")
    );
    insta::assert_snapshot!("kolla_globals", written(&plan, "/etc/kolla/globals.yml"));
}

#[test]
fn the_kolla_overrides_come_last_and_replace_what_enos_generates() {
    let plan = plan_of(OPENSTACK);
    let globals = written(&plan, "/etc/kolla/globals.yml");
    let keys: Vec<&str> = globals
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains(": "))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        keys.iter()
            .filter(|k| **k == "nova_compute_virt_type")
            .count(),
        1
    );
    assert_eq!(
        &keys[keys.len() - 3..],
        ["enable_cinder", "nova_compute_virt_type", "docker_registry"]
    );
    assert!(
        globals.contains("nova_compute_virt_type: \"kvm\""),
        "{globals}"
    );
    // The VIP is free: the highest address of the first control host's network no host has.
    assert!(
        globals.contains("kolla_internal_vip_address: \"10.1.255.254\""),
        "{globals}"
    );
}

/// The part of kolla-ansible's own multinode example that the stack appends (its first
/// derived groups, unchanged from kolla-ansible 18 to 21).
const KOLLA_TAIL: &str = "[baremetal:children]\ncontrol\nnetwork\ncompute\nstorage\nmonitoring\n\n\
[tls-backend:children]\ncontrol\nnetwork\n\n[common:children]\ncontrol\nnetwork\ncompute\nstorage\nmonitoring\n\n\
[nova-compute:children]\ncompute\n";

#[test]
fn ansible_reads_the_kolla_inventory() {
    if !enos_testkit::require_program("ansible_reads_the_kolla_inventory", "ansible-inventory") {
        return;
    }
    let plan = plan_of(OPENSTACK);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("multinode");
    let text = format!(
        "{}\n{KOLLA_TAIL}",
        written(&plan, "/etc/kolla/multinode.groups")
    );
    std::fs::write(&path, text).unwrap();
    let out = std::process::Command::new("ansible-inventory")
        .arg("-i")
        .arg(&path)
        .arg("--list")
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts = |group: &str| -> Vec<String> {
        list[group]["hosts"]
            .as_array()
            .map(|a| a.iter().map(|h| h.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    assert_eq!(hosts("control"), ["rennes-control-1"]);
    assert_eq!(hosts("network"), ["rennes-control-1"]);
    assert_eq!(
        hosts("compute"),
        [
            "rennes-compute-1",
            "rennes-compute-2",
            "nantes-compute-1",
            "nantes-compute-2"
        ]
    );
    assert_eq!(hosts("storage"), ["nantes-storage-1"]);
    let children = list["baremetal"]["children"].as_array().unwrap();
    assert_eq!(children.len(), 5, "{children:?}");
    let vars = &list["_meta"]["hostvars"]["nantes-compute-2"];
    assert_eq!(vars["ansible_host"], "10.2.0.3");
    assert_eq!(vars["network_interface"], "eth0");
    assert_eq!(vars["neutron_external_interface"], "enos-ext0");
    assert_eq!(vars["ansible_user"], "root");
    assert_eq!(
        vars["ansible_ssh_private_key_file"],
        "/root/.ssh/enos_kolla"
    );
    // Every group the example derives reaches every host it should.
    let graph = std::process::Command::new("ansible-inventory")
        .arg("-i")
        .arg(&path)
        .args(["--graph", "common"])
        .output()
        .unwrap();
    let graph = String::from_utf8_lossy(&graph.stdout);
    assert_eq!(graph.matches("|--rennes-compute-1").count(), 1, "{graph}");
    assert!(graph.contains("nantes-storage-1"), "{graph}");
}

/// The hosts that do something in the step called `name`.
fn hosts_doing<'a>(plan: &'a DeployPlan, name: &str) -> Vec<&'a str> {
    let step = plan
        .steps
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no step {name}"));
    step.tasks
        .iter()
        .filter(|t| matches!(t.work, Work::Do(_)))
        .map(|t| t.host.as_str())
        .collect()
}

#[test]
fn keystone_layouts_put_the_databases_where_they_say() {
    let scenario = |database: &str| {
        plan_of(&format!(
            "name: ks\nsites:\n  paris: {{roles: {{keystone: 2, client: 1}}}}\n  nantes: {{roles: {{keystone: 1}}}}\n\
             deploy:\n  - stack: keystone\n    vars: {{role: keystone, database: {database}, clients: client}}\n"
        ))
    };
    let connection = |plan: &DeployPlan, host: &str| -> String {
        plan.steps
            .iter()
            .filter(|s| s.name == "keystone.conf")
            .flat_map(|s| &s.tasks)
            .find_map(|t| match &t.work {
                Work::Do(HostAction::Put { content, .. }) if t.host == host => {
                    let text = String::from_utf8_lossy(content).into_owned();
                    text.lines()
                        .find(|l| l.starts_with("connection = "))
                        .map(|l| l.rsplit('@').next().unwrap_or("").to_owned())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no keystone.conf on {host}"))
    };
    // One Keystone per site: the first host of the role there.
    let per_site = scenario("per-site");
    assert_eq!(
        hosts_doing(&per_site, "keystone"),
        ["paris-keystone-1", "nantes-keystone-1"]
    );
    assert_eq!(
        hosts_doing(&per_site, "databases"),
        ["paris-keystone-1", "nantes-keystone-1"]
    );
    assert_eq!(
        hosts_doing(&per_site, "db_sync"),
        ["paris-keystone-1", "nantes-keystone-1"]
    );
    assert_eq!(
        connection(&per_site, "nantes-keystone-1"),
        "10.2.0.2/keystone"
    );
    assert!(hosts_doing(&per_site, "first database").is_empty());

    let shared = scenario("shared");
    assert_eq!(hosts_doing(&shared, "databases"), ["paris-keystone-1"]);
    assert_eq!(hosts_doing(&shared, "db_sync"), ["paris-keystone-1"]);
    assert_eq!(
        connection(&shared, "nantes-keystone-1"),
        "10.1.0.2/keystone"
    );

    let galera = scenario("galera");
    assert_eq!(hosts_doing(&galera, "first database"), ["paris-keystone-1"]);
    assert_eq!(hosts_doing(&galera, "databases"), ["nantes-keystone-1"]);
    assert_eq!(
        hosts_doing(&galera, "keystone database"),
        ["paris-keystone-1"]
    );
    assert_eq!(
        connection(&galera, "nantes-keystone-1"),
        "10.2.0.2/keystone"
    );
    let cnf = written(&galera, "/etc/mysql/mariadb.conf.d/99-enos.cnf");
    assert!(
        cnf.contains("wsrep_cluster_address = gcomm://10.1.0.2,10.2.0.2\n"),
        "{cnf}"
    );
    // Bootstraps share a database: one site at a time.
    let bootstrap = galera.steps.iter().find(|s| s.name == "bootstrap").unwrap();
    assert_eq!(bootstrap.throttle, Some(1));
    // Every client can reach every site's Keystone by name.
    let openrc = written(&galera, "/root/admin-openrc");
    assert!(
        openrc.contains("  paris) OS_AUTH_URL=http://10.1.0.2:5000/v3 ;;"),
        "{openrc}"
    );
    assert!(
        openrc.contains("  nantes) OS_AUTH_URL=http://10.2.0.2:5000/v3 ;;"),
        "{openrc}"
    );
}
