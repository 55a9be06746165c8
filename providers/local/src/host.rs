//! One host of the local testbed: a network namespace, a mount, UTS and PID namespace with an
//! overlay over `/`, and OpenSSH's `sshd` as its PID 1.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use enos_provider::ProviderError;
use tokio::process::Command;

use crate::plan::{HostSlot, TestbedPlan};
use crate::sys::SYSTEM_PATH;

/// Everything a host needs written into its own file system before it starts.
pub struct HostFiles<'a> {
    /// The host.
    pub slot: &'a HostSlot,
    /// The host's private host key (OpenSSH format).
    pub host_key: &'a [u8],
    /// The host's public host key line.
    pub host_key_pub: &'a str,
    /// The experiment's public client key line, authorised for root.
    pub authorized_key: &'a str,
    /// `/etc/hosts` for every host of the experiment.
    pub etc_hosts: &'a str,
    /// apt's configuration: downloads through the egress proxy.
    pub apt_config: &'a str,
    /// `/etc/enos/proxy.env`: the proxy for other tools.
    pub proxy_env: &'a str,
    /// The `ip -batch` lines that configure its network ([`network_batch`]).
    pub network: &'a str,
}

/// The directory holding host `name`'s layers, under the experiment's data directory.
pub fn host_dir(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join("hosts").join(name)
}

fn sshd_config(slot: &HostSlot) -> String {
    format!(
        "# sshd of enos-rs host {name}\n\
         ListenAddress {address}\n\
         Port 22\n\
         HostKey /etc/enos/ssh_host_ecdsa_key\n\
         PidFile none\n\
         UsePAM no\n\
         PermitRootLogin prohibit-password\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         AuthorizedKeysFile .ssh/authorized_keys\n\
         UseDNS no\n\
         PrintMotd no\n\
         MaxSessions 256\n\
         MaxStartups 512:30:1024\n\
         AcceptEnv LANG LC_*\n\
         Subsystem sftp /usr/lib/openssh/sftp-server\n",
        name = slot.name,
        address = slot.address,
    )
}

/// A clean shell start-up for root on test hosts: the machine's own may be slow and is not the
/// host's business.
const ROOT_BASHRC: &str = "# root's shell start-up on an enos-rs local host\n\
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
[ -z \"$PS1\" ] && return\n\
PS1='\\u@\\h:\\w\\$ '\n";

/// Writes `contents` to `path` with `mode`: a new file has it from its creation, an existing
/// one gets it before its content is replaced (a private key is never readable by others).
fn write(path: &Path, contents: &[u8], mode: u32) -> Result<(), ProviderError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| ProviderError::new(format!("cannot create {}: {e}", parent.display())))?;
    }
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(mode)
        .open(path)
        .and_then(|mut file| {
            file.set_permissions(fs::Permissions::from_mode(mode))?;
            file.set_len(0)?;
            file.write_all(contents)
        })
        .map_err(|e| ProviderError::new(format!("cannot write {}: {e}", path.display())))
}

fn mkdir(path: &Path, mode: u32) -> Result<(), ProviderError> {
    fs::create_dir_all(path)
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(mode)))
        .map_err(|e| ProviderError::new(format!("cannot create {}: {e}", path.display())))
}

/// Prepares the host's directory: an upper layer holding its own `/etc/enos`, `/etc/hostname`,
/// `/etc/hosts` and root's SSH key, an overlay work directory, and the mount point.
pub fn prepare(dir: &Path, files: &HostFiles<'_>) -> Result<(), ProviderError> {
    let upper = dir.join("upper");
    // The host's files (its keys, the configuration files of its services) are the host's:
    // users of the machine do not reach them through its layers.
    mkdir(dir, 0o700)?;
    mkdir(&dir.join("work"), 0o700)?;
    mkdir(&dir.join("root"), 0o755)?;
    write(&dir.join(NETWORK_BATCH), files.network.as_bytes(), 0o600)?;
    mkdir(&upper.join("etc/enos"), 0o755)?;
    mkdir(&upper.join("root/.ssh"), 0o700)?;
    fs::set_permissions(upper.join("root"), fs::Permissions::from_mode(0o700))
        .map_err(|e| ProviderError::new(format!("cannot chmod {}: {e}", upper.display())))?;
    write(
        &upper.join("etc/enos/sshd_config"),
        sshd_config(files.slot).as_bytes(),
        0o644,
    )?;
    write(
        &upper.join("etc/enos/ssh_host_ecdsa_key"),
        files.host_key,
        0o600,
    )?;
    write(
        &upper.join("etc/enos/ssh_host_ecdsa_key.pub"),
        files.host_key_pub.as_bytes(),
        0o644,
    )?;
    write(
        &upper.join("etc/hostname"),
        format!("{}\n", files.slot.name).as_bytes(),
        0o644,
    )?;
    write(&upper.join("etc/hosts"), files.etc_hosts.as_bytes(), 0o644)?;
    write(
        &upper.join("etc/apt/apt.conf.d/00enos-proxy"),
        files.apt_config.as_bytes(),
        0o644,
    )?;
    write(
        &upper.join("etc/enos/proxy.env"),
        files.proxy_env.as_bytes(),
        0o644,
    )?;
    // Packages do not start their services on these hosts (there is no init to run them):
    // `service` steps do, as the scenario says. This is Debian's policy-rc.d convention.
    write(
        &upper.join("usr/sbin/policy-rc.d"),
        b"#!/bin/sh
# Written by enos-rs: packages start no service on this host.
exit 101
",
        0o755,
    )?;
    write(
        &upper.join("root/.ssh/authorized_keys"),
        files.authorized_key.as_bytes(),
        0o600,
    )?;
    write(&upper.join("root/.bashrc"), ROOT_BASHRC.as_bytes(), 0o644)?;
    write(
        &upper.join("root/.profile"),
        b"[ -f ~/.bashrc ] && . ~/.bashrc\n",
        0o644,
    )?;
    Ok(())
}

/// `/etc/hosts` naming every host of the testbed.
pub fn etc_hosts(plan: &TestbedPlan) -> String {
    let mut text =
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for host in &plan.hosts {
        let _ = writeln!(text, "{}\t{}", host.address, host.name);
    }
    text
}

/// The file of a host's directory holding the `ip -batch` lines that configure its network.
const NETWORK_BATCH: &str = "network.batch";

/// The `ip -batch` lines that configure host `slot`'s network, run inside its namespace: its
/// address as a /32 and everything through the site's gateway, whose link-layer address is
/// written in (a permanent neighbour: never resolved, never collected, not counted against the
/// kernel's neighbour table limits). No IPv6 address is made on `eth0`.
pub fn network_batch(slot: &HostSlot, gateway: std::net::Ipv4Addr) -> String {
    let gateway_mac = crate::plan::mac_of(gateway);
    format!(
        "link set lo up\n\
         link set eth0 addrgenmode none\n\
         addr add {address}/32 dev eth0\n\
         link set eth0 up\n\
         neigh replace {gateway} lladdr {gateway_mac} dev eth0 nud permanent\n\
         route add {gateway}/32 dev eth0 scope link\n\
         route add default via {gateway} dev eth0\n",
        address = slot.address,
    )
}

/// What `enos daemon local-host` needs to start one host (see [`init_main`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInit {
    /// The host's network namespace, e.g. `/run/netns/enos-e1234-paris-server-1`.
    pub netns: PathBuf,
    /// The host's directory (its layers; see [`host_dir`]).
    pub dir: PathBuf,
    /// The machine's data root, hidden inside hosts.
    pub data_root: PathBuf,
    /// The host's name (its hostname).
    pub name: String,
}

/// The daemon's name: `enos daemon local-host --netns … --dir … --data-root … --name …`.
pub const DAEMON: &str = "local-host";

/// The arguments of `enos daemon local-host`.
#[derive(Debug, clap::Parser)]
#[command(name = "local-host", no_binary_name = true)]
struct HostArgs {
    /// The host's network namespace (a path under /run/netns).
    #[arg(long)]
    netns: PathBuf,
    /// The host's directory (its layers).
    #[arg(long)]
    dir: PathBuf,
    /// The machine's data root, hidden inside the host.
    #[arg(long)]
    data_root: PathBuf,
    /// The host's name.
    #[arg(long)]
    name: String,
}

/// The entry point of `enos daemon local-host`: starts one host (see [`init_main`]). It must
/// run before the process starts any thread.
pub fn daemon_main(args: Vec<std::ffi::OsString>) -> Result<(), String> {
    let args = <HostArgs as clap::Parser>::try_parse_from(args).map_err(|e| e.to_string())?;
    let init = HostInit {
        netns: args.netns,
        dir: args.dir,
        data_root: args.data_root,
        name: args.name,
    };
    init_main(&init).map_err(|e| format!("host {}: {e}", init.name))
}

impl HostInit {
    /// The arguments of `enos daemon local-host` for this host.
    pub fn args(&self) -> Vec<std::ffi::OsString> {
        vec![
            "daemon".into(),
            DAEMON.into(),
            "--netns".into(),
            self.netns.clone().into(),
            "--dir".into(),
            self.dir.clone().into(),
            "--data-root".into(),
            self.data_root.clone().into(),
            "--name".into(),
            self.name.clone().into(),
        ]
    }
}

/// The command line of every host's PID 1: teardown finds hosts by it.
///
/// `-r`: `sshd` serves each connection from a fork of itself rather than re-executing itself
/// first. Re-execution gives every connection a fresh address-space layout, a defence against
/// memory disclosure that a testbed host reachable only from its testbed and this machine can
/// do without; it costs about 7 ms of CPU per connection, a quarter of it
/// (`perf/ssh-connection.sh`), which a thousand hosts pay at once when `enos` connects to them.
pub const SSHD_ARGV: [&str; 6] = [
    "/usr/sbin/sshd",
    "-D",
    "-e",
    "-r",
    "-f",
    "/etc/enos/sshd_config",
];

fn errno(what: &str) -> impl Fn(nix::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Starts one host; the body of `enos daemon local-host`, which the provider runs once per host.
///
/// In this process, while it has a single thread: a session of its own, the host's network
/// namespace (configured from the host's `network.batch`), then new mount, UTS and PID
/// namespaces; the host's file system is mounted (an overlay over `/`, its own `/sys`, `/dev`,
/// `/tmp`, `/run`, and the machine's data root hidden), and the hostname set. Then one child,
/// PID 1 of the new PID namespace, mounts its `/proc`, enters the host's root and becomes
/// `sshd`. This process returns once that child has started `sshd` (or failed to, with why),
/// and exits: the host lives on by itself.
///
/// Doing this here rather than with `setsid`, `ip netns exec`, `unshare`, `sh`, `mount` (seven
/// times), `hostname` and `chroot` spares each host a dozen program starts; and the host's mount
/// namespace drops its copy of `/run/netns`, so it does not grow with the number of hosts.
#[allow(unsafe_code)]
pub fn init_main(init: &HostInit) -> Result<(), String> {
    use nix::mount::{MntFlags, MsFlags, mount, umount2};
    use nix::sched::{CloneFlags, setns, unshare};
    use nix::unistd::{ForkResult, chroot, execv, fork, pipe2, sethostname, setsid};
    use std::ffi::CString;
    use std::io::{Read as _, Write as _};

    // Already a session leader only when started so; either way, detached from the caller's.
    let _ = setsid();
    let threads = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:").map(|n| n.trim().to_owned()))
        })
        .unwrap_or_default();
    if threads != "1" {
        return Err(format!(
            "a host is started by a process with one thread, this one has {threads}"
        ));
    }
    let netns = fs::File::open(&init.netns)
        .map_err(|e| format!("cannot open {}: {e}", init.netns.display()))?;
    setns(&netns, CloneFlags::CLONE_NEWNET).map_err(errno("cannot enter the network namespace"))?;
    drop(netns);
    let batch = init.dir.join(NETWORK_BATCH);
    let output = std::process::Command::new("ip")
        .arg("-batch")
        .arg(&batch)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cannot configure the network ({}): {}",
            batch.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWPID)
        .map_err(errno("cannot make the host's namespaces"))?;
    let none: Option<&str> = None;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .map_err(errno("cannot make the host's mounts private"))?;
    // The other hosts' namespaces are not this host's business, and a copy of their thousand
    // mount points per host would make memory grow with the square of the hosts.
    let _ = umount2("/run/netns", MntFlags::MNT_DETACH);
    let root = init.dir.join("root");
    let at = |sub: &str| root.join(sub.trim_start_matches('/'));
    let overlay = format!(
        "lowerdir=/,upperdir={d}/upper,workdir={d}/work",
        d = init.dir.display()
    );
    mount(
        Some("overlay"),
        &root,
        Some("overlay"),
        MsFlags::empty(),
        Some(overlay.as_str()),
    )
    .map_err(errno("cannot mount the host's overlay"))?;
    mount(
        Some("sysfs"),
        &at("sys"),
        Some("sysfs"),
        MsFlags::empty(),
        none,
    )
    .map_err(errno("cannot mount /sys"))?;
    mount(
        Some("/dev"),
        &at("dev"),
        none,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        none,
    )
    .map_err(errno("cannot bind /dev"))?;
    for (point, mode) in [
        ("tmp", "mode=1777"),
        ("run", "mode=755"),
        (
            init.data_root.to_str().unwrap_or("/var/lib/enos"),
            "mode=755",
        ),
    ] {
        mount(
            Some("tmpfs"),
            &at(point),
            Some("tmpfs"),
            MsFlags::empty(),
            Some(mode),
        )
        .map_err(|e| format!("cannot mount a tmpfs on {point}: {e}"))?;
    }
    sethostname(&init.name).map_err(errno("cannot set the hostname"))?;

    let argv: Vec<CString> = SSHD_ARGV
        .iter()
        .map(|a| CString::new(*a).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let (read_end, write_end) =
        pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(errno("cannot make a pipe"))?;
    // SAFETY: this process has one thread (checked above), so the child may run any code.
    match unsafe { fork() }.map_err(errno("cannot fork the host's PID 1"))? {
        ForkResult::Child => {
            drop(read_end);
            let started = (|| -> Result<std::convert::Infallible, String> {
                mount(
                    Some("proc"),
                    &at("proc"),
                    Some("proc"),
                    MsFlags::empty(),
                    none,
                )
                .map_err(errno("cannot mount /proc"))?;
                fs::create_dir_all(at("run/sshd"))
                    .map_err(|e| format!("cannot create /run/sshd: {e}"))?;
                chroot(&root).map_err(errno("cannot enter the host's root"))?;
                std::env::set_current_dir("/").map_err(|e| format!("cannot enter /: {e}"))?;
                execv(&argv[0], &argv).map_err(errno("cannot start sshd"))
            })();
            let message = match started {
                Err(message) => message,
                Ok(never) => match never {},
            };
            let mut pipe = fs::File::from(write_end);
            let _ = pipe.write_all(message.as_bytes());
            std::process::exit(1);
        }
        ForkResult::Parent { child } => {
            drop(write_end);
            let mut message = String::new();
            let _ = fs::File::from(read_end).read_to_string(&mut message);
            if !message.is_empty() {
                return Err(message);
            }
            let path = init.dir.join(PID_FILE);
            fs::write(&path, format!("{child}\n"))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
    }
}

/// Starts host `slot` with `program daemon local-host …` (see [`init_main`]); its output (and later
/// `sshd`'s) goes to `log`. Returns once `sshd` is started, not once it listens ([`listening`]).
pub async fn start(
    program: &Path,
    slot: &HostSlot,
    dir: &Path,
    data_root: &Path,
    log: &Path,
) -> Result<(), ProviderError> {
    let init = HostInit {
        netns: Path::new("/run/netns").join(&slot.namespace),
        dir: dir.to_owned(),
        data_root: data_root.to_owned(),
        name: slot.name.clone(),
    };
    let log_file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| ProviderError::new(format!("cannot open {}: {e}", log.display())))?;
    let log_err = log_file
        .try_clone()
        .map_err(|e| ProviderError::new(format!("cannot open {}: {e}", log.display())))?;
    let status = Command::new(program)
        .args(init.args())
        .env_clear()
        .env("PATH", SYSTEM_PATH)
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .status()
        .await
        .map_err(|e| ProviderError::new(format!("cannot start host {}: {e}", slot.name)))?;
    if status.success() {
        Ok(())
    } else {
        Err(ProviderError::new(format!(
            "cannot start host {}: {status}; its log {} says:\n{}",
            slot.name,
            log.display(),
            crate::daemon::log_tail(log, 3)
        )))
    }
}

/// The file of a host's directory holding the pid of its PID 1 (`sshd`), as this machine sees it.
const PID_FILE: &str = "pid1";

/// Whether the host's `sshd` listens on port 22: its PID 1 (from the host's directory) is alive,
/// is `sshd`, and its network namespace has a listening socket on port 22 (read from
/// `/proc/<pid>/net/tcp`). No connection is made: a connection costs `sshd` a fork and a
/// re-execution of itself, which, repeated by a poll over a thousand hosts, loads the machine
/// more than starting them.
pub fn listening(dir: &Path) -> bool {
    let Some(pid) = fs::read_to_string(dir.join(PID_FILE))
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
    else {
        return false;
    };
    // `sshd` rewrites its command line ("sshd: … [listener]"), not its name.
    let is_sshd =
        fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|name| name.trim() == "sshd");
    is_sshd
        && fs::read_to_string(format!("/proc/{pid}/net/tcp")).is_ok_and(|table| {
            table.lines().skip(1).any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // `local_address` is ADDR:PORT in hexadecimal; state 0A is LISTEN.
                fields.len() > 3 && fields[1].ends_with(":0016") && fields[3] == "0A"
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_written_over_a_readable_file_is_private_with_its_new_content() {
        let dir = std::env::temp_dir().join(format!("enos-host-write-{}", std::process::id()));
        let key = dir.join("etc/enos/ssh_host_ecdsa_key");
        fs::create_dir_all(key.parent().unwrap()).unwrap();
        fs::write(&key, b"an older and longer content").unwrap();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        write(&key, b"key", 0o600).unwrap();
        let fresh = dir.join("etc/enos/other_key");
        write(&fresh, b"other", 0o600).unwrap();
        let modes: Vec<u32> = [&key, &fresh]
            .iter()
            .map(|p| fs::metadata(p).unwrap().permissions().mode() & 0o777)
            .collect();
        let key_content = fs::read(&key).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(modes, [0o600, 0o600]);
        assert_eq!(key_content, b"key");
    }
}
