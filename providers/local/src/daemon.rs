//! The local provider's daemons — the userspace WAN emulator and the egress proxy — are
//! entry points of this crate and of the crates that own them, reached through one hidden
//! subcommand of one program (`enos daemon <name>`), started detached from the command that
//! starts them and killed with the testbed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use enos_provider::ProviderError;

use crate::sys;

/// The program that runs the daemons (`<program> daemon wan-emulator …`, `<program> daemon
/// egress-proxy …`, `<program> daemon local-host …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daemons {
    /// The program, e.g. the `enos` binary itself.
    pub program: PathBuf,
}

impl Daemons {
    /// Starts `<program> <args…>` in a session of its own (`setsid --fork`), so that it
    /// outlives this command; its output is appended to `log`. Returns once it is started, not
    /// once it serves.
    pub(crate) async fn spawn(
        &self,
        what: &str,
        args: &[OsString],
        log: &Path,
    ) -> Result<(), ProviderError> {
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|e| ProviderError::new(format!("cannot open {}: {e}", log.display())))
        };
        let status = tokio::process::Command::new("setsid")
            .arg("--fork")
            .arg(&self.program)
            .args(args)
            .env("PATH", sys::SYSTEM_PATH)
            .stdin(std::process::Stdio::null())
            .stdout(open()?)
            .stderr(open()?)
            .status()
            .await
            .map_err(|e| ProviderError::new(format!("cannot start the {what}: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(ProviderError::new(format!(
                "cannot start the {what}: setsid {status}"
            )))
        }
    }
}

/// The pid in `path`, when that process is alive.
pub(crate) fn running_pid(path: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
}

/// The last `n` lines of `log`, for messages about a daemon that did not start.
pub(crate) fn log_tail(log: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
