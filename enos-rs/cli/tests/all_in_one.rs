//! `enos run`: the quickstart deployed, benchmarked, backed up, analysed and destroyed in one
//! command; a run whose deploy fails still destroys what it made and says it failed.

use crate::common::{Workspace, can_use_namespaces, repo_root, text};

#[test]
fn enos_run_takes_the_quickstart_from_deploy_to_analysis_and_leaves_nothing() {
    if !can_use_namespaces(
        "enos_run_takes_the_quickstart_from_deploy_to_analysis_and_leaves_nothing",
    ) {
        return;
    }
    let scenario = std::fs::read_to_string(repo_root().join("scenarios/quickstart.yaml")).unwrap();
    let ws = Workspace::new(&scenario);
    let out = ws.enos(&["run", "scenario.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("run complete: "), "{stdout}");
    assert!(stdout.contains("destroyed 'quickstart'"), "{stdout}");
    let env = ws.env_dir();
    assert_eq!(ws.state()["phase"], "destroyed");
    // The bench's records, the agents' samples and the analysis are kept.
    assert!(env.join("bench/current/web-load.jsonl").exists());
    let manifest = std::fs::read_to_string(env.join("backup/manifest.json")).unwrap();
    assert!(manifest.contains("/system.jsonl"), "{manifest}");
    let summary = std::fs::read_to_string(env.join("analysis/summary.csv")).unwrap();
    let web: Vec<&str> = summary
        .lines()
        .filter(|l| l.contains(",web-load,"))
        .collect();
    assert_eq!(web.len(), 1, "{summary}");
    // 4 clients × 50 requests/s × 10 s, answered.
    let fields: Vec<&str> = web[0].split(',').collect();
    let count: u64 = fields[7].parse().unwrap();
    let errors: u64 = fields[8].parse().unwrap();
    assert!((1900..=2000).contains(&count), "{summary}");
    assert_eq!(errors, 0, "{summary}");
    assert!(
        summary.lines().any(|l| l.contains(",wan-ping,")),
        "{summary}"
    );
    assert!(env.join("analysis/samples.parquet").exists());
    // Nothing of the testbed is left.
    let namespaces = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    assert!(
        !text(&namespaces.stdout).contains(&format!("enos-{}-", ws.prefix())),
        "{}",
        text(&namespaces.stdout)
    );
}

#[test]
fn a_run_whose_deploy_fails_destroys_what_it_made_and_fails() {
    if !can_use_namespaces("a_run_whose_deploy_fails_destroys_what_it_made_and_fails") {
        return;
    }
    let ws = Workspace::new(
        "name: run-fails\nsites:\n  a: {roles: {x: 1}}\n\
         deploy:\n  - name: break\n    run: exit 3\n\
         bench:\n  workloads:\n    - {name: nothing, type: command, from: x, args: {run: 'true'}}\n",
    );
    let out = ws.enos(&["run", "scenario.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("run failed"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(ws.state()["phase"], "destroyed");
    assert!(
        !ws.env_dir().join("bench").exists(),
        "no bench after a failed deploy"
    );
}

/// The experiment directory `enos run` printed.
fn run_dir(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("run complete: "))
        .unwrap_or_else(|| panic!("no complete run in:\n{stdout}"))
        .to_owned()
}

#[test]
fn a_longer_wan_delay_compares_as_a_regression_and_the_same_run_again_as_noise() {
    let test = "a_longer_wan_delay_compares_as_a_regression_and_the_same_run_again_as_noise";
    if !can_use_namespaces(test) {
        return;
    }
    let _measuring = crate::common::measuring();
    let scenario = |delay: &str| {
        format!(
            "name: compare-wan\nsites:\n  a: {{roles: {{x: 1}}}}\n  b: {{roles: {{y: 1}}}}\n\
             network:\n  default_delay: {delay}\n\
             bench:\n  workloads:\n    - name: rtt\n      type: ping\n      from: x\n      \
             targets: y\n      duration: 8s\n      args: {{interval: 40ms}}\n"
        )
    };
    let ws = Workspace::new(&scenario("5ms"));
    let mut dirs = Vec::new();
    for delay in ["5ms", "5ms", "15ms"] {
        std::fs::write(ws.path().join("scenario.yaml"), scenario(delay)).unwrap();
        let out = ws.enos(&["run", "scenario.yaml", "--no-validate"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        dirs.push(run_dir(&text(&out.stdout)));
    }
    let out = ws.enos(&["compare", &dirs[0], &dirs[1]]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("rtt {}: ") && stdout.contains(", noise ("),
        "{stdout}"
    );
    let junit = ws.path().join("compare.xml");
    let out = ws.enos(&[
        "compare",
        &dirs[0],
        &dirs[2],
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains(", regression (p="), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("failures=\"1\""), "{xml}");
}

#[test]
fn a_run_of_a_bad_scenario_leaves_the_experiment_deployed_before_alone() {
    if !can_use_namespaces("a_run_of_a_bad_scenario_leaves_the_experiment_deployed_before_alone") {
        return;
    }
    let ws = Workspace::new("name: run-keeps\nsites:\n  a: {roles: {x: 1}}\n");
    crate::common::assert_success(
        &ws.enos(&["deploy", "scenario.yaml", "--no-validate"]),
        "enos deploy",
    );
    std::fs::write(
        ws.path().join("bad.yaml"),
        "name: run-keeps\nsites:\n  a: {roles: {x: 0}}\n",
    )
    .unwrap();
    let out = ws.enos(&["run", "bad.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("bad.yaml:3:"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        ws.state()["phase"],
        "deployed",
        "the earlier experiment is not destroyed"
    );
}
