//! python-grid5000, the client EnOSlib uses, against the same fake: it submits, reads, lists
//! and deletes a job, and its submission has the shape of ours (path, JSON body, headers).

use std::path::PathBuf;
use std::process::Stdio;

use enos_provider::Provider;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;

use crate::common::{Recorder, SECRET, experiment, parse, provider};
use crate::fake_g5k::{FakeG5k, USER};

/// The environment variable naming the interpreter of the clients' virtualenv.
const PYTHON_VAR: &str = "ENOS_CLIENTS_PYTHON";
const DEFAULT_PYTHON: &str = "/var/cache/enos-ci/clients/bin/python";

/// Reads its settings (the password included) on standard input, never in its arguments.
const SCRIPT: &str = r#"
import json, sys
from grid5000 import Grid5000

cfg = json.load(sys.stdin)
gk = Grid5000(uri=cfg["uri"], username=cfg["username"], password=cfg["password"], verify_ssl=False)
site = gk.sites[cfg["site"]]
job = site.jobs.create(cfg["job"])
again = site.jobs[job.uid]
listed = site.jobs.list(name=cfg["job"]["name"], state="waiting,launching,running")
again.delete()
again.refresh()
print(json.dumps({"uid": job.uid, "state": job.state, "read": again.uid,
                  "listed": [j.uid for j in listed], "after_delete": again.state}))
"#;

const ONE_SITE: &str = "\
name: py-shape
provider:
  g5k:
    walltime: \"00:30:00\"
    monitor: bmc_node_power_watt
    sites:
      paris: {site: rennes, cluster: paravance}
sites:
  paris: {roles: {server: 2}}
";

#[tokio::test]
async fn python_grid5000_submits_reads_and_deletes_a_job_shaped_like_ours() {
    let python = std::env::var_os(PYTHON_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PYTHON));
    if !enos_testkit::require_file(
        "python_grid5000_submits_reads_and_deletes_a_job_shaped_like_ours",
        &python,
        "python-grid5000's virtualenv, installed by .ci (or set ENOS_CLIENTS_PYTHON)",
    ) {
        return;
    }
    let fake = FakeG5k::start(SECRET).await;
    // Our own submission first, then its release.
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), ONE_SITE);
    let provider = provider(&fake);
    provider
        .deploy(&mut exp, &Recorder::default())
        .await
        .unwrap();
    provider
        .destroy(&mut exp, &Recorder::default())
        .await
        .unwrap();
    let ours = fake
        .requests()
        .into_iter()
        .find(|r| r.is("POST", "/jobs"))
        .unwrap();

    // The body the plan shows (and the provider sends), submitted by python-grid5000.
    let plan = provider.plan(&parse(ONE_SITE)).unwrap();
    let body: Value = serde_json::from_str(
        plan.actions
            .iter()
            .find(|a| a.what.ends_with("/jobs"))
            .and_then(|a| a.body.as_deref())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(Some(&body), ours.body.as_ref());
    let settings = json!({
        "uri": fake.base_url(), "username": USER, "password": SECRET, "site": "rennes", "job": body,
    });
    let mut child = tokio::process::Command::new(&python)
        .args(["-c", SCRIPT])
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(settings.to_string().as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python-grid5000 failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let uid = seen["uid"].as_u64().unwrap();
    assert_eq!(seen["state"], "waiting");
    assert_eq!(seen["read"], uid);
    assert_eq!(seen["listed"], json!([uid]));
    assert_eq!(seen["after_delete"], "error");

    // The fake saw the same submission from both clients.
    let theirs: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.is("POST", "/jobs"))
        .collect();
    assert_eq!(theirs.len(), 2);
    let theirs = &theirs[1];
    assert_eq!(theirs.path, ours.path);
    assert_eq!(theirs.body, ours.body);
    assert_eq!(theirs.content_type, ours.content_type);
    assert_eq!(theirs.authorization, ours.authorization);
    assert_eq!(fake.count("GET", &format!("/sites/rennes/jobs/{uid}")), 2);
    assert_eq!(
        fake.count("DELETE", &format!("/sites/rennes/jobs/{uid}")),
        1
    );
}
