//! The OpenSSH client files that make a testbed reachable with `ssh -F <file> <host>`: written
//! here, in one place, for every provider.
//!
//! [`write_client_files`] writes the testbed's `ssh_config` ([`client_config`]) and its
//! `known_hosts`:
//!
//! - one `Host` block per host (matching its name and its address) with its `HostName`, `User`
//!   and `Port`, and its own `IdentityFile` and `ProxyJump` when it has them;
//! - one `Host` block per distinct jump host, named `enos-jump-<address>`, with the jump's own
//!   user, port, key and host-key checking: OpenSSH applies a block's options to the jump's own
//!   connection only when the jump is named by an alias of its own;
//! - `Host *` last: the experiment's key, the experiment's known_hosts only, strict host-key
//!   checking, no prompt, connection sharing.
//!
//! Host keys come from where each host's [`HostKeySource`] says: pinned keys are written to
//! known_hosts, the lines of a user's known_hosts file are copied into it, and hosts whose key
//! is learnt on first contact get `StrictHostKeyChecking accept-new` with the experiment's
//! known_hosts, so that OpenSSH records the key there at the first connection and refuses any
//! other key afterwards (`HostKeyAlias` records it under the host's name). Rewriting the files
//! keeps the keys learnt so far; [`learnt_host_keys`] reads their fingerprints, so that the
//! experiment can record them and [`check_host_keys`] can refuse a changed key even after
//! known_hosts lost it.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::testbed::{HostKeySource, Jump, Testbed};

/// A failure to write or read the SSH client files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshFilesError {
    /// A file could not be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A host's access cannot be written as OpenSSH configuration.
    #[error("host {host}: {message}")]
    Invalid {
        /// The host (or jump host).
        host: String,
        /// What is wrong.
        message: String,
    },
}

/// The SSH key a host showed at its first contact, by fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct LearntHostKey {
    /// The host's name; for a jump host, its name in known_hosts (its address, as
    /// `[address]:port` when the port is not 22).
    pub host: String,
    /// The key's SHA-256 fingerprint as `ssh-keygen -l` shows it (`SHA256:<base64>`).
    pub fingerprint: String,
}

/// Hosts whose SSH key is not the one recorded at their first contact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct HostKeysChanged {
    /// Each host whose key changed.
    pub changed: Vec<ChangedHostKey>,
}

/// A host whose SSH key changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedHostKey {
    /// The host, as in [`LearntHostKey::host`].
    pub host: String,
    /// The fingerprint recorded at its first contact.
    pub recorded: String,
    /// The fingerprint of the key it offers now.
    pub offered: String,
}

impl HostKeysChanged {
    fn message(&self) -> String {
        let lines: Vec<String> = self
            .changed
            .iter()
            .map(|c| {
                format!(
                    "the SSH key of host {} changed: {} was recorded at its first contact, it \
                     now offers {}; enos refuses it (someone may be in the middle, or the host \
                     was reinstalled)",
                    c.host, c.recorded, c.offered
                )
            })
            .collect();
        lines.join("\n")
    }
}

/// `[address]:port` as OpenSSH names a host in known_hosts; the bare address on port 22.
fn known_hosts_name(address: &str, port: u16) -> String {
    if port == 22 {
        address.to_owned()
    } else {
        format!("[{address}]:{port}")
    }
}

/// A path as an ssh_config argument: `%` escaped (OpenSSH expands `%` tokens in file names),
/// quoted when it holds white space.
fn config_path(path: &Path) -> String {
    let text = path.display().to_string().replace('%', "%%");
    if text.chars().any(char::is_whitespace) {
        format!("\"{text}\"")
    } else {
        text
    }
}

/// Whether `text` can stand alone as one ssh_config word.
fn plain_word(text: &str) -> bool {
    !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '#'))
}

/// The distinct jump hosts of `testbed` in order of first use, each with its alias.
fn jump_aliases(testbed: &Testbed) -> Vec<(&Jump, String)> {
    let names: HashSet<&str> = testbed.hosts.iter().map(|h| h.name.as_str()).collect();
    let mut jumps: Vec<(&Jump, String)> = Vec::new();
    let mut taken: HashSet<String> = HashSet::new();
    for jump in testbed.hosts.iter().filter_map(|h| h.jump.as_ref()) {
        if jumps.iter().any(|(j, _)| *j == jump) {
            continue;
        }
        let clean: String = jump
            .address
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut base = format!("enos-jump-{clean}");
        if jump.port != 22 {
            let _ = write!(base, "-{}", jump.port);
        }
        let mut alias = base.clone();
        let mut n = 2;
        while taken.contains(&alias) || names.contains(alias.as_str()) {
            alias = format!("{base}-{n}");
            n += 1;
        }
        taken.insert(alias.clone());
        jumps.push((jump, alias));
    }
    jumps
}

/// The options that make ssh learn a host key at the first contact and keep it.
fn learn_options(text: &mut String, alias: Option<&str>) {
    if let Some(alias) = alias {
        let _ = writeln!(text, "    HostKeyAlias {alias}");
    }
    text.push_str(
        "    StrictHostKeyChecking accept-new\n    CheckHostIP no\n    HashKnownHosts no\n    \
         UpdateHostKeys no\n",
    );
}

/// Renders the client configuration for `testbed`: one `Host` entry per host (matching its name
/// and its address) and per jump host, then the experiment's key, its known_hosts, strict
/// host-key checking and connection sharing for all. A host with default access (the
/// experiment's key, no jump, a pinned key) gets `HostName`, `User` and `Port` only.
pub fn client_config(testbed: &Testbed) -> String {
    let ssh = &testbed.ssh;
    let mut text = String::from(
        "# OpenSSH client configuration of an enos-rs experiment.\n# Use: ssh -F <this file> <host>\n",
    );
    let jumps = jump_aliases(testbed);
    for (jump, alias) in &jumps {
        let _ = write!(
            text,
            "\nHost {alias}\n    HostName {address}\n    User {user}\n    Port {port}\n",
            address = jump.address,
            user = jump.user,
            port = jump.port,
        );
        if let Some(identity) = &jump.identity {
            let _ = writeln!(text, "    IdentityFile {}", config_path(identity));
        }
        if jump.host_key == HostKeySource::LearnOnFirstContact {
            learn_options(&mut text, None);
        }
    }
    for host in &testbed.hosts {
        let _ = write!(
            text,
            "\nHost {name} {address}\n    HostName {target}\n    User {user}\n    Port {port}\n",
            name = host.name,
            address = host.address,
            target = host.ssh_target(),
            user = host.user,
            port = host.port,
        );
        if let Some(identity) = &host.identity {
            let _ = writeln!(text, "    IdentityFile {}", config_path(identity));
        }
        if let Some(jump) = &host.jump
            && let Some((_, alias)) = jumps.iter().find(|(j, _)| *j == jump)
        {
            let _ = writeln!(text, "    ProxyJump {alias}");
        }
        if host.host_key == HostKeySource::LearnOnFirstContact {
            learn_options(&mut text, Some(&host.name));
        }
    }
    let _ = write!(
        text,
        "\nHost *\n    IdentityFile {identity}\n    IdentitiesOnly yes\n    UserKnownHostsFile {known_hosts}\n    \
         GlobalKnownHostsFile /dev/null\n    StrictHostKeyChecking yes\n    BatchMode yes\n    \
         KexAlgorithms ecdh-sha2-nistp256,curve25519-sha256,curve25519-sha256@libssh.org\n    ControlMaster auto\n    \
         ControlPath {control}/cm-%C\n    ControlPersist 10m\n    ServerAliveInterval 15\n    LogLevel ERROR\n",
        identity = config_path(&ssh.identity),
        known_hosts = config_path(&ssh.known_hosts),
        control = ssh.control_dir.display(),
    );
    text
}

/// Checks that every host and jump host can be written as OpenSSH configuration.
fn check(testbed: &Testbed) -> Result<(), SshFilesError> {
    let invalid = |host: &str, message: String| SshFilesError::Invalid {
        host: host.to_owned(),
        message,
    };
    for host in &testbed.hosts {
        for (what, value) in [
            ("name", host.name.as_str()),
            ("user", host.user.as_str()),
            ("ssh host", host.ssh_host.as_deref().unwrap_or("x")),
        ] {
            if !plain_word(value) {
                return Err(invalid(
                    &host.name,
                    format!("its {what} '{value}' is not one word"),
                ));
            }
        }
        if let Some(jump) = &host.jump {
            for (what, value) in [("address", &jump.address), ("user", &jump.user)] {
                if !plain_word(value) {
                    return Err(invalid(
                        &host.name,
                        format!("its jump host's {what} '{value}' is not one word"),
                    ));
                }
            }
        }
        let sources = [
            Some(&host.host_key),
            host.jump.as_ref().map(|j| &j.host_key),
        ];
        for source in sources.into_iter().flatten() {
            if let HostKeySource::Pinned { key } = source
                && !key.is_empty()
                && key.split_whitespace().count() < 2
            {
                return Err(invalid(
                    &host.name,
                    format!("a pinned key '{key}' is not '<type> <base64>'"),
                ));
            }
        }
    }
    Ok(())
}

/// Whether known_hosts holds the key of a host with this source already, and must keep it:
/// a key learnt on first contact, or pinned without being recorded in the testbed (a state
/// written before keys were).
fn kept(source: &HostKeySource) -> bool {
    match source {
        HostKeySource::LearnOnFirstContact => true,
        HostKeySource::Pinned { key } => key.is_empty(),
        HostKeySource::KnownHostsFile { .. } => false,
    }
}

/// The names under which known_hosts may hold a key that the experiment must keep when it
/// rewrites the file ([`kept`]): a host's name, a jump host's address (and port).
fn kept_names(testbed: &Testbed) -> HashSet<String> {
    let mut names = HashSet::new();
    for host in &testbed.hosts {
        if kept(&host.host_key) {
            names.insert(host.name.clone());
        }
        if let Some(jump) = &host.jump
            && kept(&jump.host_key)
        {
            names.insert(known_hosts_name(&jump.address, jump.port));
        }
    }
    names
}

/// The first host pattern of a known_hosts line (`None` for comments, blank lines and marked
/// lines).
fn first_pattern(line: &str) -> Option<&str> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') || line.starts_with('@') {
        return None;
    }
    line.split_whitespace()
        .next()
        .and_then(|hosts| hosts.split(',').next())
}

fn read(path: &Path) -> Result<String, SshFilesError> {
    std::fs::read_to_string(path).map_err(|e| SshFilesError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Lines of a known_hosts file, each written once.
#[derive(Default)]
struct Lines {
    text: String,
    seen: HashSet<String>,
}

impl Lines {
    fn push(&mut self, line: &str) {
        if self.seen.insert(line.to_owned()) {
            self.text.push_str(line);
            self.text.push('\n');
        }
    }

    /// `names` pinned to `key` (`<type> <base64>`, a comment dropped).
    fn pin(&mut self, names: &str, key: &str) {
        let key: Vec<&str> = key.split_whitespace().take(2).collect();
        self.push(&format!("{names} {}", key.join(" ")));
    }
}

/// Renders the experiment's known_hosts: every pinned key (under the host's name and the name
/// ssh looks it up by), the lines of every user-given known_hosts file, then the lines of
/// `existing` (the file as it is) that hold keys learnt so far. No line is written twice.
pub fn known_hosts(testbed: &Testbed, existing: &str) -> Result<String, SshFilesError> {
    let mut lines = Lines::default();
    let mut files: Vec<&Path> = Vec::new();
    for host in &testbed.hosts {
        let jump_key = host
            .jump
            .as_ref()
            .map(|j| (&j.host_key, known_hosts_name(&j.address, j.port)));
        let host_key = (
            &host.host_key,
            format!(
                "{},{}",
                host.name,
                known_hosts_name(&host.ssh_target(), host.port)
            ),
        );
        for (source, names) in jump_key.into_iter().chain([host_key]) {
            match source {
                HostKeySource::Pinned { key } if !key.is_empty() => lines.pin(&names, key),
                HostKeySource::KnownHostsFile { path } if !files.contains(&path.as_path()) => {
                    files.push(path);
                }
                _ => {}
            }
        }
    }
    for path in files {
        let given = read(path)?;
        lines.text.push_str(&format!("# from {}\n", path.display()));
        for line in given.lines().map(str::trim) {
            if !line.is_empty() && !line.starts_with('#') {
                lines.push(line);
            }
        }
    }
    let kept = kept_names(testbed);
    for line in existing.lines().map(str::trim) {
        if first_pattern(line).is_some_and(|name| kept.contains(name)) {
            lines.push(line);
        }
    }
    Ok(lines.text)
}

/// Writes the testbed's `ssh_config` and `known_hosts` (at the paths of
/// [`Testbed::ssh`]), each atomically, creating their directories. Keys learnt on first contact
/// so far are kept in known_hosts; the output depends on nothing else than the testbed, the
/// user's known_hosts files and those learnt keys.
pub fn write_client_files(testbed: &Testbed) -> Result<(), SshFilesError> {
    check(testbed)?;
    let ssh = &testbed.ssh;
    let existing = match std::fs::read_to_string(&ssh.known_hosts) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(SshFilesError::Read {
                path: ssh.known_hosts.clone(),
                message: e.to_string(),
            });
        }
    };
    let known = known_hosts(testbed, &existing)?;
    for (path, contents) in [
        (&ssh.known_hosts, known),
        (&ssh.config, client_config(testbed)),
    ] {
        let write_error = |e: std::io::Error| SshFilesError::Write {
            path: path.clone(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(write_error)?;
        }
        crate::fsutil::write_atomic(path, contents.as_bytes()).map_err(write_error)?;
    }
    Ok(())
}

/// The SHA-256 fingerprint of an OpenSSH public key (`<type> <base64> [comment]`), as
/// `ssh-keygen -l` shows it: `SHA256:<base64 without padding>`.
pub fn fingerprint(public_key: &str) -> Result<String, String> {
    let key: Vec<&str> = public_key.split_whitespace().take(2).collect();
    let parsed = ssh_key::PublicKey::from_openssh(&key.join(" ")).map_err(|e| e.to_string())?;
    Ok(parsed.fingerprint(ssh_key::HashAlg::Sha256).to_string())
}

/// The fingerprints of the keys learnt so far on first contact, read from the experiment's
/// known_hosts: one per host (and jump host) whose key is learnt and whose key is there, in
/// testbed order. Call it after connecting, and record what it returns with the experiment.
pub fn learnt_host_keys(testbed: &Testbed) -> Result<Vec<LearntHostKey>, SshFilesError> {
    let mut wanted: Vec<String> = Vec::new();
    for host in &testbed.hosts {
        if let Some(jump) = &host.jump
            && jump.host_key == HostKeySource::LearnOnFirstContact
        {
            let name = known_hosts_name(&jump.address, jump.port);
            if !wanted.contains(&name) {
                wanted.push(name);
            }
        }
        if host.host_key == HostKeySource::LearnOnFirstContact {
            wanted.push(host.name.clone());
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let text = match std::fs::read_to_string(&testbed.ssh.known_hosts) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(SshFilesError::Read {
                path: testbed.ssh.known_hosts.clone(),
                message: e.to_string(),
            });
        }
    };
    // The first line that names each host (OpenSSH appends: the first is the oldest).
    let mut lines: HashMap<&str, &str> = HashMap::new();
    for line in text.lines() {
        let Some(name) = first_pattern(line) else {
            continue;
        };
        lines.entry(name).or_insert(line);
    }
    let mut learnt = Vec::new();
    for name in wanted {
        let Some(line) = lines.get(name.as_str()) else {
            continue;
        };
        let key: String = line
            .split_whitespace()
            .skip(1)
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let fingerprint = fingerprint(&key).map_err(|message| SshFilesError::Invalid {
            host: name.clone(),
            message: format!(
                "its key in {} cannot be read: {message}",
                testbed.ssh.known_hosts.display()
            ),
        })?;
        learnt.push(LearntHostKey {
            host: name,
            fingerprint,
        });
    }
    Ok(learnt)
}

/// Compares the keys hosts offer now (`offered`, from [`learnt_host_keys`]) with those recorded
/// at their first contact: a host whose key differs is refused, naming both fingerprints.
/// Hosts recorded but not offered (not contacted yet) and hosts offered but not recorded (first
/// contact) pass.
pub fn check_host_keys(
    recorded: &[LearntHostKey],
    offered: &[LearntHostKey],
) -> Result<(), HostKeysChanged> {
    let recorded: HashMap<&str, &str> = recorded
        .iter()
        .map(|k| (k.host.as_str(), k.fingerprint.as_str()))
        .collect();
    let changed: Vec<ChangedHostKey> = offered
        .iter()
        .filter_map(|now| {
            let before = recorded.get(now.host.as_str())?;
            (*before != now.fingerprint).then(|| ChangedHostKey {
                host: now.host.clone(),
                recorded: (*before).to_owned(),
                offered: now.fingerprint.clone(),
            })
        })
        .collect();
    if changed.is_empty() {
        Ok(())
    } else {
        Err(HostKeysChanged { changed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbed::{Become, Host, SiteNetwork, SshAccess};

    const ED25519: &str = "ssh-ed25519 \
        AAAAC3NzaC1lZDI1NTE5AAAAIOuj8igJ2mRe+Yn0+Ix4Zfo8xjuw89BHNZ41DVnxOLl+";
    const ED25519_FINGERPRINT: &str = "SHA256:o+SrDWaNk66n9ICDUzz/dDixj7vyyM4jS9/QwUZYMH0";
    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCsqLnjA7MvrfcHD1GyuVcF3u2WWKZZuOr2MJx2\
        BGwMMcyeUZKOIlUrkWjJ475D5EdgtdY3jORLspsd0QEBQJHuI8tzfPviQIeWO/ExO/eCOM+tXFxbz9yXV/zFKDRyM\
        qiCiEOSbiZkGLZy3oijTFMNUtvFLhxJV0j8OQIFiPMfgw== x";
    const RSA_FINGERPRINT: &str = "SHA256:PheFali1rTq0EOLrB7MWqSWgMkWyFeKdMmPhqnVpzxU";

    fn testbed(dir: &Path, hosts: Vec<Host>) -> Testbed {
        Testbed {
            hosts,
            networks: vec![SiteNetwork {
                site: "paris".into(),
                cidr: "198.18.1.0/24".into(),
                gateway: "198.18.1.1".parse().unwrap(),
            }],
            ssh: SshAccess::in_experiment(
                dir,
                dir.join("ssh/id_ecdsa"),
                "/run/enos/ab12/ssh".into(),
            ),
        }
    }

    fn host(name: &str, last: u8) -> Host {
        Host::new(
            name,
            "paris",
            "app",
            format!("198.18.1.{last}").parse().unwrap(),
        )
    }

    #[test]
    fn hosts_with_default_access_get_the_configuration_they_always_had() {
        let dir = Path::new("/exp");
        let tb = testbed(dir, vec![host("paris-app-1", 2), host("paris-app-2", 3)]);
        assert_eq!(
            client_config(&tb),
            "# OpenSSH client configuration of an enos-rs experiment.\n\
             # Use: ssh -F <this file> <host>\n\
             \nHost paris-app-1 198.18.1.2\n    HostName 198.18.1.2\n    User root\n    Port 22\n\
             \nHost paris-app-2 198.18.1.3\n    HostName 198.18.1.3\n    User root\n    Port 22\n\
             \nHost *\n    IdentityFile /exp/ssh/id_ecdsa\n    IdentitiesOnly yes\n    \
             UserKnownHostsFile /exp/ssh/known_hosts\n    GlobalKnownHostsFile /dev/null\n    \
             StrictHostKeyChecking yes\n    BatchMode yes\n    \
             KexAlgorithms ecdh-sha2-nistp256,curve25519-sha256,curve25519-sha256@libssh.org\n    \
             ControlMaster auto\n    ControlPath /run/enos/ab12/ssh/cm-%C\n    ControlPersist 10m\n    \
             ServerAliveInterval 15\n    LogLevel ERROR\n"
        );
    }

    #[test]
    fn pinned_keys_are_written_by_name_and_by_the_name_ssh_looks_up() {
        let dir = Path::new("/exp");
        let mut a = host("a", 2);
        a.host_key = HostKeySource::Pinned {
            key: format!("{ED25519} a comment"),
        };
        let mut b = host("b", 3);
        b.port = 2222;
        b.ssh_host = Some("b.example.org".into());
        b.host_key = HostKeySource::Pinned { key: RSA.into() };
        let text = known_hosts(&testbed(dir, vec![a, b]), "").unwrap();
        let rsa: Vec<&str> = RSA.split_whitespace().take(2).collect();
        assert_eq!(
            text,
            format!(
                "a,198.18.1.2 {ED25519}\nb,[b.example.org]:2222 {}\n",
                rsa.join(" ")
            )
        );
    }

    #[test]
    fn keys_of_hosts_from_older_states_stay_in_known_hosts() {
        // Such a host's key is not recorded with it: the file written then holds it.
        let dir = Path::new("/exp");
        let tb = testbed(dir, vec![host("a", 2)]);
        let existing = format!("a,198.18.1.2 {ED25519}\nb,198.18.1.3 {ED25519}\n");
        assert_eq!(
            known_hosts(&tb, &existing).unwrap(),
            format!("a,198.18.1.2 {ED25519}\n")
        );
    }

    /// A testbed with every kind of access: a jump host whose key is learnt, a host through
    /// it with its own key, a host whose key is learnt, one whose key is in a user's file.
    fn remote_testbed(dir: &Path) -> Testbed {
        let users_file = dir.join("users_known_hosts");
        std::fs::write(
            &users_file,
            format!("# mine\n[10.0.0.3]:2200 {ED25519}\n\n|1|hashed= {ED25519}\n"),
        )
        .unwrap();
        let jump = Jump {
            address: "access.example.org".into(),
            port: 22,
            user: "jdoe".into(),
            identity: Some(PathBuf::from("/home/jdoe/.ssh/id_ed25519")),
            host_key: HostKeySource::LearnOnFirstContact,
        };
        let mut behind = host("behind", 2);
        behind.user = "debian".into();
        behind.identity = Some(PathBuf::from("/keys/node key"));
        behind.jump = Some(jump.clone());
        behind.become_root = Some(Become::Sudo);
        behind.host_key = HostKeySource::Pinned {
            key: ED25519.into(),
        };
        let mut behind2 = host("behind2", 4);
        behind2.jump = Some(jump);
        behind2.host_key = HostKeySource::LearnOnFirstContact;
        let mut learnt = host("learnt", 5);
        learnt.host_key = HostKeySource::LearnOnFirstContact;
        let mut given = Host::new("given", "nantes", "db", "10.0.0.3".parse().unwrap());
        given.port = 2200;
        given.host_key = HostKeySource::KnownHostsFile { path: users_file };
        testbed(dir, vec![behind, behind2, learnt, given])
    }

    #[test]
    fn jump_hosts_get_a_block_of_their_own_and_hosts_their_own_options() {
        let dir = tempfile::tempdir().unwrap();
        let tb = remote_testbed(dir.path());
        let text = client_config(&tb);
        assert!(
            text.contains(
                "\nHost enos-jump-access.example.org\n    HostName access.example.org\n    \
                 User jdoe\n    Port 22\n    IdentityFile /home/jdoe/.ssh/id_ed25519\n    \
                 StrictHostKeyChecking accept-new\n    CheckHostIP no\n    HashKnownHosts no\n    \
                 UpdateHostKeys no\n"
            ),
            "{text}"
        );
        assert_eq!(text.matches("\nHost enos-jump-").count(), 1, "{text}");
        assert!(
            text.contains(
                "\nHost behind 198.18.1.2\n    HostName 198.18.1.2\n    User debian\n    \
                 Port 22\n    IdentityFile \"/keys/node key\"\n    ProxyJump enos-jump-access.example.org\n\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "\nHost learnt 198.18.1.5\n    HostName 198.18.1.5\n    User root\n    Port 22\n    \
                 HostKeyAlias learnt\n    StrictHostKeyChecking accept-new\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "\nHost given 10.0.0.3\n    HostName 10.0.0.3\n    User root\n    Port 2200\n\n"
            ),
            "{text}"
        );
        // The defaults come last: OpenSSH keeps the first value it finds for each option.
        assert!(
            text.ends_with("LogLevel ERROR\n")
                && text.rfind("\nHost *\n") > text.rfind("\nHost given")
        );
    }

    #[test]
    fn openssh_reads_the_configuration_as_meant() {
        if !enos_testkit::require_program("openssh_reads_the_configuration_as_meant", "ssh") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let tb = remote_testbed(dir.path());
        write_client_files(&tb).unwrap();
        let resolved = |alias: &str| -> String {
            let out = std::process::Command::new("ssh")
                .arg("-G")
                .arg("-F")
                .arg(&tb.ssh.config)
                .arg(alias)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let has = |text: &str, line: &str| text.lines().any(|l| l == line);
        let behind = resolved("behind");
        for line in [
            "user debian",
            "proxyjump enos-jump-access.example.org",
            "stricthostkeychecking true",
            "identityfile /keys/node key",
        ] {
            assert!(has(&behind, line), "{line}:\n{behind}");
        }
        // The host's own key first, the experiment's after it.
        let own = behind.find("identityfile /keys/node key");
        let experiment = behind.find(&format!("identityfile {}", tb.ssh.identity.display()));
        assert!(own.zip(experiment).is_some_and(|(o, e)| o < e), "{behind}");
        let jump = resolved("enos-jump-access.example.org");
        for line in [
            "user jdoe",
            "hostname access.example.org",
            "stricthostkeychecking accept-new",
            "identityfile /home/jdoe/.ssh/id_ed25519",
            "batchmode yes",
        ] {
            assert!(has(&jump, line), "{line}:\n{jump}");
        }
        let learnt = resolved("learnt");
        for line in [
            "stricthostkeychecking accept-new",
            "hostkeyalias learnt",
            &format!("userknownhostsfile {}", tb.ssh.known_hosts.display()),
        ] {
            assert!(has(&learnt, line), "{line}:\n{learnt}");
        }
        assert!(has(&resolved("given"), "port 2200"));
    }

    #[test]
    fn known_hosts_copies_users_lines_and_keeps_learnt_keys_across_rewrites() {
        let dir = tempfile::tempdir().unwrap();
        let tb = remote_testbed(dir.path());
        write_client_files(&tb).unwrap();
        let first = std::fs::read_to_string(&tb.ssh.known_hosts).unwrap();
        assert_eq!(
            first,
            format!(
                "behind,198.18.1.2 {ED25519}\n# from {}\n[10.0.0.3]:2200 {ED25519}\n|1|hashed= {ED25519}\n",
                dir.path().join("users_known_hosts").display()
            )
        );
        // What OpenSSH appends at the first contacts (with `HostKeyAlias` for hosts), and a
        // line of a host that is pinned (not to be kept).
        let appended = format!("{first}learnt {RSA}\naccess.example.org {ED25519}\nbehind {RSA}\n");
        std::fs::write(&tb.ssh.known_hosts, &appended).unwrap();
        write_client_files(&tb).unwrap();
        let second = std::fs::read_to_string(&tb.ssh.known_hosts).unwrap();
        assert_eq!(
            second,
            format!("{first}learnt {RSA}\naccess.example.org {ED25519}\n")
        );
        write_client_files(&tb).unwrap();
        assert_eq!(
            std::fs::read_to_string(&tb.ssh.known_hosts).unwrap(),
            second
        );

        let learnt = learnt_host_keys(&tb).unwrap();
        assert_eq!(
            learnt,
            vec![
                LearntHostKey {
                    host: "access.example.org".into(),
                    fingerprint: ED25519_FINGERPRINT.into()
                },
                LearntHostKey {
                    host: "learnt".into(),
                    fingerprint: RSA_FINGERPRINT.into()
                },
            ]
        );
    }

    #[test]
    fn fingerprints_are_those_ssh_keygen_shows() {
        assert_eq!(fingerprint(ED25519).unwrap(), ED25519_FINGERPRINT);
        assert_eq!(fingerprint(RSA).unwrap(), RSA_FINGERPRINT);
        assert!(fingerprint("ssh-ed25519 not-base64").is_err());
    }

    #[test]
    fn a_changed_key_is_refused_naming_the_host_and_both_fingerprints() {
        let key = |host: &str, fingerprint: &str| LearntHostKey {
            host: host.into(),
            fingerprint: fingerprint.into(),
        };
        let recorded = [key("a", "SHA256:one"), key("b", "SHA256:two")];
        assert!(
            check_host_keys(&recorded, &[key("a", "SHA256:one"), key("c", "SHA256:x")]).is_ok()
        );
        let err = check_host_keys(&recorded, &[key("b", "SHA256:three")]).unwrap_err();
        assert_eq!(
            err.changed,
            vec![ChangedHostKey {
                host: "b".into(),
                recorded: "SHA256:two".into(),
                offered: "SHA256:three".into()
            }]
        );
        let message = err.to_string();
        assert!(
            message.contains("host b")
                && message.contains("SHA256:two")
                && message.contains("SHA256:three"),
            "{message}"
        );
    }

    #[test]
    fn hosts_that_cannot_be_written_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut bad = host("a", 2);
        bad.user = "two words".into();
        let err = write_client_files(&testbed(dir.path(), vec![bad])).unwrap_err();
        assert!(
            matches!(err, SshFilesError::Invalid { ref host, .. } if host == "a"),
            "{err}"
        );
        let mut missing = host("a", 2);
        missing.host_key = HostKeySource::KnownHostsFile {
            path: dir.path().join("nope"),
        };
        let err = write_client_files(&testbed(dir.path(), vec![missing])).unwrap_err();
        assert!(matches!(err, SshFilesError::Read { .. }), "{err}");
    }
}
