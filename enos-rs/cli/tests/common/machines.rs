//! Machines that enos did not make, for the static provider's tests: a bare network namespace
//! per host, each with its own `sshd`, host keys this test generated, a non-root login user with
//! passwordless sudo, and a gateway whose `sshd` serves as a jump host. Each `sshd` has a `/run`
//! of its own (what enos marks there is the machine's own); the rest of the file system is this
//! machine's.
//!
//! ```text
//!  root namespace          <px>-gw (gateway, sshd)              <px>-h1 … (sshd each)
//!  <px>g 100.64.N.1/30 ── eth0 100.64.N.2/30
//!                          br0 10.77.N.1/24 ── h1 ──────────── eth0 10.77.N.11/24
//!                                          └── h2 ──────────── eth0 10.77.N.12/24
//! ```
//!
//! The root namespace reaches the hosts directly only while the gateway forwards
//! ([`Machines::set_forwarding`]); otherwise only through the gateway's `sshd`. Everything is
//! removed when the value is dropped, also when the test fails: namespaces (and their links),
//! sshd processes, the user, its sudoers file.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One machine: a namespace and its sshd.
pub struct Machine {
    /// Its name in scenarios.
    pub name: String,
    /// Its network namespace.
    pub namespace: String,
    /// Its address.
    pub address: Ipv4Addr,
    /// Its host key (private; `.pub` beside it).
    pub host_key: PathBuf,
    sshd: Option<Child>,
    config: PathBuf,
}

/// Machines enos did not make; see the module's documentation.
pub struct Machines {
    /// A unique prefix: namespaces, links, the user and the sudoers file carry it.
    pub prefix: String,
    /// Keys, configurations, the user's home.
    pub dir: tempfile::TempDir,
    /// The login user (not root, passwordless sudo).
    pub user: String,
    /// The user's private key.
    pub identity: PathBuf,
    /// The gateway (jump host), reachable from the root namespace.
    pub gateway: Machine,
    /// The hosts behind it.
    pub hosts: Vec<Machine>,
    subnet: u8,
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn keygen(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path.with_extension("pub"));
    run(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "",
            "-f",
            path.to_str().unwrap(),
        ],
    );
}

impl Machines {
    /// Starts a gateway and `count` hosts behind it.
    pub fn start(count: usize) -> Machines {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let subnet = u8::try_from((std::process::id() + n * 7) % 200 + 20).unwrap();
        let prefix = format!("es{}", (std::process::id() % 10000) * 10 + n % 10);
        let dir = tempfile::tempdir().unwrap();
        let user = format!("{prefix}u");
        let identity = dir.path().join("id_user");
        keygen(&identity);
        let mut machines = Machines {
            gateway: Machine::new(&prefix, "gw", Ipv4Addr::new(100, 64, subnet, 2), dir.path()),
            hosts: Vec::new(),
            prefix,
            dir,
            user,
            identity,
            subnet,
        };
        machines.make_user();
        machines.make_network(count);
        let home = machines.dir.path().to_owned();
        let (user, identity) = (machines.user.clone(), machines.identity.clone());
        let authorized = home.join("authorized_keys");
        std::fs::copy(identity.with_extension("pub"), &authorized).unwrap();
        machines.gateway.start_sshd(&user, &authorized);
        for host in &mut machines.hosts {
            host.start_sshd(&user, &authorized);
        }
        machines
    }

    fn make_user(&self) {
        let home = self.dir.path().join("home");
        run(
            "useradd",
            &[
                "--no-create-home",
                "--home-dir",
                home.to_str().unwrap(),
                "--shell",
                "/bin/sh",
                &self.user,
            ],
        );
        // Not locked (sshd refuses locked accounts), and no password either.
        run("usermod", &["-p", "*", &self.user]);
        std::fs::create_dir_all(&home).unwrap();
        run("chown", &[&self.user, home.to_str().unwrap()]);
        // The temporary directory itself must be traversable by the user.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let sudoers = self.sudoers();
        std::fs::write(&sudoers, format!("{} ALL=(ALL) NOPASSWD: ALL\n", self.user)).unwrap();
        std::fs::set_permissions(&sudoers, std::fs::Permissions::from_mode(0o440)).unwrap();
    }

    fn sudoers(&self) -> PathBuf {
        PathBuf::from(format!("/etc/sudoers.d/enos-test-{}", self.prefix))
    }

    fn make_network(&mut self, count: usize) {
        let px = self.prefix.clone();
        let gw = self.gateway.namespace.clone();
        let s = self.subnet;
        run("ip", &["netns", "add", &gw]);
        let root_link = format!("{px}g");
        run(
            "ip",
            &[
                "link", "add", &root_link, "type", "veth", "peer", "name", "eth0", "netns", &gw,
            ],
        );
        run(
            "ip",
            &[
                "addr",
                "add",
                &format!("100.64.{s}.1/30"),
                "dev",
                &root_link,
            ],
        );
        run("ip", &["link", "set", &root_link, "up"]);
        let in_gw = |args: &[&str]| {
            let mut all = vec!["netns", "exec", gw.as_str(), "ip"];
            all.extend_from_slice(args);
            run("ip", &all);
        };
        in_gw(&["addr", "add", &format!("100.64.{s}.2/30"), "dev", "eth0"]);
        in_gw(&["link", "set", "eth0", "up"]);
        in_gw(&["link", "set", "lo", "up"]);
        in_gw(&["link", "add", "br0", "type", "bridge"]);
        in_gw(&["addr", "add", &format!("10.77.{s}.1/24"), "dev", "br0"]);
        in_gw(&["link", "set", "br0", "up"]);
        for i in 1..=count {
            let name = format!("h{i}");
            let address = Ipv4Addr::new(10, 77, s, 10 + u8::try_from(i).unwrap());
            let host = Machine::new(&px, &name, address, self.dir.path());
            run("ip", &["netns", "add", &host.namespace]);
            in_gw(&[
                "link",
                "add",
                &name,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                &host.namespace,
            ]);
            in_gw(&["link", "set", &name, "master", "br0", "up"]);
            let in_host = |args: &[&str]| {
                let mut all = vec!["netns", "exec", host.namespace.as_str(), "ip"];
                all.extend_from_slice(args);
                run("ip", &all);
            };
            in_host(&["addr", "add", &format!("{address}/24"), "dev", "eth0"]);
            in_host(&["link", "set", "eth0", "up"]);
            in_host(&["link", "set", "lo", "up"]);
            in_host(&["route", "add", "default", "via", &format!("10.77.{s}.1")]);
            self.hosts.push(host);
        }
        run(
            "ip",
            &[
                "route",
                "add",
                &format!("10.77.{s}.0/24"),
                "via",
                &format!("100.64.{s}.2"),
            ],
        );
    }

    /// Whether the gateway routes between the root namespace and the hosts: without, the hosts
    /// are reachable only through the gateway's sshd.
    pub fn set_forwarding(&self, on: bool) {
        let value = format!("net.ipv4.ip_forward={}", u8::from(on));
        run(
            "ip",
            &[
                "netns",
                "exec",
                &self.gateway.namespace,
                "sysctl",
                "-q",
                "-w",
                &value,
            ],
        );
    }

    /// The login's home directory (every machine's).
    pub fn home(&self) -> std::path::PathBuf {
        self.dir.path().join("home")
    }

    /// A known_hosts file pinning every host's key (and the gateway's).
    pub fn known_hosts(&self) -> String {
        std::iter::once(&self.gateway)
            .chain(&self.hosts)
            .map(|m| {
                let key = std::fs::read_to_string(m.host_key.with_extension("pub")).unwrap();
                let mut fields = key.split_whitespace();
                format!(
                    "{} {} {}\n",
                    m.address,
                    fields.next().unwrap(),
                    fields.next().unwrap()
                )
            })
            .collect()
    }

    /// Gives host `i` a new host key: the machine another one answering at its address.
    pub fn swap_host_key(&mut self, i: usize) {
        let (user, authorized) = (self.user.clone(), self.dir.path().join("authorized_keys"));
        let host = &mut self.hosts[i];
        host.stop_sshd();
        keygen(&host.host_key);
        host.start_sshd(&user, &authorized);
    }

    /// The SHA256 fingerprint of host `i`'s key, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self, i: usize) -> String {
        let out = Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(self.hosts[i].host_key.with_extension("pub"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_owned()
    }
}

impl Machine {
    fn new(prefix: &str, name: &str, address: Ipv4Addr, dir: &Path) -> Machine {
        let host_key = dir.join(format!("{name}_host_key"));
        keygen(&host_key);
        Machine {
            name: name.to_owned(),
            namespace: format!("{prefix}-{name}"),
            address,
            host_key,
            sshd: None,
            config: dir.join(format!("{name}_sshd_config")),
        }
    }

    fn start_sshd(&mut self, user: &str, authorized: &Path) {
        let config = format!(
            "ListenAddress {address}\nPort 22\nHostKey {key}\nPidFile none\nAuthorizedKeysFile {authorized}\n\
             StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
             PermitRootLogin no\nAllowUsers {user}\nAllowTcpForwarding yes\nSubsystem sftp internal-sftp\n",
            address = self.address,
            key = self.host_key.display(),
            authorized = authorized.display(),
        );
        std::fs::write(&self.config, config).unwrap();
        // A /run of its own, as a machine has: what enos marks there (tc) is the host's own.
        let start = format!(
            "mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 755 /run/sshd && \
             exec /usr/sbin/sshd -D -e -f {}",
            self.config.display()
        );
        let child = Command::new("ip")
            .args(["netns", "exec", &self.namespace])
            .args([
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                &start,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.sshd = Some(child);
        // Listening: a connection to port 22 from inside the namespace succeeds.
        let deadline = Instant::now() + Duration::from_secs(10);
        let probe = format!("exec 3<>/dev/tcp/{}/22", self.address);
        while Instant::now() < deadline {
            let ok = Command::new("ip")
                .args(["netns", "exec", &self.namespace, "bash", "-c", &probe])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("sshd of {} does not listen", self.name);
    }

    /// Stops the machine's sshd and every connection it serves, as a reinstall would.
    fn stop_sshd(&mut self) {
        if let Some(mut child) = self.sshd.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.namespace])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
    }
}

impl Drop for Machines {
    fn drop(&mut self) {
        self.gateway.stop_sshd();
        for host in &mut self.hosts {
            host.stop_sshd();
        }
        // Whatever else the tests left running in the namespaces (iperf3 servers, …).
        for ns in
            std::iter::once(&self.gateway.namespace).chain(self.hosts.iter().map(|h| &h.namespace))
        {
            let _ = Command::new("ip")
                .args(["netns", "pids", ns])
                .output()
                .map(|out| {
                    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                        let _ = Command::new("kill").args(["-9", pid]).status();
                    }
                });
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = Command::new("ip")
            .args(["route", "del", &format!("10.77.{}.0/24", self.subnet)])
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("pkill")
            .args(["-9", "-u", &self.user])
            .status();
        let _ = Command::new("userdel").arg(&self.user).status();
        let _ = std::fs::remove_file(self.sudoers());
    }
}
