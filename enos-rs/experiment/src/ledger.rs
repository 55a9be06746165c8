//! The run ledger: every `enos run` is registered under its results root, in
//! `ledger/<run id>.json` (one file per run, written atomically when the run starts and again
//! when it ends), with its scenario's hash, the values it was run with, where its experiment
//! is, how it ended, and facts of the testbed it ran on. `enos runs` lists and filters them;
//! sweeps resume from them; bundles carry a run's entry.
//!
//! An entry still `running` whose process is gone is shown as `interrupted`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use enos_core::layout;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::Error;

/// The version of [`LedgerEntry`].
pub const LEDGER_VERSION: u32 = 1;

/// How a registered run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerStatus {
    /// Its process is working on it (or died without saying: see [`LedgerEntry::shown_status`]).
    Running,
    /// Every phase succeeded.
    Success,
    /// It kept results, incomplete ones.
    Partial,
    /// A phase failed before any result was made.
    Failure,
    /// Its bench was stopped by hand (SIGINT), its results kept; or, shown only, its process
    /// ended without finishing it.
    Interrupted,
}

impl LedgerStatus {
    /// The name, as `enos runs` shows it and `--status` takes it.
    pub fn name(self) -> &'static str {
        match self {
            LedgerStatus::Running => "running",
            LedgerStatus::Success => "success",
            LedgerStatus::Partial => "partial",
            LedgerStatus::Failure => "failure",
            LedgerStatus::Interrupted => "interrupted",
        }
    }

    /// Whether a run so ended has its results (a sweep does not run its point again); an
    /// interrupted one has not.
    pub fn has_results(self) -> bool {
        matches!(self, LedgerStatus::Success | LedgerStatus::Partial)
    }
}

/// The scenario a run ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioRef {
    /// The file, absolute.
    pub file: String,
    /// The SHA-256 of the text the run ran (a sweep's point: that point's text).
    pub sha256: String,
}

/// The sweep a run is a point of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepRef {
    /// The sweep's id (`<name>-<hash of the sweeping scenario>`).
    pub id: String,
    /// The point's number, from 1.
    pub point: usize,
    /// The sweep's number of points.
    pub points: usize,
}

/// The machine `enos` ran on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerFacts {
    /// Its kernel release.
    pub kernel: String,
    /// Its operating system (`PRETTY_NAME` of os-release).
    pub os: String,
    /// The version of enos.
    pub enos: String,
}

/// Facts of the testbed a run ran on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestbedFacts {
    /// The provider's name.
    pub provider: String,
    /// Hosts per site, in scenario order.
    pub sites: IndexMap<String, usize>,
    /// The machine `enos` ran on.
    pub controller: ControllerFacts,
    /// The hosts' kernel releases, with how many hosts run each.
    pub kernels: BTreeMap<String, usize>,
    /// The hosts' operating systems, with how many hosts run each.
    pub os: BTreeMap<String, usize>,
    /// Versions of the packages the scenario installs (and of OpenSSH's server), as the hosts'
    /// package manager reports them; several versions are separated by `, `.
    pub packages: BTreeMap<String, String>,
    /// Hosts whose facts could not be read, with why.
    pub unreachable: BTreeMap<String, String>,
}

/// One run in the ledger (`ledger/<id>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// [`LEDGER_VERSION`].
    pub v: u32,
    /// The run's id: `<name>-<UTC time>-<pid>`.
    pub id: String,
    /// The experiment's name.
    pub name: String,
    /// The scenario.
    pub scenario: ScenarioRef,
    /// How it stands.
    pub status: LedgerStatus,
    /// The process that ran it.
    pub pid: u32,
    /// When it started.
    pub started: jiff::Timestamp,
    /// When it ended.
    pub finished: Option<jiff::Timestamp>,
    /// Its experiment's directory, relative to the results root, once made.
    pub experiment: Option<String>,
    /// The swept keys and their values (empty outside a sweep).
    pub params: IndexMap<String, Value>,
    /// The sweep it is a point of.
    pub sweep: Option<SweepRef>,
    /// The values the scenario resolved to: variables, WAN, workloads.
    pub resolved: Value,
    /// The testbed's facts, read before it was destroyed.
    pub testbed: TestbedFacts,
    /// The bundle it re-runs, when `enos run --from` made it: the original run's id.
    pub rerun_of: Option<String>,
    /// What went wrong, when it did not succeed.
    pub errors: Vec<String>,
}

impl LedgerEntry {
    /// The status to show: `interrupted` for a run still `running` whose process is gone.
    pub fn shown_status(&self) -> LedgerStatus {
        if self.status == LedgerStatus::Running && !process_alive(self.pid) {
            LedgerStatus::Interrupted
        } else {
            self.status
        }
    }

    /// The values it ran with, as `key=value, …` (empty outside a sweep).
    pub fn params_text(&self) -> String {
        self.params
            .iter()
            .map(|(k, v)| format!("{k}={}", enos_scenario::sweep::value_text(v)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// The SHA-256 of `text`, in hexadecimal.
pub fn sha256_hex(text: &[u8]) -> String {
    Sha256::digest(text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The ledger's directory under the results root `root`.
pub fn dir(root: &Path) -> PathBuf {
    root.join(layout::LEDGER_DIR)
}

/// Writes `entry` (atomically) under the results root `root`.
pub fn write(root: &Path, entry: &LedgerEntry) -> Result<(), Error> {
    let dir = dir(root);
    // Private, as the experiments beside it.
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(&dir)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
    crate::records::write_json(&dir.join(format!("{}.json", entry.id)), entry)
}

/// Every entry of the ledger under `root`, oldest first; entries that do not read (another
/// version, a broken file) are left out and named in the second list, with why.
pub fn list(root: &Path) -> Result<(Vec<LedgerEntry>, Vec<String>), Error> {
    let dir = dir(root);
    let read = match std::fs::read_dir(&dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(Error::new(format!("cannot read {}: {e}", dir.display()))),
    };
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for item in read.flatten() {
        let path = item.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let parsed = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).map_err(|e| e.to_string()))
            .and_then(|value| {
                match value.get("v").and_then(Value::as_u64) {
                    Some(v) if v == u64::from(LEDGER_VERSION) => {}
                    other => return Err(format!("version {other:?}, not {LEDGER_VERSION}")),
                }
                serde_json::from_value::<LedgerEntry>(value).map_err(|e| e.to_string())
            });
        match parsed {
            Ok(entry) => entries.push(entry),
            Err(why) => skipped.push(format!("{}: {why}", path.display())),
        }
    }
    entries.sort_by(|a, b| (a.started, &a.id).cmp(&(b.started, &b.id)));
    Ok((entries, skipped))
}

/// What `enos runs` keeps.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only runs of this experiment name.
    pub name: Option<String>,
    /// Only runs so ended (as shown).
    pub status: Option<LedgerStatus>,
    /// Only points of this sweep.
    pub sweep: Option<String>,
    /// Only runs with these values (`key` and the value as shown).
    pub params: Vec<(String, String)>,
    /// Only runs of a scenario whose hash starts with this.
    pub scenario_hash: Option<String>,
}

impl RunFilter {
    /// Whether `entry` passes.
    pub fn keeps(&self, entry: &LedgerEntry) -> bool {
        self.name.as_ref().is_none_or(|n| *n == entry.name)
            && self.status.is_none_or(|s| s == entry.shown_status())
            && self
                .sweep
                .as_ref()
                .is_none_or(|s| entry.sweep.as_ref().is_some_and(|w| w.id == *s))
            && self
                .scenario_hash
                .as_ref()
                .is_none_or(|h| entry.scenario.sha256.starts_with(h.as_str()))
            && self.params.iter().all(|(key, value)| {
                entry
                    .params
                    .get(key)
                    .is_some_and(|v| enos_scenario::sweep::value_text(v) == *value)
            })
    }
}

/// The runs of the ledger under `root` that `filter` keeps, oldest first, and the entries
/// that did not read.
pub fn runs(root: &Path, filter: &RunFilter) -> Result<(Vec<LedgerEntry>, Vec<String>), Error> {
    let (entries, skipped) = list(root)?;
    Ok((
        entries.into_iter().filter(|e| filter.keeps(e)).collect(),
        skipped,
    ))
}

/// The entry of the run `id` under `root`.
pub fn find(root: &Path, id: &str) -> Result<LedgerEntry, Error> {
    let (entries, _) = list(root)?;
    entries
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| Error::new(format!("no run '{id}' in the ledger of {}", root.display())))
}

/// The facts of the machine `enos` runs on.
pub fn controller_facts() -> ControllerFacts {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| os_release_name(&text))
        .unwrap_or_default();
    ControllerFacts {
        kernel,
        os,
        enos: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// `PRETTY_NAME` of an os-release file.
fn os_release_name(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
}

/// The command that prints a host's facts for [`read_host_facts`]: its kernel, its OS and the
/// versions of `packages`.
pub(crate) fn host_facts_command(packages: &[String]) -> String {
    let mut names: Vec<&str> = packages
        .iter()
        .map(|p| p.split('=').next().unwrap_or(p))
        .filter(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'))
        })
        .collect();
    names.push("openssh-server");
    names.sort_unstable();
    names.dedup();
    format!(
        "echo \"kernel=$(uname -r)\"; \
         (. /etc/os-release 2>/dev/null && echo \"os=$PRETTY_NAME\"); \
         if command -v dpkg-query >/dev/null; then \
         dpkg-query -W -f='package=${{Package}} ${{Version}}\\n' {} 2>/dev/null; fi; true",
        names.join(" ")
    )
}

/// Adds what one host's [`host_facts_command`] printed to `facts`.
pub(crate) fn read_host_facts(facts: &mut TestbedFacts, output: &str) {
    for line in output.lines() {
        if let Some(kernel) = line.strip_prefix("kernel=") {
            *facts.kernels.entry(kernel.to_owned()).or_default() += 1;
        } else if let Some(os) = line.strip_prefix("os=") {
            *facts.os.entry(os.to_owned()).or_default() += 1;
        } else if let Some(package) = line.strip_prefix("package=") {
            let Some((name, version)) = package.split_once(' ') else {
                continue;
            };
            if version.is_empty() {
                continue; // known to dpkg, not installed
            }
            let versions = facts.packages.entry(name.to_owned()).or_default();
            if !versions.split(", ").any(|v| v == version) {
                if !versions.is_empty() {
                    versions.push_str(", ");
                }
                versions.push_str(version);
            }
        }
    }
}

/// The distribution packages the scenario's deploy steps install.
pub(crate) fn scenario_packages(scenario: &enos_scenario::Scenario) -> Vec<String> {
    scenario
        .deploy
        .groups
        .iter()
        .flat_map(|g| &g.steps)
        .filter_map(|s| match &s.action {
            enos_scenario::deploy::Action::Packages { names } => Some(names.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// What the scenario resolves to, for the ledger: its variables, its WAN, its workloads.
pub(crate) fn resolved(scenario: &enos_scenario::Scenario) -> Value {
    serde_json::json!({
        "vars": scenario.deploy.vars,
        "network": scenario.network,
        "bench": scenario.bench,
        "metrics": scenario.metrics,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn host_facts_are_counted_per_kernel_and_versions_gathered_per_package() {
        let mut facts = TestbedFacts::default();
        read_host_facts(
            &mut facts,
            "kernel=6.1.0-40-amd64\nos=Debian GNU/Linux 12 (bookworm)\n\
             package=nginx 1.22.1-9\npackage=openssh-server 1:9.2p1-2\npackage=absent \n",
        );
        read_host_facts(
            &mut facts,
            "kernel=6.1.0-41-amd64\npackage=nginx 1.22.1-9+deb12u1\npackage=nginx 1.22.1-9\n",
        );
        assert_eq!(
            facts.kernels,
            BTreeMap::from([
                ("6.1.0-40-amd64".to_owned(), 1),
                ("6.1.0-41-amd64".to_owned(), 1)
            ])
        );
        assert_eq!(facts.os.get("Debian GNU/Linux 12 (bookworm)"), Some(&1));
        assert_eq!(
            facts.packages.get("nginx").map(String::as_str),
            Some("1.22.1-9, 1.22.1-9+deb12u1")
        );
        assert!(!facts.packages.contains_key("absent"));
    }

    #[test]
    fn the_facts_command_names_only_package_names() {
        let command = host_facts_command(&["nginx=1.22".into(), "bad;rm".into()]);
        assert!(command.contains(" nginx openssh-server "), "{command}");
        assert!(!command.contains("rm"), "{command}");
    }

    #[test]
    fn os_release_gives_its_pretty_name() {
        assert_eq!(
            os_release_name("ID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
            Some("Debian GNU/Linux 12 (bookworm)".to_owned())
        );
    }

    #[test]
    fn a_running_entry_of_a_dead_process_shows_as_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let mut entry = LedgerEntry {
            v: LEDGER_VERSION,
            id: "q-1".into(),
            name: "q".into(),
            scenario: ScenarioRef {
                file: "q.yaml".into(),
                sha256: sha256_hex(b"name: q"),
            },
            status: LedgerStatus::Running,
            pid: std::process::id(),
            started: jiff::Timestamp::now(),
            finished: None,
            experiment: None,
            params: IndexMap::from([("network.default_delay".to_owned(), "5ms".into())]),
            sweep: None,
            resolved: Value::Null,
            testbed: TestbedFacts::default(),
            rerun_of: None,
            errors: Vec::new(),
        };
        assert_eq!(entry.shown_status(), LedgerStatus::Running);
        write(dir.path(), &entry).unwrap();
        entry.id = "q-2".into();
        entry.pid = u32::MAX; // no such process
        write(dir.path(), &entry).unwrap();
        std::fs::write(dir.path().join("ledger/broken.json"), "{").unwrap();
        let (entries, skipped) = list(dir.path()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        let filter = RunFilter {
            status: Some(LedgerStatus::Interrupted),
            params: vec![("network.default_delay".into(), "5ms".into())],
            ..RunFilter::default()
        };
        let (kept, _) = runs(dir.path(), &filter).unwrap();
        assert_eq!(
            kept.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["q-2"]
        );
        let filter = RunFilter {
            params: vec![("network.default_delay".into(), "6ms".into())],
            ..RunFilter::default()
        };
        assert!(runs(dir.path(), &filter).unwrap().0.is_empty());
    }
}
