//! What enos reads of Vagrant's output: `vagrant ssh-config` (how to reach each VM) and
//! `vagrant status --machine-readable` (what state each VM is in).

use indexmap::IndexMap;

/// One `Host` block of `vagrant ssh-config`: its options, by name as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshEntry {
    /// The machine's name (the block's `Host`).
    pub host: String,
    /// The options of the block in order (`HostName`, `Port`, `User`, `IdentityFile`, …), the
    /// first of each name kept.
    pub options: Vec<(String, String)>,
}

impl SshEntry {
    /// The value of the option `name` (case-insensitive, as OpenSSH reads its keywords).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// The blocks of `vagrant ssh-config`'s output, by machine, read as python-vagrant reads them:
/// a block starts at each line beginning `Host `; lines before the first are ignored, blank and
/// `#` lines skipped; each line is `key value`, split at its first whitespace, the value's
/// surrounding double quotes removed.
pub fn parse_ssh_config(text: &str) -> IndexMap<String, SshEntry> {
    let mut entries: IndexMap<String, SshEntry> = IndexMap::new();
    let mut current: Option<SshEntry> = None;
    for line in text.lines() {
        if let Some(host) = line.strip_prefix("Host ") {
            if let Some(done) = current.take() {
                entries.entry(done.host.clone()).or_insert(done);
            }
            current = Some(SshEntry {
                host: unquote(host.trim()).to_owned(),
                options: Vec::new(),
            });
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(entry) = current.as_mut() else {
            continue;
        };
        let (key, value) = match line.split_once(char::is_whitespace) {
            Some((key, value)) => (key, unquote(value.trim())),
            None => (line, ""),
        };
        if entry.get(key).is_none() {
            entry.options.push((key.to_owned(), value.to_owned()));
        }
    }
    if let Some(done) = current {
        entries.entry(done.host.clone()).or_insert(done);
    }
    entries
}

/// `text` without one pair of surrounding double quotes.
fn unquote(text: &str) -> &str {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
}

/// The state of each machine in `vagrant status --machine-readable`'s output (`running`,
/// `not_created`, `poweroff`, `shutoff`, …), by machine. Each line is
/// `timestamp,target,type,data…`; the lines of type `state` with a target are kept.
pub fn parse_status(text: &str) -> IndexMap<String, String> {
    let mut states = IndexMap::new();
    for line in text.lines() {
        let mut fields = line.trim_end_matches('\r').splitn(4, ',');
        let (Some(_), Some(target), Some(kind), Some(data)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if kind == "state" && !target.is_empty() {
            states.insert(target.to_owned(), data.to_owned());
        }
    }
    states
}

/// Whether `vagrant plugin list`'s output lists the vagrant-libvirt plugin (`vagrant-libvirt
/// (0.11.2, system)`).
pub fn lists_libvirt_plugin(text: &str) -> bool {
    text.lines().any(|line| {
        line.split_whitespace()
            .next()
            .is_some_and(|name| name == "vagrant-libvirt")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two libvirt machines, as Vagrant 2.3 prints them: a blank line before each
    /// `IdentityFile` (the template's loop), and one after each block.
    const LIBVIRT: &str = "Host paris-server-1
  HostName 192.168.121.128
  User vagrant
  Port 22
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile /home/u/exp/vagrant/.vagrant/machines/paris-server-1/libvirt/private_key
  IdentitiesOnly yes
  LogLevel FATAL

Host lyon-client-1
  HostName 192.168.121.61
  User vagrant
  Port 22
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile /home/u/exp/vagrant/.vagrant/machines/lyon-client-1/libvirt/private_key
  IdentitiesOnly yes
  LogLevel FATAL

";

    /// VirtualBox: every machine on 127.0.0.1 behind a forwarded port, the key path quoted
    /// because it holds a space.
    const VIRTUALBOX: &str = "Host paris-server-1
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile \"/home/u/my exp/vagrant/.vagrant/machines/paris-server-1/virtualbox/private_key\"
  IdentitiesOnly yes
  LogLevel FATAL

Host paris-client-1
  HostName 127.0.0.1
  User vagrant
  Port 2200
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no

  IdentityFile \"/home/u/my exp/vagrant/.vagrant/machines/paris-client-1/virtualbox/private_key\"
  IdentitiesOnly yes
  LogLevel FATAL

";

    #[test]
    fn libvirt_machines_are_reached_on_the_management_network() {
        let entries = parse_ssh_config(LIBVIRT);
        assert_eq!(
            entries.keys().collect::<Vec<_>>(),
            ["paris-server-1", "lyon-client-1"]
        );
        let lyon = &entries["lyon-client-1"];
        assert_eq!(lyon.get("HostName"), Some("192.168.121.61"));
        assert_eq!(lyon.get("port"), Some("22"));
        assert_eq!(lyon.get("User"), Some("vagrant"));
        assert_eq!(
            lyon.get("IdentityFile"),
            Some("/home/u/exp/vagrant/.vagrant/machines/lyon-client-1/libvirt/private_key")
        );
        assert_eq!(lyon.options.len(), 9);
    }

    #[test]
    fn virtualbox_machines_are_reached_through_forwarded_ports() {
        let entries = parse_ssh_config(VIRTUALBOX);
        let ports: Vec<_> = entries
            .values()
            .map(|e| (e.get("HostName").unwrap(), e.get("Port").unwrap()))
            .collect();
        assert_eq!(ports, [("127.0.0.1", "2222"), ("127.0.0.1", "2200")]);
        assert_eq!(
            entries["paris-server-1"].get("IdentityFile"),
            Some("/home/u/my exp/vagrant/.vagrant/machines/paris-server-1/virtualbox/private_key")
        );
    }

    #[test]
    fn text_outside_blocks_and_comments_are_skipped() {
        let text = "==> paris-server-1: a warning\n# comment\nHost a\n  # note\n  HostName 10.0.0.1\n\
                    \n  ProxyCommand ssh gw -W %h:%p\nHost b\nHostName 10.0.0.2\nHostName 10.0.0.9\n";
        let entries = parse_ssh_config(text);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries["a"].get("proxycommand"), Some("ssh gw -W %h:%p"));
        // The first value of an option counts, as in OpenSSH.
        assert_eq!(entries["b"].get("HostName"), Some("10.0.0.2"));
        assert!(parse_ssh_config("HostName x\n").is_empty());
    }

    #[test]
    fn machine_readable_status_gives_each_machine_s_state() {
        let text = "1700000000,paris-server-1,metadata,provider,libvirt
1700000000,lyon-client-1,metadata,provider,libvirt
1700000001,paris-server-1,provider-name,libvirt
1700000001,paris-server-1,state,running
1700000001,paris-server-1,state-human-short,running
1700000001,paris-server-1,state-human-long,The Libvirt domain is running.%!(VAGRANT_COMMA) really
1700000001,lyon-client-1,provider-name,libvirt
1700000001,lyon-client-1,state,not_created
1700000001,,ui,info,Current machine states:\\n\\nparis-server-1 running (libvirt)
";
        let states = parse_status(text);
        assert_eq!(
            states.into_iter().collect::<Vec<_>>(),
            [
                ("paris-server-1".to_owned(), "running".to_owned()),
                ("lyon-client-1".to_owned(), "not_created".to_owned())
            ]
        );
    }

    #[test]
    fn the_libvirt_plugin_is_found_in_the_plugin_list() {
        assert!(lists_libvirt_plugin("vagrant-libvirt (0.11.2, system)\n"));
        assert!(lists_libvirt_plugin(
            "vagrant-hostmanager (1.8.9, global)\nvagrant-libvirt (0.12.2, global)\n  - Version Constraint: > 0\n"
        ));
        assert!(!lists_libvirt_plugin("No plugins installed.\n"));
        assert!(!lists_libvirt_plugin(
            "vagrant-libvirt-extra (1.0, global)\n"
        ));
    }
}
