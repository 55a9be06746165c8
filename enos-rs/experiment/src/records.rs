//! The record types the lifecycle writes under an experiment's directory, each with its version.
//! Where each one lives is named in [`enos_core::layout`]; `docs/data.md` documents them.
//!
//! | record | path | version |
//! |---|---|---|
//! | [`AppliedWan`] | `wan/applied.json` | [`APPLIED_WAN_VERSION`] |
//! | [`enos_wan::validate::ValidationReport`] | `wan/validation.json` | [`enos_wan::validate::REPORT_VERSION`] |
//! | [`DeployPhases`] | `logs/deploy-phases.json` | [`DEPLOY_PHASES_VERSION`] |
//! | [`FactsRecord`] | `facts.json` | [`FACTS_VERSION`] |
//! | [`HostKeys`] | `ssh/host-keys.json` | [`HOST_KEYS_VERSION`] |
//! | [`enos_deploy::DeployReport`] | `deploy/<run>/report.json` | its `version` field |

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use enos_core::{Reporter, TaskId};
use enos_provider::WanMethod;
use enos_wan::{PairShape, WanHost, WanMatrix};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The version of `wan/applied.json` written.
pub const APPLIED_WAN_VERSION: u32 = 2;
/// The version of `logs/deploy-phases.json` written.
pub const DEPLOY_PHASES_VERSION: u32 = 1;
/// The version of `facts.json` written.
pub const FACTS_VERSION: u32 = 1;
/// The version of `ssh/host-keys.json` written.
pub const HOST_KEYS_VERSION: u32 = 1;

/// What `wan/applied.json` holds: the matrix in force and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedWan {
    /// Format version.
    pub version: u32,
    /// How it was applied.
    pub method: WanMethod,
    /// What was asked, in words: the scenario, a file, changes.
    pub source: Vec<String>,
    /// The matrix in force.
    pub matrix: WanMatrix,
}

/// `applied.json` as version 1 wrote it: one shape per ordered pair.
#[derive(Deserialize)]
struct AppliedWanV1 {
    method: WanMethod,
    source: Vec<String>,
    matrix: MatrixV1,
}

#[derive(Deserialize)]
struct MatrixV1 {
    pairs: Vec<PairShape>,
}

#[derive(Deserialize)]
struct Version {
    version: u32,
}

/// The matrix in force over `hosts` in the experiment directory `dir`, if one was applied.
pub fn applied_wan(dir: &Path, hosts: &[WanHost]) -> Option<AppliedWan> {
    let text = std::fs::read(dir.join(enos_core::layout::APPLIED_WAN)).ok()?;
    read_applied(&text, hosts)
}

/// Reads `applied.json`; a version 1 file (one shape per pair) is turned into the class form
/// over `hosts`, one class per host, leaving out pairs naming a host `hosts` lacks.
pub fn read_applied(text: &[u8], hosts: &[WanHost]) -> Option<AppliedWan> {
    let version: Version = serde_json::from_slice(text).ok()?;
    if version.version != 1 {
        return serde_json::from_slice(text).ok();
    }
    let old: AppliedWanV1 = serde_json::from_slice(text).ok()?;
    let known: std::collections::HashSet<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let matrix = WanMatrix::from_pairs(
        hosts,
        old.matrix
            .pairs
            .iter()
            .filter(|p| known.contains(p.src.as_str()) && known.contains(p.dst.as_str()))
            .map(|p| (p.src.as_str(), p.dst.as_str(), p.shape)),
    )
    .ok()?;
    Some(AppliedWan {
        version: APPLIED_WAN_VERSION,
        method: old.method,
        source: old.source,
        matrix,
    })
}

/// What `logs/deploy-phases.json` holds: where the time of the last `enos deploy` went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployPhases {
    /// Format version.
    pub version: u32,
    /// Every task, in the order they started.
    pub phases: Vec<PhaseTiming>,
}

/// One task as it ran: what, how many items, and how long.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseTiming {
    /// The task's title, e.g. `starting hosts`.
    pub title: String,
    /// Its number of items (hosts, keys, …).
    pub items: u64,
    /// The items done when it ended.
    pub done: u64,
    /// Seconds from its start to its end (to the time of writing, if it had not ended).
    pub seconds: f64,
}

/// What `facts.json` holds: what every host said about itself on the last deploy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FactsRecord {
    /// Format version.
    pub version: u32,
    /// Host name → its facts.
    pub hosts: std::collections::BTreeMap<String, enos_deploy::Facts>,
}

/// What `ssh/host-keys.json` holds: the host keys learnt on first contact, pinned by their
/// fingerprints. A later deploy that meets another key refuses the host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostKeys {
    /// Format version.
    pub version: u32,
    /// Each host (or jump host) and the SHA256 fingerprint of its key, as `ssh-keygen -l`
    /// prints it.
    pub keys: Vec<enos_core::ssh::LearntHostKey>,
}

/// Writes `value` as pretty JSON to `path`, atomically, creating its directory.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<(), Error> {
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| Error::new(e.to_string()))?;
    text.push(b'\n');
    write_text(path, &text)
}

/// Writes `text` to `path`, atomically, creating its directory.
pub fn write_text(path: &Path, text: &[u8]) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
    }
    enos_core::fsutil::write_atomic(path, text)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))
}

/// A [`Reporter`] that passes everything on and keeps how long each task took: the
/// [`DeployPhases`] record.
pub(crate) struct PhaseRecorder<'a> {
    inner: &'a dyn Reporter,
    phases: Mutex<Vec<(TaskId, PhaseTiming, Instant, bool)>>,
}

impl<'a> PhaseRecorder<'a> {
    pub(crate) fn new(inner: &'a dyn Reporter) -> Self {
        Self {
            inner,
            phases: Mutex::new(Vec::new()),
        }
    }

    /// The record of every task so far.
    pub(crate) fn record(&self) -> DeployPhases {
        let phases = self.phases.lock().unwrap_or_else(|e| e.into_inner());
        DeployPhases {
            version: DEPLOY_PHASES_VERSION,
            phases: phases
                .iter()
                .map(|(_, timing, started, ended)| {
                    let mut timing = timing.clone();
                    if !ended {
                        timing.seconds = started.elapsed().as_secs_f64();
                    }
                    timing
                })
                .collect(),
        }
    }

    fn with(&self, task: TaskId, f: impl FnOnce(&mut PhaseTiming, &Instant, &mut bool)) {
        let mut phases = self.phases.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, timing, started, ended)) =
            phases.iter_mut().rev().find(|(id, ..)| *id == task)
        {
            f(timing, started, ended);
        }
    }
}

impl Reporter for PhaseRecorder<'_> {
    fn start(&self, title: &str, total: u64) -> TaskId {
        let task = self.inner.start(title, total);
        let timing = PhaseTiming {
            title: title.to_owned(),
            items: total,
            done: 0,
            seconds: 0.0,
        };
        self.phases.lock().unwrap_or_else(|e| e.into_inner()).push((
            task,
            timing,
            Instant::now(),
            false,
        ));
        task
    }

    fn advance(&self, task: TaskId, item: &str, ok: bool) {
        self.with(task, |timing, _, _| timing.done += 1);
        self.inner.advance(task, item, ok);
    }

    fn finish(&self, task: TaskId) {
        self.with(task, |timing, started, ended| {
            if !*ended {
                timing.seconds = started.elapsed().as_secs_f64();
                *ended = true;
            }
        });
        self.inner.finish(task);
    }

    fn note(&self, text: &str) {
        self.inner.note(text);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::testing::hosts;

    #[test]
    fn applied_version_1_is_read_into_the_class_form() {
        let hosts = hosts(&["a-1", "a-2", "b-1"]);
        let shape = r#"{"delay": "10ms", "jitter": "0ms", "rate": "1gbit", "loss": "0%"}"#;
        let pair = |src: &str, dst: &str, address: &str| {
            format!(
                r#"{{"src": "{src}", "dst": "{dst}", "dst_address": "{address}", "shape": {shape}}}"#
            )
        };
        let text = format!(
            r#"{{"version": 1, "method": {{"tc": {{"device": "eth0"}}}}, "source": ["scenario"],
                "matrix": {{"pairs": [{}, {}, {}]}}}}"#,
            pair("a-1", "b-1", "10.0.0.3"),
            pair("b-1", "a-2", "10.0.0.2"),
            pair("gone-1", "a-1", "10.0.0.1"),
        );
        let applied = read_applied(text.as_bytes(), &hosts).unwrap();
        assert_eq!(applied.version, 2);
        assert_eq!(applied.source, ["scenario"]);
        let m = &applied.matrix;
        assert_eq!(m.host_count(), 3);
        assert_eq!(m.pair_count(), 2);
        assert_eq!(m.shape("a-1", "b-1").unwrap().delay.to_string(), "10ms");
        assert_eq!(m.shape("b-1", "a-2").unwrap().rate.to_string(), "1gbit");
        assert_eq!(m.shape("a-2", "b-1"), None);
        // Version 2 reads back as written.
        let again = serde_json::to_vec(&applied).unwrap();
        assert_eq!(read_applied(&again, &hosts), Some(applied));
        assert_eq!(read_applied(b"{}", &hosts), None);
    }
}
