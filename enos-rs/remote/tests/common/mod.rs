//! A real OpenSSH server on the loopback addresses, for the integration tests.
//!
//! `Sshd::start` runs `/usr/sbin/sshd -D -e` with a fresh ed25519 host key on 127.0.0.1 to
//! 127.0.0.4 (one port), and writes an ssh client configuration with the aliases:
//!
//! | alias      | reaches                | answers with                                  |
//! |------------|------------------------|-----------------------------------------------|
//! | `alpha`    | 127.0.0.1              | a login                                       |
//! | `beta`     | 127.0.0.2              | a login                                       |
//! | `gamma`    | 127.0.0.3              | a login                                       |
//! | `stranger` | 127.0.0.4              | a host key that `known_hosts` does not pin     |
//! | `dead`     | 127.0.0.1, other port  | nothing listens: connection refused           |
//!
//! A remote command can tell the hosts apart by the server address in `$SSH_CONNECTION`.
//!
//! Logins are as a dedicated system user, `enos-remote-test`, whose shell is `/bin/sh` and
//! home `/tmp`, created on first use: root's login shell runs `~/.bashrc` for every command
//! over ssh (Debian's bash does), which is slow and may print things on some machines. When the
//! user cannot be created, the tests log in as root.
//!
//! Dropping the fixture kills sshd and every process under it or started in one of its sessions
//! (sshd sets a marker variable in each): remote commands still running after a timeout or after
//! their master was closed. The masters, cut from their server, exit by themselves.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use enos_core::{Reporter, TaskId};
use enos_remote::{RemoteConfig, Target};
use tempfile::TempDir;

const SSHD: &str = "/usr/sbin/sshd";
const TEST_USER: &str = "enos-remote-test";
/// An environment variable set in every session of a fixture's sshd, to find its processes.
const MARKER: &str = "ENOS_REMOTE_FIXTURE";

/// The login user of the tests: name, uid, gid.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// A running sshd and the client files that reach it.
pub struct Sshd {
    dir: TempDir,
    child: Child,
    pub port: u16,
    pub ssh_config: PathBuf,
    /// A directory the login user may write to.
    pub remote_dir: PathBuf,
    pub user: User,
}

/// Whether `test` can run here: it needs root (to run sshd) and sshd. Under CI their absence
/// fails the test; elsewhere it is a recorded skip (see `enos_testkit`).
pub fn can_run(test: &str) -> bool {
    enos_testkit::require_root(test)
        && enos_testkit::require_file(test, Path::new(SSHD), "openssh-server")
}

impl Sshd {
    /// Starts sshd for `test`, or returns `None` when the test cannot run here ([`can_run`]).
    pub fn start(test: &str) -> Option<Sshd> {
        if !can_run(test) {
            return None;
        }
        let user = login_user();
        let mut last_error = String::new();
        // A free port can be taken by someone else before sshd binds it: try a few.
        for _ in 0..5 {
            match Self::try_start(&user) {
                Ok(sshd) => return Some(sshd),
                Err(e) => last_error = e,
            }
        }
        panic!("cannot start sshd: {last_error}");
    }

    fn try_start(user: &User) -> Result<Sshd, String> {
        fs::create_dir_all("/run/sshd").map_err(|e| e.to_string())?;
        let dir = tempfile::Builder::new()
            .prefix("enos-remote-sshd")
            .tempdir()
            .unwrap();
        let base = dir.path().to_owned();
        fs::set_permissions(&base, fs::Permissions::from_mode(0o755)).unwrap();
        let host_key = base.join("host_key");
        let client_key = base.join("client_key");
        keygen(&host_key);
        keygen(&client_key);
        let authorized = base.join("authorized_keys");
        fs::copy(client_key.with_extension("pub"), &authorized).unwrap();
        fs::set_permissions(&authorized, fs::Permissions::from_mode(0o644)).unwrap();
        let remote_dir = base.join("remote");
        fs::create_dir(&remote_dir).unwrap();
        std::os::unix::fs::chown(&remote_dir, Some(user.uid), Some(user.gid)).unwrap();

        let port = free_port();
        let dead_port = free_port();
        let listen: String = (1..=4)
            .map(|i| format!("ListenAddress 127.0.0.{i}:{port}\n"))
            .collect();
        let sshd_config = base.join("sshd_config");
        fs::write(
            &sshd_config,
            format!(
                "{listen}HostKey {host_key}\nAuthorizedKeysFile {authorized}\nUsePAM no\n\
                 PidFile none\nStrictModes no\nPermitRootLogin prohibit-password\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nMaxSessions 100\n\
                 MaxStartups 200\nPrintMotd no\nPrintLastLog no\nAllowUsers {user}\n\
                 SetEnv {MARKER}={marker}\n",
                marker = base.display(),
                host_key = host_key.display(),
                authorized = authorized.display(),
                user = user.name,
            ),
        )
        .unwrap();

        let public = fs::read_to_string(host_key.with_extension("pub")).unwrap();
        let key: Vec<&str> = public.split_whitespace().take(2).collect();
        let known_hosts = base.join("known_hosts");
        // 127.0.0.4 ("stranger") is deliberately not pinned.
        let pinned: String = (1..=3)
            .map(|i| format!("[127.0.0.{i}]:{port} {}\n", key.join(" ")))
            .collect();
        fs::write(&known_hosts, pinned).unwrap();

        let ssh_config = base.join("ssh_config");
        let mut config = String::new();
        for (alias, address, p) in [
            ("alpha", "127.0.0.1", port),
            ("beta", "127.0.0.2", port),
            ("gamma", "127.0.0.3", port),
            ("stranger", "127.0.0.4", port),
            ("dead", "127.0.0.1", dead_port),
        ] {
            config.push_str(&format!(
                "Host {alias}\n    HostName {address}\n    Port {p}\n"
            ));
        }
        config.push_str(&format!(
            "Host *\n    User {user}\n    IdentityFile {key}\n    IdentitiesOnly yes\n    \
             UserKnownHostsFile {known}\n    GlobalKnownHostsFile /dev/null\n    \
             StrictHostKeyChecking yes\n    BatchMode yes\n    LogLevel ERROR\n",
            user = user.name,
            key = client_key.display(),
            known = known_hosts.display(),
        ));
        fs::write(&ssh_config, config).unwrap();

        let log = fs::File::create(base.join("sshd.log")).unwrap();
        let mut child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&sshd_config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = fs::read_to_string(base.join("sshd.log")).unwrap_or_default();
                return Err(format!("sshd exited ({status}): {log}"));
            }
            let ready = (1..=4).all(|i| {
                TcpStream::connect(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, i), port)).is_ok()
            });
            if ready {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("sshd did not listen within 10 s".to_owned());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Sshd {
            dir,
            child,
            port,
            ssh_config,
            remote_dir,
            user: user.clone(),
        })
    }

    /// The fixture's private directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A configuration for these hosts with control sockets in `control_dir`.
    pub fn config(&self, control_dir: &Path) -> RemoteConfig {
        let mut config = RemoteConfig::new(&self.ssh_config, control_dir);
        config.connect_timeout = Duration::from_secs(10);
        config.persist = Duration::from_secs(120);
        config
    }

    /// The number of open ssh connections (sshd's per-connection processes).
    pub fn connections(&self) -> usize {
        let parents = parents();
        parents.values().filter(|p| **p == self.child.id()).count()
    }

    /// How many processes of this sshd's sessions have `needle` in their command line.
    pub fn remote_processes(&self, needle: &str) -> usize {
        let marker = format!("{MARKER}={}", self.dir.path().display());
        parents()
            .keys()
            .filter(|pid| {
                let environ = fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
                let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                environ
                    .split(|b| *b == 0)
                    .any(|var| var == marker.as_bytes())
                    && String::from_utf8_lossy(&cmdline)
                        .replace('\0', " ")
                        .contains(needle)
            })
            .count()
    }

    /// sshd's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let sshd = self.child.id();
        let parents = parents();
        let marker = format!("{MARKER}={}", self.dir.path().display());
        let mut doomed = vec![sshd];
        doomed.extend(parents.keys().copied().filter(|pid| {
            let environ = fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            environ
                .split(|b| *b == 0)
                .any(|var| var == marker.as_bytes())
        }));
        let mut i = 0;
        while i < doomed.len() {
            let parent = doomed[i];
            doomed.extend(
                parents
                    .iter()
                    .filter(|(_, p)| **p == parent)
                    .map(|(pid, _)| *pid),
            );
            i += 1;
        }
        for pid in doomed {
            if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        let _ = self.child.wait();
    }
}

/// A short control directory (under /tmp), removed on drop.
pub fn control_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("enr")
        .tempdir_in("/tmp")
        .unwrap()
}

/// Targets named after their aliases.
pub fn targets(aliases: &[&str]) -> Vec<Target> {
    aliases.iter().map(|a| Target::new(*a)).collect()
}

/// The ssh processes whose command line mentions `control_dir` (masters and their launchers).
pub fn ssh_processes(control_dir: &Path) -> Vec<u32> {
    let needle = control_dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for (pid, _) in parents() {
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let state = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = state
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        if comm.trim() == "ssh" && cmdline.contains(&needle) && !zombie {
            found.push(pid);
        }
    }
    found.sort_unstable();
    found
}

/// Waits (up to 10 s) until `check` holds, letting other tasks run meanwhile.
pub async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every process's parent: pid -> ppid.
fn parents() -> HashMap<u32, u32> {
    let mut map = HashMap::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return map;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            map.insert(pid, ppid);
        }
    }
    map
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "enos-remote-test",
            "-f",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "ssh-keygen failed");
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The login user, created on first use (see the module documentation).
fn login_user() -> User {
    static USER: OnceLock<User> = OnceLock::new();
    USER.get_or_init(|| {
        if lookup(TEST_USER).is_none() {
            // `-p '*'`: no password, yet not a locked account (sshd refuses those without PAM).
            let _ = Command::new("useradd")
                .args([
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/tmp",
                ])
                .args(["--shell", "/bin/sh", "--password", "*", TEST_USER])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        lookup(TEST_USER).unwrap_or(User {
            name: "root".to_owned(),
            uid: 0,
            gid: 0,
        })
    })
    .clone()
}

fn lookup(name: &str) -> Option<User> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 4 && fields[0] == name).then(|| User {
            name: name.to_owned(),
            uid: fields[2].parse().unwrap_or(0),
            gid: fields[3].parse().unwrap_or(0),
        })
    })
}

/// A reporter that records what it is told.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<String>>,
}

impl Recorder {
    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
}

impl Reporter for Recorder {
    fn start(&self, title: &str, total: u64) -> TaskId {
        let mut events = self.events.lock().unwrap();
        events.push(format!("start {title} {total}"));
        TaskId(events.len() as u64)
    }
    fn advance(&self, _task: TaskId, item: &str, ok: bool) {
        self.events
            .lock()
            .unwrap()
            .push(format!("advance {item} {ok}"));
    }
    fn finish(&self, _task: TaskId) {
        self.events.lock().unwrap().push("finish".to_owned());
    }
    fn note(&self, text: &str) {
        self.events.lock().unwrap().push(format!("note {text}"));
    }
}
