//! Deploys against the fake API that go well: the hosts handed back, what is recorded, what is
//! sent, reuse of jobs, walltime extension, VLANs, and destroy.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use enos_core::HostKeySource;
use enos_provider::Provider;
use enos_provider_g5k::{G5kConfig, G5kProvider, G5kState, NameResolution};
use serde_json::{Value, json};

use crate::common::{
    Logs, Recorder, TWO_SITES, assert_no_secret_in, assert_no_secret_under, config, experiment,
    provider, two_sites_with,
};
use crate::fake_g5k::{FakeG5k, USER, World};

fn hosts(testbed: &enos_core::Testbed) -> Vec<String> {
    testbed
        .hosts
        .iter()
        .map(|h| {
            format!(
                "{} {}/{} {} {} via {}",
                h.name,
                h.site,
                h.role,
                h.address,
                h.ssh_host.as_deref().unwrap_or("-"),
                h.jump
                    .as_ref()
                    .map(|j| format!("{}@{}", j.user, j.address))
                    .unwrap_or_else(|| "-".into())
            )
        })
        .collect()
}

#[tokio::test]
async fn deploy_submits_one_job_per_site_installs_the_nodes_and_destroy_deletes_the_jobs() {
    let logs = Logs::global();
    let fake = FakeG5k::start(crate::common::SECRET).await;
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), TWO_SITES);
    let reporter = Recorder::default();
    let provider = provider(&fake);

    let testbed = provider
        .deploy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e} ({:?})\n{}", e.hint, reporter.text()));
    assert_eq!(
        hosts(&testbed),
        [
            "paris-server-1 paris/server 172.16.96.1 paravance-1.rennes.grid5000.fr via jdoe@access.grid5000.fr",
            "paris-client-1 paris/client 172.16.96.2 paravance-2.rennes.grid5000.fr via jdoe@access.grid5000.fr",
            "paris-client-2 paris/client 172.16.96.3 paravance-3.rennes.grid5000.fr via jdoe@access.grid5000.fr",
            "lyon-client-1 lyon/client 172.16.64.1 gros-1.nancy.grid5000.fr via jdoe@access.grid5000.fr",
        ]
    );
    let host = &testbed.hosts[0];
    assert_eq!((host.user.as_str(), host.port), ("root", 22));
    assert_eq!(host.host_key, HostKeySource::LearnOnFirstContact);
    let jump = host.jump.as_ref().unwrap();
    assert_eq!(
        jump.identity.as_deref(),
        Some("/home/jdoe/.ssh/id_ed25519".as_ref())
    );
    assert_eq!(testbed.ssh.identity, exp.dir().join("ssh/id_ecdsa"));

    // One job per Grid'5000 site, with the documented body.
    let posts: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.is("POST", "/jobs"))
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].path, "/stable/sites/rennes/jobs");
    assert_eq!(
        posts[0].body,
        Some(json!({
            "name": "enos-g5k-test",
            "resources": "{cluster='paravance'}/nodes=3,walltime=01:00:00",
            "types": ["deploy"],
            "command": "sleep 31536000",
            "queue": "default",
        }))
    );
    assert_eq!(posts[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(posts[1].path, "/stable/sites/nancy/jobs");
    assert_eq!(
        posts[1].body.as_ref().unwrap()["resources"],
        "{cluster='gros'}/nodes=1,walltime=01:00:00"
    );
    // Before submitting, the active jobs of that name are looked for.
    let list = fake
        .requests()
        .into_iter()
        .find(|r| r.is("GET", "/sites/rennes/jobs"))
        .unwrap();
    assert_eq!(list.params["name"], "enos-g5k-test");
    assert_eq!(list.params["state"], "waiting,launching,running");
    assert_eq!(list.params["user"], USER);
    // kadeploy with the experiment's public key.
    let key = std::fs::read_to_string(exp.dir().join("ssh/id_ecdsa.pub")).unwrap();
    let deployments: Vec<Value> = fake
        .requests()
        .into_iter()
        .filter(|r| r.is("POST", "/deployments"))
        .filter_map(|r| r.body)
        .collect();
    assert_eq!(
        deployments[0],
        json!({
            "nodes": ["paravance-1.rennes.grid5000.fr", "paravance-2.rennes.grid5000.fr", "paravance-3.rennes.grid5000.fr"],
            "environment": "debian12-min",
            "key": key.trim(),
        })
    );
    assert_eq!(deployments.len(), 2);

    // The state records the jobs and deployments.
    let state = G5kState::of(&exp);
    assert_eq!(state.api_url, fake.base_url());
    assert_eq!(
        state
            .sites
            .iter()
            .map(|(a, b)| format!("{a}={b}"))
            .collect::<Vec<_>>(),
        ["paris=rennes", "lyon=nancy"]
    );
    let jobs: Vec<String> = state
        .jobs
        .iter()
        .map(|j| format!("{} {} {} {}", j.site, j.uid, j.state, j.deployed.len()))
        .collect();
    assert_eq!(
        jobs,
        ["rennes 1361479 running 3", "nancy 1361480 running 1"]
    );
    assert_eq!(state.jobs[0].deployments.len(), 1);
    let described: BTreeMap<String, String> = provider.describe(&exp).into_iter().collect();
    assert_eq!(
        described["OAR jobs"],
        "1361479 on rennes (running), 1361480 on nancy (running)"
    );
    assert_eq!(described["walltime"], "01:00:00");
    assert_eq!(described["kadeploy"], "debian12-min on 4 nodes");

    // Destroy deletes both jobs and leaves nothing recorded.
    provider.destroy(&mut exp, &reporter).await.unwrap();
    assert_eq!(fake.count("DELETE", "/sites/rennes/jobs/1361479"), 1);
    assert_eq!(fake.count("DELETE", "/sites/nancy/jobs/1361480"), 1);
    assert_eq!(exp.state().provider_state, Value::Null);
    assert!(fake.world(|w| w.jobs.values().all(|j| j.state == "error")));

    // Every request carried the credentials; none of them reached a file, a note, a log or
    // the provider's `Debug`.
    assert!(fake.requests().iter().all(|r| r.authorization.is_some()));
    assert_no_secret_under(exp.dir());
    assert_no_secret_in("the notes", &reporter.text());
    assert_no_secret_in("the provider's Debug", &format!("{provider:?}"));
    let logs = logs.text();
    assert!(logs.contains("Grid'5000 API request"), "{logs}");
    assert_no_secret_in("the logs", &logs);
}

#[tokio::test]
async fn a_second_deploy_reuses_the_recorded_job_and_the_installed_nodes() {
    let fake = FakeG5k::start(crate::common::SECRET).await;
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), TWO_SITES);
    let reporter = Recorder::default();
    let provider = provider(&fake);
    let first = provider.deploy(&mut exp, &reporter).await.unwrap();
    let key = std::fs::read_to_string(exp.dir().join("ssh/id_ecdsa.pub")).unwrap();
    let before = fake.requests().len();

    let second = provider.deploy(&mut exp, &reporter).await.unwrap();
    assert_eq!(second, first);
    assert_eq!(fake.count("POST", "/jobs"), 2, "no job submitted again");
    assert_eq!(
        fake.count("POST", "/deployments"),
        2,
        "no node installed again"
    );
    let again: Vec<String> = fake.requests()[before..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        again.contains(&"GET /stable/sites/rennes/jobs/1361479".to_owned()),
        "{again:?}"
    );
    assert_eq!(
        std::fs::read_to_string(exp.dir().join("ssh/id_ecdsa.pub")).unwrap(),
        key,
        "the key the nodes hold is kept"
    );
    assert!(
        reporter
            .text()
            .contains("reusing the OAR job 1361479 on rennes (running)")
    );
}

#[tokio::test]
async fn a_deploy_from_a_new_experiment_reuses_the_active_job_of_the_same_name() {
    let fake = FakeG5k::start(crate::common::SECRET).await;
    let provider = provider(&fake);
    let first_root = tempfile::tempdir().unwrap();
    let mut first = experiment(first_root.path(), TWO_SITES);
    provider
        .deploy(&mut first, &Recorder::default())
        .await
        .unwrap();
    assert_eq!(fake.count("POST", "/jobs"), 2);

    // Another results directory, nothing recorded: the jobs are found by name.
    let other_root = tempfile::tempdir().unwrap();
    let mut other = experiment(other_root.path(), TWO_SITES);
    let reporter = Recorder::default();
    let testbed = provider.deploy(&mut other, &reporter).await.unwrap();
    assert_eq!(
        fake.count("POST", "/jobs"),
        2,
        "the fake saw no new submission"
    );
    assert_eq!(testbed.hosts.len(), 4);
    let uids: Vec<u64> = G5kState::of(&other).jobs.iter().map(|j| j.uid).collect();
    assert_eq!(uids, [1_361_479, 1_361_480]);
    assert!(
        reporter
            .text()
            .contains("reusing the active OAR job 1361479 named 'enos-g5k-test' on rennes"),
        "{}",
        reporter.text()
    );
}

#[tokio::test]
async fn extend_asks_oar_for_more_walltime_on_every_job() {
    let fake = FakeG5k::start(crate::common::SECRET).await;
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), TWO_SITES);
    let provider = provider(&fake);
    let reporter = Recorder::default();
    provider.deploy(&mut exp, &reporter).await.unwrap();
    provider
        .extend(&mut exp, Duration::from_secs(90 * 60), &reporter)
        .await
        .unwrap();
    let changes = fake.world(|w| {
        w.jobs
            .values()
            .map(|j| (j.site.clone(), j.walltime_requests.clone()))
            .collect::<Vec<_>>()
    });
    let expected =
        json!({"walltime": "+01:30", "force": false, "delay_next_jobs": false, "whole": true});
    assert_eq!(
        changes,
        [
            ("rennes".to_owned(), vec![expected.clone()]),
            ("nancy".to_owned(), vec![expected])
        ]
    );
    let walltimes: Vec<String> = G5kState::of(&exp)
        .jobs
        .iter()
        .map(|j| j.walltime.to_string())
        .collect();
    assert_eq!(walltimes, ["02:30:00", "02:30:00"]);
    let described: BTreeMap<String, String> = provider.describe(&exp).into_iter().collect();
    assert_eq!(described["walltime"], "02:30:00");
}

#[tokio::test]
async fn a_vlan_is_reserved_passed_to_kadeploy_and_names_the_hosts() {
    let fake = FakeG5k::with(World::default()).await;
    let root = tempfile::tempdir().unwrap();
    let text = two_sites_with("    vlan: kavlan\n    monitor: wattmetre_power_watt\n");
    let mut exp = experiment(root.path(), &text);
    let names: BTreeMap<String, IpAddr> = [
        ("paravance-1-kavlan-4.rennes.grid5000.fr", "10.24.2.1"),
        ("paravance-2-kavlan-4.rennes.grid5000.fr", "10.24.2.2"),
        ("paravance-3-kavlan-4.rennes.grid5000.fr", "10.24.2.3"),
        ("gros-1-kavlan-4.nancy.grid5000.fr", "10.16.2.1"),
    ]
    .into_iter()
    .map(|(n, a)| (n.to_owned(), a.parse().unwrap()))
    .collect();
    // Inside Grid'5000: no credentials, no jump host.
    let provider = G5kProvider::new(G5kConfig {
        inside_grid5000: Some(true),
        credentials: None,
        username: Some(USER.into()),
        resolution: NameResolution::Fixed(names),
        ..config(&fake)
    });
    let testbed = provider
        .deploy(&mut exp, &Recorder::default())
        .await
        .unwrap();
    assert_eq!(
        hosts(&testbed)[0],
        "paris-server-1 paris/server 10.24.2.1 paravance-1-kavlan-4.rennes.grid5000.fr via -"
    );
    let post = fake
        .requests()
        .into_iter()
        .find(|r| r.is("POST", "/sites/rennes/jobs"))
        .unwrap();
    let body = post.body.unwrap();
    assert_eq!(
        body["resources"],
        "{cluster='paravance'}/nodes=3+{type='kavlan'}/vlan=1,walltime=01:00:00"
    );
    assert_eq!(
        body["types"],
        json!(["deploy", "monitor=wattmetre_power_watt"])
    );
    let deployment = fake
        .requests()
        .into_iter()
        .find(|r| r.is("POST", "/sites/rennes/deployments"))
        .unwrap();
    assert_eq!(deployment.body.unwrap()["vlan"], "4");
    assert!(fake.requests().iter().all(|r| r.authorization.is_none()));
    assert_eq!(G5kState::of(&exp).jobs[0].vlan.as_deref(), Some("4"));
}

#[tokio::test]
async fn a_cluster_missing_from_the_table_is_found_in_the_reference_api() {
    let fake = FakeG5k::start(crate::common::SECRET).await;
    let root = tempfile::tempdir().unwrap();
    let text = TWO_SITES.replace("lyon: {cluster: gros}", "lyon: {cluster: newcluster}");
    let mut exp = experiment(root.path(), &text);
    let reporter = Recorder::default();
    let testbed = provider(&fake).deploy(&mut exp, &reporter).await.unwrap();
    assert_eq!(
        testbed.host("lyon-client-1").unwrap().ssh_host.as_deref(),
        Some("newcluster-1.lille.grid5000.fr")
    );
    assert_eq!(fake.count("GET", "/stable/sites"), 1);
    assert_eq!(G5kState::of(&exp).sites["lyon"], "lille");
    assert!(
        reporter
            .text()
            .contains("the cluster newcluster is in lille")
    );
}
