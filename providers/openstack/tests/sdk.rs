//! The real client, openstacksdk, against the fake: it discovers Keystone's version,
//! authenticates, discovers Nova's and lists the servers a deploy made, which shows that the
//! fake answers as a cloud does. The interpreter is `ENOS_CLIENTS_PYTHON` (by default the CI's
//! clients venv); without it the test says why and returns, unless `CI=true`.

use std::path::PathBuf;

use enos_provider::Provider;

use crate::fake::{self, FakeCloud};
use crate::support::{Recorder, SCENARIO, experiment, provider};

const DEFAULT_PYTHON: &str = "/var/cache/enos-ci/clients/bin/python";

const SCRIPT: &str = r#"
import os, sys
import openstack
conn = openstack.connect(
    auth_url=os.environ["FAKE_AUTH_URL"],
    username=os.environ["FAKE_USER"],
    password=os.environ["FAKE_PASSWORD"],
    project_name=os.environ["FAKE_PROJECT"],
    user_domain_name="Default",
    project_domain_name="Default",
    region_name="RegionOne",
    interface="public",
    identity_api_version="3",
)
conn.authorize()
names = sorted(server.name for server in conn.compute.servers())
print("servers:", " ".join(names))
networks = sorted(n.name for n in conn.network.networks())
print("networks:", " ".join(networks))
"#;

#[tokio::test]
async fn openstacksdk_authenticates_and_lists_servers() {
    let python = std::env::var_os("ENOS_CLIENTS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PYTHON));
    if !python.is_file() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI has no python with openstacksdk at {} (set ENOS_CLIENTS_PYTHON)",
            python.display()
        );
        println!(
            "skipped: no python with openstacksdk at {} (set ENOS_CLIENTS_PYTHON)",
            python.display()
        );
        return;
    }
    let cloud = FakeCloud::start(false).await;
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), SCENARIO);
    let provider = provider(cloud.openrc());
    let reporter = Recorder::default();
    provider
        .deploy(&mut exp, &reporter)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let home = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .env("FAKE_AUTH_URL", cloud.auth_url())
        .env("FAKE_USER", fake::USER)
        .env("FAKE_PASSWORD", fake::PASSWORD)
        .env("FAKE_PROJECT", fake::PROJECT)
        .current_dir(home.path())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "openstacksdk failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout
            .contains("servers: lyon-compute-1 paris-compute-1 paris-compute-2 paris-control-1\n"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("networks: enos-cloudy public shared-net\n"),
        "{stdout}\n{stderr}"
    );
    {
        let world = cloud.world();
        let sdk_auth = world
            .requests
            .iter()
            .filter(|r| r.line() == "POST /identity/v3/auth/tokens")
            .count();
        assert_eq!(sdk_auth, 2, "ours, then openstacksdk's");
        assert!(
            world
                .requests
                .iter()
                .any(|r| r.line() == "GET /compute/v2.1/servers/detail")
        );
    }
    provider.destroy(&mut exp, &reporter).await.unwrap();
}
