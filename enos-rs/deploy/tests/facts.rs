//! Host facts: a host whose facts cannot be gathered stops the deploy with its name and why,
//! never rendered with made-up facts.

use std::path::{Path, PathBuf};

use enos_core::{Host, SiteNetwork, SshAccess, Testbed};
use enos_deploy::facts::parse;
use enos_deploy::{Facts, FactsError, testbed_view};

fn testbed(names: &[&str]) -> Testbed {
    Testbed {
        hosts: names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                Host::new(
                    *name,
                    "paris",
                    "app",
                    format!("198.18.1.{}", i + 2).parse().unwrap(),
                )
            })
            .collect(),
        networks: vec![SiteNetwork {
            site: "paris".to_owned(),
            cidr: "198.18.1.0/24".to_owned(),
            gateway: "198.18.1.1".parse().unwrap(),
        }],
        ssh: SshAccess {
            config: PathBuf::from("ssh_config"),
            identity: PathBuf::from("ssh/id_ecdsa"),
            known_hosts: PathBuf::from("ssh/known_hosts"),
            control_dir: PathBuf::from("ssh/control"),
        },
    }
}

fn facts_of(name: &str, address: &str) -> Facts {
    Facts::example(name, address.parse().unwrap())
}

#[test]
fn output_that_is_not_facts_is_an_error_saying_what_it_lacks() {
    // A login banner, a shell that ran something else, nothing at all.
    let error = parse("Welcome to the cluster!\nmotd: be nice\n").unwrap_err();
    assert_eq!(
        error,
        "the facts command printed no hostname, os_id, os_version, os_codename, arch, cpus, \
         memory_kb, systemd (its output: \"Welcome to the cluster!\\nmotd: be nice\")"
    );
    assert!(parse("").unwrap_err().ends_with("(its output: nothing)"));
    // Cut short: the first lines only.
    let error = parse("hostname=a\nos_id=debian\nos_version=12\n").unwrap_err();
    assert!(
        error.starts_with(
            "the facts command printed no os_codename, arch, cpus, memory_kb, systemd"
        ),
        "{error}"
    );
    // Numbers that are not.
    let whole = "hostname=a\nos_id=debian\nos_version=12\nos_codename=bookworm\narch=x86_64\n\
                 cpus=2\nmemory_kb=2048\nsystemd=1\n";
    assert_eq!(parse(whole).unwrap().memory_mb, 2);
    assert_eq!(
        parse(&whole.replace("cpus=2", "cpus=two")).unwrap_err(),
        "cpus=two: not a number of CPUs"
    );
    assert_eq!(
        parse(&whole.replace("memory_kb=2048", "memory_kb=")).unwrap_err(),
        "memory_kb=: not a number of KiB"
    );
}

#[test]
fn a_host_without_facts_is_named_and_nothing_is_rendered_for_the_testbed() {
    let testbed = testbed(&["paris-app-1", "paris-app-2", "paris-app-3"]);
    let gathered = vec![(
        "paris-app-2".to_owned(),
        facts_of("paris-app-2", "198.18.1.3"),
    )];
    let error = testbed_view("x", Path::new("/results"), &testbed, &gathered).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot gather the facts of 2 hosts:\n  paris-app-1: no facts were gathered\n  \
         paris-app-3: no facts were gathered"
    );

    // With every host's facts, each host's interface is the one holding its address.
    let gathered: Vec<(String, Facts)> = testbed
        .hosts
        .iter()
        .map(|h| (h.name.clone(), facts_of(&h.name, &h.address.to_string())))
        .collect();
    let view = testbed_view("x", Path::new("/results"), &testbed, &gathered).unwrap();
    assert!(view.hosts.iter().all(|h| h.interface == "eth0"));
    assert_eq!(view.hosts[1].facts, gathered[1].1);
}

#[test]
fn the_error_names_each_host_and_the_commands_error() {
    let error = FactsError {
        hosts: vec![(
            "nantes-db-1".to_owned(),
            "exit 127: sh: 1: ip: not found".to_owned(),
        )],
    };
    assert_eq!(
        error.to_string(),
        "cannot gather the facts of 1 host:\n  nantes-db-1: exit 127: sh: 1: ip: not found"
    );
}
