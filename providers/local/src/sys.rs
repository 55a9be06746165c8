//! Running the system's own tools (`ip`, `ssh-keygen`, …) and reading `/proc`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use enos_provider::ProviderError;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The `PATH` given to every program the provider starts, so that hosts do not inherit the
/// caller's environment.
pub const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs `program args…`, feeding `input` on stdin; returns stdout, or an error quoting stderr.
pub async fn run(
    program: &str,
    args: &[&str],
    input: Option<&str>,
) -> Result<String, ProviderError> {
    let mut command = Command::new(program);
    command
        .args(args)
        .env("PATH", SYSTEM_PATH)
        .env("LC_ALL", "C")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| ProviderError::new(format!("cannot run {program}: {e}")))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .await
            .map_err(|e| ProviderError::new(format!("writing to {program}: {e}")))?;
        drop(stdin);
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| ProviderError::new(format!("waiting for {program}: {e}")))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(ProviderError::new(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            output.status,
            stderr.trim()
        )))
    }
}

/// Runs `ip [-n namespace] -batch -` with `lines`, one `ip` command per line.
pub async fn ip_batch(namespace: Option<&str>, lines: &[String]) -> Result<(), ProviderError> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut args = Vec::new();
    if let Some(ns) = namespace {
        args.extend(["-n", ns]);
    }
    args.extend(["-batch", "-"]);
    let mut input = lines.join("\n");
    input.push('\n');
    run("ip", &args, Some(&input)).await.map(drop)
}

/// The names of the network namespaces that exist now (from `/run/netns`).
pub fn namespaces() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Whether a network interface named `name` exists in the root namespace.
pub fn root_link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// The identity (device, inode) of a namespace file such as `/run/netns/NAME` or `/proc/PID/ns/net`.
pub fn namespace_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// A process seen in `/proc`.
#[derive(Debug, Clone)]
pub struct ProcessInfo {
    /// Its process id.
    pub pid: u32,
    /// Its state letter (`R`, `S`, `Z`, …).
    pub state: char,
    /// Its command line, arguments joined by spaces.
    pub cmdline: String,
    /// `/proc/PID/ns/net`.
    pub net_ns: PathBuf,
}

/// Every process, as `/proc` shows it now.
pub fn processes() -> Vec<ProcessInfo> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let base = PathBuf::from(format!("/proc/{pid}"));
            let stat = std::fs::read_to_string(base.join("stat")).ok()?;
            // The state follows the command name, which is in parentheses and may contain spaces.
            let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
            let cmdline = std::fs::read(base.join("cmdline"))
                .map(|raw| {
                    raw.split(|b| *b == 0)
                        .filter(|s| !s.is_empty())
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            Some(ProcessInfo {
                pid,
                state,
                cmdline,
                net_ns: base.join("ns/net"),
            })
        })
        .collect()
}

/// Sends `signal` to `pid`, ignoring a process that is already gone.
pub fn kill(pid: u32, signal: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}
