//! Inventories: the testbed written for other tools (Ansible INI and YAML, and JSON), rendered with
//! minijinja from this crate's `templates/`.
#![warn(missing_docs)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior, context};
use serde::Serialize;

use enos_core::fsutil::write_atomic;
use enos_core::{Become, Host, HostKeySource, Jump, Testbed};

/// The inventory formats enos writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InventoryFormat {
    /// Ansible's INI format.
    Ini,
    /// Ansible's YAML format.
    Yaml,
    /// A plain JSON description of hosts, networks and groups.
    Json,
}

impl InventoryFormat {
    /// Every format, in the order they are written.
    pub const ALL: [InventoryFormat; 3] = [Self::Ini, Self::Yaml, Self::Json];

    /// The file name this format is written to inside `inventory/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Ini => "hosts.ini",
            Self::Yaml => "hosts.yaml",
            Self::Json => "hosts.json",
        }
    }

    fn template(self) -> (&'static str, &'static str) {
        match self {
            Self::Ini => (
                "ansible.ini.j2",
                include_str!("../templates/ansible.ini.j2"),
            ),
            Self::Yaml => (
                "ansible.yaml.j2",
                include_str!("../templates/ansible.yaml.j2"),
            ),
            Self::Json => ("hosts.json.j2", include_str!("../templates/hosts.json.j2")),
        }
    }
}

/// A failure to render an inventory.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The template failed to render.
    #[error("rendering inventory template {template}: {source}")]
    Render {
        /// The template's name.
        template: &'static str,
        /// The cause.
        source: minijinja::Error,
    },
    /// Writing the file failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A host as inventories see it: its access fields when they are not the defaults, without
/// a pinned key (the experiment's known_hosts holds it).
#[derive(Debug, Serialize)]
struct Entry<'a> {
    name: &'a str,
    site: &'a str,
    role: &'a str,
    address: IpAddr,
    user: &'a str,
    port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    ssh_host: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<&'a Path>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jump: Option<&'a Jump>,
    #[serde(rename = "become", skip_serializing_if = "Option::is_none")]
    become_root: Option<Become>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interface: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_key: Option<&'a HostKeySource>,
}

impl<'a> From<&'a Host> for Entry<'a> {
    fn from(h: &'a Host) -> Self {
        Entry {
            name: &h.name,
            site: &h.site,
            role: &h.role,
            address: h.address,
            user: &h.user,
            port: h.port,
            ssh_host: h.ssh_host.as_deref(),
            identity: h.identity.as_deref(),
            jump: h.jump.as_ref(),
            become_root: h.become_root,
            interface: h.interface.as_deref(),
            host_key: match &h.host_key {
                HostKeySource::Pinned { .. } => None,
                other => Some(other),
            },
        }
    }
}

/// A group of hosts as inventories see it: one per role and one per site.
#[derive(Debug, Serialize)]
struct Group<'a> {
    name: &'a str,
    kind: &'static str,
    hosts: Vec<Entry<'a>>,
}

fn groups(testbed: &Testbed) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (kind, key) in [
        ("role", (|h: &Host| h.role.as_str()) as fn(&Host) -> &str),
        ("site", |h| h.site.as_str()),
    ] {
        for host in &testbed.hosts {
            let name = key(host);
            match groups.iter_mut().find(|g| g.name == name && g.kind == kind) {
                Some(group) => group.hosts.push(host.into()),
                None => groups.push(Group {
                    name,
                    kind,
                    hosts: vec![host.into()],
                }),
            }
        }
    }
    groups
}

/// Renders the inventory of `testbed` (experiment `name`) in `format`.
pub fn render(
    format: InventoryFormat,
    name: &str,
    testbed: &Testbed,
) -> Result<String, InventoryError> {
    let (template_name, source) = format.template();
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.add_template(template_name, source)
        .map_err(|source| InventoryError::Render {
            template: template_name,
            source,
        })?;
    let user = testbed
        .hosts
        .first()
        .map(|h| h.user.as_str())
        .unwrap_or("root");
    let ctx = context! {
        name => name,
        user => user,
        ssh => &testbed.ssh,
        hosts => testbed.hosts.iter().map(Entry::from).collect::<Vec<_>>(),
        networks => &testbed.networks,
        groups => groups(testbed),
    };
    env.get_template(template_name)
        .and_then(|t| t.render(ctx))
        .map_err(|source| InventoryError::Render {
            template: template_name,
            source,
        })
}

/// Writes every inventory format into `dir`, atomically; returns the paths written.
pub fn write_all(
    dir: &Path,
    name: &str,
    testbed: &Testbed,
) -> Result<Vec<PathBuf>, InventoryError> {
    std::fs::create_dir_all(dir).map_err(|source| InventoryError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let mut written = Vec::new();
    for format in InventoryFormat::ALL {
        let text = render(format, name, testbed)?;
        let path = dir.join(format.file_name());
        write_atomic(&path, text.as_bytes()).map_err(|source| InventoryError::Write {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use enos_core::{SiteNetwork, SshAccess};

    fn testbed() -> Testbed {
        let mut plain = Host::new("paris-web-1", "paris", "web", "198.18.1.2".parse().unwrap());
        plain.host_key = HostKeySource::Pinned {
            key: "ssh-ed25519 AAAA".into(),
        };
        let mut sudo = Host::new("paris-db-1", "paris", "db", "198.18.1.3".parse().unwrap());
        sudo.user = "debian".into();
        sudo.become_root = Some(Become::Sudo);
        sudo.host_key = HostKeySource::LearnOnFirstContact;
        Testbed {
            hosts: vec![plain, sudo],
            networks: vec![SiteNetwork {
                site: "paris".into(),
                cidr: "198.18.1.0/24".into(),
                gateway: "198.18.1.1".parse().unwrap(),
            }],
            ssh: SshAccess::in_experiment(Path::new("/exp"), "/exp/ssh/id".into(), "/run/x".into()),
        }
    }

    #[test]
    fn inventories_say_how_to_become_root_and_leave_pinned_keys_to_known_hosts() {
        let tb = testbed();
        let ini = render(InventoryFormat::Ini, "e", &tb).unwrap();
        assert!(
            ini.contains(
                "paris-web-1 ansible_host=198.18.1.2 ansible_port=22 ansible_user=root \
                 enos_site=paris enos_role=web\n"
            ),
            "{ini}"
        );
        assert!(
            ini.contains(
                "paris-db-1 ansible_host=198.18.1.3 ansible_port=22 ansible_user=debian \
                 ansible_become=true ansible_become_method=sudo enos_site=paris enos_role=db\n"
            ),
            "{ini}"
        );
        let yaml = render(InventoryFormat::Yaml, "e", &tb).unwrap();
        assert!(
            yaml.contains(
                "      ansible_user: \"debian\"\n      ansible_become: true\n      \
                 ansible_become_method: sudo\n      enos_site: \"paris\"\n"
            ),
            "{yaml}"
        );
        assert_eq!(yaml.matches("ansible_become:").count(), 1, "{yaml}");
        let json: serde_json::Value =
            serde_json::from_str(&render(InventoryFormat::Json, "e", &tb).unwrap()).unwrap();
        let hosts = json["hosts"].as_array().unwrap();
        assert_eq!(
            hosts[0].as_object().unwrap().keys().collect::<Vec<_>>(),
            ["name", "site", "role", "address", "user", "port"]
        );
        assert_eq!(hosts[1]["become"], "sudo");
        assert_eq!(hosts[1]["host_key"]["source"], "learn_on_first_contact");
    }
}
