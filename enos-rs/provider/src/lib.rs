//! The provider seam: what every testbed (local, static hosts, Grid'5000, Vagrant, OpenStack)
//! implements, and the capabilities a provider may or may not have.
//!
//! A [`Provider`] turns a checked scenario into a [`Testbed`] (hosts, networks, how to reach
//! each host) and removes everything it created on `destroy`. It records its own handles in the
//! experiment's `provider_state` and saves the state after every step, so that `destroy` works
//! after a crash. Through its [`ProviderKind`] side it checks its own options in the scenario,
//! with located errors, and gives their JSON Schema, so that adding a provider is one crate plus one line where
//! the binary registers it.
//!
//! Capabilities are separate: a provider with its own WAN emulator hands back a
//! [`WanEmulator`] (without one, the experiment shapes with tc over SSH on each host's
//! experiment interface); a provider whose testbed needs processes on the control machine
//! exports them as [`Daemon`] entry points, which the binary reaches through one hidden
//! subcommand.
//!
//! Before anything is created, [`Provider::plan`] says what a deploy would reserve or create
//! (`enos deploy --dry-run`); a provider whose hosts are lent for a time (Grid'5000's jobs)
//! extends that time through [`Provider::extend`].
#![warn(missing_docs)]

pub mod keys;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use enos_core::{Experiment, Reporter, StateError, Testbed};
use enos_wan::WanMatrix;
use serde::{Deserialize, Serialize};

pub use enos_scenario::ProviderKind;

/// A failure of a provider, with an optional hint for the person running the command.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// What went wrong.
    pub message: String,
    /// What to do about it, when there is something to say.
    pub hint: Option<String>,
}

impl ProviderError {
    /// An error with `message` and no hint.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<StateError> for ProviderError {
    fn from(e: StateError) -> Self {
        ProviderError::new(e.to_string())
    }
}

impl From<enos_core::ssh::SshFilesError> for ProviderError {
    fn from(e: enos_core::ssh::SshFilesError) -> Self {
        ProviderError::new(e.to_string())
    }
}

/// Where the SSH control sockets of processes run by this user go: `/run/enos` for root,
/// `$XDG_RUNTIME_DIR/enos` otherwise, else `/tmp/enos-<uid>`.
pub fn runtime_dir() -> PathBuf {
    let uid = rustix::process::geteuid();
    if uid.is_root() {
        PathBuf::from("/run/enos")
    } else if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR") {
        PathBuf::from(runtime).join("enos")
    } else {
        PathBuf::from(format!("/tmp/enos-{}", uid.as_raw()))
    }
}

/// The directory of an experiment's SSH control sockets under `base` ([`runtime_dir`] unless a
/// test says otherwise): short (socket paths are limited to about 100 bytes), and the same for
/// every command on the experiment in `experiment_dir` and from one build of enos to the next —
/// `<base>/<tag><8 hex digits of the SHA-256 of the directory's path>`, the tag a letter per
/// provider.
pub fn control_dir_in(base: &Path, tag: char, experiment_dir: &Path) -> PathBuf {
    use sha2::Digest as _;
    use std::os::unix::ffi::OsStrExt as _;
    let digest = sha2::Sha256::digest(experiment_dir.as_os_str().as_bytes());
    let id: String = std::iter::once(tag.to_string())
        .chain(digest.iter().take(4).map(|b| format!("{b:02x}")))
        .collect();
    base.join(id)
}

/// What [`provider_kind_from!`] names, reachable from any crate.
#[doc(hidden)]
pub mod __macro {
    pub use enos_scenario::{CheckedOptions, OptionsContext, Site};
    pub use serde_json::Value;
}

/// Implements [`ProviderKind`] for a provider type by handing every call to the provider's
/// kind, a value of another type that implements it: `provider_kind_from!(StaticProvider,
/// StaticKind)`.
#[macro_export]
macro_rules! provider_kind_from {
    ($provider:ty, $kind:expr) => {
        impl $crate::ProviderKind for $provider {
            fn name(&self) -> &'static str {
                $crate::ProviderKind::name(&$kind)
            }

            fn options_schema(&self) -> $crate::__macro::Value {
                $crate::ProviderKind::options_schema(&$kind)
            }

            fn check_options(
                &self,
                options: &$crate::__macro::Value,
                ctx: &mut $crate::__macro::OptionsContext<'_>,
            ) -> $crate::__macro::CheckedOptions {
                $crate::ProviderKind::check_options(&$kind, options, ctx)
            }

            fn check_sites(
                &self,
                options: &$crate::__macro::Value,
                sites: &[$crate::__macro::Site],
                ctx: &mut $crate::__macro::OptionsContext<'_>,
            ) {
                $crate::ProviderKind::check_sites(&$kind, options, sites, ctx);
            }
        }
    };
}

/// How a testbed's WAN was shaped, as recorded beside the matrix in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WanMethod {
    /// HTB and netem qdiscs on each host's experiment interface, applied over SSH (EnOSlib's
    /// NetemHTB).
    Tc {
        /// The interface, when every host uses the same one; otherwise a few words saying that
        /// each host uses its own.
        device: String,
    },
    /// The provider's own emulator.
    Emulator {
        /// Why, and how, in a few words for `enos info`.
        description: String,
    },
}

/// What a provider would reserve or create for a scenario, in the order it would: the answer of
/// `enos deploy --dry-run`, made from the scenario alone (no credentials, no network).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProvisionPlan {
    /// The provider's name.
    pub provider: String,
    /// The actions, in order.
    pub actions: Vec<PlannedAction>,
}

/// One thing a provider would do: a request to an API, a file to write, a command to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedAction {
    /// What, in a line: e.g. `POST https://api.grid5000.fr/stable/sites/rennes/jobs`,
    /// `write Vagrantfile`, `run vagrant up`.
    pub what: String,
    /// Why, in a few words (e.g. `the OAR job of paris and lyon (5 nodes)`).
    pub why: String,
    /// The request's body or the file's text, when there is one (credentials never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl PlannedAction {
    /// An action `what`, because `why`, without a body.
    pub fn new(what: impl Into<String>, why: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            why: why.into(),
            body: None,
        }
    }

    /// Adds a body (a request's JSON, a file's text).
    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }
}

/// A testbed provider.
#[async_trait::async_trait]
pub trait Provider: ProviderKind {
    /// Checks what the provider can hold once the scenario is resolved (the WAN its emulator
    /// would carry, for instance), when the scenario is read: an error is the key path to show
    /// it at and the message.
    fn check_scenario(&self, scenario: &enos_scenario::Scenario) -> Result<(), (String, String)> {
        let _ = scenario;
        Ok(())
    }

    /// Checks that this machine can run the provider (privileges, programs, credentials) before
    /// anything is created.
    async fn check(&self) -> Result<(), ProviderError>;

    /// What a deploy of `scenario` would reserve or create, from the scenario alone: no
    /// credentials are read and nothing is asked of the testbed. The default says the hosts
    /// are used as they are.
    fn plan(&self, scenario: &enos_scenario::Scenario) -> Result<ProvisionPlan, ProviderError> {
        let hosts = scenario.hosts().len();
        Ok(ProvisionPlan {
            provider: self.name().to_owned(),
            actions: vec![PlannedAction::new(
                format!("reach {hosts} host{}", if hosts == 1 { "" } else { "s" }),
                "nothing is reserved",
            )],
        })
    }

    /// Extends the time the experiment's hosts are lent for by `by` (Grid'5000's walltime). The
    /// default refuses: the provider's hosts are not lent for a time.
    async fn extend(
        &self,
        experiment: &mut Experiment,
        by: Duration,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError> {
        let _ = (experiment, by, reporter);
        Err(ProviderError::new(format!(
            "the {} provider's hosts are not lent for a time: there is nothing to extend",
            self.name()
        )))
    }

    /// Brings the experiment's testbed up, or completes a half-made one; a testbed that is already
    /// up is left as it is. Saves progress in the experiment's state as it goes.
    ///
    /// The testbed's SSH client files are written by the experiment from what this returns; a
    /// provider writes only what is its own (keys it generated, for instance).
    async fn deploy(
        &self,
        experiment: &mut Experiment,
        reporter: &dyn Reporter,
    ) -> Result<Testbed, ProviderError>;

    /// Removes everything the experiment created, also after a crash or a half-finished deploy.
    /// Called after the experiment has undone what it put on the hosts itself (shaping, the
    /// services of deploy steps) and closed its SSH connections.
    async fn destroy(
        &self,
        experiment: &mut Experiment,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError>;

    /// The provider's own WAN emulator for this experiment, if it shapes the WAN itself; `None`
    /// (the default) means tc over SSH on the hosts.
    fn wan_emulator(&self, experiment: &Experiment) -> Option<&dyn WanEmulator> {
        let _ = experiment;
        None
    }

    /// Whether the experiment should undo what it put on the hosts on `destroy` (tc rules, the
    /// services of deploy steps): true for hosts the provider does not remove itself.
    fn hosts_outlive_destroy(&self) -> bool {
        false
    }

    /// Whether the hosts see the control machine's files at the same paths (the local
    /// provider's do): programs enos runs on them (the `http` load generator, which is enos
    /// itself) are then run from where they are, and copied to the hosts otherwise.
    fn hosts_share_files(&self) -> bool {
        false
    }

    /// Whether the hosts share the control machine's CPUs and kernel (the local provider's
    /// namespaces do): `/proc/stat` then shows the machine, and a host's own load is that of
    /// its processes, which the metrics agent measures instead.
    fn hosts_share_cpu(&self) -> bool {
        false
    }

    /// Facts about the experiment's testbed worth showing in `enos info`, as (label, value) pairs.
    fn describe(&self, experiment: &Experiment) -> Vec<(String, String)>;

    /// The processes this provider runs on the control machine, reached through the binary's
    /// hidden `daemon` subcommand.
    fn daemons(&self) -> Vec<Daemon> {
        Vec::new()
    }
}

/// A provider's own WAN emulator.
#[async_trait::async_trait]
pub trait WanEmulator: Send + Sync {
    /// What shapes the WAN, in a few words for `enos info` and the records.
    fn description(&self) -> String;

    /// Shapes traffic between the hosts as `matrix` asks, replacing what was shaped before (an
    /// empty matrix removes all shaping).
    async fn shape(
        &self,
        experiment: &mut Experiment,
        matrix: &WanMatrix,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError>;
}

/// A process a provider runs on the control machine, started as
/// `<the enos binary> daemon <name> <args…>`.
///
/// `main` runs before the binary starts any thread or async runtime (entering namespaces needs
/// a single-threaded process); it builds its own runtime when it needs one. It returns an error
/// to print, or nothing when the daemon ended normally.
#[derive(Clone, Copy)]
pub struct Daemon {
    /// The name after `daemon` on the command line.
    pub name: &'static str,
    /// The entry point, given the arguments after the name.
    pub main: fn(Vec<OsString>) -> Result<(), String>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon").field("name", &self.name).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_dir_is_short_tagged_and_the_same_for_the_same_experiment() {
        let base = Path::new("/run/enos");
        let a = control_dir_in(base, 's', Path::new("/results/web/20261201-100000"));
        let b = control_dir_in(base, 's', Path::new("/results/web/20261201-100001"));
        assert_eq!(
            a,
            control_dir_in(base, 's', Path::new("/results/web/20261201-100000"))
        );
        assert_ne!(a, b);
        let name = a.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        assert!(name.starts_with('s') && name.len() == 9, "{name}");
        assert!(name[1..].chars().all(|c| c.is_ascii_hexdigit()), "{name}");
        assert_eq!(a.parent(), Some(base));
    }
}
