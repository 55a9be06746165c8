//! What templates see: the host being rendered, every host with its facts, groups, sites, the
//! experiment and the variables in scope, plus the functions `secret(name)` and
//! `free_address(site)` and the filter `shell_quote`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use enos_core::Become;
use indexmap::IndexMap;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::{Deserialize, Serialize};

use crate::facts::Facts;
use crate::secrets::SecretStore;

/// A host as templates see it: `host.name`, `host.address`, `host.interface`, `host.facts.…`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostView {
    /// Its name.
    pub name: String,
    /// Its site.
    pub site: String,
    /// Its role.
    pub role: String,
    /// Its address on its site network.
    pub address: IpAddr,
    /// The user enos logs in as.
    pub user: String,
    /// Its interface on the experiment network: the testbed's when it names one, otherwise the
    /// one that holds `address` (from the facts).
    pub interface: String,
    /// What the host said about itself.
    pub facts: Facts,
    /// How its steps become root when `user` is not root (not shown to templates).
    #[serde(skip)]
    pub become_root: Option<Become>,
}

/// A site network as templates see it: `sites[i].name`, `.cidr`, `.gateway`, `.hosts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteView {
    /// The site's name.
    pub name: String,
    /// Its subnet, e.g. `198.18.1.0/24`.
    pub cidr: String,
    /// Its gateway.
    pub gateway: IpAddr,
    /// The names of its hosts, in testbed order.
    pub hosts: Vec<String>,
}

/// Everything about the testbed that templates may use, the same for every host.
#[derive(Debug, Clone)]
pub struct TestbedView {
    /// The experiment's name.
    pub experiment: String,
    /// The experiment's results directory (absolute).
    pub results_dir: String,
    /// The experiment's SSH private key, which every host accepts (for tools that log in from
    /// one host to the others, such as kolla-ansible).
    pub ssh_identity: String,
    /// The file pinning every host's SSH key.
    pub known_hosts: String,
    /// Whether the testbed is made up ([`crate::example_testbed`]): files of its results
    /// directory do not exist, and copies of them are shown, not read.
    pub example: bool,
    /// Every host, in testbed order.
    pub hosts: Vec<HostView>,
    /// Every site.
    pub sites: Vec<SiteView>,
}

impl TestbedView {
    /// Groups by role and by site, as in the inventories: name → hosts.
    pub fn groups(&self) -> IndexMap<String, Vec<&HostView>> {
        let mut groups: IndexMap<String, Vec<&HostView>> = IndexMap::new();
        for host in &self.hosts {
            groups.entry(host.role.clone()).or_default().push(host);
        }
        for host in &self.hosts {
            groups.entry(host.site.clone()).or_default().push(host);
        }
        groups
    }

    /// The context shared by every host (everything but `host` and `vars`).
    pub(crate) fn shared(&self) -> BTreeMap<&'static str, Value> {
        let mut shared = BTreeMap::new();
        shared.insert("hosts", Value::from_serialize(&self.hosts));
        shared.insert("groups", Value::from_serialize(self.groups()));
        shared.insert("sites", Value::from_serialize(&self.sites));
        shared.insert(
            "experiment",
            Value::from_serialize(serde_json::json!({
                "name": self.experiment,
                "dir": self.results_dir,
                "ssh_identity": self.ssh_identity,
                "known_hosts": self.known_hosts,
            })),
        );
        shared
    }
}

/// The template environment of the deploy engine: strict about undefined values, with
/// `secret(name)`, `free_address(site)` and the filter `shell_quote` (a value as one shell
/// word, quoted when it needs to be), and without auto-escaping (the output is configuration
/// files and shell commands, not HTML).
pub(crate) fn environment(
    testbed: &TestbedView,
    secrets: Arc<SecretStore>,
) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_function(
        "secret",
        move |name: &str| -> Result<String, minijinja::Error> {
            secrets.get(name).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
            })
        },
    );
    env.add_filter("shell_quote", |value: Value| -> String {
        match value.as_str() {
            Some(text) => crate::script::quote(text),
            None => crate::script::quote(&value.to_string()),
        }
    });
    let free = free_addresses(testbed);
    env.add_function(
        "free_address",
        move |site: &str| -> Result<String, minijinja::Error> {
            free.get(site).cloned().ok_or_else(|| {
                minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("free_address: no free address on site '{site}'"),
                )
            })
        },
    );
    env
}

/// The highest address of each site's subnet that no host, gateway, network or broadcast
/// address takes: where a virtual IP (kolla's `kolla_internal_vip_address`) can go.
fn free_addresses(testbed: &TestbedView) -> BTreeMap<String, String> {
    let mut free = BTreeMap::new();
    for site in &testbed.sites {
        let Some((base, bits)) = site.cidr.split_once('/') else {
            continue;
        };
        let (Ok(base), Ok(bits)) = (base.parse::<std::net::Ipv4Addr>(), bits.parse::<u32>()) else {
            continue;
        };
        if !(8..=30).contains(&bits) {
            continue;
        }
        let first = u32::from(base) & (u32::MAX << (32 - bits));
        let last = first | !(u32::MAX << (32 - bits));
        let taken: Vec<IpAddr> = testbed
            .hosts
            .iter()
            .map(|h| h.address)
            .chain([site.gateway])
            .collect();
        // From the top, skipping the broadcast address.
        let found = (first + 1..last)
            .rev()
            .map(std::net::Ipv4Addr::from)
            .find(|a| !taken.contains(&IpAddr::V4(*a)));
        if let Some(address) = found {
            free.insert(site.name.clone(), address.to_string());
        }
    }
    free
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, address: &str) -> HostView {
        HostView {
            name: name.into(),
            site: "paris".into(),
            role: "x".into(),
            address: address.parse().unwrap(),
            user: "root".into(),
            interface: "eth0".into(),
            facts: Facts::default(),
            become_root: None,
        }
    }

    #[test]
    fn shell_quote_makes_one_shell_word_of_any_value() {
        let env = environment(
            &TestbedView {
                experiment: "e".into(),
                results_dir: "/r".into(),
                ssh_identity: "/r/ssh/id".into(),
                known_hosts: "/r/ssh/known_hosts".into(),
                example: true,
                hosts: Vec::new(),
                sites: Vec::new(),
            },
            Arc::new(SecretStore::placeholders()),
        );
        let render = |template: &str, value: Value| {
            env.render_str(template, minijinja::context! { v => value })
                .unwrap()
        };
        assert_eq!(
            render("{{ v | shell_quote }}", Value::from("/etc/a.conf")),
            "/etc/a.conf"
        );
        assert_eq!(render("{{ v | shell_quote }}", Value::from(8080)), "8080");
        assert_eq!(
            render(
                "echo {{ v | shell_quote }}",
                Value::from("it's $(rm -rf /); `x`")
            ),
            r"echo 'it'\''s $(rm -rf /); `x`'"
        );
        assert_eq!(render("{{ v | shell_quote }}", Value::from("")), "''");
    }

    #[test]
    fn the_free_address_is_the_highest_unused_one() {
        let mut testbed = TestbedView {
            experiment: "e".into(),
            results_dir: "/r".into(),
            ssh_identity: "/r/ssh/id".into(),
            known_hosts: "/r/ssh/known_hosts".into(),
            example: true,
            hosts: vec![host("a", "10.0.0.2"), host("b", "10.0.0.254")],
            sites: vec![SiteView {
                name: "paris".into(),
                cidr: "10.0.0.0/24".into(),
                gateway: "10.0.0.1".parse().unwrap(),
                hosts: vec!["a".into(), "b".into()],
            }],
        };
        assert_eq!(free_addresses(&testbed)["paris"], "10.0.0.253");
        testbed.sites[0].cidr = "10.0.0.0/30".into();
        testbed.hosts[1].address = "10.0.0.3".parse().unwrap();
        // .0 network, .1 gateway, .2 a host, .3 broadcast: nothing left.
        assert!(!free_addresses(&testbed).contains_key("paris"));
    }
}
