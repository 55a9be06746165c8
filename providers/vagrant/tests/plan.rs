//! `enos deploy --dry-run`: the plan says what a deploy would write and run, from the scenario
//! alone (snapshots of its text).

use enos_provider::{Provider, ProvisionPlan};
use enos_provider_vagrant::{VagrantConfig, VagrantProvider};

use crate::common::parse;

/// The plan as `--dry-run` might show it: each action, then its body.
fn text(plan: &ProvisionPlan) -> String {
    let mut out = format!("provider: {}\n", plan.provider);
    for (i, action) in plan.actions.iter().enumerate() {
        out.push_str(&format!("{}. {} ({})\n", i + 1, action.what, action.why));
        if let Some(body) = &action.body {
            for line in body.lines() {
                out.push_str(&format!("   | {line}\n"));
            }
        }
    }
    out
}

fn example(backend: &str) -> String {
    std::fs::read_to_string("../../scenarios/vagrant.yaml")
        .unwrap()
        .replace("backend: libvirt ", &format!("backend: {backend} "))
}

/// A provider whose `vagrant` does not exist: planning runs nothing.
fn provider() -> VagrantProvider {
    VagrantProvider::new(VagrantConfig {
        program: "/nonexistent/vagrant".into(),
        ..VagrantConfig::default()
    })
}

#[test]
fn the_libvirt_plan_holds_the_vagrantfile_and_the_commands() {
    let scenario = parse(&example("libvirt")).unwrap_or_else(|e| panic!("{e}"));
    let plan = provider().plan(&scenario).unwrap();
    let whats: Vec<_> = plan.actions.iter().map(|a| a.what.as_str()).collect();
    assert_eq!(
        whats,
        [
            "make ssh/id_ecdsa unless it exists",
            "write vagrant/Vagrantfile",
            "run vagrant plugin list",
            "run vagrant up --provider=libvirt",
            "run vagrant ssh-config"
        ]
    );
    insta::assert_snapshot!("plan-libvirt", text(&plan));
}

#[test]
fn the_virtualbox_plan_needs_no_plugin() {
    let scenario = parse(&example("virtualbox")).unwrap_or_else(|e| panic!("{e}"));
    let plan = provider().plan(&scenario).unwrap();
    let whats: Vec<_> = plan.actions.iter().map(|a| a.what.as_str()).collect();
    assert_eq!(
        whats,
        [
            "make ssh/id_ecdsa unless it exists",
            "write vagrant/Vagrantfile",
            "run vagrant up --provider=virtualbox",
            "run vagrant ssh-config"
        ]
    );
    let body = plan.actions[1].body.as_deref().unwrap();
    assert!(body.contains("machine.vm.provider :virtualbox do |vb|"));
    assert!(!body.contains(":libvirt"));
    insta::assert_snapshot!("plan-virtualbox", text(&plan));
}
