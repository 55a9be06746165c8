//! The example scenarios that deploy real services on the local provider: etcd across three
//! sites, Keystone on three sites.

use crate::common::{Workspace, assert_success, can_use_namespaces, repo_root, text, traces_of};

/// A workspace holding the example scenario `name` (from `scenarios/`).
fn example(name: &str) -> Workspace {
    let source = std::fs::read_to_string(repo_root().join("scenarios").join(name)).unwrap();
    Workspace::new(&source)
}

/// Deploys the workspace's scenario; fails the test with the output unless it succeeds.
fn deploy(ws: &Workspace) -> String {
    let out = ws.enos(&["deploy", "scenario.yaml"]);
    assert_success(&out, "enos deploy");
    text(&out.stdout)
}

/// The totals line of a deploy's output.
fn totals(out: &str) -> &str {
    out.lines()
        .find(|l| l.starts_with("deploy steps: "))
        .unwrap_or_else(|| panic!("no totals in:\n{out}"))
}

#[test]
fn etcd_three_sites_is_healthy_on_every_member_and_a_second_deploy_changes_nothing() {
    if !can_use_namespaces("etcd_three_sites") {
        return;
    }
    let _loading = crate::common::loading();
    let ws = example("etcd-3sites.yaml");
    let first = deploy(&ws);
    assert!(totals(&first).contains(" 0 failed"), "{first}");

    // `etcdctl endpoint health` on every member, against its own address; every member sees
    // the three.
    let health = ws.enos(&[
        "exec",
        "--roles",
        "etcd",
        "--",
        "export ETCDCTL_API=3; a=$(hostname -i | cut -d' ' -f1); \
         etcdctl --endpoints=http://$a:2379 endpoint health 2>&1 && \
         etcdctl --endpoints=http://$a:2379 member list | wc -l",
    ]);
    assert_success(&health, "etcdctl endpoint health on every member");
    let out = text(&health.stdout);
    assert_eq!(
        out.matches(" is healthy: successfully committed proposal")
            .count(),
        3,
        "{out}"
    );
    assert_eq!(out.lines().filter(|l| *l == "3").count(), 3, "{out}");
    assert!(out.contains("3 hosts: 3 ok, 0 failed"), "{out}");

    let second = deploy(&ws);
    assert!(
        totals(&second).contains(": 0 changed, 14 unchanged, 0 skipped, 0 failed"),
        "{second}"
    );
    let prefix = ws.prefix();
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
    assert_eq!(traces_of(&prefix), Vec::<String>::new());
}
