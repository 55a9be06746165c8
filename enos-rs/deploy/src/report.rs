//! The deploy report: what every step did on every host, saved as versioned JSON after each step
//! so that a failed or interrupted deploy keeps what it did.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The version of the report format this build writes.
pub const REPORT_VERSION: u32 = 1;

/// What one `enos deploy` did with the `deploy:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployReport {
    /// Format version ([`REPORT_VERSION`]).
    pub version: u32,
    /// When the steps started.
    pub started: Timestamp,
    /// When they ended (absent while running, or when enos was interrupted).
    pub ended: Option<Timestamp>,
    /// How it went.
    pub outcome: Outcome,
    /// The steps that ran, in order.
    pub steps: Vec<StepReport>,
    /// The services the deploy was to start or keep: host → service names. Recorded before
    /// the first step runs, so that an interrupted deploy still says which services it may
    /// have started ([`crate::stop_services`] stops them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, Vec<String>>,
}

/// How a deploy went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Outcome {
    /// Steps are still running (or enos was killed while they were: see
    /// [`DeployReport::settle_interrupted`]).
    Running,
    /// Every step ended within its failure policy.
    Succeeded,
    /// A step failed beyond its failure policy; the steps after it did not run.
    Failed {
        /// Why, in one line.
        reason: String,
    },
    /// enos stopped (it was killed, or the machine went down) while steps were running: the
    /// steps listed ended, the one after them may have done part of its work.
    Interrupted,
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// Its number, from 1.
    pub number: usize,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Where it is written.
    pub origin: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Each of its hosts, in testbed order.
    pub hosts: Vec<HostReport>,
}

/// What one step did on one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostReport {
    /// The host.
    pub host: String,
    /// What happened.
    pub status: Status,
    /// Why it was skipped, or how it failed (with the end of its output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Its log, relative to the results directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

/// What a step did on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It changed something.
    Changed,
    /// What it would do held already.
    Unchanged,
    /// The host sat it out (`when`, `run_once`).
    Skipped,
    /// It failed.
    Failed,
    /// The host was left out: it failed an earlier step whose policy is `min`.
    Dropped,
}

/// How many (step, host) pairs ended in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Changed something.
    pub changed: usize,
    /// Held already.
    pub unchanged: usize,
    /// Sat out.
    pub skipped: usize,
    /// Failed.
    pub failed: usize,
    /// Left out after an earlier failure.
    pub dropped: usize,
}

impl DeployReport {
    /// A report of a deploy that starts now.
    pub fn start() -> DeployReport {
        DeployReport {
            version: REPORT_VERSION,
            started: Timestamp::now(),
            ended: None,
            outcome: Outcome::Running,
            steps: Vec::new(),
            services: BTreeMap::new(),
        }
    }

    /// Records that a report still `running` was left so by a dead enos: its outcome becomes
    /// [`Outcome::Interrupted`] (its end time stays unknown). Returns whether anything changed.
    /// Only the holder of the experiment's lock may conclude this.
    pub fn settle_interrupted(&mut self) -> bool {
        if self.outcome != Outcome::Running {
            return false;
        }
        self.outcome = Outcome::Interrupted;
        true
    }

    /// The counts over every step and host.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for host in self.steps.iter().flat_map(|s| &s.hosts) {
            match host.status {
                Status::Changed => counts.changed += 1,
                Status::Unchanged => counts.unchanged += 1,
                Status::Skipped => counts.skipped += 1,
                Status::Failed => counts.failed += 1,
                Status::Dropped => counts.dropped += 1,
            }
        }
        counts
    }
}

impl StepReport {
    /// How many of its hosts ended in `status`.
    pub fn count(&self, status: Status) -> usize {
        self.hosts.iter().filter(|h| h.status == status).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_without_services_still_read_and_those_with_them_keep_them() {
        let old = r#"{"version":1,"started":"2025-01-01T00:00:00Z","ended":null,
            "outcome":{"state":"succeeded"},"steps":[]}"#;
        let report: DeployReport = serde_json::from_str(old).unwrap();
        assert!(report.services.is_empty());
        assert!(!serde_json::to_string(&report).unwrap().contains("services"));
        let mut report = DeployReport::start();
        report
            .services
            .insert("paris-web-1".into(), vec!["web".into()]);
        let text = serde_json::to_string(&report).unwrap();
        assert!(
            text.contains(r#""services":{"paris-web-1":["web"]}"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<DeployReport>(&text).unwrap(), report);
    }
}
