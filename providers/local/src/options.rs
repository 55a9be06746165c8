//! The local provider's options in a scenario (`provider: {local: {egress_allow: […]}}`), their
//! checks and what a local testbed can hold, as the scenario parser's [`ProviderKind`].

use enos_egress::AllowRule;
use enos_scenario::{CheckedOptions, OptionsContext, ProviderKind, Site, describe, quote};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The most sites of an experiment on the local provider: one /24 each in the experiment's /20
/// address block, less the management /24.
pub const MAX_SITES: usize = 15;
/// The most hosts of one site on the local provider: its /24 less the network, gateway and
/// broadcast addresses.
pub const MAX_HOSTS_PER_SITE: usize = 253;

/// The keys of the local provider's options, for messages.
const KEYS: &str = "egress_allow";

/// Options of the local provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalOptions {
    /// Hosts the egress proxy forwards to besides the package repositories this machine's apt
    /// and pip name: `name` (ports 80 and 443), `*.domain` (every name under it), `name:port`,
    /// or an IP literal, as written in the scenario (each one an [`AllowRule`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress_allow: Vec<String>,
}

/// The local provider's options as a scenario's state holds them (`scenario.provider.options`,
/// checked when the scenario was read).
pub fn options(value: &Value) -> Result<LocalOptions, String> {
    match value {
        Value::Null => Ok(LocalOptions::default()),
        value => serde_json::from_value(value.clone())
            .map_err(|e| format!("the local provider's options: {e}")),
    }
}

/// The local provider, as the scenario parser sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalKind;

impl ProviderKind for LocalKind {
    fn name(&self) -> &'static str {
        "local"
    }

    fn options_schema(&self) -> Value {
        json!({
            "type": ["object", "null"],
            "additionalProperties": false,
            "description": "Options of the local provider.",
            "properties": {
                "egress_allow": {
                    "type": "array",
                    "description": "Hosts the egress proxy forwards to besides the package \
                                    repositories this machine's apt and pip name: a name (ports \
                                    80 and 443), `*.domain` for every name under it, \
                                    `name:port`, or an IP literal.",
                    "items": {
                        "type": "string",
                        "pattern": EGRESS_HOST,
                        "examples": ["github.com", "*.opendev.org", "mirror.example.org:8080"],
                    },
                }
            },
        })
    }

    fn check_options(&self, options: &Value, ctx: &mut OptionsContext<'_>) -> CheckedOptions {
        let mut local = LocalOptions::default();
        match options {
            Value::Object(map) => {
                for (key, value) in map {
                    let path = format!("provider.local.{key}");
                    match key.as_str() {
                        "egress_allow" => local.egress_allow = egress_allow(&path, value, ctx),
                        _ => ctx.key_error(&path, format!("unknown key `{key}`, expected {KEYS}")),
                    }
                }
            }
            other => ctx.value_error(
                "provider.local",
                format!(
                    "expected the local provider's options (a mapping, e.g. `{{}}`), found {}",
                    describe(other)
                ),
            ),
        }
        CheckedOptions::kept(serde_json::to_value(local).unwrap_or_else(|_| json!({})))
    }

    /// The layout's limits ([`MAX_SITES`], [`MAX_HOSTS_PER_SITE`]), checked when the scenario is
    /// read so that no scenario that validates fails at deploy for its size.
    fn check_sites(&self, _: &Value, sites: &[Site], ctx: &mut OptionsContext<'_>) {
        if let Some(site) = sites.get(MAX_SITES) {
            ctx.key_error(
                &format!("sites.{}", site.name),
                format!(
                    "the local provider holds at most {MAX_SITES} sites (one /24 each in the \
                     experiment's /20), the scenario has {}",
                    sites.len()
                ),
            );
        }
        for site in sites {
            let hosts: u64 = site.roles.iter().map(|r| u64::from(r.count)).sum();
            if hosts > MAX_HOSTS_PER_SITE as u64 {
                ctx.key_error(
                    &format!("sites.{}", site.name),
                    format!(
                        "the local provider holds at most {MAX_HOSTS_PER_SITE} hosts per site (a \
                         /24 each), site `{}` has {hosts}; split it into several sites",
                        site.name
                    ),
                );
            }
        }
    }
}

/// An entry of `egress_allow` in the schema: a name or `*.domain` with an optional port, a
/// bracketed IPv6 address with an optional port, or a bare IPv6 address.
const EGRESS_HOST: &str = concat!(
    "^((\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*",
    "(:[0-9]{1,5})?",
    "|\\[[0-9A-Fa-f:.]+\\](:[0-9]{1,5})?",
    "|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*)$"
);

/// `provider.local.egress_allow`: a list of hosts the egress proxy may forward to, each read as
/// the proxy reads it ([`AllowRule`]).
fn egress_allow(path: &str, value: &Value, ctx: &mut OptionsContext<'_>) -> Vec<String> {
    let Value::Array(items) = value else {
        ctx.value_error(
            path,
            format!(
                "expected a list of hosts the egress proxy may forward to (e.g. `[github.com, \
                 \"*.opendev.org\"]`), found {}",
                describe(value)
            ),
        );
        return Vec::new();
    };
    let mut rules = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        match item {
            Value::String(text) => match text.parse::<AllowRule>() {
                Ok(_) => rules.push(text.clone()),
                Err(e) => ctx.value_error(
                    &item_path,
                    format!("bad egress host {}: {}", quote(text), e.why()),
                ),
            },
            other => ctx.value_error(
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use enos_scenario::{ProviderKind, ProviderSection};

    use super::*;

    const KINDS: &[&dyn ProviderKind] = &[&LocalKind];

    fn parse(text: &str) -> enos_scenario::Scenario {
        enos_scenario::parse(text, "t.yaml", KINDS).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Bad scenarios for the local provider, one fixture each in `tests/invalid/` (the file name
    /// is the kind), their whole messages kept as snapshots.
    #[test]
    fn bad_options_and_sizes_are_located() {
        for kind in [
            "local-provider-option",
            "local-provider-bad-egress-allow",
            "local-provider-too-many-sites",
            "local-provider-site-too-large",
            "too-many-hosts",
        ] {
            let path = Path::new("tests/invalid").join(format!("{kind}.yaml"));
            let error = enos_scenario::load(&path, KINDS).expect_err(kind);
            insta::assert_snapshot!(kind, error.to_string());
        }
    }

    #[test]
    fn the_local_provider_takes_an_egress_allow_list() {
        let s = parse(
            "name: q\nprovider:\n  local:\n    egress_allow: [github.com, \"*.opendev.org\", \
             \"mirror.lan:8080\", 192.0.2.7, \"[2001:db8::7]:8443\"]\nsites: {a: {roles: {x: 1}}}\n",
        );
        assert_eq!(
            options(&s.provider.options).unwrap().egress_allow,
            [
                "github.com",
                "*.opendev.org",
                "mirror.lan:8080",
                "192.0.2.7",
                "[2001:db8::7]:8443"
            ]
        );
        // The state keeps the form earlier versions wrote, and reads it back.
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json["provider"]["local"]["egress_allow"][1],
            "*.opendev.org"
        );
        let back: enos_scenario::Scenario = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
        // Another list asks for the same testbed: a deploy applies it in place.
        let other = parse(
            "name: q\nprovider: {local: {egress_allow: [ftp.debian.org]}}\nsites: {a: {roles: {x: 1}}}\n",
        );
        assert!(s.same_testbed(&other) && other.same_testbed(&s));
        let more = parse(
            "name: q\nprovider: {local: {egress_allow: [ftp.debian.org]}}\nsites: {a: {roles: {x: 2}}}\n",
        );
        assert!(!other.same_testbed(&more));
        // No options, an empty mapping and an empty list are the defaults, kept as `{}`.
        for provider in [
            "local",
            "{local: }",
            "{local: {}}",
            "{local: {egress_allow: []}}",
        ] {
            let s = parse(&format!(
                "name: q\nprovider: {provider}\nsites: {{a: {{roles: {{x: 1}}}}}}\n"
            ));
            assert_eq!(
                s.provider,
                ProviderSection::new("local", json!({})),
                "{provider}"
            );
            assert_eq!(
                options(&s.provider.options).unwrap(),
                LocalOptions::default()
            );
        }
        let absent = parse("name: q\nsites: {a: {roles: {x: 1}}}\n");
        assert_eq!(absent.provider, ProviderSection::new("local", json!({})));
    }

    #[test]
    fn a_state_written_by_an_earlier_version_reads_back() {
        let old = json!({
            "name": "q",
            "provider": {"local": {"egress_allow": ["github.com"]}},
            "sites": [{"name": "a", "roles": [{"role": "x", "count": 1}]}],
            "network": serde_json::to_value(enos_scenario::NetworkSpec::default()).unwrap(),
        });
        let s: enos_scenario::Scenario = serde_json::from_value(old).unwrap();
        assert_eq!(s.provider.name, "local");
        assert_eq!(
            options(&s.provider.options).unwrap().egress_allow,
            ["github.com"]
        );
        assert_eq!(s.hosts()[0].name, "a-x-1");
    }

    #[test]
    fn the_schema_fragment_takes_the_options() {
        let schema = enos_scenario::json_schema(KINDS);
        let provider = &schema["properties"]["provider"];
        assert_eq!(provider["default"], "local");
        assert_eq!(provider["oneOf"][0], json!({"const": "local"}));
        let local = &provider["oneOf"][1]["properties"]["local"];
        assert_eq!(local["additionalProperties"], false);
        assert!(local["properties"]["egress_allow"]["items"]["pattern"].is_string());
    }
}
