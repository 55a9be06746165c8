//! Deploys against the fake cloud: everything made and recorded, hosts reached through the
//! gateway's floating IP, destroy removing all of it (also after a half-finished deploy), a
//! second deploy reusing what is there, an existing network and keypair used as they are.

use enos_core::{Become, HostKeySource, Phase};
use enos_provider::Provider;
use enos_provider_openstack::OpenStackState;
use serde_json::json;

use crate::fake::{FakeCloud, PROJECT_ID};
use crate::support::{Logs, Recorder, SCENARIO, assert_no_secret, experiment, provider};

#[tokio::test]
async fn a_deploy_makes_everything_and_destroy_removes_it() {
    let (logs, _guard) = Logs::capture();
    let cloud = FakeCloud::start(false).await;
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), SCENARIO);
    let provider = provider(cloud.openrc());
    let reporter = Recorder::default();

    let testbed = provider
        .deploy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // The hosts, in the scenario's order, the first reached at the floating IP and the others
    // through it.
    let names: Vec<&str> = testbed.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "paris-control-1",
            "paris-compute-1",
            "paris-compute-2",
            "lyon-compute-1"
        ]
    );
    let state = OpenStackState::of(&exp).unwrap();
    let fip = state.floating_ip.clone().unwrap();
    assert!(fip.created);
    assert_eq!(fip.address, "203.0.113.10");
    let gateway = &testbed.hosts[0];
    assert_eq!(gateway.ssh_host.as_deref(), Some("203.0.113.10"));
    assert_eq!(gateway.jump, None);
    for host in &testbed.hosts {
        assert_eq!(host.user, "debian");
        assert_eq!(host.become_root, Some(Become::Sudo));
        assert_eq!(host.host_key, HostKeySource::LearnOnFirstContact);
        assert!(host.address.to_string().starts_with("10.87.0."), "{host:?}");
    }
    for host in &testbed.hosts[1..] {
        let jump = host.jump.as_ref().unwrap();
        assert_eq!(
            (jump.address.as_str(), jump.port, jump.user.as_str()),
            ("203.0.113.10", 22, "debian")
        );
        assert_eq!(host.ssh_host, None);
    }
    assert_eq!(testbed.networks.len(), 2);
    assert_eq!(testbed.networks[0].cidr, "10.87.0.0/24");
    assert_eq!(testbed.networks[0].gateway.to_string(), "10.87.0.1");
    assert!(testbed.ssh.identity.ends_with("ssh/id_ecdsa"));

    // Every id is recorded.
    assert_eq!(state.project_id.as_deref(), Some(PROJECT_ID));
    assert_eq!(state.cloud, "the OS_* environment variables");
    assert_eq!(state.servers.len(), 4);
    for made in [
        &state.network,
        &state.subnet,
        &state.router,
        &state.security_group,
        &state.keypair,
    ] {
        let made = made.as_ref().unwrap();
        assert!(made.created && made.name == "enos-cloudy", "{made:?}");
    }
    assert!(state.router_interface && state.security_group_rules);
    assert_eq!(state.gateway.as_deref(), Some("paris-control-1"));

    {
        let world = cloud.world();
        // What Nova was asked: names, image and flavours by id, the network, the keypair, the
        // experiment's security group, the experiment's metadata.
        let creates: Vec<_> = world
            .requests
            .iter()
            .filter(|r| r.line() == "POST /compute/v2.1/servers")
            .collect();
        assert_eq!(creates.len(), 4);
        let control = &creates[0].body["server"];
        assert_eq!(control["name"], "paris-control-1");
        assert_eq!(control["imageRef"], "img-debian-12");
        assert_eq!(control["flavorRef"], "fl-2");
        assert_eq!(creates[1].body["server"]["flavorRef"], "fl-1");
        assert_eq!(
            control["networks"],
            json!([{"uuid": state.network.as_ref().unwrap().id}])
        );
        assert_eq!(control["key_name"], "enos-cloudy");
        assert_eq!(
            control["security_groups"],
            json!([{"name": state.security_group.as_ref().unwrap().id}])
        );
        assert_eq!(control["metadata"]["enos_experiment"], "cloudy");
        assert!(control.get("user_data").is_none());
        assert!(creates[0].body.get("os:scheduler_hints").is_none());
        // The keypair is the experiment's key.
        let public = std::fs::read_to_string(exp.dir().join("ssh/id_ecdsa.pub")).unwrap();
        let keypair = &world.keypairs[0]["public_key"];
        assert!(
            public.starts_with(keypair.as_str().unwrap()),
            "{public} {keypair}"
        );
        // The router goes to the external network and has its interface on the subnet.
        assert_eq!(
            world.routers[0]["external_gateway_info"]["network_id"],
            "ext-net"
        );
        assert_eq!(world.subnets.last().unwrap()["cidr"], "10.87.0.0/24");
        // The external network was asked for as such.
        assert!(
            world
                .requests
                .iter()
                .any(|r| r.path == "/network/v2.0/networks" && r.query == "router%3Aexternal=true")
        );
        // SSH from anywhere is allowed.
        assert!(
            world
                .security_group_rules
                .iter()
                .any(|r| r["port_range_min"] == 22)
        );
        // Every request but the token's carried a token.
        assert!(
            world
                .requests
                .iter()
                .filter(|r| !r.path.starts_with("/identity"))
                .all(|r| r.token.is_some())
        );
        assert_eq!(world.count("POST", "/identity/v3/auth/tokens"), 1);
        let auth = &world.requests[0].body["auth"]["identity"];
        assert_eq!(auth["methods"], json!(["password"]));
        assert_eq!(auth["password"]["user"]["name"], "demo");
    }
    assert!(
        reporter
            .notes()
            .iter()
            .any(|n| n.contains("floating IP 203.0.113.10 on paris-control-1")),
        "{:?}",
        reporter.notes()
    );

    let described = provider.describe(&exp);
    let row = |label: &str| {
        described
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no row {label} in {described:?}"))
    };
    assert_eq!(row("region"), "RegionOne");
    assert_eq!(
        row("gateway"),
        "paris-control-1 at 203.0.113.10 (the other hosts through it)"
    );
    assert!(row("cloud").contains("/identity/v3 (the OS_* environment variables)"));
    assert!(
        row("on the cloud").starts_with("4 servers, network enos-cloudy"),
        "{}",
        row("on the cloud")
    );

    exp.set_phase(Phase::Deployed).unwrap();
    provider
        .destroy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cloud.world().inventory(), Vec::<String>::new());
    assert!(exp.state().provider_state.is_null());
    let saved = std::fs::read_to_string(exp.dir().join("state.json")).unwrap();
    assert!(saved.contains("\"provider_state\": null"), "{saved}");
    // Destroy again: nothing left, nothing asked.
    let asked = cloud.world().requests.len();
    provider.destroy(&mut exp, &reporter).await.unwrap();
    assert_eq!(cloud.world().requests.len(), asked);

    assert_no_secret(&cloud, exp.dir(), &logs, &reporter.text());
}

#[tokio::test]
async fn a_second_deploy_reuses_what_exists() {
    let cloud = FakeCloud::start(false).await;
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), SCENARIO);
    let provider = provider(cloud.openrc());
    let reporter = Recorder::default();
    let first = provider
        .deploy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let made = cloud.world().inventory();
    let state = OpenStackState::of(&exp).unwrap();

    let second = provider
        .deploy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first, second);
    assert_eq!(OpenStackState::of(&exp).unwrap(), state);
    assert_eq!(cloud.world().inventory(), made);
    {
        let world = cloud.world();
        for path in [
            "/compute/v2.1/servers",
            "/compute/v2.1/os-keypairs",
            "/network/v2.0/networks",
            "/network/v2.0/subnets",
            "/network/v2.0/routers",
            "/network/v2.0/security-groups",
            "/network/v2.0/security-group-rules",
            "/network/v2.0/floatingips",
        ] {
            let posts = world
                .requests
                .iter()
                .filter(|r| r.method == "POST" && r.path == path)
                .count();
            let expected = match path {
                "/compute/v2.1/servers" => 4,
                "/network/v2.0/security-group-rules" => 3,
                _ => 1,
            };
            assert_eq!(posts, expected, "{path}");
        }
        assert_eq!(world.count("PUT", "/network/v2.0/routers/"), 1);
    }

    // A deploy that stopped before recording what it made: found again by name.
    let mut lost = state.clone();
    lost.servers.shift_remove("paris-compute-2");
    lost.network = None;
    lost.floating_ip = None;
    lost.save(&mut exp).unwrap();
    let third = provider
        .deploy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(third, first);
    assert_eq!(cloud.world().inventory(), made);
    let found = OpenStackState::of(&exp).unwrap();
    assert_eq!(found.servers.len(), 4);
    assert_eq!(
        found.servers["paris-compute-2"],
        state.servers["paris-compute-2"]
    );
    assert_eq!(found.network, state.network);
    assert_eq!(
        found.floating_ip, state.floating_ip,
        "the floating IP on the port, made by us"
    );
    assert_eq!(cloud.world().count("POST", "/compute/v2.1/servers"), 4);

    // A router interface added by a deploy that stopped before recording it still goes.
    let mut unrecorded = OpenStackState::of(&exp).unwrap();
    unrecorded.router_interface = false;
    unrecorded.save(&mut exp).unwrap();
    provider
        .destroy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cloud.world().inventory(), Vec::<String>::new());
}

#[tokio::test]
async fn a_half_finished_deploy_is_destroyed() {
    let (logs, _guard) = Logs::capture();
    let cloud = FakeCloud::start(false).await;
    // The third server is refused: the project's quota is reached.
    cloud.world().fail(
        "POST",
        "/compute/v2.1/servers",
        2,
        1,
        403,
        r#"{"forbidden": {"code": 403, "message": "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"}}"#,
    );
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), SCENARIO);
    let provider = provider(cloud.openrc());
    let reporter = Recorder::default();
    let error = provider.deploy(&mut exp, &reporter).await.unwrap_err();
    assert_eq!(
        error.message,
        format!(
            "creating the server paris-compute-2: POST {}/compute/v2.1/servers: 403 Forbidden: \
             Quota exceeded for instances: Requested 1, but already used 2 of 2 instances",
            cloud.base
        )
    );
    // What was made is recorded in the saved state, read back as another command would.
    let dir = exp.dir().to_owned();
    drop(exp);
    let mut exp = enos_core::Experiment::open(&dir).unwrap();
    let state = OpenStackState::of(&exp).unwrap();
    assert_eq!(
        state.servers.keys().collect::<Vec<_>>(),
        ["paris-control-1", "paris-compute-1"]
    );
    assert!(state.network.is_some() && state.router.is_some() && state.keypair.is_some());
    assert!(state.floating_ip.is_none());
    assert_eq!(
        cloud.world().server_names(),
        ["paris-control-1", "paris-compute-1"]
    );

    provider
        .destroy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cloud.world().inventory(), Vec::<String>::new());
    assert!(exp.state().provider_state.is_null());
    assert_no_secret(
        &cloud,
        exp.dir(),
        &logs,
        &format!("{}\n{error}", reporter.text()),
    );
}

#[tokio::test]
async fn an_existing_network_keypair_and_security_group_are_used_as_they_are() {
    let cloud = FakeCloud::start(false).await;
    {
        let mut world = cloud.world();
        world.keypairs.push(json!({"name": "mine", "public_key": "ssh-ed25519 AAAAC3Nza mine", "preexisting": true}));
        world
            .security_groups
            .push(json!({"id": "sg-default", "name": "default", "preexisting": true}));
        // A free floating IP of the project's, which is reused.
        world.floatingips.push(json!({"id": "fip-free", "floating_ip_address": "198.51.100.7", "floating_network_id": "ext-net", "port_id": null, "project_id": PROJECT_ID, "status": "DOWN", "preexisting": true}));
    }
    let text = "\
name: shared
provider:
  openstack:
    image: img-debian-12
    user: root
    flavour: m1.small
    network: {name: shared-net}
    key_name: mine
    security_groups: [default]
    sites: {paris: {availability_zone: zone-a}}
sites:
  paris: {roles: {server: 1}}
  lyon: {roles: {client: 1}}
";
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), text);
    let provider = provider(cloud.openrc());
    let reporter = Recorder::default();
    let testbed = provider
        .deploy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(testbed.hosts[0].ssh_host.as_deref(), Some("198.51.100.7"));
    assert_eq!(testbed.hosts[0].become_root, None);
    assert_eq!(testbed.hosts[1].jump.as_ref().unwrap().user, "root");
    assert_eq!(testbed.networks[0].cidr, "10.140.80.0/22");
    assert_eq!(testbed.networks[0].gateway.to_string(), "10.140.80.1");
    assert!(
        testbed.hosts[0]
            .address
            .to_string()
            .starts_with("10.140.80.")
    );
    {
        let world = cloud.world();
        assert_eq!(
            world.count("POST", "/network/"),
            0,
            "nothing made on Neutron"
        );
        assert_eq!(world.count("POST", "/compute/v2.1/os-keypairs"), 0);
        let creates: Vec<_> = world
            .requests
            .iter()
            .filter(|r| r.line() == "POST /compute/v2.1/servers")
            .collect();
        let server = &creates[0].body["server"];
        assert_eq!(server["key_name"], "mine");
        assert_eq!(server["security_groups"], json!([{"name": "default"}]));
        assert_eq!(server["networks"], json!([{"uuid": "shared-net-id"}]));
        assert_eq!(server["availability_zone"], "zone-a");
        assert!(creates[1].body["server"].get("availability_zone").is_none());
        // The experiment's key goes through cloud-init.
        let user_data = server["user_data"].as_str().unwrap();
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(user_data)
            .unwrap();
        let decoded = String::from_utf8(decoded).unwrap();
        let public = std::fs::read_to_string(exp.dir().join("ssh/id_ecdsa.pub")).unwrap();
        let core: Vec<&str> = public.split_whitespace().take(2).collect();
        assert!(decoded.starts_with("#cloud-config\nssh_authorized_keys:\n  - "));
        assert!(decoded.contains(&core.join(" ")), "{decoded}");
        assert!(world.floatingips[0]["port_id"].is_string());
    }
    let state = OpenStackState::of(&exp).unwrap();
    assert!(!state.network.as_ref().unwrap().created);
    assert!(!state.floating_ip.as_ref().unwrap().created);
    assert!(state.keypair.is_none() && state.security_group.is_none() && state.router.is_none());

    provider
        .destroy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let world = cloud.world();
    assert!(world.servers.is_empty());
    assert_eq!(
        world.count("DELETE", "/network/"),
        0,
        "nothing of the user's is deleted"
    );
    assert_eq!(world.count("DELETE", "/compute/v2.1/os-keypairs"), 0);
    assert_eq!(
        world.floatingips.len(),
        1,
        "the reused floating IP stays the project's"
    );
    assert!(world.floatingips[0]["port_id"].is_null());
}
