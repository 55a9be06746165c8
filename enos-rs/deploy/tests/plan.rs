//! Plans: which hosts do what, rendered before anything runs; errors name the step, the host
//! and the template line.

use std::sync::Arc;

use enos_deploy::plan::{HostAction, Work};
use enos_deploy::script::script;
use enos_deploy::{DeployPlan, PlanError, SecretStore};

/// The plan of `deploy` (a `deploy:` section) for sites paris (2 web, 1 db) and nantes (1 web),
/// on the made-up testbed.
fn plan_of(deploy: &str) -> Result<DeployPlan, PlanError> {
    let text = format!(
        "name: p\nsites:\n  paris: {{roles: {{web: 2, db: 1}}}}\n  nantes: {{roles: {{web: 1}}}}\n\
         vars: {{port: 8080, greeting: hello}}\ndeploy:\n{deploy}"
    );
    let scenario = enos_scenario::parse(&text, "p.yaml", &[&enos_scenario::UncheckedKind("local")])
        .unwrap_or_else(|e| panic!("{e}"));
    let testbed = enos_deploy::example_testbed(&scenario, "/results");
    enos_deploy::plan(
        &scenario.deploy,
        &testbed,
        Arc::new(SecretStore::placeholders()),
    )
}

fn doing(plan: &DeployPlan, step: usize) -> Vec<(&str, &HostAction)> {
    plan.steps[step]
        .tasks
        .iter()
        .filter_map(|t| match &t.work {
            Work::Do(a) => Some((t.host.as_str(), a)),
            Work::Skip(_) => None,
        })
        .collect()
}

#[test]
fn targets_when_and_run_once_choose_the_hosts() {
    let plan = plan_of(
        "  - {run: 'echo {{ host.name }} {{ vars.greeting }}', roles: [web]}\n\
         \x20 - {run: 'echo b', sites: [paris], when: \"host.role != 'db'\"}\n\
         \x20 - {run: 'echo c', hosts: ['paris-web-[2-2]', db]}\n\
         \x20 - {run: 'echo d', roles: [web], run_once: true}\n",
    )
    .unwrap();
    let hosts = |step| -> Vec<&str> { doing(&plan, step).into_iter().map(|(h, _)| h).collect() };
    assert_eq!(hosts(0), ["paris-web-1", "paris-web-2", "nantes-web-1"]);
    assert_eq!(hosts(1), ["paris-web-1", "paris-web-2"]);
    assert_eq!(hosts(2), ["paris-web-2", "paris-db-1"]);
    assert_eq!(hosts(3), ["paris-web-1"]);
    let HostAction::Run { command, .. } = doing(&plan, 0)[2].1 else {
        panic!("a command")
    };
    assert_eq!(command, "echo nantes-web-1 hello");
    // Hosts that sit a step out are listed with why.
    let skipped: Vec<_> = plan.steps[1]
        .tasks
        .iter()
        .filter_map(|t| match &t.work {
            Work::Skip(why) => Some((t.host.as_str(), why.as_str())),
            Work::Do(_) => None,
        })
        .collect();
    assert_eq!(skipped, [("paris-db-1", "when: host.role != 'db'")]);
    let run_once: Vec<_> = plan.steps[3].tasks.iter().map(|t| &t.work).collect();
    assert!(matches!(run_once[1], Work::Skip(why) if why == "run_once: runs on paris-web-1"));
}

#[test]
fn templates_see_hosts_groups_sites_facts_and_secrets() {
    let plan = plan_of(
        "  - template:\n      dest: /etc/peers\n      content: |\n\
         \x20       {% for h in groups.web %}{{ h.name }}={{ h.address }} {% endfor %}\n\
         \x20       site {{ sites[1].name }} {{ sites[1].cidr }} via {{ sites[1].gateway }}\n\
         \x20       me {{ host.interface }} {{ host.facts.os_codename }} {{ host.facts.cpus }}\n\
         \x20       vip {{ free_address('paris') }} pw {{ secret('db') }} in {{ experiment.name }}\n\
         \x20   roles: [db]\n",
    )
    .unwrap();
    let [(host, HostAction::Put { content, mode, .. })] = doing(&plan, 0)[..] else {
        panic!("one file")
    };
    assert_eq!(host, "paris-db-1");
    assert_eq!(mode, "0644");
    assert_eq!(
        String::from_utf8_lossy(content),
        "paris-web-1=10.1.0.2 paris-web-2=10.1.0.3 nantes-web-1=10.2.0.2 \n\
         site nantes 10.2.0.0/16 via 10.2.0.1\n\
         me eth0 bookworm 2\n\
         vip 10.1.255.254 pw secret-db in p\n"
    );
}

#[test]
fn an_undefined_value_stops_the_plan_naming_step_host_and_line() {
    let error = plan_of(
        "  - {run: 'echo ok', roles: [db]}\n\
         \x20 - name: broken\n    template: {content: \"a\\n{{ vars.nope }}\\n\", dest: /x}\n    roles: [web]\n",
    )
    .unwrap_err();
    assert_eq!(error.step, "broken");
    assert_eq!(error.host.as_deref(), Some("paris-web-1"));
    assert!(error.origin.starts_with("p.yaml:8:5: deploy[1]"), "{error}");
    assert!(error.message.contains("undefined"), "{error}");
    assert!(error.message.contains("(line 2)"), "{error}");
}

#[test]
fn owners_users_and_tcp_addresses_that_render_to_shell_code_stop_the_plan() {
    // Literal values are refused when the scenario is read; these come from templates, so they
    // are checked once rendered, before anything runs.
    let hostile = [
        (
            "template: {content: x, dest: /x, owner: \"{{ 'root; touch /tmp/pwned' }}\"}",
            "owner: 'root; touch /tmp/pwned' is not a user name",
        ),
        (
            "template: {content: x, dest: /x, group: \"{{ '$(touch /tmp/pwned)' }}\"}",
            "group: '$(touch /tmp/pwned)' is not a group name",
        ),
        (
            "service: {name: s, command: 'true', user: \"{{ 'a b' }}\"}",
            "user: 'a b' is not a user name",
        ),
        (
            "wait: {tcp: \"{{ '$(touch /tmp/pwned)' }}:80\"}",
            "ready.tcp: '$(touch /tmp/pwned):80' is not a port (1 to 65535) or `address:port`",
        ),
        (
            "wait: {tcp: \"{{ host.address }}:0\"}",
            "ready.tcp: '10.1.0.4:0' is not a port",
        ),
    ];
    for (step, expected) in hostile {
        let error =
            plan_of(&format!("  - name: hostile\n    {step}\n    roles: [db]\n")).expect_err(step);
        assert_eq!(error.step, "hostile");
        assert_eq!(error.host.as_deref(), Some("paris-db-1"));
        assert!(error.origin.starts_with("p.yaml:7:5: deploy[0]"), "{error}");
        assert!(error.message.starts_with(expected), "{step}: {error}");
    }
    // `owner: user:group` gives both; host names and IP literals are valid addresses.
    let plan = plan_of(
        "  - template: {content: x, dest: /x, owner: \"{{ 'www-data:adm' }}\"}\n    roles: [db]\n\
         \x20 - wait: {tcp: \"{{ host.name }}:{{ vars.port }}\"}\n    roles: [db]\n\
         \x20 - wait: {tcp: \"[::1]:22\"}\n    roles: [db]\n",
    )
    .unwrap();
    let [(_, HostAction::Put { owner, group, .. })] = doing(&plan, 0)[..] else {
        panic!("one file")
    };
    assert_eq!(
        (owner.as_deref(), group.as_deref()),
        (Some("www-data"), Some("adm"))
    );
    assert_eq!(
        doing(&plan, 1)[0].1,
        &HostAction::Wait(enos_deploy::plan::Check::Tcp {
            address: "paris-db-1".into(),
            port: 8080
        })
    );
    assert_eq!(
        doing(&plan, 2)[0].1,
        &HostAction::Wait(enos_deploy::plan::Check::Tcp {
            address: "::1".into(),
            port: 22
        })
    );
}

#[test]
fn services_watch_the_earlier_steps_of_their_group_and_fetches_land_in_results() {
    let plan = plan_of(
        "  - {name: conf, template: {content: x, dest: /etc/x}}\n\
         \x20 - {service: {name: app, command: 'run-app', ready: {tcp: '{{ vars.port }}'}, watch: [conf]}}\n\
         \x20 - {fetch: {src: /var/log/app.log}, roles: [db]}\n",
    )
    .unwrap_err_or_plan();
    assert_eq!(plan.steps[1].watch, [0]);
    let HostAction::Service { ready, .. } = doing(&plan, 1)[0].1 else {
        panic!("a service")
    };
    assert_eq!(
        ready.as_ref().map(ToString::to_string).as_deref(),
        Some("tcp 10.1.0.2:8080")
    );
    let HostAction::Fetch { dest, .. } = doing(&plan, 2)[0].1 else {
        panic!("a fetch")
    };
    assert_eq!(dest, std::path::Path::new("fetched/paris-db-1/app.log"));
}

trait PlanOk {
    fn unwrap_err_or_plan(self) -> DeployPlan;
}

impl PlanOk for Result<DeployPlan, PlanError> {
    fn unwrap_err_or_plan(self) -> DeployPlan {
        self.unwrap_or_else(|e| panic!("{e}"))
    }
}

#[test]
fn a_plan_lists_the_services_it_starts_per_host_for_undoing_them() {
    let plan = plan_of(
        "  - {service: {name: web, command: 'run-web'}, roles: [web]}\n\
         \x20 - {service: {name: db, command: 'run-db'}, roles: [db]}\n\
         \x20 - {service: {name: web, command: 'run-web --again'}, roles: [web], when: \"host.site == 'paris'\"}\n\
         \x20 - {service: {name: cache, command: 'run-cache'}, hosts: [paris-web-1]}\n",
    )
    .unwrap();
    let services: Vec<(String, Vec<String>)> = plan.services().into_iter().collect();
    let list = |host: &str, names: &[&str]| {
        (
            host.to_owned(),
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        services,
        vec![
            list("nantes-web-1", &["web"]),
            list("paris-db-1", &["db"]),
            list("paris-web-1", &["web", "cache"]),
            list("paris-web-2", &["web"]),
        ]
    );
}

#[test]
fn a_copied_file_or_directory_is_one_buffer_shared_by_every_host_down_to_its_script() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    let content: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&big, &content).unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/big.bin"), &content).unwrap();
    let plan = plan_of(&format!(
        "  - copy: {{src: {0}, dest: /srv/big.bin}}\n\
         \x20 - copy: {{src: {1}, dest: /srv/tree}}\n\
         \x20 - copy: {{src: {0}, dest: /srv/again.bin}}\n\
         \x20 - template: {{content: '{{{{ host.name }}}}', dest: /etc/name}}\n",
        big.display(),
        tree.display()
    ))
    .unwrap();
    // The file: read once for the four hosts and both steps that copy it, into one buffer,
    // which each host's script sends as it is.
    let mut buffers = Vec::new();
    for step in [0, 2] {
        for (_, action) in doing(&plan, step) {
            let HostAction::Put { content: c, .. } = action else {
                panic!("a file: {action:?}")
            };
            assert_eq!(c.len(), content.len());
            buffers.push(c.bytes().as_ptr());
            let sent = script(action, false, 10);
            assert_eq!(sent.input.len(), 2, "the script, then the content");
            assert_eq!(sent.input[1].as_ptr(), c.bytes().as_ptr());
        }
    }
    assert_eq!(buffers.len(), 8);
    assert!(buffers.iter().all(|&p| p == buffers[0]), "{buffers:?}");
    // The directory: one archive, one manifest.
    let dirs: Vec<_> = doing(&plan, 1)
        .into_iter()
        .map(|(_, action)| match action {
            HostAction::PutDir {
                archive, manifest, ..
            } => (archive.as_ptr(), manifest.as_ptr()),
            _ => panic!("a directory: {action:?}"),
        })
        .collect();
    assert_eq!(dirs.len(), 4);
    assert!(dirs.iter().all(|&d| d == dirs[0]), "{dirs:?}");
    // Templates are each host's own.
    let names: Vec<_> = doing(&plan, 3)
        .into_iter()
        .map(|(host, action)| match action {
            HostAction::Put { content, .. } => {
                assert_eq!(std::str::from_utf8(content).unwrap(), host);
                content.bytes().as_ptr()
            }
            _ => panic!("a file: {action:?}"),
        })
        .collect();
    assert_eq!(
        names
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        4,
        "one buffer per host"
    );
}
