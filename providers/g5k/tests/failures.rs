//! Deploys and destroys against a fake API that fails: refused credentials, refused requests,
//! server errors, jobs that end early or would start too late, nodes that kadeploy fails on.

use enos_provider::Provider;
use enos_provider_g5k::{G5kConfig, G5kCredentials, G5kProvider, G5kState};
use serde_json::Value;

use crate::common::{
    Logs, Recorder, SECRET, TWO_SITES, assert_no_secret_in, assert_no_secret_under, config,
    experiment, provider, two_sites_with,
};
use crate::fake_g5k::{FakeG5k, Fault, USER, fault};

#[tokio::test]
async fn refused_credentials_say_where_they_came_from_never_the_password() {
    let logs = Logs::global();
    let fake = FakeG5k::start("another password").await;
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), TWO_SITES);
    let reporter = Recorder::default();
    let error = provider(&fake)
        .deploy(&mut exp, &reporter)
        .await
        .expect_err("401");
    let shown = format!("{error} | {:?} | {error:?}", error.hint);
    assert!(shown.contains("HTTP 401"), "{shown}");
    assert!(
        shown.contains("check the Grid'5000 login and password in the program's configuration"),
        "{shown}"
    );
    assert_no_secret_in("the error", &shown);
    assert_eq!(fake.requests().len(), 1, "a refusal is not retried");
    assert_eq!(fake.count("POST", "/jobs"), 0);
    assert_no_secret_under(exp.dir());
    assert_no_secret_in("the notes", &reporter.text());
    assert_no_secret_in("the logs", &logs.text());
}

#[tokio::test]
async fn credentials_from_a_file_are_named_by_the_file() {
    let fake = FakeG5k::start(SECRET).await;
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join(".python-grid5000.yaml");
    std::fs::write(
        &file,
        format!("username: {USER}\npassword: wrong-{SECRET}\n"),
    )
    .unwrap();
    let found = G5kCredentials::from_file(&file).unwrap().unwrap();
    assert_eq!(found.username(), USER);
    assert!(!format!("{found:?}").contains(SECRET));
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), TWO_SITES);
    let provider = G5kProvider::new(G5kConfig {
        credentials: Some(found),
        ..config(&fake)
    });
    let error = provider
        .deploy(&mut exp, &Recorder::default())
        .await
        .expect_err("401");
    let hint = error.hint.clone().unwrap_or_default();
    assert!(
        hint.contains(&format!(
            "check the Grid'5000 login and password in the file {}",
            file.display()
        )),
        "{hint}"
    );
    assert_no_secret_in("the error", &format!("{error} {error:?}"));
}

#[tokio::test]
async fn a_refused_request_shows_the_apis_message() {
    let fake = FakeG5k::start(SECRET).await;
    fake.fault(fault(
        "POST",
        "/sites/rennes/jobs",
        400,
        r#"{"code": 400, "message": "The job you are trying to submit is not valid: Walltime too big for queue default", "title": "Bad Request"}"#,
        1,
    ));
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), TWO_SITES);
    let error = provider(&fake)
        .deploy(&mut exp, &Recorder::default())
        .await
        .expect_err("400");
    let message = error.to_string();
    assert!(message.contains("HTTP 400"), "{message}");
    assert!(
        message.contains("Walltime too big for queue default"),
        "{message}"
    );
    assert!(message.contains("/stable/sites/rennes/jobs"), "{message}");
    assert_eq!(fake.count("POST", "/jobs"), 1, "a 4xx is not retried");
}

#[tokio::test]
async fn server_errors_are_retried_until_the_api_answers() {
    let fake = FakeG5k::start(SECRET).await;
    fake.fault(fault("GET", "/sites/rennes/jobs/", 502, "Bad Gateway", 2));
    fake.fault(fault(
        "POST",
        "/sites/nancy/deployments",
        503,
        "Service Unavailable",
        1,
    ));
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), TWO_SITES);
    let testbed = provider(&fake)
        .deploy(&mut exp, &Recorder::default())
        .await
        .unwrap();
    assert_eq!(testbed.hosts.len(), 4);
    assert_eq!(fake.count("POST", "/sites/nancy/deployments"), 2);
}

#[tokio::test]
async fn a_submission_that_failed_but_created_the_job_is_not_submitted_twice() {
    let fake = FakeG5k::start(SECRET).await;
    fake.fault(Fault {
        after_handling: true,
        ..fault("POST", "/sites/rennes/jobs", 504, "Gateway Time-out", 1)
    });
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), TWO_SITES);
    provider(&fake)
        .deploy(&mut exp, &Recorder::default())
        .await
        .unwrap();
    assert_eq!(fake.count("POST", "/sites/rennes/jobs"), 1);
    assert_eq!(fake.world(|w| w.jobs.len()), 2);
    assert_eq!(G5kState::of(&exp).jobs[0].uid, 1_361_479);
}

#[tokio::test]
async fn an_api_that_stays_down_is_reported_with_the_attempts() {
    let fake = FakeG5k::start(SECRET).await;
    fake.fault(fault(
        "GET",
        "/sites/rennes/jobs",
        500,
        "Internal Server Error",
        10,
    ));
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), TWO_SITES);
    let error = provider(&fake)
        .deploy(&mut exp, &Recorder::default())
        .await
        .expect_err("500");
    assert!(
        error
            .to_string()
            .contains("after 3 attempt(s); last failure: HTTP 500"),
        "{error}"
    );
    assert!(
        error
            .hint
            .unwrap_or_default()
            .contains("grid5000.fr/status")
    );
}

#[tokio::test]
async fn a_job_that_ends_in_error_fails_the_deploy_and_stays_recorded_for_destroy() {
    let fake = FakeG5k::start(SECRET).await;
    fake.world(|w| w.job_script = vec!["waiting".into(), "error".into()]);
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), TWO_SITES);
    let provider = provider(&fake);
    let reporter = Recorder::default();
    let error = provider
        .deploy(&mut exp, &reporter)
        .await
        .expect_err("error");
    assert!(
        error.to_string().contains(
            "the OAR job 1361479 on rennes ended (error) before running: FIFO scheduling OK"
        ),
        "{error}"
    );
    assert!(
        error
            .hint
            .unwrap_or_default()
            .contains("oarstat -fj 1361479")
    );
    assert_eq!(fake.count("POST", "/deployments"), 0);
    assert_eq!(G5kState::of(&exp).jobs.len(), 2);
    // Destroy deletes the other job; the ended one counts as deleted ("already killed").
    provider.destroy(&mut exp, &reporter).await.unwrap();
    assert_eq!(fake.count("DELETE", "/jobs/1361479"), 1);
    assert_eq!(fake.count("DELETE", "/jobs/1361480"), 1);
    assert_eq!(exp.state().provider_state, Value::Null);
}

#[tokio::test]
async fn nodes_that_kadeploy_fails_on_are_deployed_again() {
    let fake = FakeG5k::start(SECRET).await;
    fake.world(|w| {
        w.ko.insert("paravance-2.rennes.grid5000.fr".into(), 2);
        w.deployment_gets = 2;
    });
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), TWO_SITES);
    let reporter = Recorder::default();
    let testbed = provider(&fake).deploy(&mut exp, &reporter).await.unwrap();
    assert_eq!(testbed.hosts.len(), 4);
    let bodies: Vec<Value> = fake
        .requests()
        .into_iter()
        .filter(|r| r.is("POST", "/sites/rennes/deployments"))
        .filter_map(|r| r.body.map(|b| b["nodes"].clone()))
        .collect();
    assert_eq!(
        bodies,
        [
            serde_json::json!([
                "paravance-1.rennes.grid5000.fr",
                "paravance-2.rennes.grid5000.fr",
                "paravance-3.rennes.grid5000.fr"
            ]),
            serde_json::json!(["paravance-2.rennes.grid5000.fr"]),
            serde_json::json!(["paravance-2.rennes.grid5000.fr"]),
        ]
    );
    let state = G5kState::of(&exp);
    assert_eq!(state.jobs[0].deployments.len(), 3);
    assert!(state.jobs[0].failed.is_empty());
    assert!(
        reporter.text().contains(
            "kadeploy failed on 1 node: paravance-2.rennes.grid5000.fr; trying them again (attempt 2 of 4)"
        ),
        "{}",
        reporter.text()
    );
}

#[tokio::test]
async fn with_a_min_the_experiment_goes_on_with_fewer_hosts_and_names_the_missing() {
    let fake = FakeG5k::start(SECRET).await;
    fake.world(|w| {
        w.ko.insert("paravance-2.rennes.grid5000.fr".into(), u32::MAX);
    });
    let root = tempfile::tempdir().unwrap();
    let text = two_sites_with("    deploy_retries: 1\n").replace(
        "paris: {site: rennes, cluster: paravance}",
        "paris: {site: rennes, cluster: paravance, min: {client: 1}}",
    );
    let mut exp = experiment(root.path(), &text);
    let reporter = Recorder::default();
    let testbed = provider(&fake).deploy(&mut exp, &reporter).await.unwrap();
    let names: Vec<String> = testbed
        .hosts
        .iter()
        .map(|h| format!("{}={}", h.name, h.ssh_host.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        names,
        [
            "paris-server-1=paravance-1.rennes.grid5000.fr",
            "paris-client-1=paravance-3.rennes.grid5000.fr",
            "lyon-client-1=gros-1.nancy.grid5000.fr"
        ]
    );
    assert_eq!(fake.count("POST", "/sites/rennes/deployments"), 2);
    let notes = reporter.text();
    assert!(
        notes.contains(
            "going on with 3 of the 4 hosts asked (kadeploy failed on \
             paravance-2.rennes.grid5000.fr): missing paris-client-2"
        ),
        "{notes}"
    );
    assert_eq!(
        G5kState::of(&exp).jobs[0].failed,
        ["paravance-2.rennes.grid5000.fr"]
    );
}

#[tokio::test]
async fn without_a_min_too_few_nodes_fail_the_deploy_and_the_jobs_stay_for_destroy() {
    let fake = FakeG5k::start(SECRET).await;
    fake.world(|w| {
        w.ko.insert("paravance-3.rennes.grid5000.fr".into(), u32::MAX);
    });
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), &two_sites_with("    deploy_retries: 0\n"));
    let provider = provider(&fake);
    let reporter = Recorder::default();
    let error = provider
        .deploy(&mut exp, &reporter)
        .await
        .expect_err("too few");
    let message = error.to_string();
    assert!(
        message.contains(
            "too few usable nodes: paris needs at least 2 hosts of role client, 1 usable \
             (kadeploy failed on paravance-3.rennes.grid5000.fr)"
        ),
        "{message}"
    );
    let hint = error.hint.unwrap_or_default();
    assert!(
        hint.contains("1361479 on rennes, 1361480 on nancy"),
        "{hint}"
    );
    assert!(
        hint.contains("provider.g5k.sites.<site>.min.<role>"),
        "{hint}"
    );
    assert_eq!(G5kState::of(&exp).jobs.len(), 2);
    provider.destroy(&mut exp, &reporter).await.unwrap();
    assert_eq!(fake.count("DELETE", "/sites/rennes/jobs/1361479"), 1);
    assert_eq!(fake.count("DELETE", "/sites/nancy/jobs/1361480"), 1);
    assert_eq!(exp.state().provider_state, Value::Null);
}

#[tokio::test]
async fn fewer_nodes_from_oar_count_like_failed_ones() {
    let fake = FakeG5k::start(SECRET).await;
    fake.world(|w| {
        w.withheld = vec![
            "gros-1.nancy.grid5000.fr".into(),
            "gros-2.nancy.grid5000.fr".into(),
            "gros-3.nancy.grid5000.fr".into(),
            "gros-4.nancy.grid5000.fr".into(),
            "gros-5.nancy.grid5000.fr".into(),
            "gros-6.nancy.grid5000.fr".into(),
            "gros-7.nancy.grid5000.fr".into(),
            "gros-8.nancy.grid5000.fr".into(),
        ]
    });
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), TWO_SITES);
    let error = provider(&fake)
        .deploy(&mut exp, &Recorder::default())
        .await
        .expect_err("no gros node");
    assert!(
        error.to_string().contains(
            "lyon needs at least 1 host of role client, 0 usable (OAR gave 0 of the 1 gros \
             nodes asked (job 1361480))"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn a_job_predicted_to_start_too_late_is_deleted() {
    let fake = FakeG5k::start(SECRET).await;
    let in_two_hours = jiff::Timestamp::now().as_second() + 7200;
    fake.world(|w| {
        w.job_script = vec!["waiting".into(), "waiting".into(), "running".into()];
        w.scheduled_at = in_two_hours;
    });
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(
        root.path(),
        &two_sites_with("    scheduled_at_limit: 10m\n"),
    );
    let reporter = Recorder::default();
    let error = provider(&fake)
        .deploy(&mut exp, &reporter)
        .await
        .expect_err("too late");
    let message = error.to_string();
    assert!(
        message.contains("OAR predicts the job 1361479 on rennes starts at")
            && message.contains("later than scheduled_at_limit (10m) from now: deleted it"),
        "{message}"
    );
    assert_eq!(fake.count("DELETE", "/sites/rennes/jobs/1361479"), 1);
    let left: Vec<u64> = G5kState::of(&exp).jobs.iter().map(|j| j.uid).collect();
    assert_eq!(
        left,
        [1_361_480],
        "the other job stays recorded for destroy"
    );
    assert_eq!(fake.count("POST", "/deployments"), 0);
}

#[tokio::test]
async fn destroy_after_a_half_finished_deploy_deletes_what_was_recorded() {
    let fake = FakeG5k::start(SECRET).await;
    fake.fault(fault(
        "POST",
        "/sites/nancy/jobs",
        400,
        r#"{"message": "There are not enough resources for your request"}"#,
        1,
    ));
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), TWO_SITES);
    let provider = provider(&fake);
    let reporter = Recorder::default();
    let error = provider.deploy(&mut exp, &reporter).await.expect_err("400");
    assert!(
        error.to_string().contains("not enough resources"),
        "{error}"
    );
    // The rennes job was recorded before the nancy one was submitted.
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(exp.dir().join("state.json")).unwrap())
            .unwrap();
    assert_eq!(state["provider_state"]["jobs"][0]["uid"], 1_361_479);
    // Someone deleted it by hand meanwhile: "already killed" counts as deleted.
    fake.world(|w| {
        if let Some(job) = w.jobs.get_mut(&1_361_479) {
            job.state = "error".into();
        }
    });
    provider.destroy(&mut exp, &reporter).await.unwrap();
    assert_eq!(fake.count("DELETE", "/sites/rennes/jobs/1361479"), 1);
    assert_eq!(exp.state().provider_state, Value::Null);
    assert!(
        reporter
            .text()
            .contains("deleted the OAR job 1361479 on rennes")
    );
}

#[tokio::test]
async fn a_job_that_cannot_be_deleted_stays_recorded() {
    let fake = FakeG5k::start(SECRET).await;
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), TWO_SITES);
    let provider = provider(&fake);
    provider
        .deploy(&mut exp, &Recorder::default())
        .await
        .unwrap();
    fake.fault(fault("DELETE", "/sites/nancy/jobs/", 403, "Forbidden", 1));
    let error = provider
        .destroy(&mut exp, &Recorder::default())
        .await
        .expect_err("403");
    assert!(error.to_string().contains("HTTP 403"), "{error}");
    let left: Vec<u64> = G5kState::of(&exp).jobs.iter().map(|j| j.uid).collect();
    assert_eq!(left, [1_361_480]);
    // A second destroy finishes the work.
    provider
        .destroy(&mut exp, &Recorder::default())
        .await
        .unwrap();
    assert_eq!(exp.state().provider_state, Value::Null);
}

#[tokio::test]
async fn outside_grid5000_without_credentials_check_says_how_to_give_them() {
    let provider = G5kProvider::new(G5kConfig {
        inside_grid5000: Some(false),
        credentials: None,
        ..G5kConfig::default()
    });
    // Only when this machine has none of its own.
    if G5kCredentials::discover().ok().flatten().is_some() {
        return;
    }
    let error = provider.check().await.expect_err("no credentials");
    assert!(
        error.to_string().contains("no Grid'5000 credentials"),
        "{error}"
    );
    assert!(error.hint.unwrap_or_default().contains("G5K_USERNAME"));
}

#[tokio::test]
async fn a_vlan_from_outside_grid5000_is_refused_before_anything_is_reserved() {
    let fake = FakeG5k::start(SECRET).await;
    let root = tempfile::tempdir().unwrap();
    let mut exp = experiment(root.path(), &two_sites_with("    vlan: kavlan\n"));
    let error = provider(&fake)
        .deploy(&mut exp, &Recorder::default())
        .await
        .expect_err("outside");
    assert!(
        error
            .to_string()
            .contains("needs enos to run inside Grid'5000"),
        "{error}"
    );
    assert!(fake.requests().is_empty());
}
