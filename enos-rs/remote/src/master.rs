//! Master connections: one per host, at a stable control socket, reused across processes.
//!
//! The control directory holds, for each host alias, `<key>.sock` (the master's control socket),
//! `<key>.log` (what the master logged) and `<key>.lock` (serialises processes that connect to
//! the same host), where `<key>` is the alias when it is a plain short file name.
//!
//! A master is launched by `openssh` in a temporary directory inside the control directory; its
//! socket is then hard-linked to `<key>.sock` (which fails if another master got there first,
//! like OpenSSH's own `ControlMaster auto`) and the temporary directory removed.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::num::NonZeroUsize;
use std::os::unix::fs::{DirBuilderExt as _, FileTypeExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder};
use tokio::time::{sleep, timeout};

use crate::RemoteError;
use crate::error;
use crate::types::{HostKeyCheck, RemoteConfig, Target};

/// The longest control directory (in bytes, once absolute) that ssh can put its sockets in.
///
/// A Unix socket path has at most 107 bytes. The master's socket is first created as
/// `<dir>/.ssh-connectionXXXXXX/master.<16 random characters>` (46 bytes after `<dir>`).
pub const MAX_CONTROL_DIR_LEN: usize = 61;

/// The longest path of a Unix socket on Linux (`sun_path` minus its NUL byte).
const MAX_SOCKET_PATH_LEN: usize = 107;

/// How long a control socket may take to answer an alive check, or a stop request.
const MASTER_ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// How long `close_all` waits for masters to exit, before and after a SIGTERM.
const MASTER_EXIT_GRACE: Duration = Duration::from_secs(5);

/// The files of one host's master in the control directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MasterPaths {
    /// The stable control socket.
    pub socket: PathBuf,
    lock: PathBuf,
    log: PathBuf,
}

/// Checks the control directory's length, makes it absolute and creates it (mode 0700).
pub(crate) fn prepare_control_dir(dir: &Path) -> Result<PathBuf, RemoteError> {
    let fail = |message: String| RemoteError::ControlDir {
        path: dir.to_owned(),
        message,
    };
    let absolute = std::path::absolute(dir).map_err(|e| fail(e.to_string()))?;
    let len = absolute.as_os_str().len();
    if len > MAX_CONTROL_DIR_LEN {
        return Err(fail(format!(
            "path too long for ssh control sockets ({len} bytes, at most {MAX_CONTROL_DIR_LEN}); \
             use a shorter directory, e.g. under /run or /tmp"
        )));
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&absolute)
        .map_err(|e| fail(format!("cannot create it: {e}")))?;
    Ok(absolute)
}

/// The files of the master of `alias` in `control_dir` (absolute, checked by
/// [`prepare_control_dir`]).
pub(crate) fn master_paths(control_dir: &Path, alias: &str) -> Result<MasterPaths, String> {
    if alias.is_empty() || alias.contains('\0') {
        return Err("the ssh alias is empty or contains a NUL byte".to_owned());
    }
    let budget = MAX_SOCKET_PATH_LEN
        .saturating_sub(control_dir.as_os_str().len() + "/".len() + ".sock".len());
    let key = socket_key(alias, budget);
    if key.is_empty() {
        return Err(format!(
            "the control directory {} is too long",
            control_dir.display()
        ));
    }
    Ok(MasterPaths {
        socket: control_dir.join(format!("{key}.sock")),
        lock: control_dir.join(format!("{key}.lock")),
        log: control_dir.join(format!("{key}.log")),
    })
}

/// A file name for `alias` of at most `budget` bytes: the alias itself when it is short and made
/// of `[A-Za-z0-9._-]` (not starting with a dot), otherwise a cleaned prefix and a hash.
fn socket_key(alias: &str, budget: usize) -> String {
    let clean: String = alias
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean == alias && !alias.starts_with('.') && alias.len() <= budget {
        return clean;
    }
    let hash = format!("{:016x}", fnv1a(alias.as_bytes()));
    let room = budget.saturating_sub(hash.len() + 1);
    let prefix: String = clean.trim_start_matches('.').chars().take(room).collect();
    if prefix.is_empty() {
        hash.chars().take(budget).collect()
    } else {
        format!("{prefix}-{hash}")
    }
}

/// The 64-bit FNV-1a hash: stable across runs and platforms.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Makes sure a live master for `target` listens at `paths.socket`: reuses the one there, or
/// launches one. Processes connecting to the same host take turns (a lock file).
pub(crate) async fn ensure_master(
    config: &RemoteConfig,
    target: &Target,
    paths: &MasterPaths,
) -> Result<(), RemoteError> {
    let host = target.name.as_str();
    let io_error = |operation: String, e: io::Error| RemoteError::Io {
        host: host.to_owned(),
        operation,
        message: e.to_string(),
    };
    // The directory may have been removed since (by `close_all` in another process).
    if let Some(dir) = paths.lock.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| io_error(format!("cannot create {}", dir.display()), e))?;
    }
    let _lock = lock(&paths.lock)
        .await
        .map_err(|e| io_error(format!("cannot lock {}", paths.lock.display()), e))?;

    if fs::symlink_metadata(&paths.socket).is_ok() {
        let session = Session::resume_mux(paths.socket.clone().into_boxed_path(), None);
        match timeout(MASTER_ANSWER_TIMEOUT, session.check()).await {
            Ok(Ok(())) => {
                tracing::debug!(host, socket = %paths.socket.display(), "reusing ssh master");
                return Ok(());
            }
            Ok(Err(e)) => {
                tracing::debug!(host, error = %error::chain(&e), "stale ssh control socket")
            }
            Err(_) => tracing::debug!(host, "ssh master does not answer"),
        }
        remove_if_present(&paths.socket)
            .map_err(|e| io_error(format!("cannot remove {}", paths.socket.display()), e))?;
    }

    let mut builder = SessionBuilder::default();
    builder
        .config_file(&config.ssh_config)
        .control_directory(&config.control_dir)
        .control_persist(control_persist(config.persist))
        .known_hosts_check(match target.host_key {
            HostKeyCheck::Strict => KnownHosts::Strict,
            HostKeyCheck::AcceptNew => KnownHosts::Add,
        })
        .connect_timeout(config.connect_timeout.max(Duration::from_secs(1)));
    tracing::debug!(host, alias = %target.alias, "launching ssh master");
    let dir = builder
        .launch_master(&target.alias)
        .await
        .map_err(|e| error::from_launch(host, &e))?;
    let fresh = dir.path().join("master");
    match fs::hard_link(&fresh, &paths.socket) {
        Ok(()) => {}
        // Another process got there first (the lock file did not work here): use its master.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            stop_master(&fresh).await.ok();
            let theirs = Session::resume_mux(paths.socket.clone().into_boxed_path(), None);
            return match timeout(MASTER_ANSWER_TIMEOUT, theirs.check()).await {
                Ok(Ok(())) => Ok(()),
                _ => Err(io_error(
                    format!("another master holds {}", paths.socket.display()),
                    e,
                )),
            };
        }
        // A file system without hard links: move the socket instead.
        Err(_) => {
            if let Err(e) = fs::rename(&fresh, &paths.socket) {
                stop_master(&fresh).await.ok();
                let what = format!(
                    "cannot place the control socket at {}",
                    paths.socket.display()
                );
                return Err(io_error(what, e));
            }
        }
    }
    // Keep the master's log beside its socket; the temporary directory goes away.
    fs::rename(dir.path().join("log"), &paths.log).ok();
    drop(dir);
    Ok(())
}

fn control_persist(persist: Duration) -> ControlPersist {
    let secs = usize::try_from(persist.as_secs().max(u64::from(persist.subsec_nanos() > 0)))
        .unwrap_or(usize::MAX);
    NonZeroUsize::new(secs).map_or(ControlPersist::Forever, ControlPersist::IdleFor)
}

/// Takes an exclusive lock on `path`, polling so that the wait can be cancelled by a timeout.
async fn lock(path: &Path) -> io::Result<Option<File>> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(fs::TryLockError::WouldBlock) => sleep(Duration::from_millis(20)).await,
            // No locking on this file system: go on without (processes may then race).
            Err(fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => {
                return Ok(None);
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Asks the master at `socket` to stop accepting sessions and exit once the running ones end;
/// returns its process id.
async fn stop_master(socket: &Path) -> Result<u32, String> {
    let ask = async {
        let mut conn = openssh_mux_client::Connection::connect(socket).await?;
        let pid = conn.send_alive_check().await?;
        conn.request_stop_listening().await?;
        Ok::<u32, openssh_mux_client::Error>(pid.get())
    };
    match timeout(MASTER_ANSWER_TIMEOUT, ask).await {
        Ok(Ok(pid)) => Ok(pid),
        Ok(Err(e)) => Err(error::chain(&e)),
        Err(_) => Err("the master does not answer".to_owned()),
    }
}

/// Shuts down every ssh master whose control socket is in `control_dir`, then removes the
/// directory.
///
/// Every socket counts, also those of masters opened by a plain `ssh` with a `ControlPath` in
/// this directory. Masters are asked to stop; those still running after a few seconds (a
/// session was open) get SIGTERM. A missing directory is not an error.
pub async fn close_all(control_dir: &Path) -> Result<(), RemoteError> {
    let fail = |message: String| RemoteError::ControlDir {
        path: control_dir.to_owned(),
        message,
    };
    match fs::symlink_metadata(control_dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(fail(e.to_string())),
        Ok(meta) if !meta.is_dir() => return Err(fail("not a directory".to_owned())),
        Ok(_) => {}
    }
    let mut sockets = Vec::new();
    find_sockets(control_dir, 2, &mut sockets).map_err(|e| fail(format!("cannot list it: {e}")))?;

    let mut stops = tokio::task::JoinSet::new();
    for socket in sockets {
        stops.spawn(async move {
            let outcome = stop_master(&socket).await;
            (socket, outcome)
        });
    }
    let mut pids = Vec::new();
    while let Some(joined) = stops.join_next().await {
        match joined {
            Ok((_, Ok(pid))) => pids.push(pid),
            // A stale socket (its master is gone): nothing to stop.
            Ok((socket, Err(e))) => {
                tracing::debug!(socket = %socket.display(), error = %e, "no master to stop")
            }
            Err(e) => tracing::warn!(error = %e, "stopping a master failed"),
        }
    }
    pids.sort_unstable();
    pids.dedup();

    let mut running = wait_for_exit(pids, MASTER_EXIT_GRACE).await;
    if !running.is_empty() {
        for pid in &running {
            terminate(*pid);
        }
        running = wait_for_exit(running, MASTER_EXIT_GRACE).await;
    }
    if !running.is_empty() {
        let list: Vec<String> = running.iter().map(u32::to_string).collect();
        return Err(fail(format!(
            "ssh masters still running: pid {}",
            list.join(", ")
        )));
    }
    match fs::remove_dir_all(control_dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(fail(format!("cannot remove it: {e}")))
        }
        _ => Ok(()),
    }
}

/// Unix sockets in `dir` and its subdirectories, `depth` levels down (symlinks not followed).
fn find_sockets(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_socket() {
            found.push(entry.path());
        } else if kind.is_dir() && depth > 1 {
            find_sockets(&entry.path(), depth - 1, found)?;
        }
    }
    Ok(())
}

/// Waits until the processes `pids` have exited or `grace` has passed; returns those left.
async fn wait_for_exit(mut pids: Vec<u32>, grace: Duration) -> Vec<u32> {
    let deadline = tokio::time::Instant::now() + grace;
    loop {
        pids.retain(|pid| is_running(*pid));
        if pids.is_empty() || tokio::time::Instant::now() >= deadline {
            return pids;
        }
        sleep(Duration::from_millis(20)).await;
    }
}

/// Whether process `pid` exists and is not a zombie.
fn is_running(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| !matches!(state, "Z" | "X")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        // No /proc: ask the kernel whether the process exists.
        Err(_) => rustix_pid(pid).is_some_and(|p| rustix::process::test_kill_process(p).is_ok()),
    }
}

/// Sends SIGTERM to `pid` if it is still an ssh process.
fn terminate(pid: u32) {
    let is_ssh = fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|comm| comm.trim() == "ssh")
        .unwrap_or(true);
    if let (true, Some(p)) = (is_ssh, rustix_pid(pid)) {
        tracing::debug!(pid, "terminating ssh master");
        rustix::process::kill_process(p, rustix::process::Signal::TERM).ok();
    }
}

fn rustix_pid(pid: u32) -> Option<rustix::process::Pid> {
    i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
}

/// Whether `name` is usable as one path component (a host's directory of downloads).
pub(crate) fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\0'])
        && Path::new(name).file_name() == Some(OsStr::new(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_aliases_are_kept() {
        let paths = master_paths(Path::new("/run/enos/ab12/ssh"), "paris-server-1").unwrap();
        assert_eq!(
            paths.socket,
            Path::new("/run/enos/ab12/ssh/paris-server-1.sock")
        );
        assert_eq!(
            paths.log,
            Path::new("/run/enos/ab12/ssh/paris-server-1.log")
        );
    }

    #[test]
    fn odd_or_long_aliases_are_hashed_and_fit() {
        let dir = Path::new("/tmp/a-control-directory-of-exactly-sixty-one-bytes-abcdefghi");
        assert_eq!(dir.as_os_str().len(), MAX_CONTROL_DIR_LEN);
        for alias in ["x".repeat(300).as_str(), "a/b c", ".hidden", "../..", "é"] {
            let paths = master_paths(dir, alias).unwrap();
            assert!(
                paths.socket.as_os_str().len() <= MAX_SOCKET_PATH_LEN,
                "{alias}"
            );
            assert_eq!(paths.socket.parent(), Some(dir));
            let name = paths.socket.file_name().unwrap().to_str().unwrap();
            assert!(!name.starts_with('.'), "{name}");
            assert!(!name.contains('/'));
        }
        // Distinct aliases that clean up to the same text get distinct sockets.
        let a = master_paths(dir, "a b").unwrap();
        let b = master_paths(dir, "a_b").unwrap();
        let c = master_paths(dir, "a:b").unwrap();
        assert_ne!(a.socket, b.socket);
        assert_ne!(a.socket, c.socket);
        // Stable across calls.
        assert_eq!(master_paths(dir, "a b").unwrap(), a);
        assert!(master_paths(dir, "").is_err());
    }

    #[test]
    fn long_control_dirs_are_refused() {
        let long = format!("/tmp/{}", "d".repeat(MAX_CONTROL_DIR_LEN));
        let err = prepare_control_dir(Path::new(&long)).unwrap_err();
        assert!(err.to_string().contains("too long"), "{err}");
        assert!(!Path::new(&long).exists());
    }

    #[test]
    fn persist_maps_to_control_persist() {
        assert!(matches!(
            control_persist(Duration::ZERO),
            ControlPersist::Forever
        ));
        assert!(matches!(
            control_persist(Duration::from_millis(10)),
            ControlPersist::IdleFor(n) if n.get() == 1
        ));
        assert!(matches!(
            control_persist(Duration::from_secs(600)),
            ControlPersist::IdleFor(n) if n.get() == 600
        ));
    }

    #[test]
    fn plain_file_names() {
        assert!(is_plain_file_name("paris-1"));
        for bad in ["", ".", "..", "a/b", "a\0b"] {
            assert!(!is_plain_file_name(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn close_all_of_a_missing_directory_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        close_all(&dir.path().join("none")).await.unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        assert!(close_all(&file).await.is_err());
    }
}
