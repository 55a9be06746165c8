//! One host of the local testbed: a network namespace, a mount, UTS and PID namespace with an
//! overlay over `/`, and OpenSSH's `sshd` as its PID 1.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use enos_core::ProviderError;
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
         HostKey /etc/enos/ssh_host_ed25519_key\n\
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
        &upper.join("etc/enos/ssh_host_ed25519_key"),
        files.host_key,
        0o600,
    )?;
    write(
        &upper.join("etc/enos/ssh_host_ed25519_key.pub"),
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

/// The script the host's PID 1 runs: mount the host's own file system, then become `sshd`.
fn init_script(dir: &Path, data_root: &Path, name: &str) -> String {
    let d = dir.display();
    let r = format!("{d}/root");
    format!(
        "set -e\n\
         mount -t overlay overlay -o lowerdir=/,upperdir={d}/upper,workdir={d}/work {r}\n\
         mount -t proc proc {r}/proc\n\
         mount -t sysfs sysfs {r}/sys\n\
         mount --rbind /dev {r}/dev\n\
         mount -t tmpfs -o mode=1777 tmpfs {r}/tmp\n\
         mount -t tmpfs -o mode=755 tmpfs {r}/run\n\
         mount -t tmpfs -o mode=755 tmpfs {r}{hidden}\n\
         mkdir -p {r}/run/sshd\n\
         hostname {name}\n\
         exec chroot {r} /usr/sbin/sshd -D -e -f /etc/enos/sshd_config\n",
        hidden = data_root.display(),
    )
}

/// Starts the host in the background; its output goes to `log`. Returns once it is started, not
/// once it answers.
pub async fn start(
    slot: &HostSlot,
    dir: &Path,
    data_root: &Path,
    log: &Path,
) -> Result<(), ProviderError> {
    let script = init_script(dir, data_root, &slot.name);
    let log_file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| ProviderError::new(format!("cannot open {}: {e}", log.display())))?;
    let log_err = log_file
        .try_clone()
        .map_err(|e| ProviderError::new(format!("cannot open {}: {e}", log.display())))?;
    // `setsid --fork` detaches the host from this process: it returns at once, and the host lives
    // on after enos exits. `--kill-child` ends the host's PID 1 if its parent is killed.
    let status = Command::new("setsid")
        .args(["--fork", "ip", "netns", "exec", &slot.namespace])
        .args([
            "unshare",
            "--mount",
            "--uts",
            "--pid",
            "--fork",
            "--kill-child",
            "--propagation",
            "private",
        ])
        .args(["sh", "-c", &script])
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
            "cannot start host {}: setsid exited with {status}",
            slot.name
        )))
    }
}

/// Whether the host's sshd answers on its address with an SSH banner.
pub async fn answers(address: std::net::Ipv4Addr, timeout: std::time::Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect((address, 22)).await.ok()?;
        let mut banner = [0u8; 8];
        stream.read_exact(&mut banner).await.ok()?;
        Some(banner.starts_with(b"SSH-2.0"))
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_written_over_a_readable_file_is_private_with_its_new_content() {
        let dir = std::env::temp_dir().join(format!("enos-host-write-{}", std::process::id()));
        let key = dir.join("etc/enos/ssh_host_ed25519_key");
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
