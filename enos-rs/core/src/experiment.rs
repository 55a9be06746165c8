//! Results directories: where an experiment's state, scenario copy, keys, inventories and logs live.
//!
//! Layout under a results root (default `./enos-results`):
//!
//! ```text
//! enos-results/
//!   current -> quickstart/20261122-101500      (the experiment last deployed from this root)
//!   quickstart/
//!     current -> 20261122-101500
//!     20261122-101500/
//!       state.json        versioned, written atomically after every step
//!       scenario.yaml     the scenario as given
//!       .lock             held by the command working on the experiment
//!       ssh/ inventory/ logs/ …
//! ```
//!
//! The root, the name's directory and the experiment's directory are created with mode 0700:
//! they hold keys, secrets and what the hosts printed.

use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use enos_scenario::Scenario;

use crate::fsutil::{symlink_atomic, write_atomic};
use crate::layout;
use crate::state::{ExperimentState, Phase, STATE_VERSION};

/// The file name of the state inside an experiment directory.
pub const STATE_FILE: &str = layout::STATE;
/// The name of the link to the latest experiment directory.
pub const CURRENT_LINK: &str = layout::CURRENT;
const LOCK_FILE: &str = layout::LOCK;

/// Errors about results directories and experiment state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file-system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Another command holds the experiment's lock.
    #[error("another enos command ({holder}) is working on the experiment in {dir}")]
    Locked {
        /// The experiment directory.
        dir: PathBuf,
        /// Who holds the lock, as it wrote itself in the lock file.
        holder: String,
    },
    /// Another command is creating or opening an experiment of the same name.
    #[error(
        "another enos command ({holder}) is creating or opening the experiment '{name}' in {dir}"
    )]
    NameLocked {
        /// The experiment's name.
        name: String,
        /// The directory of the experiments of that name.
        dir: PathBuf,
        /// Who holds the lock, as it wrote itself in the lock file.
        holder: String,
    },
    /// No experiment could be found where one was expected.
    #[error("no experiment at {path}")]
    NotFound {
        /// Where one was looked for.
        path: PathBuf,
    },
    /// The state file is not valid for this build.
    #[error("cannot read the experiment state {path}: {message}")]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The experiment was deployed from another scenario than the one given.
    #[error(
        "the experiment '{name}' in {dir} is {phase} with other sites or roles; destroy it first (enos destroy --env {dir})"
    )]
    ScenarioChanged {
        /// The experiment's name.
        name: String,
        /// Its directory.
        dir: PathBuf,
        /// Its phase.
        phase: Phase,
    },
}

fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> StateError + 'a {
    move |source| StateError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// An experiment opened by this process: its directory, its state and the lock that makes this
/// process the only one working on it.
#[derive(Debug)]
pub struct Experiment {
    dir: PathBuf,
    state: ExperimentState,
    _lock: File,
}

/// How [`Experiment::open_for_deploy`] found the experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// A new results directory was created.
    Created,
    /// An existing, not yet destroyed experiment with the same scenario was opened.
    Existing,
}

impl Experiment {
    /// Opens the experiment a `deploy` of `scenario` works on under `root`: the current one of that
    /// name if it is not destroyed (it must ask for the same testbed; its WAN and what it deploys
    /// may change, and the state and `scenario.yaml` then take the new ones), or a new results
    /// directory.
    pub fn open_for_deploy(
        root: &Path,
        scenario: &Scenario,
        scenario_source: &str,
        provider: &str,
    ) -> Result<(Experiment, Opened), StateError> {
        let name_dir = root.join(&scenario.name);
        private_dir(&name_dir).map_err(io_err("create", &name_dir))?;
        let root = fs::canonicalize(root).map_err(io_err("resolve", root))?;
        let name_dir = root.join(&scenario.name);
        // Serialise creation of experiments of one name.
        let name_lock = lock_file(&name_dir).map_err(|e| match e {
            StateError::Locked { dir, holder } => StateError::NameLocked {
                name: scenario.name.clone(),
                dir,
                holder,
            },
            other => other,
        })?;
        let current = name_dir.join(CURRENT_LINK);
        if current.exists() {
            let dir = fs::canonicalize(&current).map_err(io_err("resolve", &current))?;
            let mut experiment = Experiment::open_dir(&dir)?;
            if experiment.state.phase != Phase::Destroyed {
                if !experiment.state.scenario.same_testbed(scenario) {
                    return Err(StateError::ScenarioChanged {
                        name: scenario.name.clone(),
                        dir,
                        phase: experiment.state.phase,
                    });
                }
                if experiment.state.scenario != *scenario {
                    let path = dir.join(layout::SCENARIO);
                    write_atomic(&path, scenario_source.as_bytes())
                        .map_err(io_err("write", &path))?;
                    experiment.state.scenario = scenario.clone();
                    experiment.save()?;
                }
                drop(name_lock);
                return Ok((experiment, Opened::Existing));
            }
        }
        let stamp = jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S").to_string();
        let mut dir = name_dir.join(&stamp);
        let mut n = 1;
        while dir.exists() {
            n += 1;
            dir = name_dir.join(format!("{stamp}-{n}"));
        }
        private_dir(&dir).map_err(io_err("create", &dir))?;
        let lock = lock_file(&dir)?;
        let path = dir.join(layout::SCENARIO);
        write_atomic(&path, scenario_source.as_bytes()).map_err(io_err("write", &path))?;
        let mut experiment = Experiment {
            dir: dir.clone(),
            state: ExperimentState::new(scenario.clone(), provider),
            _lock: lock,
        };
        experiment.save()?;
        let leaf = PathBuf::from(dir.file_name().unwrap_or_default());
        symlink_atomic(&leaf, &current).map_err(io_err("link", &current))?;
        let root_current = root.join(CURRENT_LINK);
        let from_root = Path::new(&scenario.name).join(&leaf);
        symlink_atomic(&from_root, &root_current).map_err(io_err("link", &root_current))?;
        drop(name_lock);
        Ok((experiment, Opened::Created))
    }

    /// Opens the experiment at `env`: an experiment directory, or a directory whose `current`
    /// link leads to one (a results root or an experiment name's directory).
    pub fn open(env: &Path) -> Result<Experiment, StateError> {
        Experiment::open_dir(&resolve_env(env)?)
    }

    /// Opens the experiment directory `dir`, taking its lock. A step that a dead command left
    /// unfinished is recorded as interrupted (see [`ExperimentState::settle_interrupted`]).
    fn open_dir(dir: &Path) -> Result<Experiment, StateError> {
        let lock = lock_file(dir)?;
        let path = dir.join(STATE_FILE);
        let text = fs::read_to_string(&path).map_err(io_err("read", &path))?;
        let state = parse_state(&text).map_err(|message| StateError::Corrupt { path, message })?;
        let mut experiment = Experiment {
            dir: dir.to_owned(),
            state,
            _lock: lock,
        };
        if experiment.state.settle_interrupted() {
            experiment.save()?;
        }
        Ok(experiment)
    }

    /// The experiment directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The state as last loaded or changed.
    pub fn state(&self) -> &ExperimentState {
        &self.state
    }

    /// The state, to change; call [`Experiment::save`] to persist it.
    pub fn state_mut(&mut self) -> &mut ExperimentState {
        &mut self.state
    }

    /// Writes the state atomically to `state.json`.
    pub fn save(&mut self) -> Result<(), StateError> {
        self.state.updated = jiff::Timestamp::now();
        let path = self.dir.join(STATE_FILE);
        let mut text = serde_json::to_vec_pretty(&self.state).map_err(|e| StateError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push(b'\n');
        write_atomic(&path, &text).map_err(io_err("write", &path))
    }

    /// Sets the phase and saves.
    pub fn set_phase(&mut self, phase: Phase) -> Result<(), StateError> {
        self.state.phase = phase;
        self.save()
    }

    /// A directory inside the experiment directory, created if needed.
    pub fn subdir(&self, relative: impl AsRef<Path>) -> Result<PathBuf, StateError> {
        let path = self.dir.join(relative);
        fs::create_dir_all(&path).map_err(io_err("create", &path))?;
        Ok(path)
    }

    /// A path inside the experiment directory, its parent directories created.
    pub fn path(&self, relative: impl AsRef<Path>) -> Result<PathBuf, StateError> {
        let path = self.dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        Ok(path)
    }
}

/// Creates `dir` and its missing parents readable by their owner only (mode 0700): an
/// experiment's results hold its keys, its secrets and what its hosts printed. Directories that
/// exist already keep their mode.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Finds the experiment directory that `env` designates (see [`Experiment::open`]).
pub fn resolve_env(env: &Path) -> Result<PathBuf, StateError> {
    let mut dir = env.to_owned();
    for _ in 0..3 {
        if dir.join(STATE_FILE).is_file() {
            return fs::canonicalize(&dir).map_err(io_err("resolve", &dir));
        }
        let current = dir.join(CURRENT_LINK);
        if current.exists() {
            dir = current;
        } else {
            break;
        }
    }
    Err(StateError::NotFound {
        path: env.to_owned(),
    })
}

/// Reads the state of the experiment directory `dir` without taking its lock: for commands that
/// only read what a finished experiment left (a bundle).
pub fn read_state(dir: &Path) -> Result<ExperimentState, StateError> {
    let path = dir.join(STATE_FILE);
    let text = fs::read_to_string(&path).map_err(io_err("read", &path))?;
    parse_state(&text).map_err(|message| StateError::Corrupt { path, message })
}

fn parse_state(text: &str) -> Result<ExperimentState, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(STATE_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "state format version {v}, this enos reads version {STATE_VERSION}"
            ));
        }
        None => return Err("no `version` field".to_owned()),
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// How long a lock held by someone else is waited for before the command is refused.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(1);

/// Takes `file`'s lock, waiting up to [`LOCK_PATIENCE`] for another holder to let it go.
///
/// A lock is per open file, and a child process shares its parent's open files from its fork
/// until its exec closes them. So while any thread of this process starts a program, that child
/// holds every lock this process holds, including one an experiment has just released. Waiting
/// a moment tells that passing holder from a command that is really working on the experiment.
fn try_lock_patiently(file: &File) -> Result<(), fs::TryLockError> {
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Err(fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_PATIENCE => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

fn lock_file(dir: &Path) -> Result<File, StateError> {
    let path = dir.join(LOCK_FILE);
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_err("open", &path))?;
    match try_lock_patiently(&file) {
        Ok(()) => {
            let me = format!("pid {}", std::process::id());
            let _ = file.set_len(0);
            let _ = file.rewind();
            let _ = file.write_all(me.as_bytes());
            Ok(file)
        }
        Err(fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            Err(StateError::Locked {
                dir: dir.to_owned(),
                holder: if holder.is_empty() {
                    "unknown".to_owned()
                } else {
                    holder
                },
            })
        }
        Err(fs::TryLockError::Error(e)) => Err(StateError::Io {
            action: "lock",
            path,
            source: e,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(name: &str, hosts: u32) -> Scenario {
        let text = format!("name: {name}\nsites:\n  a: {{roles: {{x: {hosts}}}}}\n");
        enos_scenario::parse(&text, "t.yaml", &[&enos_scenario::UncheckedKind("local")]).unwrap()
    }

    #[test]
    fn a_second_command_is_locked_out_until_the_first_is_done() {
        let root = tempfile::tempdir().unwrap();
        let (first, opened) =
            Experiment::open_for_deploy(root.path(), &scenario("q", 1), "src", "local").unwrap();
        assert_eq!(opened, Opened::Created);
        match Experiment::open(root.path()) {
            Err(StateError::Locked { holder, .. }) => {
                assert_eq!(holder, format!("pid {}", std::process::id()))
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        let dir = first.dir().to_owned();
        drop(first);
        assert_eq!(Experiment::open(root.path()).unwrap().dir(), dir);
    }

    #[test]
    fn a_released_experiment_reopens_while_another_thread_starts_programs() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let root = tempfile::tempdir().unwrap();
        let (first, _) =
            Experiment::open_for_deploy(root.path(), &scenario("q", 1), "src", "local").unwrap();
        let dir = first.dir().to_owned();
        drop(first);
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let spawner = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let mut started = 0;
                while !stop.load(Ordering::Relaxed) {
                    std::process::Command::new("true").status().unwrap();
                    started += 1;
                }
                started
            }
        });
        // Each child holds the lock from its fork to its exec.
        let mut refused = 0;
        for _ in 0..200 {
            match Experiment::open(&dir) {
                Ok(experiment) => drop(experiment),
                Err(_) => refused += 1,
            }
        }
        stop.store(true, Ordering::Relaxed);
        let started = spawner.join().unwrap();
        assert!(started > 0);
        assert_eq!(
            refused, 0,
            "refused {refused} of 200 while {started} programs started"
        );
    }

    #[test]
    fn deploy_reopens_the_current_experiment_and_refuses_another_scenario() {
        let root = tempfile::tempdir().unwrap();
        let (first, _) =
            Experiment::open_for_deploy(root.path(), &scenario("q", 1), "src", "local").unwrap();
        let dir = first.dir().to_owned();
        drop(first);
        let (again, opened) =
            Experiment::open_for_deploy(root.path(), &scenario("q", 1), "src", "local").unwrap();
        assert_eq!((opened, again.dir()), (Opened::Existing, dir.as_path()));
        drop(again);
        let changed = Experiment::open_for_deploy(root.path(), &scenario("q", 2), "src", "local");
        assert!(
            matches!(changed, Err(StateError::ScenarioChanged { .. })),
            "{changed:?}"
        );
        // Once destroyed, a deploy starts a new results directory and moves `current`.
        let mut done = Experiment::open(&dir).unwrap();
        done.set_phase(Phase::Destroyed).unwrap();
        drop(done);
        let (fresh, opened) =
            Experiment::open_for_deploy(root.path(), &scenario("q", 2), "src", "local").unwrap();
        assert_eq!(opened, Opened::Created);
        assert_ne!(fresh.dir(), dir);
        assert_eq!(resolve_env(root.path()).unwrap(), fresh.dir());
        assert_eq!(
            std::fs::read_to_string(fresh.dir().join(layout::SCENARIO)).unwrap(),
            "src"
        );
    }

    #[test]
    fn results_directories_are_created_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let scratch = tempfile::tempdir().unwrap();
        let root = scratch.path().join("enos-results");
        let (experiment, _) =
            Experiment::open_for_deploy(&root, &scenario("q", 1), "src", "local").unwrap();
        for dir in [&root, &root.join("q"), &experiment.dir().to_owned()] {
            let mode = fs::metadata(dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", dir.display());
        }
    }

    #[test]
    fn a_state_of_another_version_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let (first, _) =
            Experiment::open_for_deploy(root.path(), &scenario("q", 1), "src", "local").unwrap();
        let path = first.dir().join(STATE_FILE);
        drop(first);
        let text =
            std::fs::read_to_string(&path)
                .unwrap()
                .replacen("\"version\": 1", "\"version\": 7", 1);
        std::fs::write(&path, text).unwrap();
        let error = Experiment::open(root.path()).unwrap_err().to_string();
        assert!(
            error.contains("state format version 7, this enos reads version 1"),
            "{error}"
        );
    }

    #[test]
    fn creating_an_experiment_of_a_name_another_command_is_creating_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let name_dir = root.path().join("q");
        std::fs::create_dir_all(&name_dir).unwrap();
        // Another command holds the lock of the name's directory (a lock is per open file).
        let mut other = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(name_dir.join(LOCK_FILE))
            .unwrap();
        other.try_lock().unwrap();
        other.write_all(b"pid 4242").unwrap();
        let refused = Experiment::open_for_deploy(root.path(), &scenario("q", 1), "src", "local")
            .unwrap_err();
        let name_dir = std::fs::canonicalize(&name_dir).unwrap();
        assert_eq!(
            refused.to_string(),
            format!(
                "another enos command (pid 4242) is creating or opening the experiment 'q' in {}",
                name_dir.display()
            )
        );
        assert!(
            std::fs::read_dir(&name_dir).unwrap().count() == 1,
            "nothing but the lock file was created"
        );
        drop(other);
        let (created, opened) =
            Experiment::open_for_deploy(root.path(), &scenario("q", 1), "src", "local").unwrap();
        assert_eq!(opened, Opened::Created);
        assert!(created.dir().starts_with(&name_dir));
    }

    #[test]
    fn a_step_a_dead_command_left_unfinished_is_recorded_as_interrupted() {
        let root = tempfile::tempdir().unwrap();
        let (mut killed, _) =
            Experiment::open_for_deploy(root.path(), &scenario("q", 1), "src", "local").unwrap();
        let state = killed.state_mut();
        state.begin_step("deploy");
        state.end_step(Ok(()));
        state.begin_step("deploy steps");
        killed.set_phase(Phase::Deployed).unwrap();
        // The command dies: its lock goes, its step never ends.
        drop(killed);
        let opened = Experiment::open(root.path()).unwrap();
        let history = &opened.state().history;
        assert_eq!(opened.state().phase, Phase::Failed);
        assert_eq!(history[0].outcome.as_deref(), Some("ok"));
        assert_eq!(
            history[1].outcome.as_deref(),
            Some(crate::state::INTERRUPTED)
        );
        assert_eq!(history[1].ended, None);
        // So says the file, for every later reader.
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(opened.dir().join(STATE_FILE)).unwrap())
                .unwrap();
        assert_eq!(saved["phase"], "failed");
        assert_eq!(saved["history"][1]["outcome"], crate::state::INTERRUPTED);
        drop(opened);

        // An interrupted destroy stays `destroying`: destroy again finishes it.
        let mut destroying = Experiment::open(root.path()).unwrap();
        destroying.state_mut().begin_step("destroy");
        destroying.set_phase(Phase::Destroying).unwrap();
        drop(destroying);
        let opened = Experiment::open(root.path()).unwrap();
        assert_eq!(opened.state().phase, Phase::Destroying);
        assert_eq!(
            opened.state().history.last().unwrap().outcome.as_deref(),
            Some(crate::state::INTERRUPTED)
        );
    }
}
