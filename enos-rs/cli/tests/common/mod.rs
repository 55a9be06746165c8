//! Helpers shared by the `enos` integration tests.

pub mod machines;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Tests that measure the WAN and tests that load the machine (package installs) must not
/// overlap: measurements under a busy CPU are off by milliseconds.
static LOAD: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Every workspace holds this shared; the test that starts hundreds of hosts holds it alone, so
/// no other testbed starts (a burst of key making, namespaces and sshd) while it measures.
/// Taken after `LOAD`, never before; written only under `loading()`, so a test holding either
/// guard of `LOAD` may hold two workspaces.
static TESTBEDS: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// How a workspace holds `TESTBEDS`.
#[allow(dead_code)]
enum Testbeds {
    Beside(std::sync::RwLockReadGuard<'static, ()>),
    Alone(std::sync::RwLockWriteGuard<'static, ()>),
}

/// Held by a test that measures: measuring tests run together, never beside a loading one.
pub fn measuring() -> std::sync::RwLockReadGuard<'static, ()> {
    LOAD.read().unwrap_or_else(|e| e.into_inner())
}

/// Held by a test that loads the machine (installs packages): it runs alone among measuring
/// and loading tests.
pub fn loading() -> std::sync::RwLockWriteGuard<'static, ()> {
    LOAD.write().unwrap_or_else(|e| e.into_inner())
}

/// The path of the `enos` binary under test.
pub fn enos_bin() -> &'static str {
    env!("CARGO_BIN_EXE_enos")
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `enos args…` in `cwd`; stderr is not a terminal, so progress bars are hidden.
pub fn enos(cwd: &Path, args: &[&str]) -> Output {
    Command::new(enos_bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Text of an output stream.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether this process can run the tests that need root, namespaces and sshd (see
/// `enos_testkit`: under CI their absence fails the test, elsewhere it is a recorded skip).
pub fn can_use_namespaces(test: &str) -> bool {
    enos_testkit::require_root(test)
        && enos_testkit::require_file(test, Path::new("/usr/sbin/sshd"), "openssh-server")
}

/// A scratch directory holding a scenario and a results root, whose experiments are torn down
/// when it is dropped — also when the test fails.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    /// Released after the teardown of `Drop`.
    _testbeds: Testbeds,
}

impl Workspace {
    /// A workspace with `scenario.yaml` holding `scenario`.
    pub fn new(scenario: &str) -> Self {
        let testbeds = Testbeds::Beside(TESTBEDS.read().unwrap_or_else(|e| e.into_inner()));
        Self::with(scenario, testbeds)
    }

    /// A workspace no other workspace exists beside, for as long as it lives (for a test that
    /// measures a testbed of hundreds of hosts). Take `loading()` first.
    pub fn alone(scenario: &str) -> Self {
        let testbeds = Testbeds::Alone(TESTBEDS.write().unwrap_or_else(|e| e.into_inner()));
        Self::with(scenario, testbeds)
    }

    fn with(scenario: &str, testbeds: Testbeds) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("enos-test-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("scenario.yaml"), scenario).unwrap();
        Self {
            dir,
            _testbeds: testbeds,
        }
    }

    /// The workspace's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `enos args…` inside the workspace.
    pub fn enos(&self, args: &[&str]) -> Output {
        enos(self.path(), args)
    }

    /// The current experiment's directory.
    pub fn env_dir(&self) -> PathBuf {
        self.path()
            .join("enos-results/current")
            .canonicalize()
            .unwrap()
    }

    /// The current experiment's state.
    pub fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.env_dir().join("state.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The prefixes of every experiment recorded under this workspace's results root.
    pub fn prefixes(&self) -> Vec<String> {
        let mut prefixes = Vec::new();
        let root = self.path().join("enos-results");
        let Ok(names) = std::fs::read_dir(&root) else {
            return prefixes;
        };
        for name in names.flatten() {
            let Ok(runs) = std::fs::read_dir(name.path()) else {
                continue;
            };
            for run in runs.flatten() {
                let Ok(text) = std::fs::read_to_string(run.path().join("state.json")) else {
                    continue;
                };
                let Ok(state) = serde_json::from_str::<serde_json::Value>(&text) else {
                    continue;
                };
                if let Some(prefix) = state["provider_state"]["prefix"].as_str()
                    && !prefixes.iter().any(|p| p == prefix)
                {
                    prefixes.push(prefix.to_owned());
                }
            }
        }
        prefixes
    }

    /// The current experiment's prefix.
    pub fn prefix(&self) -> String {
        self.state()["provider_state"]["prefix"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let prefixes = self.prefixes();
        if prefixes.is_empty() {
            return;
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for prefix in prefixes {
            let _ = runtime.block_on(enos_provider_local::teardown::remove_all(&prefix));
        }
    }
}

/// What a test can see, with the system's own tools, of experiment `prefix`: namespaces, links
/// and live processes that name it. Empty when nothing is left.
pub fn traces_of(prefix: &str) -> Vec<String> {
    let mut traces = Vec::new();
    let netns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    for line in text(&netns.stdout)
        .lines()
        .filter(|l| l.contains(&format!("enos-{prefix}-")))
    {
        traces.push(format!("namespace: {line}"));
    }
    let links = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    for line in text(&links.stdout).lines().filter(|l| l.contains(prefix)) {
        traces.push(format!("link: {line}"));
    }
    let ps = Command::new("ps")
        .args(["-eo", "stat=,pid=,args="])
        .output()
        .unwrap();
    for line in text(&ps.stdout).lines() {
        let live = !line.trim_start().starts_with('Z');
        if live && line.contains(prefix) && !line.contains(" ps -eo") {
            traces.push(format!("process: {line}"));
        }
    }
    for dir in [
        format!("/run/enos/{prefix}"),
        format!("/var/lib/enos/{prefix}"),
    ] {
        if Path::new(&dir).exists() {
            traces.push(format!("directory: {dir}"));
        }
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for line in mounts
        .lines()
        .filter(|l| l.contains(&format!("/{prefix}/")))
    {
        traces.push(format!("mount: {line}"));
    }
    traces
}

/// The live processes whose network namespace is `namespace`.
pub fn processes_in(namespace: &str) -> Vec<u32> {
    let out = Command::new("ip")
        .args(["netns", "pids", namespace])
        .output()
        .unwrap();
    text(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Fails the test with the command's exit status and output unless it succeeded.
pub fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
}
