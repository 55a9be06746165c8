//! Each kind of setting with no enos-rs equivalent, or approximated, gives a warning at its key
//! path, and the scenario written still parses.

use crate::common::{import_text, report, try_parse, warning_paths};

/// A g5k reservation with two groups, to which each case adds its setting.
const G5K: &str = "\
provider: {type: g5k, job_name: warned}
topology:
  grp1: {paravance: {control: 1}}
  grp2: {paravance: {compute: 1}}
";

/// A vagrant reservation.
const VAGRANT: &str = "\
provider: {type: vagrant, backend: libvirt}
resources:
  medium: {control: 1, compute: 1}
";

/// A static reservation.
const STATIC: &str = "\
provider: static
resources:
  control: [{address: 192.0.2.11}]
  compute: [{address: 192.0.2.12}]
";

/// One case: the reservation, the key path warned about, words of the reason.
struct Case {
    reservation: String,
    path: &'static str,
    says: &'static str,
}

fn case(reservation: impl Into<String>, path: &'static str, says: &'static str) -> Case {
    Case {
        reservation: reservation.into(),
        path,
        says,
    }
}

fn cases() -> Vec<Case> {
    let g5k = |extra: &str| format!("{G5K}{extra}");
    vec![
        // EnOS's own settings.
        case(
            g5k("registry: {type: external, ip: docker-cache.grid5000.fr, port: 80}\n"),
            "registry",
            "registry mirror",
        ),
        case(
            g5k("kolla: {enable_heat: 'no'}\n"),
            "kolla",
            "`kolla` variable",
        ),
        case(
            g5k("kolla-ansible: kolla-ansible~=10.0\n"),
            "kolla-ansible",
            "pins its own",
        ),
        case(
            g5k("kolla_repo: https://git.example.org/kolla\n"),
            "kolla_repo",
            "PyPI",
        ),
        case(g5k("kolla_ref: stable/ocata\n"), "kolla_ref", "pins its"),
        case(
            g5k("inventory: inventory.sample\n"),
            "inventory",
            "writes its own",
        ),
        case(
            g5k("enable_monitoring: yes\n"),
            "enable_monitoring",
            "`metrics:`",
        ),
        case(g5k("docker_version: 24.0\n"), "docker_version", "Docker"),
        case(g5k("patches: [p1]\n"), "patches", "patches"),
        case(g5k("strategy: copy\n"), "strategy", "older EnOS"),
        case(g5k("hints: {}\n"), "hints", "older EnOS"),
        case(
            g5k("favourite_colour: blue\n"),
            "favourite_colour",
            "left out",
        ),
        // Provider options.
        case(
            G5K.replace("job_name: warned", "job_name: warned, project: myteam"),
            "provider.project",
            "g5k provider",
        ),
        case(
            G5K.replace("job_name: warned", "job_name: warned, job_type: besteffort"),
            "provider.job_type",
            "OAR job types",
        ),
        case(
            G5K.replace(
                "job_name: warned",
                "job_name: warned, role_distribution: debug",
            ),
            "provider.role_distribution",
            "role distribution",
        ),
        case(
            VAGRANT.replace("backend: libvirt", "backend: libvirt, user: vagrant"),
            "provider.user",
            "vagrant provider",
        ),
        case(
            VAGRANT.replace("backend: libvirt", "backend: libvirt, config_extra: 'x'"),
            "provider.config_extra",
            "vagrant provider",
        ),
        case(
            STATIC.replace(
                "provider: static",
                "provider: {type: static, networks: [{cidr: 10.0.0.0/24, roles: [n]}]}",
            ),
            "provider.networks",
            "interface holding each host's address",
        ),
        case(
            "provider: {type: openstack, key_name: k, image: i, user: u, gateway: true}\n\
             resources: {m1.small: {control: 1, compute: 2}}\n",
            "provider.gateway",
            "openstack provider",
        ),
        case(
            "provider: {type: chameleonkvm, key_name: k}\n\
             resources: {m1.medium: {control: 1}}\n",
            "provider.type",
            "KVM cloud",
        ),
        case(
            "provider: {type: chameleonbaremetal, key_name: k}\n\
             resources: {compute_haswell: {control: 1}}\n",
            "provider.type",
            "Blazar lease",
        ),
        // Resources.
        case(
            g5k("resources: {paravance: {control: 1}}\n"),
            "resources",
            "EnOS ignores `resources`",
        ),
        case(
            "provider:\n  type: g5k\n  resources:\n    machines: [{cluster: gros, nodes: 2, \
             roles: [compute]}]\ntopology: {grp1: {paravance: {control: 1}}}\n",
            "topology",
            "its own `resources`",
        ),
        case(
            G5K.replace("compute: 1", "compute: 1, network: 0"),
            "topology.grp2.paravance.network",
            "0 hosts",
        ),
        case(
            G5K.replace("grp2", "Grp_2"),
            "topology.Grp_2",
            "is the site 'grp-2'",
        ),
        case(
            G5K.replace("compute: 1", "Nova_Conductor: 1"),
            "topology.grp2.paravance.Nova_Conductor",
            "is the role 'nova-conductor'",
        ),
        case(
            G5K.replace(
                "grp2: {paravance: {compute: 1}}",
                "grp2: {paravance: {compute: 1}, parasilo: {storage: 1}}",
            ),
            "topology.grp2.parasilo",
            "a g5k site is one cluster",
        ),
        case(
            "provider: vagrant\ntopology:\n  grp1: {large: {control: 1}}\n  grp2: {medium: \
             {control: 1, compute: 1}}\n",
            "topology.grp2.medium",
            "one flavour",
        ),
        case(
            "provider:\n  type: g5k\n  resources:\n    machines:\n      - {cluster: gros, nodes: 1, \
             roles: [control, grp1]}\n      - {cluster: gros, roles: [compute]}\n",
            "provider.resources.machines[0].roles",
            "one role",
        ),
        case(
            "provider:\n  type: g5k\n  resources:\n    machines:\n      - {cluster: gros, roles: \
             [control], primary_network: n1}\n      - {cluster: gros, roles: [compute]}\n",
            "provider.resources.machines[0].primary_network",
            "EnOSlib machine setting",
        ),
        case(
            "provider:\n  type: g5k\n  resources:\n    machines:\n      - {servers: [gros-1.nancy.\
             grid5000.fr], roles: [control]}\n      - {cluster: gros, roles: [compute]}\n",
            "provider.resources.machines[0].servers",
            "named one by one",
        ),
        case(
            "provider:\n  type: vagrant\n  resources:\n    machines:\n      - {flavour_desc: {core: 3, \
             mem: 3000}, roles: [control]}\n      - {flavour: tiny, roles: [compute]}\n    \
             networks: [{cidr: 10.0.0.0/24, roles: [n]}]\n",
            "provider.resources.machines[0].flavour_desc",
            "flavour 'big'",
        ),
        case(
            "provider:\n  type: vagrant\n  resources:\n    machines: [{flavour: tiny, roles: [control]}]\n    \
             networks: [{cidr: 10.0.0.0/24, roles: [n]}]\n",
            "provider.resources.networks",
            "makes its own network",
        ),
        // Static hosts.
        case(
            STATIC.replace(
                "{address: 192.0.2.11}",
                "{address: 192.0.2.11, alias: Bad_Name}",
            ),
            "resources.control[0].alias",
            "default name",
        ),
        case(
            STATIC.replace(
                "{address: 192.0.2.11}",
                "{address: 192.0.2.11, extra: {internal_gateway: 10.0.0.1}}",
            ),
            "resources.control[0].extra.internal_gateway",
            "one jump host",
        ),
        case(
            STATIC.replace(
                "{address: 192.0.2.11}",
                "{address: 192.0.2.11, extra: {neutron_external_interface: eth2}}",
            ),
            "resources.control[0].extra.neutron_external_interface",
            "host variable",
        ),
        case(
            STATIC.replace(
                "{address: 192.0.2.11}",
                "{address: 192.0.2.11, keyfile: ~/.ssh/k}",
            ),
            "resources.control[0].keyfile",
            "relative to the scenario's directory",
        ),
        case(
            STATIC.replace(
                "{address: 192.0.2.11}",
                "{address: 192.0.2.11, ansible_host: x}",
            ),
            "resources.control[0].ansible_host",
            "static hosts",
        ),
        case(
            STATIC.replace("[{address: 192.0.2.12}]", "[{address: 192.0.2.11}]"),
            "resources.compute[0]",
            "plays one role",
        ),
        case(
            "provider: static\ntopology:\n  g[1-2]:\n    control: [{address: 192.0.2.11}]\n",
            "topology.g[1-2].control[0]",
            "in one site",
        ),
        // Network constraints.
        case(
            g5k("network_constraints: {default_delay: 2ms, default_rate: 1gbit, groups: [grp1]}\n"),
            "network_constraints.groups",
            "among the hosts of `groups`",
        ),
        case(
            g5k("network_constraints: {default_delay: 2ms, default_rate: 1gbit, except: [grp2]}\n"),
            "network_constraints.except",
            "get no default shaping",
        ),
        case(
            g5k("network_constraints: {enable: false, default_delay: 2ms, default_rate: 1gbit}\n"),
            "network_constraints.enable",
            "commented out",
        ),
        case(
            g5k(
                "network_constraints: {default_delay: 2ms, default_rate: 1gbit, default_network: n}\n",
            ),
            "network_constraints.default_network",
            "network roles",
        ),
        case(
            g5k(
                "network_constraints:\n  default_delay: 2ms\n  default_rate: 1gbit\n  constraints: \
                 [{src: grp1, dst: grp2, delay: 5ms, network: n}]\n",
            ),
            "network_constraints.constraints[0].network",
            "network roles",
        ),
        case(
            g5k(
                "network_constraints:\n  default_delay: 2ms\n  default_rate: 1gbit\n  constraints: \
                 [{src: grp1, dst: grp2, jitter: 5ms}]\n",
            ),
            "network_constraints.constraints[0].jitter",
            "EnOS's constraints",
        ),
        case(
            g5k("network_constraints: {default_delay: 2ms, default_rate: 1gbit, bandwidth: x}\n"),
            "network_constraints.bandwidth",
            "EnOS's network constraints",
        ),
    ]
}

#[test]
fn each_setting_without_an_equivalent_is_warned_about_at_its_key() {
    let mut all = String::new();
    for (i, case) in cases().iter().enumerate() {
        let imported = import_text(&case.reservation);
        let found = imported.warnings.iter().find(|w| w.path == case.path);
        let Some(warning) = found else {
            panic!(
                "case {i}: no warning at {}: {:?}\n{}",
                case.path,
                warning_paths(&imported),
                case.reservation
            );
        };
        assert!(
            warning.message.contains(case.says),
            "case {i}: {warning} does not say {:?}",
            case.says
        );
        // The header lists it too.
        assert!(
            imported
                .scenario
                .contains(&format!("#   - {} (line {})", case.path, warning.line)),
            "case {i}:\n{}",
            imported.scenario
        );
        // The scenario written is still one enos-rs reads.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("~/.ssh")).unwrap();
        std::fs::write(dir.path().join("~/.ssh/k"), "").unwrap();
        let file = dir.path().join("scenario.yaml");
        if let Err(e) = try_parse(&imported.scenario, &file) {
            // Only the key file of `~` is refused, as the warning says.
            assert!(
                case.path.ends_with("keyfile") && e.to_string().contains("`~` is not expanded"),
                "case {i}: {e}\n{}",
                imported.scenario
            );
        }
        all.push_str(&format!("{warning}\n"));
    }
    insta::assert_snapshot!("warning_kinds", all);
}

#[test]
fn warnings_are_located_and_in_file_order() {
    let imported = import_text(&format!(
        "enable_monitoring: true\n{G5K}registry: {{type: internal}}\n"
    ));
    let located: Vec<(usize, usize, &str)> = imported
        .warnings
        .iter()
        .map(|w| (w.line, w.column, w.path.as_str()))
        .collect();
    assert_eq!(located, [(1, 1, "enable_monitoring"), (6, 1, "registry")]);
    assert_eq!(
        imported.warnings[1].to_string(),
        format!(
            "warning: reservation.yaml:6:1: registry: {}",
            imported.warnings[1].message
        )
    );
}

#[test]
fn settings_equal_to_enos_rs_defaults_are_not_warned_about() {
    let imported = import_text(&format!(
        "{}registry: {{type: none}}\nenable_monitoring: no\n",
        G5K.replace("job_name: warned", "job_name: warned, job_type: deploy")
    ));
    assert!(imported.warnings.is_empty(), "{}", report(&imported));
    assert!(
        imported
            .scenario
            .contains("# Every setting of the reservation has its equivalent here.\n")
    );
}

#[test]
fn renamed_groups_and_roles_are_renamed_in_the_constraints_too() {
    let imported = import_text(
        r"provider: g5k
topology:
  Grp_1: {paravance: {Ctl: 1}}
  grp_2: {paravance: {compute: 1}}
  grp_3: {paravance: {compute: 1}}
network_constraints:
  default_delay: 2ms
  default_rate: 1gbit
  constraints:
    - {src: Grp_1, dst: 'grp_[2-3]', delay: 10ms}
    - {src: Ctl, dst: compute, delay: 1ms}
",
    );
    let scenario = crate::common::parse(&imported.scenario, std::path::Path::new("s.yaml"));
    let pairs: Vec<(String, String)> = scenario
        .network
        .constraints
        .iter()
        .map(|c| (c.src.text.clone(), c.dst.text.clone()))
        .collect();
    let expected = [("grp-1", "grp-2"), ("grp-1", "grp-3"), ("ctl", "compute")];
    assert_eq!(
        pairs,
        expected
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        warning_paths(&imported),
        [
            "topology.Grp_1",
            "topology.Grp_1.paravance.Ctl",
            "topology.grp_2",
            "topology.grp_3"
        ]
    );
}

#[test]
fn disabled_constraints_are_written_commented_out() {
    let imported = import_text(&format!(
        "{G5K}network_constraints:\n  enable: false\n  default_delay: 2ms\n  default_rate: 1gbit\n"
    ));
    assert!(!imported.scenario.contains("\nnetwork:"));
    assert!(
        imported
            .scenario
            .contains("# network:\n#   default_delay: 2ms\n#   default_rate: 1gbit\n"),
        "{}",
        imported.scenario
    );
}
