//! Credentials and failures: application credentials, clouds.yaml, a refused password, an
//! expired token renewed once, what a 4xx body says, a 5xx retried, a server ending in ERROR.

use enos_provider::Provider;
use enos_provider_openstack::{OpenStackConfig, OpenStackProvider, OpenStackState};
use serde_json::json;

use crate::fake::{self, FakeCloud};
use crate::support::{Logs, Recorder, SCENARIO, assert_no_secret, experiment, provider};

#[tokio::test]
async fn an_application_credential_authenticates() {
    let (logs, _guard) = Logs::capture();
    let cloud = FakeCloud::start(false).await;
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), SCENARIO);
    let provider = provider(cloud.app_credential_env());
    let reporter = Recorder::default();
    let testbed = provider
        .deploy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(testbed.hosts.len(), 4);
    {
        let world = cloud.world();
        let auth = &world.requests[0];
        assert_eq!(auth.line(), "POST /identity/v3/auth/tokens");
        assert_eq!(
            auth.body["auth"]["identity"]["methods"],
            json!(["application_credential"])
        );
        assert_eq!(
            auth.body["auth"]["identity"]["application_credential"]["id"],
            fake::APP_CRED_ID
        );
        // An application credential carries its own scope.
        assert!(auth.body["auth"].get("scope").is_none());
    }
    provider.destroy(&mut exp, &reporter).await.unwrap();
    assert_eq!(cloud.world().inventory(), Vec::<String>::new());
    assert_no_secret(&cloud, exp.dir(), &logs, &reporter.text());
}

#[tokio::test]
async fn a_refused_password_is_a_clear_error_without_the_password() {
    let (logs, _guard) = Logs::capture();
    let cloud = FakeCloud::start(false).await;
    let mut env = cloud.openrc();
    env.insert("OS_PASSWORD".into(), "pw-Wrong-Guess-77".into());
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), SCENARIO);
    let provider = provider(env);
    let reporter = Recorder::default();
    let error = provider.deploy(&mut exp, &reporter).await.unwrap_err();
    assert_eq!(
        error.message,
        format!(
            "Keystone ({}) refused user demo (domain Default) in project lab (domain Default) \
             from the OS_* environment variables: 401 Unauthorized: The request you have made \
             requires authentication.",
            cloud.auth_url()
        )
    );
    assert_eq!(
        error.hint.as_deref(),
        Some(
            "check the user, password and project in the OS_* environment variables (and that \
             it is not expired)"
        )
    );
    // Once: a refused password is not retried.
    assert_eq!(cloud.world().requests.len(), 1);
    assert!(exp.state().provider_state.is_null());
    let shown = format!("{error:?} {}", reporter.text());
    assert!(!shown.contains("pw-Wrong-Guess-77"));
    assert!(!logs.text().contains("pw-Wrong-Guess-77"));
}

#[tokio::test]
async fn a_clouds_yaml_entry_gives_the_credentials() {
    let cloud = FakeCloud::start(false).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("clouds.yaml"),
        format!(
            "clouds:\n  lab:\n    auth:\n      auth_url: {}\n      username: demo\n      \
             project_name: lab\n      user_domain_name: Default\n      project_domain_name: \
             Default\n    region_name: RegionOne\n    interface: public\n",
            cloud.auth_url()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("secure.yaml"),
        format!(
            "clouds:\n  lab:\n    auth:\n      password: {}\n",
            fake::PASSWORD
        ),
    )
    .unwrap();
    let text = SCENARIO.replace(
        "    image: debian-12\n",
        "    cloud: lab\n    image: debian-12\n",
    );
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), &text);
    let provider = OpenStackProvider::new(OpenStackConfig {
        environment: Some(Default::default()),
        clouds_yaml_dirs: vec![dir.path().to_owned()],
        ..crate::support::provider(Default::default())
            .config()
            .clone()
    });
    let reporter = Recorder::default();
    provider
        .deploy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let state = OpenStackState::of(&exp).unwrap();
    assert_eq!(
        state.cloud,
        format!(
            "the clouds.yaml entry `lab` of {}",
            dir.path().join("clouds.yaml").display()
        )
    );
    // A wrong entry's name says which entries there are.
    let other = text.replace("cloud: lab", "cloud: elsewhere");
    let root2 = tempfile::tempdir().unwrap();
    let mut exp2 = experiment(root2.path(), &other);
    let error = provider.deploy(&mut exp2, &reporter).await.unwrap_err();
    assert!(
        error
            .message
            .ends_with("has no entry `elsewhere` under `clouds` (it has: lab)"),
        "{}",
        error.message
    );
    provider.destroy(&mut exp, &reporter).await.unwrap();
    assert_eq!(cloud.world().inventory(), Vec::<String>::new());
}

#[tokio::test]
async fn an_expired_token_is_renewed_once() {
    let cloud = FakeCloud::start(false).await;
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), SCENARIO);
    let provider = provider(cloud.openrc());
    let reporter = Recorder::default();
    // The token expires after the first requests: a 401 on listing the flavours.
    cloud.world().fail(
        "GET",
        "/compute/v2.1/flavors",
        0,
        1,
        401,
        r#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#,
    );
    provider
        .deploy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    {
        let world = cloud.world();
        assert_eq!(world.count("POST", "/identity/v3/auth/tokens"), 2);
        assert_eq!(world.count("GET", "/compute/v2.1/flavors"), 2);
        let flavours: Vec<_> = world
            .requests
            .iter()
            .filter(|r| r.line() == "GET /compute/v2.1/flavors")
            .collect();
        assert_ne!(
            flavours[0].token, flavours[1].token,
            "the second try has a new token"
        );
    }
    // A token refused even when new: a clear error, after one renewal only.
    cloud.world().fail(
        "GET",
        "/compute/v2.1/flavors",
        0,
        2,
        401,
        r#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#,
    );
    let before = cloud.world().count("POST", "/identity/v3/auth/tokens");
    let error = provider.deploy(&mut exp, &reporter).await.unwrap_err();
    assert_eq!(
        error.message,
        format!(
            "GET {}/compute/v2.1/flavors: 401 Unauthorized: The request you have made requires \
             authentication. (even with a new token of user demo (domain Default) in project \
             lab (domain Default) from the OS_* environment variables)",
            cloud.base
        )
    );
    assert_eq!(
        cloud.world().count("POST", "/identity/v3/auth/tokens"),
        before + 2
    );
    provider.destroy(&mut exp, &reporter).await.unwrap();
}

#[tokio::test]
async fn a_client_error_shows_what_the_api_said() {
    let cloud = FakeCloud::start(false).await;
    cloud.world().fail(
        "POST",
        "/network/v2.0/subnets",
        0,
        1,
        400,
        r#"{"NeutronError": {"type": "InvalidInput", "message": "Invalid input for operation: Requested subnet with cidr: 10.87.0.0/24 for network overlaps with another subnet.", "detail": ""}}"#,
    );
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), SCENARIO);
    let provider = provider(cloud.openrc());
    let reporter = Recorder::default();
    let error = provider.deploy(&mut exp, &reporter).await.unwrap_err();
    assert_eq!(
        error.message,
        format!(
            "creating the subnet enos-cloudy: POST {}/network/v2.0/subnets: 400 Bad Request: \
             Invalid input for operation: Requested subnet with cidr: 10.87.0.0/24 for network \
             overlaps with another subnet.",
            cloud.base
        )
    );
    // Not retried: a client error is the request's fault.
    assert_eq!(cloud.world().count("POST", "/network/v2.0/subnets"), 1);

    // Nova's shape, from a flavour the cloud turns down.
    cloud.world().fail(
        "POST",
        "/compute/v2.1/servers",
        0,
        1,
        400,
        r#"{"badRequest": {"code": 400, "message": "Flavor's disk is too small for requested image."}}"#,
    );
    let error = provider.deploy(&mut exp, &reporter).await.unwrap_err();
    assert!(
        error
            .message
            .starts_with("creating the server paris-control-1: POST ")
            && error.message.ends_with(
                "/compute/v2.1/servers: 400 Bad Request: Flavor's disk is too small for \
                 requested image."
            ),
        "{}",
        error.message
    );
    provider.destroy(&mut exp, &reporter).await.unwrap();
    assert_eq!(cloud.world().inventory(), Vec::<String>::new());
}

#[tokio::test]
async fn a_server_error_is_retried_then_reported() {
    let cloud = FakeCloud::start(false).await;
    // Once a 503 with an HTML page (a proxy's), once a dropped... then fine.
    cloud.world().fail(
        "POST",
        "/compute/v2.1/servers",
        1,
        1,
        503,
        "<html><body><h1>503 Service Unavailable</h1></body></html>",
    );
    cloud.world().fail(
        "GET",
        "/network/v2.0/networks",
        0,
        1,
        500,
        r#"{"NeutronError": {"type": "HTTPInternalServerError", "message": "Request Failed: internal server error while processing your request.", "detail": ""}}"#,
    );
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), SCENARIO);
    let provider = provider(cloud.openrc());
    let reporter = Recorder::default();
    let testbed = provider
        .deploy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(testbed.hosts.len(), 4);
    assert_eq!(cloud.world().count("POST", "/compute/v2.1/servers"), 5);
    assert_eq!(cloud.world().server_names().len(), 4);

    // Always failing: reported after the attempts, with what the server said.
    cloud
        .world()
        .fail("GET", "/image/v2/images", 0, 10, 502, "Bad Gateway");
    let error = provider.deploy(&mut exp, &reporter).await.unwrap_err();
    assert_eq!(
        error.message,
        format!(
            "GET {}/image/v2/images: 502 Bad Gateway: Bad Gateway (after 3 attempts)",
            cloud.base
        )
    );
    assert_eq!(cloud.world().count("GET", "/image/v2/images"), 4);
    provider.destroy(&mut exp, &reporter).await.unwrap();
    assert_eq!(cloud.world().inventory(), Vec::<String>::new());
}

#[tokio::test]
async fn a_server_in_error_fails_the_deploy_by_name_and_is_replaced_next_time() {
    let cloud = FakeCloud::start(false).await;
    cloud.world().failing_servers.insert(
        "paris-compute-2".into(),
        "No valid host was found. There are not enough hosts available.".into(),
    );
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), SCENARIO);
    let provider = provider(cloud.openrc());
    let reporter = Recorder::default();
    let error = provider.deploy(&mut exp, &reporter).await.unwrap_err();
    let state = OpenStackState::of(&exp).unwrap();
    let id = state.servers["paris-compute-2"].clone();
    assert_eq!(
        error.message,
        format!(
            "the server paris-compute-2 ({id}) ended in ERROR: No valid host was found. There \
             are not enough hosts available."
        )
    );
    assert!(
        error
            .hint
            .unwrap()
            .contains("`enos deploy` again replaces it")
    );
    assert_eq!(state.servers.len(), 4);

    // The cloud has room again: the next deploy replaces the server in ERROR.
    cloud.world().failing_servers.clear();
    provider
        .deploy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let state = OpenStackState::of(&exp).unwrap();
    assert_ne!(state.servers["paris-compute-2"], id);
    assert_eq!(cloud.world().count("POST", "/compute/v2.1/servers"), 5);
    assert_eq!(
        cloud
            .world()
            .count("DELETE", &format!("/compute/v2.1/servers/{id}")),
        1
    );
    assert!(
        reporter
            .notes()
            .iter()
            .any(|n| n == "the server paris-compute-2 is in ERROR: it is replaced")
    );
    provider.destroy(&mut exp, &reporter).await.unwrap();
    assert_eq!(cloud.world().inventory(), Vec::<String>::new());
}
