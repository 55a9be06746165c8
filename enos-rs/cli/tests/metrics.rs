//! Metrics and backup on the local testbed: a 60 s bench yields a system sample a second and a
//! modelled energy series for every host beside the request records; `enos backup` fetches
//! them with a manifest `sha256sum -c` accepts, fetches nothing the second time, and reports a
//! dead host unreachable while the others stay complete.

use std::path::Path;

use serde_json::Value;

use crate::common::{Workspace, assert_success, can_use_namespaces, processes_in, text};

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// `sha256sum -c` in the backup directory.
fn check_sums(backup: &Path) {
    let out = std::process::Command::new("sha256sum")
        .args(["--quiet", "-c", "SHA256SUMS"])
        .current_dir(backup)
        .output()
        .unwrap();
    assert_success(&out, "sha256sum -c SHA256SUMS");
}

#[test]
fn a_60s_bench_samples_every_host_each_second_and_backups_resume_and_survive_a_dead_host() {
    let name =
        "a_60s_bench_samples_every_host_each_second_and_backups_resume_and_survive_a_dead_host";
    if !can_use_namespaces(name) {
        return;
    }
    let ws = Workspace::new(
        "name: metrics-60s\nsites:\n  paris: {roles: {web: 1, client: 1}}\n  \
         rennes: {roles: {client: 1}}\n\
         deploy:\n  - name: web\n    roles: [web]\n    service:\n      name: web\n      \
         command: python3 -m http.server 8080 --bind {{ host.address }}\n      \
         ready: {http: \"http://{{ host.address }}:8080/\", status: 200}\n\
         metrics:\n  period: 1s\n  energy: {model: {idle_w: 50, max_w: 150}}\n\
         bench:\n  workloads:\n    - name: load\n      type: http\n      from: client\n      \
         targets: web\n      duration: 60s\n      args: {rate: 20, port: 8080}\n",
    );
    assert_success(&ws.enos(&["deploy", "scenario.yaml"]), "enos deploy");
    let out = ws.enos(&["bench"]);
    assert_success(&out, "enos bench");
    let env = ws.env_dir();

    // The request records.
    let records = lines(&env.join("bench/current/load.jsonl"));
    let requests: Vec<&Value> = records.iter().filter(|r| r["http"] == "request").collect();
    assert!(
        (2300..=2400).contains(&requests.len()),
        "{} requests for 2 clients × 20/s × 60 s",
        requests.len()
    );

    // The collection bench started and stopped.
    let collection = json(&env.join("metrics/agents.json"));
    assert_eq!(collection["by"], "bench");
    assert!(collection["stopped"].is_string(), "{collection}");
    let hosts = collection["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 3);
    for h in hosts {
        assert!(h["error"].is_null(), "{h}");
        assert_eq!(h["agent"]["energy"]["best"], "model", "{h}");
        assert_eq!(h["best"], "model", "{h}");
        assert_eq!(h["agent"]["energy"]["utilisation"], "processes", "{h}");
    }

    // Backup: every host's samples, a second a sample, each energy figure tagged `model`.
    let out = ws.enos(&["backup"]);
    assert_success(&out, "enos backup");
    let backup = env.join("backup");
    check_sums(&backup);
    let manifest = json(&backup.join("manifest.json"));
    for h in hosts {
        let host = h["host"].as_str().unwrap();
        let dir = backup
            .join(host)
            .join(h["dir"].as_str().unwrap().trim_start_matches('/'));
        let system = lines(&dir.join("system.jsonl"));
        assert!(
            (58..=66).contains(&system.len()),
            "{host}: {} system samples over a 60 s bench",
            system.len()
        );
        let times: Vec<i64> = system
            .iter()
            .map(|s| s["unix_ms"].as_i64().unwrap())
            .collect();
        let steady = times
            .windows(2)
            .filter(|w| (900..=1100).contains(&(w[1] - w[0])))
            .count();
        assert!(
            steady * 100 >= (times.len() - 1) * 95,
            "{host}: samples not a second apart: {times:?}"
        );
        for s in &system {
            let busy = s["cpu"]["busy"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&busy), "{s}");
            assert!(s["net"]["eth0"].is_object(), "{host}: {s}");
        }
        let energy = lines(&dir.join("energy.jsonl"));
        assert_eq!(energy.len(), system.len(), "{host}");
        for e in &energy {
            assert_eq!(e["source"], "model", "{e}");
            let watts = e["watts"].as_f64().unwrap();
            assert!((50.0..=150.0).contains(&watts), "{e}");
        }
        // The service's log comes home from the host that ran it.
        let held: Vec<&str> = manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["host"] == host)
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(
            held.contains(&"/var/log/enos/web.log"),
            host == "paris-web-1",
            "{host}: {held:?}"
        );
    }
    // The client did work the model saw: its host is busier than idle at least once.
    let client = hosts
        .iter()
        .find(|h| h["host"] == "paris-client-1")
        .unwrap();
    let client_energy = lines(
        &backup
            .join("paris-client-1")
            .join(client["dir"].as_str().unwrap().trim_start_matches('/'))
            .join("energy.jsonl"),
    );
    assert!(
        client_energy
            .iter()
            .any(|e| e["utilisation"].as_f64().unwrap() > 0.0),
        "{client_energy:?}"
    );

    // A second backup transfers nothing.
    let out = ws.enos(&["backup"]);
    assert_success(&out, "enos backup (again)");
    assert!(
        text(&out.stdout).contains("backup: 0 files fetched (0 B)"),
        "{}",
        text(&out.stdout)
    );

    // A dead host: reported unreachable, its earlier copies kept; the others complete.
    let namespace = format!("enos-{}-rennes-client-1", ws.prefix());
    for pid in processes_in(&namespace) {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }
    let out = ws.enos(&["backup"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let manifest = json(&backup.join("manifest.json"));
    for h in manifest["hosts"].as_array().unwrap() {
        let expected = if h["host"] == "rennes-client-1" {
            "unreachable"
        } else {
            "complete"
        };
        assert_eq!(h["status"], expected, "{h}");
        assert!(h["files"].as_u64().unwrap() >= 4, "{h}");
    }
    assert!(
        text(&out.stdout).contains("rennes-client-1: unreachable"),
        "{}",
        text(&out.stdout)
    );
    check_sums(&backup);
}
