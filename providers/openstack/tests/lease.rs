//! Chameleon's leases: one made through Blazar (waited for, its host reservation the servers'
//! scheduler hint, extended, deleted on destroy), an existing reservation passed as it is, a
//! cloud without Blazar.

use std::time::Duration;

use enos_provider::Provider;
use enos_provider_openstack::OpenStackState;
use serde_json::json;

use crate::fake::FakeCloud;
use crate::support::{Logs, Recorder, assert_no_secret, experiment, provider};

const LEASED: &str = "\
name: chi
provider:
  openstack:
    image: debian-12
    user: cc
    flavour: baremetal
    network: {name: shared-net}
    lease: {create: {start: now, end: +4h, resource_properties: '[\"==\", \"$node_type\", \"compute_skylake\"]'}}
sites:
  uc: {roles: {server: 1, client: 2}}
";

#[tokio::test]
async fn a_lease_is_made_waited_for_extended_and_deleted() {
    let (logs, _guard) = Logs::capture();
    let cloud = FakeCloud::start(true).await;
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), LEASED);
    let provider = provider(cloud.openrc());
    let reporter = Recorder::default();
    let before = jiff::Timestamp::now();
    provider
        .deploy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let state = OpenStackState::of(&exp).unwrap();
    let lease = state.lease.clone().unwrap();
    assert!(lease.created);
    assert_eq!(lease.name, "enos-chi");
    {
        let world = cloud.world();
        let made: Vec<_> = world
            .requests
            .iter()
            .filter(|r| r.line() == "POST /reservation/v1/leases")
            .collect();
        assert_eq!(made.len(), 1);
        let body = &made[0].body;
        assert_eq!(body["name"], "enos-chi");
        assert_eq!(body["start_date"], "now");
        assert_eq!(
            body["reservations"],
            json!([{
                "resource_type": "physical:host", "min": 3, "max": 3,
                "hypervisor_properties": "",
                "resource_properties": "[\"==\", \"$node_type\", \"compute_skylake\"]",
            }])
        );
        // The end is four hours after now, in Blazar's format (UTC).
        let end = body["end_date"].as_str().unwrap();
        let end: jiff::civil::DateTime =
            jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", end).unwrap();
        let end = end.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp();
        let hours = end.duration_since(before).as_secs_f64() / 3600.0;
        assert!((3.95..=4.01).contains(&hours), "{hours}");
        // The lease was waited for before any server was made.
        let active_at = world
            .requests
            .iter()
            .position(|r| r.line() == format!("GET /reservation/v1/leases/{}", lease.id))
            .unwrap();
        let first_server = world
            .requests
            .iter()
            .position(|r| r.line() == "POST /compute/v2.1/servers")
            .unwrap();
        assert!(active_at < first_server);
        // Pending twice, then active.
        assert_eq!(
            world.count("GET", &format!("/reservation/v1/leases/{}", lease.id)),
            3
        );
        // Every server carries the host reservation as its scheduler hint.
        let reservation = world.leases[0]["reservations"][0]["id"].clone();
        assert_eq!(state.reservation.as_deref(), reservation.as_str());
        for server in &world.servers {
            assert_eq!(
                server["scheduler_hints"],
                json!({"reservation": reservation})
            );
        }
    }
    assert!(
        reporter
            .notes()
            .iter()
            .any(|n| n.starts_with("made the Blazar lease enos-chi"))
    );
    let described = provider.describe(&exp);
    assert!(
        described
            .iter()
            .any(|(l, v)| l == "on the cloud" && v.contains("lease enos-chi"))
    );

    // Extended by an hour: its end moves.
    provider
        .extend(&mut exp, Duration::from_secs(3600), &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    {
        let world = cloud.world();
        let update = world
            .requests
            .iter()
            .find(|r| r.method == "PUT" && r.path.starts_with("/reservation/v1/leases/"))
            .unwrap();
        assert_eq!(update.body, json!({"end_date": "2026-01-01 05:00"}));
    }

    // A second deploy keeps the lease.
    provider.deploy(&mut exp, &reporter).await.unwrap();
    assert_eq!(cloud.world().count("POST", "/reservation/v1/leases"), 1);

    provider
        .destroy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let world = cloud.world();
    assert!(world.leases.is_empty());
    assert!(world.servers.is_empty());
    // The lease goes after the servers that used it.
    let last_server = world
        .requests
        .iter()
        .rposition(|r| r.method == "DELETE" && r.path.starts_with("/compute/v2.1/servers/"))
        .unwrap();
    let lease_deleted = world
        .requests
        .iter()
        .position(|r| r.method == "DELETE" && r.path.starts_with("/reservation/v1/leases/"))
        .unwrap();
    assert!(last_server < lease_deleted);
    drop(world);
    assert_no_secret(&cloud, exp.dir(), &logs, &reporter.text());
}

#[tokio::test]
async fn an_existing_reservation_is_the_scheduler_hint_and_is_kept() {
    let cloud = FakeCloud::start(true).await;
    let text = LEASED.replace(
        "lease: {create: {start: now, end: +4h, resource_properties: '[\"==\", \"$node_type\", \"compute_skylake\"]'}}",
        "lease: {reservation: 5cd8d0e4-rsv}",
    );
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), &text);
    let provider = provider(cloud.openrc());
    let reporter = Recorder::default();
    provider
        .deploy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    {
        let world = cloud.world();
        assert_eq!(world.count("POST", "/reservation/"), 0);
        for server in &world.servers {
            assert_eq!(
                server["scheduler_hints"],
                json!({"reservation": "5cd8d0e4-rsv"})
            );
        }
    }
    let error = provider
        .extend(&mut exp, Duration::from_secs(600), &reporter)
        .await
        .unwrap_err();
    assert!(
        error
            .message
            .contains("the reservation 5cd8d0e4-rsv is not the experiment's own")
    );
    provider.destroy(&mut exp, &reporter).await.unwrap();
    assert_eq!(cloud.world().count("DELETE", "/reservation/"), 0);
    assert!(cloud.world().servers.is_empty());
}

#[tokio::test]
async fn a_lease_on_a_cloud_without_blazar_is_refused_before_anything_is_made() {
    let cloud = FakeCloud::start(false).await;
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), LEASED);
    let provider = provider(cloud.openrc());
    let error = provider
        .deploy(&mut exp, &Recorder::default())
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "`lease` needs Blazar, and the cloud's catalogue has no `reservation` service"
    );
    assert_eq!(
        cloud.world().requests.len(),
        1,
        "only the token was asked for"
    );
}

#[tokio::test]
async fn a_lease_in_error_is_reported() {
    let cloud = FakeCloud::start(true).await;
    cloud.world().lease_polls = 100;
    cloud.world().fail(
        "GET",
        "/reservation/v1/leases/",
        0,
        1,
        200,
        r#"{"lease": {"id": "lease-x", "name": "enos-chi", "status": "ERROR", "degraded": true, "start_date": "2026-01-01T00:00:00.000000", "reservations": [{"id": "rsv-x", "status": "error", "resource_type": "physical:host", "missing_resources": true}]}}"#,
    );
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), LEASED);
    let provider = provider(cloud.openrc());
    let reporter = Recorder::default();
    let error = provider.deploy(&mut exp, &reporter).await.unwrap_err();
    // The lease made is recorded, and destroy deletes it.
    let lease = OpenStackState::of(&exp).unwrap().lease.unwrap();
    assert_eq!(
        error.message,
        format!(
            "the Blazar lease enos-chi ({}) is ERROR (degraded, hosts missing, reservation \
             rsv-x in error)",
            lease.id
        )
    );
    provider.destroy(&mut exp, &reporter).await.unwrap();
    assert!(cloud.world().leases.is_empty());
}
