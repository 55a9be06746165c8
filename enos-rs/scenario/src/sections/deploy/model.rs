//! The validated `deploy:` section: groups of steps, each from the scenario or from a stack.

use std::fmt;
use std::path::PathBuf;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::selector::Selector;
use crate::units::Timeout;

/// Variables: names to values (strings, numbers, booleans, lists, mappings), in file order.
pub type Vars = IndexMap<String, Value>;

/// What to install and run on the hosts, in order: one group per entry of `deploy:`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploySpec {
    /// The scenario's own variables (`vars:`), in scope of the scenario's steps.
    pub vars: Vars,
    /// One group per entry of `deploy:`, in file order.
    pub groups: Vec<StepGroup>,
}

impl DeploySpec {
    /// Whether there is nothing to deploy.
    pub fn is_empty(&self) -> bool {
        self.groups.iter().all(|g| g.steps.is_empty())
    }
}

/// The steps of one entry of `deploy:`: a single step, or the steps of a stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepGroup {
    /// Where the entry is in the scenario.
    pub at: Location,
    /// The stack the steps come from, when the entry names one.
    pub stack: Option<StackUse>,
    /// The variables in scope of the steps (`vars` in templates): the scenario's variables, or
    /// the stack's (its defaults, overridden by the values the scenario gives).
    pub vars: Vars,
    /// Where relative file names of the steps (templates, files to copy) are found.
    pub files: FileRoot,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// A stack named by an entry of `deploy:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackUse {
    /// The stack's name (`keystone`) or path (`./stacks/mine`), as written.
    pub name: String,
    /// The stack file, as shown in messages (`stacks/keystone/stack.yaml` for a built-in one).
    pub file: String,
    /// The files and directories `enos backup` fetches from the hosts the stack's steps ran
    /// on (its logs and configuration), as the stack declares them.
    #[serde(default)]
    pub backup: Vec<String>,
}

/// Where the files a step names live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRoot {
    /// A directory of this machine (the scenario's, or a stack's given by path).
    Dir(PathBuf),
    /// A directory of the files built into enos (`stacks/keystone`).
    Builtin(String),
}

/// A place in a scenario or stack file, for messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The file, as given (or `stacks/<name>/stack.yaml` for a built-in stack).
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
    /// The key path, e.g. `deploy[2]`.
    pub path: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.path
        )
    }
}

/// One step: what to do, on which hosts, and what to do when it fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Its name: as written, or made from what it does (`packages: nginx`).
    pub name: String,
    /// Where it is written (in the scenario, or in the stack file).
    pub at: Location,
    /// The hosts it applies to.
    pub targets: Targets,
    /// A minijinja expression evaluated per host; the step skips hosts where it is false.
    pub when: Option<String>,
    /// Only the first of the selected hosts runs the step.
    pub run_once: bool,
    /// At most this many hosts run the step at the same time.
    pub throttle: Option<u32>,
    /// What a failure on some hosts does to the deploy.
    pub on_failure: FailurePolicy,
    /// How long one host may take (for services and waits: to become ready).
    pub timeout: Option<Timeout>,
    /// What the step does.
    pub action: Action,
}

/// The hosts a step applies to: those of `roles` (any role when empty), of `sites` (any site
/// when empty) and named by `hosts` (any host when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    /// Roles.
    pub roles: Vec<String>,
    /// Sites.
    pub sites: Vec<String>,
    /// Sites, roles, hosts or ranges of hosts.
    pub hosts: Vec<Selector>,
}

impl Targets {
    /// Whether the host `name` of `site` and `role` is selected.
    pub fn selects(&self, name: &str, site: &str, role: &str) -> bool {
        (self.roles.is_empty() || self.roles.iter().any(|r| r == role))
            && (self.sites.is_empty() || self.sites.iter().any(|s| s == site))
            && (self.hosts.is_empty() || self.hosts.iter().any(|s| s.names_host(name, site, role)))
    }
}

/// What a failed step does to the rest of the deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// Any failure stops the deploy once the step has ended on every host (the default).
    #[default]
    Fail,
    /// Failures are recorded; the deploy goes on, failed hosts included.
    Continue,
    /// At least this many hosts of each role the step ran on must succeed; failed hosts are left
    /// out of later steps, and the deploy stops when a role falls below the minimum.
    Min(u32),
}

impl fmt::Display for FailurePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailurePolicy::Fail => f.write_str("fail"),
            FailurePolicy::Continue => f.write_str("continue"),
            FailurePolicy::Min(n) => write!(f, "min {n} per role"),
        }
    }
}

/// What a step does on each of its hosts. Text fields are minijinja templates, rendered per
/// host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Installs distribution packages (apt), unless they are installed already.
    Packages {
        /// Package names, optionally `name=version`.
        names: Vec<String>,
    },
    /// Renders a template and writes it on the host, unless the file already holds the result.
    Template {
        /// The template: a file (relative to the group's [`FileRoot`]) or inline text.
        source: TemplateSource,
        /// The file's attributes on the host.
        file: FileSpec,
    },
    /// Copies a file or a directory of this machine to the host, unless it is there already.
    Copy {
        /// The file or directory (relative to the group's [`FileRoot`]).
        src: String,
        /// Where it goes, and its attributes.
        file: FileSpec,
    },
    /// Runs a shell command, unless `creates` exists or `unless` succeeds.
    Run(RunSpec),
    /// Starts a long-running process and waits until it is ready.
    Service(ServiceSpec),
    /// Waits until a check succeeds.
    Wait {
        /// The check.
        ready: Readiness,
    },
    /// Copies a file of the host into the results directory.
    Fetch {
        /// The file on the host.
        src: String,
        /// Where it goes, relative to the results directory (default:
        /// `fetched/<host>/<file name>`).
        dest: Option<String>,
    },
}

impl Action {
    /// The key that names this kind of step in a scenario (`packages`, `template`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Packages { .. } => "packages",
            Action::Template { .. } => "template",
            Action::Copy { .. } => "copy",
            Action::Run(_) => "run",
            Action::Service(_) => "service",
            Action::Wait { .. } => "wait",
            Action::Fetch { .. } => "fetch",
        }
    }
}

/// Where a template comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateSource {
    /// A template file, relative to the group's [`FileRoot`].
    File(String),
    /// The template text itself.
    Inline(String),
}

/// A file to write on a host: its path and attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSpec {
    /// The path on the host (absolute).
    pub dest: String,
    /// Permission bits in octal (`0644`); kept from the source for copies when absent, `0644`
    /// for templates.
    pub mode: Option<String>,
    /// The owner (user name); root when absent.
    pub owner: Option<String>,
    /// The group; the owner's group when absent.
    pub group: Option<String>,
}

/// A shell command and its guards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSpec {
    /// The command line, run by `sh -c`.
    pub command: String,
    /// A path: when it exists, the command is not run.
    pub creates: Option<String>,
    /// A command line: when it succeeds, the command is not run.
    pub unless: Option<String>,
    /// The directory to run in.
    pub chdir: Option<String>,
    /// Environment variables.
    pub env: IndexMap<String, String>,
}

/// A long-running process, started in the background and checked for readiness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// Its name: `[a-z0-9_.-]`, unique per host (pid and log files are named after it).
    pub name: String,
    /// The command line, run in the foreground by `sh -c` in a new session.
    pub command: String,
    /// How to tell it is ready; when absent, it is ready if it still runs a second after its
    /// start.
    pub ready: Option<Readiness>,
    /// The directory to run in.
    pub chdir: Option<String>,
    /// Environment variables.
    pub env: IndexMap<String, String>,
    /// The user to run as (root when absent).
    pub user: Option<String>,
    /// Names of earlier steps (of the same stack, or of the scenario's own steps): when one of
    /// them changed something on a host during this deploy, the service is restarted there.
    pub watch: Vec<String>,
}

/// A readiness check, run on the host until it succeeds or the step's timeout passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// A TCP connection succeeds: a port of the host's address, or `address:port`.
    Tcp(String),
    /// An HTTP GET answers with `status`.
    Http {
        /// The URL.
        url: String,
        /// The expected status.
        status: u16,
    },
    /// A command line exits with 0.
    Command(String),
}

impl fmt::Display for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Readiness::Tcp(port) => write!(f, "tcp {port}"),
            Readiness::Http { url, status } => write!(f, "http {url} → {status}"),
            Readiness::Command(command) => write!(f, "command `{command}`"),
        }
    }
}
