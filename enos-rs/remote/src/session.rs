//! One host's connection, as every per-host operation uses it: its master's paths and session,
//! starting a remote command (connecting again when the master went away), and reading how the
//! command ended.
//!
//! The fleet ([`crate::fleet`]) and the transfers ([`crate::transfer`]) both build on this
//! module; it knows neither of them.

use openssh::{OwningCommand, Session};
use tokio::io::AsyncReadExt as _;

use crate::RemoteError;
use crate::error;
use crate::master::{self, MasterPaths};
use crate::types::{Exit, RemoteConfig, Target};

/// One host of a fleet.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) target: Target,
    /// Where its master listens (unset when the host's alias could not be used).
    pub(crate) paths: Option<MasterPaths>,
    /// A handle on the master at `paths.socket`.
    session: Option<Session>,
    /// The outcome of connecting.
    pub(crate) connected: Result<(), RemoteError>,
}

impl Link {
    pub(crate) fn new(
        target: Target,
        paths: Option<MasterPaths>,
        session: Option<Session>,
        connected: Result<(), RemoteError>,
    ) -> Link {
        Link {
            target,
            paths,
            session,
            connected,
        }
    }

    pub(crate) fn host(&self) -> &str {
        &self.target.name
    }
}

/// What a per-host operation needs: the configuration and the host's link.
pub(crate) struct HostCtx<'a> {
    config: &'a RemoteConfig,
    link: &'a Link,
}

impl<'a> HostCtx<'a> {
    pub(crate) fn new(config: &'a RemoteConfig, link: &'a Link) -> HostCtx<'a> {
        HostCtx { config, link }
    }

    pub(crate) fn host(&self) -> &str {
        self.link.host()
    }

    pub(crate) fn session(&self) -> Result<&Session, RemoteError> {
        self.link
            .session
            .as_ref()
            .ok_or_else(|| RemoteError::Invalid {
                host: self.host().to_owned(),
                message: "the host has no master connection".to_owned(),
            })
    }

    /// Starts `command`; when the master has gone away (idle timeout, killed), connects again
    /// once and retries. The command has not started in that case, so retrying is safe.
    pub(crate) async fn spawn<'s>(
        &self,
        command: &mut OwningCommand<&'s Session>,
    ) -> Result<openssh::Child<&'s Session>, RemoteError> {
        match command.spawn().await {
            Ok(child) => Ok(child),
            Err(openssh::Error::Disconnected) => {
                let paths = self.link.paths.as_ref().ok_or_else(|| {
                    error::from_session(self.host(), &openssh::Error::Disconnected)
                })?;
                tracing::debug!(host = self.host(), "ssh master gone, connecting again");
                master::ensure_master(self.config, &self.link.target, paths).await?;
                command
                    .spawn()
                    .await
                    .map_err(|e| error::from_session(self.host(), &e))
            }
            Err(e) => Err(error::from_session(self.host(), &e)),
        }
    }
}

/// Reads a remote output stream to its end.
pub(crate) async fn read_all<R: tokio::io::AsyncRead + Unpin>(
    stream: Option<R>,
) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if let Some(mut stream) = stream {
        stream.read_to_end(&mut bytes).await?;
    }
    Ok(bytes)
}

/// How the remote command ended, from what `Child::wait` returned.
pub(crate) fn exit_of(
    host: &str,
    waited: Result<std::process::ExitStatus, openssh::Error>,
) -> Result<Exit, RemoteError> {
    match waited {
        Ok(status) => Ok(status.code().map_or(Exit::Signal, Exit::Code)),
        // openssh turns exit code 127 into this error; for a shell command line it is just an
        // exit code ("command not found"), with output worth keeping.
        Err(openssh::Error::Remote(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(Exit::Code(127))
        }
        // No exit status: the remote process was killed by a signal.
        Err(openssh::Error::RemoteProcessTerminated) => Ok(Exit::Signal),
        Err(e) => Err(error::from_session(host, &e)),
    }
}
