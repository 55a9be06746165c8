//! What a provider gives back: hosts, the networks they sit on, and how to reach them over SSH.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A provisioned testbed: every host of the scenario, its networks and its SSH access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Testbed {
    /// The hosts, in the scenario's order (site, then role, then index).
    pub hosts: Vec<Host>,
    /// One network per site.
    pub networks: Vec<SiteNetwork>,
    /// How to reach the hosts with OpenSSH.
    pub ssh: SshAccess,
}

impl Testbed {
    /// The host called `name`, if any.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// The hosts whose role is in `roles` (all roles when empty) and whose site is in `sites`
    /// (all sites when empty), in testbed order.
    pub fn select(&self, roles: &[String], sites: &[String]) -> Vec<&Host> {
        self.hosts
            .iter()
            .filter(|h| roles.is_empty() || roles.contains(&h.role))
            .filter(|h| sites.is_empty() || sites.contains(&h.site))
            .collect()
    }
}

/// One machine of the testbed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// Host name, also its name in inventories and in the SSH configuration.
    pub name: String,
    /// The site (unit of geography) the host belongs to.
    pub site: String,
    /// The role the host plays.
    pub role: String,
    /// The host's address on its site network.
    pub address: IpAddr,
    /// The user to log in as.
    pub user: String,
    /// The SSH port.
    pub port: u16,
    /// The name or address ssh connects to, when it is not `address` (a public name, a
    /// forwarded port on another address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_host: Option<String>,
    /// The host's own private key; the experiment's key ([`SshAccess::identity`]) otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<PathBuf>,
    /// The host that ssh goes through to reach this one (OpenSSH's `ProxyJump`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump: Option<Jump>,
    /// How commands that need root run when `user` is not root; `None`: they run as `user`.
    #[serde(rename = "become", default, skip_serializing_if = "Option::is_none")]
    pub become_root: Option<Become>,
    /// The host's interface on the experiment network (what tc shapes); `None`: the
    /// provider's default, or what the host's facts say holds `address`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Where the host's SSH key comes from.
    #[serde(default, skip_serializing_if = "HostKeySource::is_default")]
    pub host_key: HostKeySource,
}

impl Host {
    /// A host reached as root on port 22 of `address`, with the experiment's key, no jump host
    /// and a pinned key not recorded here; set the other fields as the testbed needs.
    pub fn new(
        name: impl Into<String>,
        site: impl Into<String>,
        role: impl Into<String>,
        address: IpAddr,
    ) -> Host {
        Host {
            name: name.into(),
            site: site.into(),
            role: role.into(),
            address,
            user: "root".to_owned(),
            port: 22,
            ssh_host: None,
            identity: None,
            jump: None,
            become_root: None,
            interface: None,
            host_key: HostKeySource::default(),
        }
    }

    /// What ssh connects to: [`ssh_host`](Self::ssh_host), or the address.
    pub fn ssh_target(&self) -> String {
        self.ssh_host
            .clone()
            .unwrap_or_else(|| self.address.to_string())
    }

    /// The words that make a simple command run as root on this host: empty when commands run
    /// as the login user, `sudo -n ` otherwise. The command must be a program and its
    /// arguments (`sh -c …`, `tc …`), not a compound command line ([`Host::as_root`] takes
    /// those).
    pub fn root_prefix(&self) -> &'static str {
        self.become_root.map_or("", Become::prefix)
    }

    /// The shell command line `command` made to run as root on this host: unchanged when
    /// commands run as the login user, `sudo -n sh -c '<command>'` otherwise. The command
    /// ends up in an argument list, where other users of the host may read it: nothing secret
    /// goes there (scripts with secrets go on standard input to [`Host::root_prefix`]`sh`).
    pub fn as_root(&self, command: &str) -> String {
        match self.become_root {
            None => command.to_owned(),
            Some(how) => format!("{}sh -c {}", how.prefix(), shell_quote(command)),
        }
    }
}

/// A host that ssh goes through to reach others (a bastion, a site's front end).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Jump {
    /// Its name or address.
    pub address: String,
    /// Its SSH port.
    pub port: u16,
    /// The user to log in as.
    pub user: String,
    /// The private key to log in with; the experiment's key otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<PathBuf>,
    /// Where its SSH key comes from (its name in known_hosts is its address, as
    /// `[address]:port` when the port is not 22).
    #[serde(default, skip_serializing_if = "HostKeySource::is_default")]
    pub host_key: HostKeySource,
}

/// How a login that is not root runs commands as root. Never with a password: a host that
/// asks for one fails the command at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Become {
    /// `sudo -n` (non-interactive). The login needs a `NOPASSWD` rule, and sudo must not
    /// require a terminal (`Defaults requiretty`, found on some older systems, breaks it).
    #[default]
    Sudo,
}

impl Become {
    /// The words put before a simple command: `sudo -n `.
    pub fn prefix(self) -> &'static str {
        match self {
            Become::Sudo => "sudo -n ",
        }
    }
}

/// Where the SSH key of a host comes from, and so how ssh checks it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum HostKeySource {
    /// The provider knows the key before the first contact (it made it): the key is written
    /// to the experiment's known_hosts and checked strictly.
    Pinned {
        /// The public key, as OpenSSH writes it (`<type> <base64>`; a comment is ignored).
        /// Empty in states written before keys were recorded per host: such a key is in the
        /// experiment's known_hosts already.
        #[serde(default)]
        key: String,
    },
    /// The user gives a known_hosts file that holds the key: its lines are copied into the
    /// experiment's known_hosts and checked strictly. They must name the host as ssh reaches
    /// it (its address or [`Host::ssh_host`], as `[name]:port` when the port is not 22).
    KnownHostsFile {
        /// The file.
        path: PathBuf,
    },
    /// Nobody knows the key before the first contact: ssh records it in the experiment's
    /// known_hosts then (`StrictHostKeyChecking accept-new`), and refuses any other key
    /// afterwards. Its fingerprint is read with [`crate::ssh::learnt_host_keys`] so that the
    /// experiment can record it and refuse a changed key even when known_hosts is rewritten.
    LearnOnFirstContact,
}

impl Default for HostKeySource {
    fn default() -> Self {
        HostKeySource::Pinned { key: String::new() }
    }
}

impl HostKeySource {
    /// Whether this is the default (a pinned key that is not recorded here).
    pub fn is_default(&self) -> bool {
        *self == HostKeySource::default()
    }
}

/// `text` as one word of a POSIX shell command line.
pub(crate) fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The network of one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteNetwork {
    /// The site's name.
    pub site: String,
    /// The subnet in CIDR notation, e.g. `198.18.1.0/24`.
    pub cidr: String,
    /// The site's gateway, where traffic leaves the site.
    pub gateway: IpAddr,
}

/// The files that make the testbed reachable with a plain `ssh -F <config> <host>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshAccess {
    /// OpenSSH client configuration with one `Host` entry per testbed host.
    pub config: PathBuf,
    /// The experiment's private key.
    pub identity: PathBuf,
    /// A known_hosts file pinning every host's key.
    pub known_hosts: PathBuf,
    /// Where multiplexed master connections keep their control sockets (a short path).
    pub control_dir: PathBuf,
}

impl SshAccess {
    /// The client files at their usual places in the experiment directory `dir`: `ssh_config`
    /// and `ssh/known_hosts`, with the experiment's key `identity` and control sockets in
    /// `control_dir`.
    pub fn in_experiment(dir: &Path, identity: PathBuf, control_dir: PathBuf) -> SshAccess {
        SshAccess {
            config: dir.join("ssh_config"),
            identity,
            known_hosts: dir.join("ssh").join("known_hosts"),
            control_dir,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_older_states_still_read_and_default_hosts_write_as_before() {
        let old = r#"{"name":"a","site":"paris","role":"app","address":"198.18.1.2","user":"root","port":22}"#;
        let host: Host = serde_json::from_str(old).unwrap();
        assert_eq!(
            host,
            Host::new("a", "paris", "app", "198.18.1.2".parse().unwrap())
        );
        assert_eq!(serde_json::to_string(&host).unwrap(), old);
    }

    #[test]
    fn access_fields_round_trip() {
        let mut host = Host::new("a", "paris", "app", "10.0.0.2".parse().unwrap());
        host.user = "debian".into();
        host.become_root = Some(Become::Sudo);
        host.interface = Some("eno2".into());
        host.jump = Some(Jump {
            address: "access.example.org".into(),
            port: 22,
            user: "jdoe".into(),
            identity: None,
            host_key: HostKeySource::KnownHostsFile {
                path: "/home/jdoe/.ssh/known_hosts".into(),
            },
        });
        host.host_key = HostKeySource::LearnOnFirstContact;
        let text = serde_json::to_string(&host).unwrap();
        assert!(text.contains(r#""become":"sudo""#), "{text}");
        assert!(
            text.contains(r#""host_key":{"source":"learn_on_first_contact"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#""source":"known_hosts_file","path":"/home/jdoe/.ssh/known_hosts""#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Host>(&text).unwrap(), host);
    }

    #[test]
    fn commands_run_as_root_through_sudo_only_when_the_host_says_so() {
        let mut host = Host::new("a", "paris", "app", "10.0.0.2".parse().unwrap());
        assert_eq!(host.root_prefix(), "");
        assert_eq!(host.as_root("tc qdisc show"), "tc qdisc show");
        host.become_root = Some(Become::Sudo);
        assert_eq!(host.root_prefix(), "sudo -n ");
        assert_eq!(
            host.as_root("tc qdisc del dev eth0 root; echo it's done"),
            r"sudo -n sh -c 'tc qdisc del dev eth0 root; echo it'\''s done'"
        );
    }
}
