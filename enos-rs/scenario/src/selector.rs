//! Selectors: sets of hosts named by sites, roles, hosts or EnOS ranges of them, as the network
//! section and steps write them.

use serde::{Deserialize, Serialize};

use crate::MAX_HOSTS;
use crate::check::quote;
use crate::sites::{HostPlan, Site};

/// A set of hosts named in the network section: sites, roles or hosts, as written.
///
/// `paris` names a site, `server` a role, `paris-server-1` a host; an EnOS range such as
/// `paris-server-[1-3]` or `site[1-4]` names each of the expanded names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
    /// The text as written in the file.
    pub text: String,
    /// What it names, after expanding a range.
    pub names: Vec<Named>,
}

/// One name of a [`Selector`], with what it names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Named {
    /// Every host of a site.
    Site(String),
    /// Every host playing a role, on every site.
    Role(String),
    /// One host.
    Host(String),
}

impl Selector {
    /// Whether `host` is among the hosts this selector names.
    pub fn contains(&self, host: &HostPlan) -> bool {
        self.names_host(&host.name, &host.site, &host.role)
    }

    /// Whether the host called `name`, of `site` and `role`, is among the hosts this names.
    pub fn names_host(&self, name: &str, site: &str, role: &str) -> bool {
        self.names.iter().any(|n| match n {
            Named::Site(s) => s == site,
            Named::Role(r) => r == role,
            Named::Host(h) => h == name,
        })
    }
}

/// The names a selector may use: sites, roles and hosts.
pub(crate) struct Names {
    pub(crate) sites: Vec<String>,
    pub(crate) roles: Vec<String>,
    pub(crate) hosts: Vec<String>,
}

impl Names {
    pub(crate) fn of(sites: &[Site]) -> Names {
        let mut roles: Vec<String> = Vec::new();
        let mut hosts = Vec::new();
        for site in sites {
            for role in &site.roles {
                if !roles.contains(&role.role) {
                    roles.push(role.role.clone());
                }
                hosts.extend((1..=role.count).map(|i| role.host_name(&site.name, i)));
            }
        }
        Names {
            sites: sites.iter().map(|s| s.name.clone()).collect(),
            roles,
            hosts,
        }
    }

    pub(crate) fn selector(&self, text: &str) -> Result<Selector, String> {
        let expanded =
            expand_range(text).map_err(|why| format!("bad range {}: {why}", quote(text)))?;
        let mut selected = Vec::new();
        for name in &expanded {
            let found = self.lookup(name);
            match found.as_slice() {
                [one] => selected.push(one.clone()),
                [] => {
                    let within = if expanded.len() > 1 {
                        format!(" (from the range {})", quote(text))
                    } else {
                        String::new()
                    };
                    return Err(format!(
                        "unknown site, role or host {}{within}, expected {}",
                        quote(name),
                        self.expected()
                    ));
                }
                many => {
                    let kinds: Vec<&str> = many.iter().map(Names::kind).collect();
                    return Err(format!(
                        "{} is ambiguous: it names both a {}",
                        quote(name),
                        kinds.join(" and a ")
                    ));
                }
            }
        }
        Ok(Selector {
            text: text.to_owned(),
            names: selected,
        })
    }

    fn lookup(&self, name: &str) -> Vec<Named> {
        let mut found = Vec::new();
        if self.sites.iter().any(|s| s == name) {
            found.push(Named::Site(name.to_owned()));
        }
        if self.roles.iter().any(|r| r == name) {
            found.push(Named::Role(name.to_owned()));
        }
        if self.hosts.iter().any(|h| h == name) {
            found.push(Named::Host(name.to_owned()));
        }
        found
    }

    fn kind(named: &Named) -> &'static str {
        match named {
            Named::Site(_) => "site",
            Named::Role(_) => "role",
            Named::Host(_) => "host",
        }
    }

    /// What a selector may name, for messages.
    fn expected(&self) -> String {
        if self.sites.is_empty() {
            return "a site, role or host, and the scenario has none".to_owned();
        }
        let list = |names: &[String]| {
            if names.len() > 6 {
                format!("{}, …", names[..6].join(", "))
            } else {
                names.join(", ")
            }
        };
        let host = self.hosts.first().map(String::as_str).unwrap_or("");
        format!(
            "a site ({}), a role ({}) or a host such as {host}",
            list(&self.sites),
            list(&self.roles)
        )
    }
}

/// The most names one range may expand to.
const MAX_RANGE: u64 = MAX_HOSTS;

/// Expands an EnOS range: `grp[2-4]` gives `grp2`, `grp3`, `grp4`; other text is itself.
fn expand_range(text: &str) -> Result<Vec<String>, String> {
    let Some(open) = text.find('[') else {
        if text.contains(']') {
            return Err("a `]` without its `[`".to_owned());
        }
        return Ok(vec![text.to_owned()]);
    };
    let (prefix, rest) = text.split_at(open);
    let Some(inner) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return Err("a range is written `name[first-last]`, at the end of the name".to_owned());
    };
    let Some((first, last)) = inner.split_once('-') else {
        return Err("expected `[first-last]`, e.g. `[1-3]`".to_owned());
    };
    let number = |part: &str| -> Result<u64, String> {
        if part.is_empty() || !part.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("{} is not a whole number", quote(part)));
        }
        part.parse::<u64>()
            .map_err(|_| format!("{} is too large", quote(part)))
    };
    let (first, last) = (number(first)?, number(last)?);
    if prefix.is_empty() {
        return Err("the range has no name before `[`".to_owned());
    }
    if last < first {
        return Err(format!("{last} is smaller than {first}"));
    }
    if last - first >= MAX_RANGE {
        return Err(format!("it names more than {MAX_RANGE} hosts"));
    }
    Ok((first..=last).map(|i| format!("{prefix}{i}")).collect())
}
