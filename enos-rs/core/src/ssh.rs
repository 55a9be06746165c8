//! The OpenSSH client configuration that makes a testbed reachable with `ssh -F <file> <host>`.

use std::fmt::Write as _;

use crate::testbed::Testbed;

/// Renders the client configuration for `testbed`: one `Host` entry per host (matching its name
/// and its address), with the experiment's key, pinned host keys and connection sharing.
pub fn client_config(testbed: &Testbed) -> String {
    let ssh = &testbed.ssh;
    let mut text = String::from(
        "# OpenSSH client configuration of an enos-rs experiment.\n# Use: ssh -F <this file> <host>\n",
    );
    for host in &testbed.hosts {
        let _ = write!(
            text,
            "\nHost {name} {address}\n    HostName {address}\n    User {user}\n    Port {port}\n",
            name = host.name,
            address = host.address,
            user = host.user,
            port = host.port,
        );
    }
    let _ = write!(
        text,
        "\nHost *\n    IdentityFile {identity}\n    IdentitiesOnly yes\n    UserKnownHostsFile {known_hosts}\n    \
         GlobalKnownHostsFile /dev/null\n    StrictHostKeyChecking yes\n    BatchMode yes\n    \
         KexAlgorithms ecdh-sha2-nistp256,curve25519-sha256,curve25519-sha256@libssh.org\n    ControlMaster auto\n    \
         ControlPath {control}/cm-%C\n    ControlPersist 10m\n    ServerAliveInterval 15\n    LogLevel ERROR\n",
        identity = ssh.identity.display(),
        known_hosts = ssh.known_hosts.display(),
        control = ssh.control_dir.display(),
    );
    text
}
