//! The plain data of the API: targets, configuration, per-host results, command outputs.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

use crate::RemoteError;

/// A host to connect to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The host's name, used in results and errors.
    pub name: String,
    /// The `Host` entry of the ssh configuration that reaches it (usually equal to `name`).
    pub alias: String,
    /// How its master checks the host's key.
    pub host_key: HostKeyCheck,
}

impl Target {
    /// A target whose ssh alias is its name, with its host key checked strictly.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            alias: name.clone(),
            name,
            host_key: HostKeyCheck::Strict,
        }
    }
}

impl From<&enos_core::Host> for Target {
    /// The target of a testbed host, as the client files of `enos_core::ssh` name it: alias
    /// equal to its name, its key learnt at the first contact when the host says so.
    fn from(host: &enos_core::Host) -> Self {
        Self {
            host_key: match host.host_key {
                enos_core::HostKeySource::LearnOnFirstContact => HostKeyCheck::AcceptNew,
                _ => HostKeyCheck::Strict,
            },
            ..Self::new(host.name.clone())
        }
    }
}

/// How a master checks its host's key against the known_hosts files of the ssh configuration.
///
/// The master's command line sets it (`-o StrictHostKeyChecking=…`), which overrides the
/// configuration file for the host itself; a jump host keeps the options of its own `Host`
/// entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HostKeyCheck {
    /// The key must be known already (`StrictHostKeyChecking yes`).
    #[default]
    Strict,
    /// A host without a known key has it recorded at the first contact; a known host whose key
    /// differs is refused (`StrictHostKeyChecking accept-new`).
    AcceptNew,
}

/// One host's command line and what to give it on standard input, for
/// [`Fleet::run_commands`](crate::Fleet::run_commands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCommand {
    /// The host's name ([`Target::name`]).
    pub host: String,
    /// The command line, run by the remote user's login shell.
    pub command: String,
    /// Its standard input: these parts, one after the other (none, or only empty ones: an
    /// empty standard input). A part is shared, not copied: the same content given to many
    /// hosts is one buffer in memory (`Bytes::clone` counts a reference).
    pub input: Vec<Bytes>,
}

/// How to reach hosts and where to keep their master connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteConfig {
    /// The OpenSSH client configuration (`ssh -F <file> <alias>` must work with it).
    pub ssh_config: PathBuf,
    /// The directory of the control sockets, shared by every process that works on the same
    /// hosts. It must be short: at most [`MAX_CONTROL_DIR_LEN`](crate::MAX_CONTROL_DIR_LEN)
    /// bytes once made absolute. Created (mode 0700) when missing.
    pub control_dir: PathBuf,
    /// How many hosts are worked on at the same time.
    pub parallelism: usize,
    /// ssh's `ConnectTimeout`; a whole connection (with authentication, and waiting for another
    /// process that is connecting to the same host) may take twice as long.
    pub connect_timeout: Duration,
    /// How long an idle master connection stays up (`ControlPersist`); zero keeps it until
    /// [`close_all`](crate::close_all).
    pub persist: Duration,
}

impl RemoteConfig {
    /// The default number of hosts worked on at the same time.
    pub const DEFAULT_PARALLELISM: usize = 64;

    /// A configuration with the defaults: parallelism 64, connection timeout 20 s, idle masters
    /// closed after 10 minutes.
    pub fn new(ssh_config: impl Into<PathBuf>, control_dir: impl Into<PathBuf>) -> Self {
        Self {
            ssh_config: ssh_config.into(),
            control_dir: control_dir.into(),
            parallelism: Self::DEFAULT_PARALLELISM,
            connect_timeout: Duration::from_secs(20),
            persist: Duration::from_secs(600),
        }
    }
}

/// The outcome of an operation on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostResult<T> {
    /// The host's name ([`Target::name`]).
    pub host: String,
    /// What happened there.
    pub outcome: Result<T, RemoteError>,
}

impl<T> HostResult<T> {
    /// Whether the operation succeeded on this host.
    pub fn is_ok(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// A host that could not be connected by [`Fleet::connect`](crate::Fleet::connect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFailure {
    /// The host's name ([`Target::name`]).
    pub host: String,
    /// Why it could not be connected.
    pub error: RemoteError,
}

impl HostFailure {
    /// The error's message without the host name, for display next to [`host`](Self::host).
    pub fn outcome_error(&self) -> String {
        self.error.reason()
    }
}

/// How a remote command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// It was killed by a signal. OpenSSH's connection multiplexing does not pass on which one.
    Signal,
}

impl Exit {
    /// The exit code, if the command exited (rather than being killed).
    pub fn code(&self) -> Option<i32> {
        match self {
            Self::Code(code) => Some(*code),
            Self::Signal => None,
        }
    }

    /// Whether the command exited with code 0.
    pub fn success(&self) -> bool {
        *self == Self::Code(0)
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(code) => write!(f, "exit {code}"),
            Self::Signal => f.write_str("killed by a signal"),
        }
    }
}

/// What a remote command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// How it ended.
    pub exit: Exit,
    /// Everything it wrote to its standard output.
    pub stdout: Vec<u8>,
    /// Everything it wrote to its standard error.
    pub stderr: Vec<u8>,
    /// From the start of the remote command to its end, as seen locally.
    pub duration: Duration,
}

impl CommandOutput {
    /// The standard output as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stdout)
    }

    /// The standard error as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stderr)
    }

    /// Whether the command exited with code 0.
    pub fn success(&self) -> bool {
        self.exit.success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_reads_well() {
        assert_eq!(Exit::Code(3).to_string(), "exit 3");
        assert_eq!(Exit::Signal.to_string(), "killed by a signal");
        assert_eq!(Exit::Signal.code(), None);
        assert!(Exit::Code(0).success());
        assert!(!Exit::Code(1).success());
    }

    #[test]
    fn output_text_is_lossy() {
        let out = CommandOutput {
            exit: Exit::Code(0),
            stdout: b"ok\xff".to_vec(),
            stderr: Vec::new(),
            duration: Duration::ZERO,
        };
        assert_eq!(out.stdout_text(), "ok\u{fffd}");
        assert_eq!(out.stderr_text(), "");
    }

    #[test]
    fn failure_shows_the_reason_only() {
        let f = HostFailure {
            host: "h1".into(),
            error: RemoteError::Unreachable {
                host: "h1".into(),
                message: "refused".into(),
            },
        };
        assert_eq!(f.outcome_error(), "unreachable: refused");
    }
}
