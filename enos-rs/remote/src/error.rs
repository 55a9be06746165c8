//! Errors of remote operations, each naming the host it happened on.

use std::path::PathBuf;
use std::time::Duration;

/// Why an operation failed on a host (or, for [`RemoteError::ControlDir`], on every host).
///
/// Errors are plain data (`Clone`, comparable): a host that could not be connected keeps its
/// error and returns it again from every later operation. `Display` names the host;
/// [`RemoteError::reason`] gives the same text without it, for output that already shows the host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The host could not be reached: name resolution, routing or the TCP connection failed.
    #[error("host '{host}': unreachable: {message}")]
    Unreachable {
        /// The host's name.
        host: String,
        /// What ssh said.
        message: String,
    },
    /// ssh reached the host but could not log in: host key, authentication, configuration.
    #[error("host '{host}': ssh connection failed: {message}")]
    Connect {
        /// The host's name.
        host: String,
        /// What ssh said.
        message: String,
    },
    /// The operation did not finish in time.
    #[error("host '{host}': {operation} timed out after {after:?}")]
    Timeout {
        /// The host's name.
        host: String,
        /// What timed out: `connect`, `run`, `upload` or `download`.
        operation: &'static str,
        /// The time limit.
        after: Duration,
    },
    /// The multiplexed ssh connection failed while opening or running a remote command.
    #[error("host '{host}': ssh session failed: {message}")]
    Ssh {
        /// The host's name.
        host: String,
        /// What went wrong.
        message: String,
    },
    /// A transfer failed on the remote side (the remote helper command reported an error).
    #[error("host '{host}': {operation} failed on the host: {message}")]
    Remote {
        /// The host's name.
        host: String,
        /// `upload` or `download`.
        operation: &'static str,
        /// The remote error output, or the exit status when there was none.
        message: String,
    },
    /// A local file operation failed.
    #[error("host '{host}': {operation}: {message}")]
    Io {
        /// The host's name.
        host: String,
        /// What was being done, e.g. `cannot open /data/file`.
        operation: String,
        /// The system's message.
        message: String,
    },
    /// An argument cannot be used for this host (an empty alias, a remote path without a name...).
    #[error("host '{host}': {message}")]
    Invalid {
        /// The host's name.
        host: String,
        /// What is wrong.
        message: String,
    },
    /// The control directory cannot be used or cleaned up.
    #[error("control directory {}: {message}", path.display())]
    ControlDir {
        /// The control directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl RemoteError {
    /// The host this error happened on, if it concerns one host.
    pub fn host(&self) -> Option<&str> {
        match self {
            Self::Unreachable { host, .. }
            | Self::Connect { host, .. }
            | Self::Timeout { host, .. }
            | Self::Ssh { host, .. }
            | Self::Remote { host, .. }
            | Self::Io { host, .. }
            | Self::Invalid { host, .. } => Some(host),
            Self::ControlDir { .. } => None,
        }
    }

    /// The message without the host name, for output that shows the host next to it.
    pub fn reason(&self) -> String {
        let text = self.to_string();
        match self.host() {
            Some(host) => {
                let prefix = format!("host '{host}': ");
                text.strip_prefix(&prefix)
                    .map_or_else(|| text.clone(), str::to_owned)
            }
            None => text,
        }
    }

    /// Whether the host could not be connected at all ([`Unreachable`](Self::Unreachable) or
    /// [`Connect`](Self::Connect)).
    pub fn is_connection_failure(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Connect { .. })
    }
}

/// The message of `error` followed by those of its sources, separated by `: `.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

/// Turns what `SessionBuilder::launch_master` returned into an error for `host`.
pub(crate) fn from_launch(host: &str, error: &openssh::Error) -> RemoteError {
    let host = host.to_owned();
    match error {
        openssh::Error::Connect(io) => {
            let message = ssh_message(&io.to_string());
            if io.kind() == std::io::ErrorKind::NotFound {
                // Only spawning the `ssh` program yields NotFound.
                return RemoteError::Connect {
                    host,
                    message: format!("cannot run ssh: {message}"),
                };
            }
            if looks_unreachable(io.kind(), &message) {
                RemoteError::Unreachable { host, message }
            } else {
                RemoteError::Connect { host, message }
            }
        }
        openssh::Error::Master(io) => RemoteError::Io {
            host,
            operation: "cannot create the master's temporary directory".to_owned(),
            message: io.to_string(),
        },
        other => RemoteError::Connect {
            host,
            message: chain(other),
        },
    }
}

/// Turns an error of the multiplexed session into an error for `host`.
pub(crate) fn from_session(host: &str, error: &openssh::Error) -> RemoteError {
    let message = match error {
        openssh::Error::Disconnected => {
            "the connection to the host is closed (its ssh master is not running)".to_owned()
        }
        other => chain(other),
    };
    RemoteError::Ssh {
        host: host.to_owned(),
        message,
    }
}

/// ssh's log, trimmed and on one line.
fn ssh_message(text: &str) -> String {
    let mut message = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !message.is_empty() {
            message.push_str(if message.ends_with(['.', ';', ':']) {
                " "
            } else {
                "; "
            });
        }
        message.push_str(line);
    }
    if message.is_empty() {
        "ssh exited with an error and said nothing".to_owned()
    } else {
        message
    }
}

fn looks_unreachable(kind: std::io::ErrorKind, message: &str) -> bool {
    use std::io::ErrorKind;
    if matches!(kind, ErrorKind::ConnectionRefused | ErrorKind::TimedOut) {
        return true;
    }
    const SIGNS: [&str; 7] = [
        "Connection refused",
        "No route to host",
        "Network is unreachable",
        "Could not resolve",
        "Name or service not known",
        "timed out",
        "Connection timed out",
    ];
    SIGNS.iter().any(|sign| message.contains(sign))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_host_and_reason_does_not() {
        let e = RemoteError::Unreachable {
            host: "paris-1".into(),
            message: "ssh: nope".into(),
        };
        assert_eq!(e.to_string(), "host 'paris-1': unreachable: ssh: nope");
        assert_eq!(e.reason(), "unreachable: ssh: nope");
        assert_eq!(e.host(), Some("paris-1"));
        let t = RemoteError::Timeout {
            host: "h".into(),
            operation: "run",
            after: Duration::from_millis(1500),
        };
        assert_eq!(t.to_string(), "host 'h': run timed out after 1.5s");
        let c = RemoteError::ControlDir {
            path: "/x".into(),
            message: "too long".into(),
        };
        assert_eq!(c.host(), None);
        assert_eq!(c.reason(), "control directory /x: too long");
    }

    #[test]
    fn launch_errors_are_classified() {
        let refused = openssh::Error::Connect(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "ssh: connect to host 127.0.0.1 port 9: Connection refused\n",
        ));
        assert!(matches!(
            from_launch("a", &refused),
            RemoteError::Unreachable { .. }
        ));
        let denied = openssh::Error::Connect(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "Host key verification failed.",
        ));
        let e = from_launch("a", &denied);
        assert_eq!(
            e,
            RemoteError::Connect {
                host: "a".into(),
                message: "Host key verification failed.".into()
            }
        );
        let silent = openssh::Error::Connect(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "",
        ));
        assert!(from_launch("a", &silent).reason().contains("said nothing"));
        assert_eq!(ssh_message("one.\n\n two\nthree\n"), "one. two; three");
    }
}
