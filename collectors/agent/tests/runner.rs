//! The agent run in-process for a few samples against this machine's /proc, with a powercap
//! tree made up in a temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::ffi::OsString;
use std::path::Path;

use enos_agent::{AgentInfo, ENERGY_FILE, INFO_FILE, PID_FILE, SYSTEM_FILE};
use enos_energy::Source;
use serde_json::Value;

fn run(dir: &Path, extra: &[&str]) {
    let mut args: Vec<OsString> = ["--dir", dir.to_str().unwrap(), "--host", "paris-server-1"]
        .iter()
        .map(OsString::from)
        .collect();
    args.extend(extra.iter().map(OsString::from));
    enos_agent::main(args).expect("the agent runs");
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const MODEL: &str = r#"{"kind":"linear","idle_w":50,"max_w":150}"#;

#[test]
fn without_powercap_the_model_stands_in_and_every_sample_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    run(
        &out,
        &[
            "--period",
            "50ms",
            "--samples",
            "4",
            "--model",
            MODEL,
            "--share-cpu",
            "--powercap",
            empty.path().to_str().unwrap(),
        ],
    );
    let info: AgentInfo =
        serde_json::from_str(&std::fs::read_to_string(out.join(INFO_FILE)).unwrap()).unwrap();
    assert_eq!(info.host, "paris-server-1");
    assert_eq!(info.samples, 4);
    assert!(info.stopped.is_some());
    assert_eq!(info.energy.sources, [Source::Model]);
    assert_eq!(info.energy.best, Some(Source::Model));
    assert!(
        info.energy.why.contains("no RAPL zone"),
        "{}",
        info.energy.why
    );
    assert_eq!(info.energy.utilisation, "processes");
    assert!(
        !out.join(PID_FILE).exists(),
        "the pid file goes with the agent"
    );

    let system = lines(&out.join(SYSTEM_FILE));
    assert_eq!(system.len(), 4);
    for s in &system {
        assert_eq!(s["v"], 1);
        let interval = s["interval_s"].as_f64().unwrap();
        assert!((0.03..0.5).contains(&interval), "{interval}");
        let busy = s["cpu"]["busy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&busy), "{busy}");
        assert!(s["memory"]["total_bytes"].as_u64().unwrap() > 0);
        assert!(s["time"].as_str().unwrap().ends_with('Z'));
    }
    let energy = lines(&out.join(ENERGY_FILE));
    assert_eq!(energy.len(), 4);
    let mut total = 0.0;
    for e in &energy {
        assert_eq!(e["source"], "model");
        let watts = e["watts"].as_f64().unwrap();
        assert!((50.0..=150.0).contains(&watts), "{watts}");
        let joules = e["joules"].as_f64().unwrap();
        let interval = e["interval_s"].as_f64().unwrap();
        assert!((joules - watts * interval).abs() < 1e-9);
        total += joules;
        assert!((e["total_joules"].as_f64().unwrap() - total).abs() < 1e-9);
    }
}

#[test]
fn readable_rapl_zones_are_the_best_source_and_the_model_is_written_beside_them() {
    let dir = tempfile::tempdir().unwrap();
    let powercap = tempfile::tempdir().unwrap();
    let zone = powercap.path().join("intel-rapl:0");
    std::fs::create_dir(&zone).unwrap();
    std::fs::write(zone.join("name"), "package-0\n").unwrap();
    std::fs::write(zone.join("energy_uj"), "1000\n").unwrap();
    std::fs::write(zone.join("max_energy_range_uj"), "262143328850\n").unwrap();
    let out = dir.path().join("m");
    run(
        &out,
        &[
            "--period",
            "20ms",
            "--samples",
            "2",
            "--model",
            MODEL,
            "--no-system",
            "--powercap",
            powercap.path().to_str().unwrap(),
        ],
    );
    let info: AgentInfo =
        serde_json::from_str(&std::fs::read_to_string(out.join(INFO_FILE)).unwrap()).unwrap();
    assert_eq!(info.energy.sources, [Source::Rapl, Source::Model]);
    assert_eq!(info.energy.best, Some(Source::Rapl));
    assert_eq!(info.energy.zones, ["package-0"]);
    assert_eq!(info.energy.utilisation, "machine");
    assert!(
        !out.join(SYSTEM_FILE).exists(),
        "--no-system writes no system samples"
    );
    let energy = lines(&out.join(ENERGY_FILE));
    let rapl: Vec<&Value> = energy.iter().filter(|e| e["source"] == "rapl").collect();
    assert_eq!(rapl.len(), 2);
    assert_eq!(rapl[0]["zone"], "package-0");
    assert_eq!(rapl[0]["joules"], 0.0, "a counter that did not move");
    assert_eq!(rapl[0]["wrapped"], false);
    assert_eq!(energy.iter().filter(|e| e["source"] == "model").count(), 2);
}

#[test]
fn a_bad_model_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let args: Vec<OsString> = [
        "--dir",
        out.to_str().unwrap(),
        "--energy",
        "model",
        "--model",
        r#"{"kind":"linear","idle_w":150,"max_w":50}"#,
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let err = enos_agent::main(args).unwrap_err();
    assert!(err.contains("below the idle power"), "{err}");
    assert!(!out.join(INFO_FILE).exists());
}
