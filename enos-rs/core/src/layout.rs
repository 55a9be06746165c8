//! The results layout: every path under an experiment's directory, named in one place.
//!
//! ```text
//! <experiment>/
//!   state.json               the experiment's state (versioned), written atomically after every step
//!   scenario.yaml            the scenario as given
//!   .lock                    held by the command working on the experiment
//!   ssh_config               `ssh -F ssh_config <host>` reaches every host
//!   ssh/                     the experiment's key, known_hosts, provider-made host keys
//!   inventory/               hosts.ini, hosts.yaml, hosts.json for other tools
//!   secrets.json             generated secrets of deploy steps (mode 0600)
//!   logs/                    deploy-phases.json, each daemon's log, each host's log
//!   wan/                     applied.json (the matrix in force), validation.{csv,json}
//!   deploy/                  one directory per deploy run; `current` links to the latest
//!   bench/                   one directory per bench run (run.json, <workload>.jsonl); `current`
//!   metrics/                 agents.json (the collection), kwollect/<host>.jsonl
//!   backup/                  <host>/<path on the host>, manifest.json, SHA256SUMS
//!   analysis/                tables (Parquet), summary and energy (Parquet, CSV), analysis.json
//!   vagrant/                 the Vagrant provider's Vagrantfile, and Vagrant's own .vagrant/
//! ```
//!
//! A results root holds experiments by name, and what spans them:
//!
//! ```text
//! <results root>/
//!   <name>/<stamp>/          an experiment (above); <name>/current links to the latest
//!   current                  links to the latest experiment of any name
//!   ledger/                  one record per `enos run`: <run id>.json
//!   sweeps/                  one directory per sweep: sweep.json, points.{parquet,csv}
//! ```
//!
//! The record types written there and their versions are documented in `docs/data.md`.

use std::path::{Path, PathBuf};

/// The experiment's state.
pub const STATE: &str = "state.json";
/// The scenario as given.
pub const SCENARIO: &str = "scenario.yaml";
/// The lock file held by the command working on the experiment.
pub const LOCK: &str = ".lock";
/// The link to the latest experiment of a name, or of a results root.
pub const CURRENT: &str = "current";
/// The OpenSSH client configuration of the testbed.
pub const SSH_CONFIG: &str = "ssh_config";
/// Keys and known hosts.
pub const SSH_DIR: &str = "ssh";
/// The known_hosts file every connection checks host keys against.
pub const KNOWN_HOSTS: &str = "ssh/known_hosts";
/// The host keys learnt on first contact, with their fingerprints (a record).
pub const HOST_KEYS: &str = "ssh/host-keys.json";
/// Inventories for other tools.
pub const INVENTORY_DIR: &str = "inventory";
/// Generated secrets of deploy steps.
pub const SECRETS: &str = "secrets.json";
/// Logs.
pub const LOGS_DIR: &str = "logs";
/// Each host's own log (what a provider's host printed while starting).
pub const HOST_LOGS_DIR: &str = "logs/hosts";
/// The Vagrant provider's directory: its Vagrantfile, and Vagrant's machine state (`.vagrant/`).
pub const VAGRANT_DIR: &str = "vagrant";
/// Vagrant's machine state, with each VM's own private key.
pub const VAGRANT_MACHINES: &str = "vagrant/.vagrant";
/// What Vagrant printed.
pub const VAGRANT_LOG: &str = "logs/vagrant.log";
/// How long each phase of the last `enos deploy` took (a record).
pub const DEPLOY_PHASES: &str = "logs/deploy-phases.json";
/// What the WAN step writes.
pub const WAN_DIR: &str = "wan";
/// The matrix in force (a record).
pub const APPLIED_WAN: &str = "wan/applied.json";
/// The latest validation as CSV.
pub const VALIDATION_CSV: &str = "wan/validation.csv";
/// The latest validation as JSON (a record).
pub const VALIDATION_JSON: &str = "wan/validation.json";
/// Facts the hosts gave on the last deploy (a record).
pub const FACTS: &str = "facts.json";
/// Deploy runs: `deploy/<timestamp>/report.json` and `logs/<step>/<host>.log`.
pub const DEPLOY_DIR: &str = "deploy";
/// The link to the latest deploy run.
pub const DEPLOY_CURRENT: &str = "deploy/current";
/// The report of the latest deploy run.
pub const DEPLOY_CURRENT_REPORT: &str = "deploy/current/report.json";
/// A deploy run's report, inside its directory.
pub const DEPLOY_REPORT: &str = "report.json";

/// Bench runs: `bench/<stamp>/run.json` and one `<workload>.jsonl` of records per workload.
pub const BENCH_DIR: &str = "bench";
/// The link to the latest bench run.
pub const BENCH_CURRENT: &str = "bench/current";
/// A bench run's status record, inside its directory.
pub const BENCH_RUN: &str = "run.json";
/// A bench run's Rally reports and logs, inside its directory.
pub const BENCH_RALLY: &str = "rally";

/// Metrics: the collection's record and the series fetched from outside the hosts.
pub const METRICS_DIR: &str = "metrics";
/// The collection: when the agents ran, where they write on each host, their energy sources.
pub const METRICS_AGENTS: &str = "metrics/agents.json";
/// Power series of Grid'5000 nodes fetched from Kwollect, one file per host.
pub const METRICS_KWOLLECT: &str = "metrics/kwollect";
/// What `enos backup` fetched from the hosts: `backup/<host>/<path on the host>`.
pub const BACKUP_DIR: &str = "backup";
/// The backup's manifest: every file with its host, size, SHA-256 and time (a record).
pub const BACKUP_MANIFEST: &str = "backup/manifest.json";
/// The backup's checksums, for `cd backup && sha256sum -c SHA256SUMS`.
pub const BACKUP_SUMS: &str = "backup/SHA256SUMS";

/// What `enos analyze` writes: tidy tables (Parquet), statistics, `analysis.json`.
pub const ANALYSIS_DIR: &str = "analysis";
/// The analysis's record: its tables, figures and report.
pub const ANALYSIS_RECORD: &str = "analysis/analysis.json";
/// The analysis's self-contained HTML report.
pub const ANALYSIS_REPORT: &str = "analysis/report.html";
/// The analysis's figures (`<name>.svg`).
pub const ANALYSIS_FIGURES: &str = "analysis/figures";

/// The run ledger under a results root: one record per `enos run` (`ledger/<run id>.json`).
pub const LEDGER_DIR: &str = "ledger";
/// Sweeps under a results root: `sweeps/<sweep id>/`.
pub const SWEEPS_DIR: &str = "sweeps";
/// A sweep's record, in its directory.
pub const SWEEP_RECORD: &str = "sweep.json";

/// The Kwollect series of `host` (`metrics/kwollect/<host>.jsonl`).
pub fn kwollect_series(host: &str) -> PathBuf {
    Path::new(METRICS_KWOLLECT).join(format!("{host}.jsonl"))
}

/// Where one run of a point of a `rally` workload keeps its reports, inside the bench run's
/// directory: `rally/<workload>/p<point>-r<repeat>` (then `<host>/<site>/`).
pub fn bench_rally(workload: &str, point: usize, repeat: u64) -> PathBuf {
    Path::new(BENCH_RALLY)
        .join(workload)
        .join(format!("p{point}-r{repeat}"))
}

/// A bench run's directory (`bench/<stamp>`).
pub fn bench_run(stamp: &str) -> PathBuf {
    Path::new(BENCH_DIR).join(stamp)
}

/// The log of a daemon a provider runs for the experiment (`logs/<name>.log`).
pub fn daemon_log(name: &str) -> PathBuf {
    Path::new(LOGS_DIR).join(format!("{name}.log"))
}

/// A timestamped copy of the latest validation (`wan/validation-<stamp>.<extension>`).
pub fn validation_copy(stamp: &str, extension: &str) -> PathBuf {
    Path::new(WAN_DIR).join(format!("validation-{stamp}.{extension}"))
}

/// A deploy run's directory (`deploy/<stamp>`).
pub fn deploy_run(stamp: &str) -> PathBuf {
    Path::new(DEPLOY_DIR).join(stamp)
}

/// Every name [`layout`](self) gives, for the test that keeps docs/data.md in step.
pub const ALL: &[&str] = &[
    STATE,
    SCENARIO,
    LOCK,
    SSH_CONFIG,
    SSH_DIR,
    KNOWN_HOSTS,
    HOST_KEYS,
    INVENTORY_DIR,
    SECRETS,
    LOGS_DIR,
    HOST_LOGS_DIR,
    VAGRANT_DIR,
    VAGRANT_MACHINES,
    VAGRANT_LOG,
    DEPLOY_PHASES,
    WAN_DIR,
    APPLIED_WAN,
    VALIDATION_CSV,
    VALIDATION_JSON,
    FACTS,
    DEPLOY_DIR,
    DEPLOY_CURRENT,
    BENCH_DIR,
    BENCH_CURRENT,
    BENCH_RALLY,
    METRICS_DIR,
    METRICS_AGENTS,
    METRICS_KWOLLECT,
    BACKUP_DIR,
    BACKUP_MANIFEST,
    BACKUP_SUMS,
    ANALYSIS_DIR,
    ANALYSIS_RECORD,
    ANALYSIS_REPORT,
    ANALYSIS_FIGURES,
    LEDGER_DIR,
    SWEEPS_DIR,
    SWEEP_RECORD,
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_path_of_the_layout_is_documented_in_data_md() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/data.md"),
        )
        .expect("docs/data.md");
        let missing: Vec<&str> = super::ALL
            .iter()
            .copied()
            .filter(|name| !doc.contains(&format!("`{name}")))
            .collect();
        assert!(missing.is_empty(), "not in docs/data.md: {missing:?}");
    }
}
