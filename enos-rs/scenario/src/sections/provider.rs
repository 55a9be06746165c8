//! The `provider:` section: which testbed provides the hosts, and its options.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::check::{Checker, describe, quote};
use crate::sites::Site;
use crate::{LOCAL_MAX_HOSTS_PER_SITE, LOCAL_MAX_SITES, check_egress_rule};

/// Providers this version knows of, built or not.
const KNOWN_PROVIDERS: [&str; 5] = ["local", "g5k", "vagrant", "openstack", "static"];
const LOCAL_OPTIONS: &str = "egress_allow";

/// The testbed provider and its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderSpec {
    /// The local provider: a multi-site testbed of namespaces on this machine.
    Local(LocalOptions),
}

/// Options of the local provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalOptions {
    /// Hosts the egress proxy forwards to besides the package repositories this machine's apt
    /// and pip name: `name` (ports 80 and 443), `*.domain` (every name under it), `name:port`,
    /// or an IP literal, as written in the scenario (checked by [`check_egress_rule`]).
    ///
    /// [`check_egress_rule`]: crate::check_egress_rule
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress_allow: Vec<String>,
}

impl Checker<'_> {
    pub(crate) fn provider(&mut self, value: Option<&Value>) -> ProviderSpec {
        let local = ProviderSpec::Local(LocalOptions::default());
        let (name, options) = match value {
            None if self.map.has("provider") => {
                self.value_error(
                    "provider",
                    "expected a provider such as `local`, found nothing",
                );
                return local;
            }
            None => return local,
            Some(Value::String(name)) => (name.as_str(), None),
            Some(Value::Object(map)) if map.len() == 1 => match map.iter().next() {
                Some((name, options)) => (name.as_str(), Some(options)),
                None => return local,
            },
            Some(Value::Object(map)) if map.len() > 1 => {
                let names: Vec<&str> = map.keys().map(String::as_str).collect();
                self.value_error(
                    "provider",
                    format!(
                        "expected one provider, found {}: {}",
                        names.len(),
                        names.join(", ")
                    ),
                );
                return local;
            }
            Some(other) => {
                self.value_error(
                    "provider",
                    format!(
                        "expected a provider name such as `local` or `{{local: {{}}}}`, found {}",
                        if other.is_object() {
                            "an empty mapping".to_owned()
                        } else {
                            describe(other)
                        }
                    ),
                );
                return local;
            }
        };
        let at = if options.is_some() {
            format!("provider.{name}")
        } else {
            "provider".to_owned()
        };
        match name {
            "local" => match options {
                None | Some(Value::Null) => local,
                Some(Value::Object(o)) => ProviderSpec::Local(self.local_options(o)),
                Some(other) => {
                    self.value_error(
                        "provider.local",
                        format!(
                            "expected the local provider's options (a mapping, e.g. `{{}}`), \
                             found {}",
                            describe(other)
                        ),
                    );
                    local
                }
            },
            known if KNOWN_PROVIDERS.contains(&known) => {
                self.provider_error(
                    &at,
                    format!("provider '{known}' is not built yet; this version has `local`"),
                );
                local
            }
            other => {
                self.provider_error(
                    &at,
                    format!(
                        "unknown provider {}, expected one of {}",
                        quote(other),
                        KNOWN_PROVIDERS.join(", ")
                    ),
                );
                local
            }
        }
    }

    /// The local provider's options.
    fn local_options(&mut self, options: &serde_json::Map<String, Value>) -> LocalOptions {
        let mut local = LocalOptions::default();
        for (key, value) in options {
            let path = format!("provider.local.{key}");
            match key.as_str() {
                "egress_allow" => local.egress_allow = self.egress_allow(&path, value),
                _ => self.key_error(
                    &path,
                    format!("unknown key `{key}`, expected {LOCAL_OPTIONS}"),
                ),
            }
        }
        local
    }

    /// The local provider's layout limits ([`LOCAL_MAX_SITES`], [`LOCAL_MAX_HOSTS_PER_SITE`]),
    /// checked here so that no scenario that validates fails at deploy for its size.
    pub(crate) fn local_limits(&mut self, sites: &[Site]) {
        if let Some(site) = sites.get(LOCAL_MAX_SITES) {
            self.key_error(
                &format!("sites.{}", site.name),
                format!(
                    "the local provider holds at most {LOCAL_MAX_SITES} sites (one /24 each in \
                     the experiment's /20), the scenario has {}",
                    sites.len()
                ),
            );
        }
        for site in sites {
            let hosts: u64 = site.roles.iter().map(|r| u64::from(r.count)).sum();
            if hosts > LOCAL_MAX_HOSTS_PER_SITE as u64 {
                self.key_error(
                    &format!("sites.{}", site.name),
                    format!(
                        "the local provider holds at most {LOCAL_MAX_HOSTS_PER_SITE} hosts per \
                         site (a /24 each), site `{}` has {hosts}; split it into several sites",
                        site.name
                    ),
                );
            }
        }
    }

    /// `provider.local.egress_allow`: a list of hosts the egress proxy may forward to.
    fn egress_allow(&mut self, path: &str, value: &Value) -> Vec<String> {
        let Value::Array(items) = value else {
            self.value_error(
                path,
                format!(
                    "expected a list of hosts the egress proxy may forward to (e.g. \
                     `[github.com, \"*.opendev.org\"]`), found {}",
                    describe(value)
                ),
            );
            return Vec::new();
        };
        let mut rules = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            match item {
                Value::String(text) => match check_egress_rule(text) {
                    Ok(()) => rules.push(text.clone()),
                    Err(why) => self.value_error(
                        &item_path,
                        format!("bad egress host {}: {why}", quote(text)),
                    ),
                },
                other => self.value_error(
                    &item_path,
                    format!(
                        "expected a host name such as deb.debian.org, found {}",
                        describe(other)
                    ),
                ),
            }
        }
        rules
    }

    /// An error about the provider's name: at the value of `provider: g5k`, at the key of
    /// `provider: {g5k: {…}}`.
    fn provider_error(&mut self, path: &str, message: String) {
        if path == "provider" {
            self.value_error(path, message);
        } else {
            self.key_error(path, message);
        }
    }
}
