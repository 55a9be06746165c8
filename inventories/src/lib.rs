//! Inventories: the testbed written for other tools (Ansible INI and YAML, and JSON), rendered with
//! minijinja from this crate's `templates/`.
#![warn(missing_docs)]

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior, context};
use serde::Serialize;

use enos_core::fsutil::write_atomic;
use enos_core::{Host, Testbed};

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

/// A group of hosts as inventories see it: one per role and one per site.
#[derive(Debug, Serialize)]
struct Group<'a> {
    name: &'a str,
    kind: &'static str,
    hosts: Vec<&'a Host>,
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
                Some(group) => group.hosts.push(host),
                None => groups.push(Group {
                    name,
                    kind,
                    hosts: vec![host],
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
        hosts => &testbed.hosts,
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
