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
    let header: Vec<&str> = summary.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let fields: Vec<&str> = web[0].split(',').collect();
    let count: u64 = fields[column("count")].parse().unwrap();
    let errors: u64 = fields[column("errors")].parse().unwrap();
    assert!((1900..=2000).contains(&count), "{summary}");
    assert_eq!(errors, 0, "{summary}");
    assert!(
        summary.lines().any(|l| l.contains(",wan-ping,")),
        "{summary}"
    );
    assert!(env.join("analysis/samples.parquet").exists());
    // The report, opened in a real browser: every figure there, no console error.
    assert!(stdout.contains("report: "), "{stdout}");
    let report = env.join("analysis/report.html");
    if enos_testkit::require_program(
        "enos_run_takes_the_quickstart_from_deploy_to_analysis_and_leaves_nothing",
        "chromium",
    ) {
        let view = enos_testkit::browser::open_in_chromium(&report).unwrap();
        assert!(view.console.is_empty(), "console: {:?}", view.console);
        let figures = enos_testkit::browser::svgs_per_figure(&view.dom);
        assert!(figures.len() >= 5, "{}", view.dom);
        assert!(
            figures
                .iter()
                .all(|&(svgs, captioned)| svgs == 1 && captioned)
        );
        assert!(
            view.dom
                .contains(&format!("<body data-figures=\"{}\">", figures.len())),
            "{}",
            view.dom
        );
        assert!(view.dom.contains("quickstart"), "the scenario is shown");
    }
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

/// The ledger's entries under the workspace's results root.
fn ledger(ws: &Workspace) -> Vec<serde_json::Value> {
    let Ok(items) = std::fs::read_dir(ws.path().join("enos-results/ledger")) else {
        return Vec::new();
    };
    items
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|t| serde_json::from_str(&t).ok())
        .collect()
}

/// A sweep of three WAN delays over one ping workload.
const SWEEP: &str = "name: sweep-wan\nsites:\n  a: {roles: {x: 1}}\n  b: {roles: {y: 1}}\n\
    network:\n  default_delay: 1ms\n\
    bench:\n  workloads:\n    - name: rtt\n      type: ping\n      from: x\n      targets: y\n      \
    duration: 3s\n      args: {interval: 50ms}\n\
    sweep:\n  network.default_delay: [2ms, 10ms, 30ms]\n";

#[test]
fn a_sweep_killed_after_its_second_point_resumes_at_the_third() {
    let test = "a_sweep_killed_after_its_second_point_resumes_at_the_third";
    if !can_use_namespaces(test) {
        return;
    }
    let _measuring = crate::common::measuring();
    let ws = Workspace::new(SWEEP);
    let mut child = std::process::Command::new(crate::common::enos_bin())
        .args(["run", "scenario.yaml", "--no-validate"])
        .current_dir(ws.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let point_done = |entries: &[serde_json::Value], point: u64| {
        entries
            .iter()
            .any(|e| e["sweep"]["point"] == point && e["status"] == "success")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !point_done(&ledger(&ws), 2) {
        assert!(std::time::Instant::now() < deadline, "point 2 never ended");
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended early");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL: nothing of the sweep's own cleanup runs
    child.wait().unwrap();
    let entries = ledger(&ws);
    assert!(point_done(&entries, 1) && point_done(&entries, 2));
    assert!(!point_done(&entries, 3), "point 3 cannot have ended");

    let out = ws.enos(&["run", "scenario.yaml", "--no-validate"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("point 1 (network.default_delay=2ms): done earlier"),
        "{stdout}"
    );
    assert!(
        stdout.contains("point 2 (network.default_delay=10ms): done earlier"),
        "{stdout}"
    );
    assert!(
        stdout.contains("point 3 (network.default_delay=30ms): ran"),
        "{stdout}"
    );
    // One run with results per point: points 1 and 2 were not run again.
    let entries = ledger(&ws);
    for point in 1..=3u64 {
        let done = entries
            .iter()
            .filter(|e| e["sweep"]["point"] == point && e["status"] == "success")
            .count();
        assert_eq!(done, 1, "point {point}: {entries:#?}");
    }
    // The points side by side: the median RTT follows the delay (2 × one way).
    let sweep_id = entries[0]["sweep"]["id"].as_str().unwrap().to_owned();
    let csv = std::fs::read_to_string(
        ws.path()
            .join("enos-results/sweeps")
            .join(&sweep_id)
            .join("points.csv"),
    )
    .unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (delay, p50) = (column("network.default_delay"), column("p50_ms"));
    let medians: Vec<(String, f64)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[delay].to_owned(), f[p50].parse().unwrap())
        })
        .collect();
    assert_eq!(medians.len(), 3, "{csv}");
    for ((shown, median), one_way) in medians.iter().zip([2.0, 10.0, 30.0]) {
        assert_eq!(*shown, format!("{one_way}ms"), "{csv}");
        assert!(
            *median >= 2.0 * one_way && *median <= 2.0 * one_way + 5.0,
            "{csv}"
        );
    }
    // The ledger lists and filters the points.
    let out = ws.enos(&["runs", "--sweep", &sweep_id, "--status", "success"]);
    assert_eq!(
        text(&out.stdout).lines().count(),
        1 + 3,
        "{}",
        text(&out.stdout)
    );
    let out = ws.enos(&["runs", "--param", "network.default_delay=10ms", "--json"]);
    let listed: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["sweep"]["point"], 2);
    assert!(
        listed[0]["testbed"]["kernels"]
            .as_object()
            .is_some_and(|k| !k.is_empty())
    );
    // Nothing of any point's testbed is left, the killed one's included.
    for prefix in ws.prefixes() {
        assert_eq!(
            crate::common::traces_of(&prefix),
            Vec::<String>::new(),
            "{prefix}"
        );
    }
}

#[test]
fn a_bundle_re_run_is_compared_with_its_original_and_a_changed_bundle_is_refused() {
    let test = "a_bundle_re_run_is_compared_with_its_original_and_a_changed_bundle_is_refused";
    if !can_use_namespaces(test) {
        return;
    }
    let _measuring = crate::common::measuring();
    let scenario = SWEEP
        .split("sweep:")
        .next()
        .unwrap()
        .replace("sweep-wan", "bundled");
    let ws = Workspace::new(&scenario);
    let out = ws.enos(&["run", "scenario.yaml", "--no-validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let entries = ledger(&ws);
    assert_eq!(entries.len(), 1);
    let id = entries[0]["id"].as_str().unwrap().to_owned();
    assert!(
        !entries[0]["testbed"]["controller"]["kernel"]
            .as_str()
            .unwrap()
            .is_empty()
    );

    let out = ws.enos(&["bundle", &id, "-o", "run.tar.gz"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The archive checks with sha256sum and holds no key nor secret.
    let unpacked = ws.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let tar = std::process::Command::new("tar")
        .args(["xzf", "../run.tar.gz"])
        .current_dir(&unpacked)
        .status()
        .unwrap();
    assert!(tar.success());
    let top = unpacked.join(&id);
    let check = std::process::Command::new("sha256sum")
        .args(["--quiet", "-c", "SHA256SUMS"])
        .current_dir(&top)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check.stdout));
    let sums = std::fs::read_to_string(top.join("SHA256SUMS")).unwrap();
    assert!(sums.contains("  scenario/scenario.yaml\n"), "{sums}");
    assert!(
        sums.contains("  experiment/inventory/hosts.ini\n"),
        "{sums}"
    );
    assert!(
        sums.contains("  experiment/analysis/requests.parquet\n"),
        "{sums}"
    );
    assert!(sums.contains("  experiment/bench/"), "{sums}");
    assert!(
        !sums.contains("experiment/ssh/") && !sums.contains("secrets.json"),
        "{sums}"
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(top.join("bundle.json")).unwrap()).unwrap();
    assert_eq!(record["run"]["id"], id.as_str());

    // A bundle changed after it was made is refused before anything runs.
    let requests = top.join("experiment/bench");
    let jsonl = std::fs::read_dir(&requests)
        .unwrap()
        .flatten()
        .find_map(|run| {
            std::fs::read_dir(run.path())
                .ok()?
                .flatten()
                .find(|f| f.path().extension().is_some_and(|e| e == "jsonl"))
        })
        .unwrap()
        .path();
    let mut changed = std::fs::read(&jsonl).unwrap();
    changed.extend_from_slice(b"{}\n");
    std::fs::write(&jsonl, changed).unwrap();
    let tar = std::process::Command::new("tar")
        .args(["czf", "../changed.tar.gz", &id])
        .current_dir(&unpacked)
        .status()
        .unwrap();
    assert!(tar.success());
    let out = ws.enos(&["run", "--from", "changed.tar.gz", "--no-validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("does not match its checksum"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(ledger(&ws).len(), 1, "nothing ran");

    // The bundle runs again and is compared with its original.
    let out = ws.enos(&["run", "--from", "run.tar.gz", "--no-validate"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("compared with the bundled run {id}")),
        "{stdout}"
    );
    assert!(stdout.contains("rtt {}: median "), "{stdout}");
    let rerun = ledger(&ws)
        .into_iter()
        .find(|e| e["id"] != id.as_str())
        .unwrap();
    assert_eq!(rerun["rerun_of"], id.as_str());
    assert_eq!(rerun["status"], "success");
    let dir = ws
        .path()
        .join("enos-results")
        .join(rerun["experiment"].as_str().unwrap());
    let xml = std::fs::read_to_string(dir.join("analysis/rerun-comparison.xml")).unwrap();
    assert!(xml.contains("<testsuite"), "{xml}");
}

#[test]
fn ctrl_c_stops_a_sweeps_point_keeps_its_records_and_leaves_the_next_points() {
    let test = "ctrl_c_stops_a_sweeps_point_keeps_its_records_and_leaves_the_next_points";
    if !can_use_namespaces(test) {
        return;
    }
    let ws = Workspace::new(
        &SWEEP
            .replace("sweep-wan", "sweep-stop")
            .replace("duration: 3s", "duration: 60s"),
    );
    let child = std::process::Command::new(crate::common::enos_bin())
        .args(["run", "scenario.yaml", "--no-validate"])
        .current_dir(ws.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Once the first point's bench has recorded for a while, Ctrl-C.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        assert!(std::time::Instant::now() < deadline, "no bench started");
        let started = std::fs::read_dir(ws.path().join("enos-results/sweep-stop"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.path().join("bench/current").exists());
        if started {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("point 2 (network.default_delay=10ms): not run (interrupted)"),
        "{stdout}"
    );
    assert!(stdout.contains("hint: run it again to resume"), "{stdout}");
    let entries = ledger(&ws);
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(entries[0]["status"], "interrupted");
    assert_eq!(entries[0]["sweep"]["point"], 1);
    // Its bench's record is kept, and its testbed is gone.
    let dir = ws
        .path()
        .join("enos-results")
        .join(entries[0]["experiment"].as_str().unwrap());
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bench/current/run.json")).unwrap())
            .unwrap();
    assert_eq!(run["status"], "interrupted");
    assert!(dir.join("bench/current/rtt.jsonl").exists());
    for prefix in ws.prefixes() {
        assert_eq!(crate::common::traces_of(&prefix), Vec::<String>::new());
    }
}
