//! The `sites:` section: the sites, their roles and how many hosts play each; and the hosts
//! this gives. A provider whose options define the hosts (the static provider) defines the sites
//! too: `sites:` may then be left out, and must agree with them when it is written.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::check::{Checker, check_name, describe, quote};
use crate::{MAX_HOSTS, MAX_PART_LEN};

/// One site as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSite {
    roles: Option<IndexMap<String, Value>>,
}

/// A site: the unit of geography (EnOS "groups").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// The site's name.
    pub name: String,
    /// Its roles and how many hosts play each, in file order.
    pub roles: Vec<RoleCount>,
}

/// How many hosts of a site play a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleCount {
    /// The role's name.
    pub role: String,
    /// The number of hosts (at least 1).
    pub count: u32,
    /// The hosts' names, in order, when the provider names them (static hosts; a host with
    /// several roles is named in each); empty when they are `{site}-{role}-{n}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

impl RoleCount {
    /// `count` hosts of `role`, named `{site}-{role}-{n}`.
    pub fn new(role: impl Into<String>, count: u32) -> Self {
        Self {
            role: role.into(),
            count,
            names: Vec::new(),
        }
    }

    /// The name of host number `index` (from 1) of this role on `site`: the name the provider
    /// gave it, or `{site}-{role}-{index}`.
    pub fn host_name(&self, site: &str, index: u32) -> String {
        let given = usize::try_from(index)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.names.get(i));
        match given {
            Some(name) => name.clone(),
            None => format!("{site}-{}-{index}", self.role),
        }
    }
}

/// One host the scenario asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPlan {
    /// `{site}-{role}-{index}`, or the name the provider gave it.
    pub name: String,
    /// Its site.
    pub site: String,
    /// Its role.
    pub role: String,
    /// Its number among the hosts of its site and role, from 1.
    pub index: u32,
}

impl Checker<'_> {
    /// The sites: those of `sites:` (`raw`), or those the provider's options define
    /// (`defined`, from the provider `provider`); when both are given, they must agree.
    pub(crate) fn sites(
        &mut self,
        raw: Option<IndexMap<String, Option<RawSite>>>,
        defined: Option<Vec<Site>>,
        provider: &str,
    ) -> Vec<Site> {
        match (raw, defined) {
            (raw, None) => self.sites_section(raw),
            (None, Some(defined)) => {
                let total: u64 = defined
                    .iter()
                    .flat_map(|s| &s.roles)
                    .map(|r| u64::from(r.count))
                    .sum();
                if total > MAX_HOSTS {
                    self.key_error(
                        &format!("provider.{provider}"),
                        format!("the hosts are {total}, at most {MAX_HOSTS} are allowed"),
                    );
                }
                defined
            }
            (Some(raw), Some(defined)) => {
                let mut written = self.sites_section(Some(raw));
                self.agree(&mut written, &defined, provider);
                written
            }
        }
    }

    /// The `sites:` section: at least one site, each with at least one role.
    fn sites_section(&mut self, raw: Option<IndexMap<String, Option<RawSite>>>) -> Vec<Site> {
        let Some(raw) = raw else {
            self.missing(
                "sites",
                "",
                "at least one site",
                "sites: {paris: {roles: {server: 1}}}",
            );
            return Vec::new();
        };
        if raw.is_empty() {
            self.value_error(
                "sites",
                "expected at least one site, e.g. `sites: {paris: {roles: {server: 1}}}`",
            );
        }
        let mut sites = Vec::new();
        let mut total: u64 = 0;
        for (site_name, site) in raw {
            let path = format!("sites.{site_name}");
            if let Err(why) = check_name(&site_name, MAX_PART_LEN) {
                self.key_error(&path, format!("bad site name: {why}"));
            }
            let roles_path = format!("{path}.roles");
            let roles_raw = site.and_then(|s| s.roles).unwrap_or_default();
            if roles_raw.is_empty() {
                let at = self
                    .map
                    .value_at(&roles_path)
                    .or_else(|| self.map.value_at(&path));
                self.error_at(
                    at,
                    &roles_path,
                    "expected at least one role with a number of hosts, e.g. `roles: {server: 1}`",
                );
            }
            let mut roles = Vec::new();
            for (role, count) in roles_raw {
                let role_path = format!("{roles_path}.{role}");
                if let Err(why) = check_name(&role, MAX_PART_LEN) {
                    self.key_error(&role_path, format!("bad role name: {why}"));
                }
                if let Some(count) = self.count(&role_path, &count) {
                    total += u64::from(count);
                    roles.push(RoleCount::new(role, count));
                }
            }
            sites.push(Site {
                name: site_name,
                roles,
            });
        }
        if total > MAX_HOSTS {
            self.value_error(
                "sites",
                format!("the scenario asks for {total} hosts, at most {MAX_HOSTS} are allowed"),
            );
        }
        self.host_names(&sites);
        sites
    }

    /// `sites:` must say what the provider's options define (`defined`): the same sites, roles
    /// and counts; each difference is an error at the site or role of `sites:`. The hosts'
    /// names come from `defined`.
    fn agree(&mut self, written: &mut [Site], defined: &[Site], provider: &str) {
        let options = format!("`provider.{provider}`");
        for site in written.iter_mut() {
            let path = format!("sites.{}", site.name);
            let Some(theirs) = defined.iter().find(|d| d.name == site.name) else {
                self.key_error(
                    &path,
                    format!("{options} defines no host of site {}", quote(&site.name)),
                );
                continue;
            };
            for role in &mut site.roles {
                let role_path = format!("{path}.roles.{}", role.role);
                let count = match theirs.roles.iter().find(|r| r.role == role.role) {
                    Some(r) if r.count == role.count => {
                        role.names = r.names.clone();
                        continue;
                    }
                    Some(r) => r.count,
                    None => 0,
                };
                self.value_error(
                    &role_path,
                    format!(
                        "{options} defines {count} host{} of site {} role {}, `sites:` asks for \
                         {}",
                        if count == 1 { "" } else { "s" },
                        quote(&site.name),
                        quote(&role.role),
                        role.count
                    ),
                );
            }
            for role in &theirs.roles {
                if !site.roles.iter().any(|r| r.role == role.role) {
                    self.key_error(
                        &format!("{path}.roles"),
                        format!(
                            "{options} defines {} host{} of site {} role {}, which `sites:` does \
                             not list",
                            role.count,
                            if role.count == 1 { "" } else { "s" },
                            quote(&site.name),
                            quote(&role.role)
                        ),
                    );
                }
            }
        }
        for theirs in defined {
            if !written.iter().any(|s| s.name == theirs.name) {
                self.key_error(
                    "sites",
                    format!(
                        "{options} defines hosts of site {}, which `sites:` does not list",
                        quote(&theirs.name)
                    ),
                );
            }
        }
    }

    /// A role's number of hosts: a whole number from 1 to [`MAX_HOSTS`].
    fn count(&mut self, path: &str, value: &Value) -> Option<u32> {
        let Value::Number(n) = value else {
            self.value_error(
                path,
                format!(
                    "expected a whole number of hosts, found {}",
                    describe(value)
                ),
            );
            return None;
        };
        let problem = match (n.as_i64(), n.as_f64()) {
            (Some(c), _) if c < 1 => format!("expected at least 1 host, found {c}"),
            (Some(c), _) if c.unsigned_abs() <= MAX_HOSTS => return u32::try_from(c).ok(),
            (Some(c), _) => format!("expected at most {MAX_HOSTS} hosts, found {c}"),
            (None, Some(f)) if f.fract() == 0.0 && f > 0.0 => {
                format!("expected at most {MAX_HOSTS} hosts, found {n}")
            }
            _ => format!("expected a whole number of hosts, found {n}"),
        };
        self.value_error(path, problem);
        None
    }

    /// Host names `{site}-{role}-{n}` must be unique, and a name may not be both a site and a
    /// role (both become inventory groups). As `n` holds no dash, host names are unique exactly
    /// when the `{site}-{role}` stems are.
    fn host_names(&mut self, sites: &[Site]) {
        let site_names: Vec<&str> = sites.iter().map(|s| s.name.as_str()).collect();
        let mut stems: HashMap<String, (&str, &str)> = HashMap::new();
        for site in sites {
            for role in &site.roles {
                let path = format!("sites.{}.roles.{}", site.name, role.role);
                let stem = format!("{}-{}", site.name, role.role);
                match stems.get(&stem) {
                    Some((other_site, other_role)) => self.key_error(
                        &path,
                        format!(
                            "hosts of site '{}' role '{}' would have the same names as those of \
                             site '{other_site}' role '{other_role}' ({stem}-1, …)",
                            site.name, role.role
                        ),
                    ),
                    None => {
                        stems.insert(stem, (&site.name, &role.role));
                    }
                }
                if site_names.contains(&role.role.as_str()) {
                    self.key_error(
                        &path,
                        format!(
                            "'{}' is both a site and a role; inventories need distinct group \
                             names",
                            role.role
                        ),
                    );
                }
            }
        }
    }
}
