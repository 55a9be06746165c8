//! The command line itself: validation, schema, commands without an experiment, help.

use crate::common::{enos, repo_root, text};

#[test]
fn validate_accepts_every_example_scenario() {
    let root = repo_root();
    let mut seen = 0;
    for entry in std::fs::read_dir(root.join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let out = enos(&root, &["validate", path.to_str().unwrap()]);
            assert!(
                out.status.success(),
                "{}: {}",
                path.display(),
                text(&out.stderr)
            );
            assert!(
                text(&out.stdout).starts_with("ok: "),
                "{}",
                text(&out.stdout)
            );
            seen += 1;
        }
    }
    assert!(seen >= 1);
}

/// The static provider's example validates: its hosts define its sites.
#[test]
fn validate_accepts_the_static_example() {
    let root = repo_root();
    let out = enos(&root, &["validate", "scenarios/static.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "ok: scenarios/static.yaml: experiment 'static', 2 sites, 3 hosts, 2 deploy steps\n"
    );
}

/// A scenario with a `bench:` section says how many workloads and points it has, on the same
/// line.
#[test]
fn validate_counts_the_workloads_and_their_points() {
    let root = repo_root();
    let out = enos(&root, &["validate", "scenarios/bench-keystone.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "ok: scenarios/bench-keystone.yaml: experiment 'bench-keystone', 2 sites, 3 hosts, 22 \
         deploy steps, 3 workloads (9 points), metrics every 1s\n"
    );
}

/// A sweeping scenario says how many points it has; `enos deploy` refuses it, before anything
/// is made, and points at `enos run`.
#[test]
fn validate_counts_a_sweeps_points_and_deploy_refuses_a_sweep() {
    let root = repo_root();
    let out = enos(&root, &["validate", "scenarios/wan-sweep.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "ok: scenarios/wan-sweep.yaml: experiment 'wan-sweep', 2 sites, 3 hosts, 1 deploy step, \
         1 workload (1 point), a sweep of 3 points (`enos run` runs them)\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let scenario = root.join("scenarios/wan-sweep.yaml");
    let out = enos(dir.path(), &["deploy", scenario.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("the scenario sweeps parameters (`sweep:`): `enos run` runs"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("enos-results").exists());
}

#[test]
fn an_unknown_provider_is_located_with_the_providers_this_enos_has() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.yaml"),
        "name: q\nprovider: {aws: {}}\nsites: {a: {roles: {x: 1}}}\n",
    )
    .unwrap();
    let out = enos(dir.path(), &["validate", "s.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with(
            "error: s.yaml:2:12: provider.aws: unknown provider 'aws', expected one of local, \
             static, g5k, vagrant, openstack\n"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn validate_reports_location_and_key_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "name: bad\nsites:\n  paris:\n    roles: {server: 0}\n",
    )
    .unwrap();
    let out = enos(dir.path(), &["validate", "bad.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: bad.yaml:4:21: sites.paris.roles.server: "),
        "{err}"
    );
    assert!(text(&out.stdout).is_empty());
}

/// 1000 hosts in 10 sites, every pair of sites shaped: validates. Hundreds of single hosts named
/// in constraints split the hosts into as many classes: refused by `validate` (and by `deploy`
/// before anything is made), at the `network` key, not discovered at deploy.
#[test]
fn the_local_providers_size_limits_are_checked_by_validate() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = String::from("name: big\nsites:\n");
    for s in 1..=10 {
        big.push_str(&format!("  site{s}: {{roles: {{node: 100}}}}\n"));
    }
    let mut shaped = format!("{big}network:\n  default_delay: 1ms\n  constraints:\n");
    for a in 1..=10 {
        for b in (a + 1)..=10 {
            shaped.push_str(&format!(
                "    - {{src: site{a}, dst: site{b}, delay: 10ms, symmetric: true}}\n"
            ));
        }
    }
    std::fs::write(dir.path().join("shaped.yaml"), &shaped).unwrap();
    let out = enos(dir.path(), &["validate", "shaped.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("10 sites, 1000 hosts"),
        "{}",
        text(&out.stdout)
    );

    let mut per_host = format!("{big}network:\n  default_delay: 1ms\n  constraints:\n");
    for h in 1..=600 {
        let site = (h - 1) / 60 + 1;
        let node = (h - 1) % 60 + 1;
        per_host.push_str(&format!(
            "    - {{src: site{site}-node-{node}, dst: site1, delay: 5ms}}\n"
        ));
    }
    std::fs::write(dir.path().join("per-host.yaml"), &per_host).unwrap();
    for command in ["validate", "deploy"] {
        let out = enos(dir.path(), &[command, "per-host.yaml"]);
        assert_eq!(out.status.code(), Some(1), "{command}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with("error: per-host.yaml:13:1: network: the network section tells "),
            "{command}: {err}"
        );
        assert!(err.contains("at most 262144"), "{command}: {err}");
    }
    assert!(!dir.path().join("enos-results").exists());
}

#[test]
fn deploy_of_an_invalid_scenario_creates_nothing() {
    let sites = "sites: {paris: {roles: {web: 1}}}\n";
    for (bad, expected) in [
        (
            "name: bad\nsites: {}\nnetwork: {default_delay: fast}\n".to_owned(),
            "error: bad.yaml:",
        ),
        // A stack given an unknown variable and missing a required one.
        (
            format!("name: bad\n{sites}deploy:\n  - stack: nginx\n    vars: {{rol: web}}\n"),
            "error: bad.yaml:5:5: deploy[0].vars: missing variable `role` of stack 'nginx'",
        ),
        // A template that uses an undefined variable: found by rendering before provisioning.
        (
            format!("name: bad\n{sites}deploy:\n  - run: echo {{{{ vars.nope }}}}\n"),
            "error: bad.yaml:4:5: deploy[0]: step 'run: echo {{ vars.nope }}' on paris-web-1: run: \
             undefined value",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.yaml"), &bad).unwrap();
        let out = enos(dir.path(), &["deploy", "bad.yaml"]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let err = text(&out.stderr);
        assert!(err.starts_with(expected), "{err}");
        assert!(!dir.path().join("enos-results").exists(), "{bad}");
    }
}

#[test]
fn schema_is_json_with_the_top_level_keys() {
    let out = enos(&repo_root(), &["schema"]);
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["name", "provider", "sites", "network", "vars", "deploy"] {
        assert!(
            schema["properties"].get(key).is_some(),
            "schema lacks {key}"
        );
    }
    // Each provider this enos has, with its options.
    let providers: Vec<&str> = schema["properties"]["provider"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|choice| choice["const"].as_str())
        .collect();
    assert_eq!(
        providers,
        ["local", "static", "g5k", "vagrant", "openstack"]
    );
    let choices = schema["properties"]["provider"]["oneOf"]
        .as_array()
        .unwrap();
    let options = |name: &str| {
        choices
            .iter()
            .find_map(|choice| choice["properties"].get(name))
            .unwrap_or_else(|| panic!("no options of {name}"))
            .clone()
    };
    assert_eq!(options("static")["required"], serde_json::json!(["hosts"]));
    assert!(
        options("g5k")["required"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("sites")),
        "{}",
        options("g5k")
    );
    assert!(options("openstack")["properties"].get("image").is_some());
    assert!(options("vagrant")["properties"].get("backend").is_some());
}

#[test]
fn metrics_backup_and_analyze_of_an_experiment_that_does_not_exist_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["backup"][..],
        &["metrics", "start"],
        &["metrics", "stop"],
        &["analyze"],
    ] {
        let out = enos(dir.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains("enos-results"), "{args:?}: {err}");
    }
}

#[test]
fn commands_without_an_experiment_explain_where_they_looked() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["info"][..],
        &["exec", "--", "true"],
        &["inventory"],
        &["destroy"],
        &["tc", "validate"],
        &["tc", "reset"],
        &["tc", "apply", "--set", "a->b delay=1ms"],
    ] {
        let out = enos(dir.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            text(&out.stderr),
            "error: no experiment at enos-results\n",
            "{args:?}"
        );
    }
}

#[test]
fn a_scenario_that_is_not_utf8_is_located_by_every_command_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        b"name: bad\nsites:\n  p\xe9ris: {roles: {server: 1}}\n",
    )
    .unwrap();
    let mut shown = Vec::new();
    for args in [
        &["validate", "bad.yaml"][..],
        &["deploy", "bad.yaml", "--dry-run"],
        &["deploy", "bad.yaml"],
    ] {
        let out = enos(dir.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stdout).is_empty(), "{args:?}");
        shown.push(text(&out.stderr));
    }
    assert!(!dir.path().join("enos-results").exists());
    assert!(shown.iter().all(|s| *s == shown[0]), "{shown:#?}");
    insta::assert_snapshot!("not_utf8_scenario", shown[0]);
}

#[test]
fn a_scenario_is_read_no_further_than_the_size_cap() {
    use std::io::Write as _;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    // A pipe that never ends: a reader without a cap would wait for its end forever.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("endless.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut child = std::process::Command::new(crate::common::enos_bin())
        .args(["validate", "endless.yaml"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (done, exited) = mpsc::channel::<()>();
    let path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut pipe = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        let line = [b"# padding\n".as_slice(); 1024].concat();
        for _ in 0..(4 << 20) / line.len() {
            if pipe.write_all(&line).is_err() {
                break; // the reader is gone
            }
        }
        // Keep the pipe open, without an end, until enos has exited.
        let _ = exited.recv_timeout(Duration::from_secs(60));
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = done.send(());
    writer.join().unwrap();
    let status = status.expect("enos kept reading past the size cap");
    let out = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: endless.yaml:1:1: the file is larger than 1024 KiB; a scenario is far smaller\n"
    );
}
