//! Running `vagrant`: in the experiment's `vagrant/` directory (its working directory and
//! `VAGRANT_CWD`), without a terminal or colours, each run's output appended to a log, stopped
//! (SIGINT to its process group, then SIGKILL) when it outlives its timeout.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use enos_provider::ProviderError;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

/// How the provider runs Vagrant. [`Default`] is what the `enos` binary uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VagrantConfig {
    /// The `vagrant` program: a path, or a name looked up in `PATH` (`vagrant`).
    pub program: PathBuf,
    /// How long `vagrant up` may take (downloading the box, creating and booting every VM).
    pub up_timeout: Duration,
    /// How long `vagrant destroy -f` may take.
    pub destroy_timeout: Duration,
    /// How long the short commands may take (`ssh-config`, `status`, `plugin list`,
    /// `--version`).
    pub command_timeout: Duration,
    /// How long a command that outlived its timeout has to stop after SIGINT (Vagrant then
    /// cleans up what it was making) before it is killed.
    pub stop_grace: Duration,
    /// Where the experiments' SSH control directories go (short paths: sockets live there);
    /// `None`: `/run/enos` as root, `$XDG_RUNTIME_DIR/enos` or `/tmp/enos-<uid>` otherwise.
    pub runtime_dir: Option<PathBuf>,
}

impl Default for VagrantConfig {
    fn default() -> Self {
        VagrantConfig {
            program: PathBuf::from("vagrant"),
            up_timeout: Duration::from_secs(60 * 60),
            destroy_timeout: Duration::from_secs(20 * 60),
            command_timeout: Duration::from_secs(5 * 60),
            stop_grace: Duration::from_secs(30),
            runtime_dir: None,
        }
    }
}

/// The lines of an error's tail.
const TAIL_LINES: usize = 15;

/// What a finished command printed.
#[derive(Debug)]
pub(crate) struct Ran {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Ran {
    /// The last lines of standard error (of standard output when it printed no error), indented
    /// for a message.
    pub fn tail(&self) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let start = lines.len().saturating_sub(TAIL_LINES);
        lines[start..]
            .iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// An error saying that `vagrant <what>` failed, with the tail of its output.
    pub fn failure(&self, what: &str) -> ProviderError {
        let tail = self.tail();
        let status = describe_status(&self.status);
        if tail.is_empty() {
            ProviderError::new(format!(
                "`vagrant {what}` failed ({status}) and printed nothing"
            ))
        } else {
            ProviderError::new(format!(
                "`vagrant {what}` failed ({status}); it ended with:\n{tail}"
            ))
        }
    }
}

fn describe_status(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// `60 min`, `90s`, `300ms`.
fn shown_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if duration.subsec_nanos() == 0 && secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{duration:?}")
    }
}

/// The hint for a `vagrant` that cannot be found.
pub(crate) fn install_hint() -> &'static str {
    "install Vagrant (Debian and Ubuntu: apt-get install vagrant; otherwise \
     https://developer.hashicorp.com/vagrant/install), or give the provider the program's path"
}

/// Runs `vagrant <args>` in `dir` with `config`, for at most `timeout`; appends what it prints
/// to `log` when given, and hands each line of its standard output to `on_line` as it comes.
/// A run that ends, whatever its status, is `Ok`; one that cannot start or outlives its timeout
/// is an error.
pub(crate) async fn run(
    config: &VagrantConfig,
    dir: &Path,
    args: &[&str],
    timeout: Duration,
    log: Option<&Path>,
    mut on_line: impl FnMut(&str) + Send,
) -> Result<Ran, ProviderError> {
    let shown = format!("vagrant {}", args.join(" "));
    let mut command = tokio::process::Command::new(&config.program);
    command
        .args(args)
        .current_dir(dir)
        .env("VAGRANT_CWD", dir)
        .env("VAGRANT_NO_COLOR", "1")
        .env("VAGRANT_CHECKPOINT_DISABLE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    tracing::debug!(command = %shown, dir = %dir.display(), "running vagrant");
    let mut child = command.spawn().map_err(|e| {
        let error = ProviderError::new(format!(
            "cannot run `{shown}` ({}): {e}",
            config.program.display()
        ));
        if e.kind() == std::io::ErrorKind::NotFound {
            error.with_hint(install_hint())
        } else {
            error
        }
    })?;
    let mut log_file = match log {
        Some(path) => Some(
            tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .await
                .map_err(|e| ProviderError::new(format!("cannot open {}: {e}", path.display())))?,
        ),
        None => None,
    };
    if let Some(file) = log_file.as_mut() {
        let _ = file.write_all(format!("\n$ {shown}\n").as_bytes()).await;
    }
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(rustix::process::Pid::from_raw);
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(ProviderError::new(format!(
            "`{shown}`: its output could not be read"
        )));
    };
    let mut out_lines = BufReader::new(stdout).split(b'\n');
    let mut err_lines = BufReader::new(stderr).split(b'\n');
    let mut out = String::new();
    let mut err = String::new();
    let reading = async {
        let (mut out_open, mut err_open) = (true, true);
        while out_open || err_open {
            tokio::select! {
                line = out_lines.next_segment(), if out_open => match line {
                    Ok(Some(bytes)) => {
                        let line = String::from_utf8_lossy(&bytes);
                        let line = line.trim_end_matches('\r');
                        on_line(line);
                        out.push_str(line);
                        out.push('\n');
                        if let Some(file) = log_file.as_mut() {
                            let _ = file.write_all(format!("{line}\n").as_bytes()).await;
                        }
                    }
                    _ => out_open = false,
                },
                line = err_lines.next_segment(), if err_open => match line {
                    Ok(Some(bytes)) => {
                        let line = String::from_utf8_lossy(&bytes);
                        let line = line.trim_end_matches('\r');
                        err.push_str(line);
                        err.push('\n');
                        if let Some(file) = log_file.as_mut() {
                            let _ = file.write_all(format!("{line}\n").as_bytes()).await;
                        }
                    }
                    _ => err_open = false,
                },
            }
        }
        child.wait().await
    };
    let finished = tokio::time::timeout(timeout, reading).await;
    match finished {
        Ok(Ok(status)) => Ok(Ran {
            status,
            stdout: out,
            stderr: err,
        }),
        Ok(Err(e)) => Err(ProviderError::new(format!("`{shown}`: {e}"))),
        Err(_) => {
            // Vagrant stops cleanly on SIGINT; whatever it started goes with its group.
            if let Some(group) = group {
                let _ = rustix::process::kill_process_group(group, rustix::process::Signal::INT);
            }
            if tokio::time::timeout(config.stop_grace, child.wait())
                .await
                .is_err()
            {
                if let Some(group) = group {
                    let _ =
                        rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
                }
                let _ = child.wait().await;
            }
            let mut error = ProviderError::new(format!(
                "`{shown}` did not finish within {} and was stopped",
                shown_duration(timeout)
            ));
            if let Some(path) = log {
                error = error.with_hint(format!("what it printed is in {}", path.display()));
            }
            Err(error)
        }
    }
}
