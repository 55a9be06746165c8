//! The `deploy:` section on the local provider: steps applied over SSH, failure policies, a
//! service that never becomes ready, reports and logs.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Workspace, assert_success, can_use_namespaces, text, traces_of};

const FAILURES: &str = r#"
name: deploy-failures
sites:
  paris: {roles: {app: 2}}
  nantes: {roles: {app: 1}}
deploy:
  - name: config
    template: {content: "site={{ host.site }}\n", dest: /etc/app.conf, mode: "0600"}
  - name: flaky check
    run: test {{ host.name }} != paris-app-2
    on_failure: {min: 1}
  - name: optional
    run: test {{ host.site }} = paris
    on_failure: continue
  - name: web
    service:
      name: web
      command: >-
        {% if host.site == 'paris' %}exec python3 -m http.server --bind {{ host.address }} 8080
        {%- else %}exec sleep 600{% endif %}
      ready: {tcp: 8080}
    timeout: 3s
  - name: after
    run: touch /tmp/after
"#;

#[test]
fn a_service_that_never_becomes_ready_fails_its_step_and_the_other_hosts_work_is_kept() {
    if !can_use_namespaces(
        "a_service_that_never_becomes_ready_fails_its_step_and_the_other_hosts_work_is_kept",
    ) {
        return;
    }
    let ws = Workspace::new(FAILURES);
    let deploy = ws.enos(&["deploy", "scenario.yaml", "--no-validate"]);
    let (out, err) = (text(&deploy.stdout), text(&deploy.stderr));
    assert!(
        !deploy.status.success(),
        "the deploy must fail:\n{out}\n{err}"
    );

    // The failure names the step and the host, with the end of the service's log.
    assert!(
        err.contains("error: step 4 'web' failed on nantes-app-1"),
        "{err}"
    );
    assert!(err.contains("not ready after 3s (tcp "), "{err}");
    assert!(err.contains("log: "), "{err}");
    // What every step did, host by host; the step after the failure did not run.
    assert!(out.contains("1/5 config       3 changed"), "{out}");
    assert!(
        out.contains("2/5 flaky check  2 changed, 1 failed"),
        "{out}"
    );
    // `continue`: the failed host goes on to the next step; `min`: the failed one is left out.
    assert!(
        out.contains("3/5 optional     1 changed, 1 failed, 1 left out"),
        "{out}"
    );
    assert!(
        out.contains("4/5 web          1 changed, 1 failed, 1 left out"),
        "{out}"
    );
    assert!(!out.contains("5/5"), "{out}");
    assert!(out.contains("4 steps (1 not run) on 3 hosts"), "{out}");

    // The report says the same, and points at each host's log.
    let dir = ws.env_dir();
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("deploy/current/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["outcome"]["state"], "failed");
    let web = &report["steps"][3]["hosts"];
    let status = |i: usize| web[i]["status"].as_str().unwrap().to_owned();
    assert_eq!(
        (status(0), status(1), status(2)),
        ("changed".into(), "dropped".into(), "failed".into())
    );
    let log = dir.join(web[2]["log"].as_str().unwrap());
    let log = std::fs::read_to_string(log).unwrap();
    assert!(
        log.contains("host: nantes-app-1") && log.contains("not ready after 3s"),
        "{log}"
    );
    assert_eq!(report["steps"][1]["hosts"][1]["detail"], "exit 1");

    // The experiment is failed, with the error in its history, saved before enos exited.
    let state = ws.state();
    assert_eq!(state["phase"], "failed");
    let last = state["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["step"], "deploy steps");
    assert!(
        last["outcome"]
            .as_str()
            .unwrap()
            .starts_with("step 4 'web' failed on nantes-app-1"),
        "{last}"
    );

    // The other hosts' work is kept: the files everywhere, the web server on paris-app-1.
    let check = ws.enos(&["exec", "--", "cat /etc/app.conf; stat -c %a /etc/app.conf"]);
    assert_success(&check, "enos exec");
    let shown = text(&check.stdout);
    assert_eq!(shown.matches("site=paris\n600").count(), 2, "{shown}");
    assert_eq!(shown.matches("site=nantes\n600").count(), 1, "{shown}");
    let web = ws.enos(&[
        "exec",
        "--sites",
        "paris",
        "--",
        "python3 -c \"import urllib.request as u; print(u.urlopen('http://'+__import__('socket').gethostbyname(__import__('socket').gethostname())+':8080/').status)\"",
    ]);
    let web = text(&web.stdout);
    assert!(
        web.contains("── paris-app-1 (exit 0") && web.contains("200"),
        "{web}"
    );

    let info = text(&ws.enos(&["info"]).stdout);
    assert!(
        info.contains("deploy steps       failed: step 4 'web' failed on nantes-app-1"),
        "{info}"
    );
    assert!(info.contains("phase              failed\n"), "{info}");
    assert!(
        info.contains("failed step        deploy steps: step 4 'web' failed on nantes-app-1"),
        "{info}"
    );
    let prefix = ws.prefix();
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
    assert_eq!(traces_of(&prefix), Vec::<String>::new());
}

const SLOW: &str = r#"
name: deploy-killed
sites:
  paris: {roles: {app: 1}}
deploy:
  - name: config
    template: {content: "x\n", dest: /etc/killed.conf}
  - name: slow
    run: test -e /tmp/go || sleep 30
"#;

#[test]
fn a_killed_deploy_keeps_its_report_running_until_the_next_command_marks_it_interrupted() {
    let test =
        "a_killed_deploy_keeps_its_report_running_until_the_next_command_marks_it_interrupted";
    if !can_use_namespaces(test) {
        return;
    }
    let ws = Workspace::new(SLOW);
    let mut deploy = Command::new(crate::common::enos_bin())
        .args(["deploy", "scenario.yaml"])
        .current_dir(ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first step is in the report: the second one, 30 s long, is running.
    let report_file = ws
        .path()
        .join("enos-results/current/deploy/current/report.json");
    let report = || -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(&report_file).ok()?).ok()
    };
    let start = Instant::now();
    while report().is_none_or(|r| r["steps"].as_array().is_none_or(|s| s.is_empty())) {
        assert!(
            deploy.try_wait().unwrap().is_none(),
            "the deploy ended before its slow step"
        );
        assert!(start.elapsed() < Duration::from_secs(60), "no step ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    let dir = ws.env_dir();

    // While it runs, another command on the same experiment is refused, naming the deploy.
    let busy = format!(
        "error: another enos command (pid {}) is working on the experiment in {}\n",
        deploy.id(),
        dir.display()
    );
    for args in [&["deploy", "scenario.yaml"][..], &["info"], &["destroy"]] {
        let refused = ws.enos(args);
        assert_eq!(refused.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&refused.stderr), busy, "{args:?}");
    }

    // Killed: the report keeps what the first step did, and says `running`.
    deploy.kill().unwrap();
    deploy.wait().unwrap();
    let killed = report().unwrap();
    assert_eq!(killed["outcome"]["state"], "running");
    assert_eq!(killed["ended"], serde_json::Value::Null);
    assert_eq!(killed["steps"].as_array().unwrap().len(), 1);
    assert_eq!(killed["steps"][0]["hosts"][0]["status"], "changed");
    assert!(ws.state()["history"].as_array().unwrap().last().unwrap()["outcome"].is_null());

    // The next command holds the lock: the deploy was interrupted, and it says so.
    let info = ws.enos(&["info"]);
    assert_success(&info, "enos info");
    let shown = text(&info.stdout);
    assert!(shown.contains("phase              failed\n"), "{shown}");
    assert!(
        shown.contains(
            "failed step        deploy steps: interrupted: enos stopped before the step ended"
        ),
        "{shown}"
    );
    assert!(
        shown.contains(
            "deploy steps       interrupted: enos stopped before the steps ended; 1 step at "
        ),
        "{shown}"
    );
    assert_eq!(report().unwrap()["outcome"]["state"], "interrupted");
    assert_eq!(ws.state()["phase"], "failed");

    // Deploying again completes it: what holds is left alone, the rest runs.
    assert_success(&ws.enos(&["exec", "--", "touch /tmp/go"]), "enos exec");
    let again = ws.enos(&["deploy", "scenario.yaml"]);
    assert_success(&again, "deploy after a killed deploy");
    let out = text(&again.stdout);
    assert!(out.contains("1/2 config  1 unchanged"), "{out}");
    assert!(out.contains("2/2 slow    1 changed"), "{out}");
    assert_eq!(ws.state()["phase"], "deployed");
    assert_eq!(report().unwrap()["outcome"]["state"], "succeeded");
    let prefix = ws.prefix();
    assert_success(&ws.enos(&["destroy"]), "enos destroy");
    assert_eq!(traces_of(&prefix), Vec::<String>::new());
}
