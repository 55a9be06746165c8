//! The Vagrant provider's options: their model as the experiment's state keeps them (every
//! default filled in, flavours resolved to CPUs and memory), their checks (each error located at
//! its key or value), and their JSON Schema.

use std::fmt;
use std::net::Ipv4Addr;

use enos_scenario::{
    CheckedOptions, MAX_PART_LEN, OptionsContext, ProviderKind, Site, check_name, describe, quote,
};
use indexmap::IndexMap;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The flavours a role may name, as EnOSlib defines them: (name, CPUs, memory in MiB).
pub const FLAVOURS: [(&str, u32, u32); 6] = [
    ("tiny", 1, 512),
    ("small", 1, 1024),
    ("medium", 2, 2048),
    ("big", 3, 3072),
    ("large", 4, 4096),
    ("extra-large", 6, 6144),
];
/// The box unless `box` is written.
pub const DEFAULT_BOX: &str = "generic/debian12";
/// The flavour of every role unless `flavour` or `flavours` says otherwise.
pub const DEFAULT_FLAVOUR: &str = "tiny";
/// The block the sites' networks are cut from unless `subnet` is written: the host-only
/// networks VirtualBox allows without `/etc/vbox/networks.conf`.
pub const DEFAULT_SUBNET: &str = "192.168.56.0/21";
/// The last byte of a site's first host address (`.10`, `.11`, …), as EnOSlib leaves the first
/// ten addresses of a network alone.
pub const FIRST_HOST_BYTE: u32 = 10;
/// The most hosts a site holds: `.10` to `.254` of its /24.
pub const MAX_HOSTS_PER_SITE: u32 = 254 - FIRST_HOST_BYTE + 1;
/// The most CPUs a flavour may give.
pub const MAX_CPUS: u32 = 256;
/// The least memory a flavour may give, in MiB.
pub const MIN_MEMORY_MIB: u32 = 128;
/// The most memory a flavour may give, in MiB (1 TiB).
pub const MAX_MEMORY_MIB: u32 = 1 << 20;

const OPTION_KEYS: [&str; 5] = ["backend", "box", "flavour", "flavours", "subnet"];
const FLAVOUR_KEYS: [&str; 2] = ["cpus", "memory"];

/// The hypervisor Vagrant drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// KVM through libvirt, with the vagrant-libvirt plugin (EnOSlib's default).
    #[default]
    Libvirt,
    /// VirtualBox, which Vagrant drives without a plugin.
    Virtualbox,
}

impl Backend {
    /// The backend's name, as in scenarios and in `vagrant up --provider=…`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Libvirt => "libvirt",
            Backend::Virtualbox => "virtualbox",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The size of a VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flavour {
    /// The flavour's name, when one of [`FLAVOURS`] was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Virtual CPUs.
    pub cpus: u32,
    /// Memory, in MiB.
    pub memory: u32,
}

impl Flavour {
    /// The flavour called `name` among [`FLAVOURS`].
    pub fn named(name: &str) -> Option<Flavour> {
        FLAVOURS
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|&(n, cpus, memory)| Flavour {
                name: Some(n.to_owned()),
                cpus,
                memory,
            })
    }

    /// `tiny`, or `2 CPUs, 3072 MiB` for one given by size.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => format!(
                "{} CPU{}, {} MiB",
                self.cpus,
                if self.cpus == 1 { "" } else { "s" },
                self.memory
            ),
        }
    }
}

/// The Vagrant provider's options (`provider: {vagrant: {…}}`), as the experiment's state
/// keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VagrantOptions {
    /// The hypervisor.
    pub backend: Backend,
    /// The Vagrant box every VM starts from.
    #[serde(rename = "box")]
    pub vagrant_box: String,
    /// The flavour of the roles `flavours` does not name.
    pub flavour: Flavour,
    /// The flavour of each role that has its own, by role.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub flavours: IndexMap<String, Flavour>,
    /// The block the sites' networks are cut from: a /24 per site, in order.
    #[serde(with = "as_text")]
    pub subnet: Ipv4Net,
}

impl Default for VagrantOptions {
    fn default() -> Self {
        VagrantOptions {
            backend: Backend::default(),
            vagrant_box: DEFAULT_BOX.to_owned(),
            flavour: default_flavour(),
            flavours: IndexMap::new(),
            subnet: default_subnet(),
        }
    }
}

impl VagrantOptions {
    /// The flavour of the VMs of `role`.
    pub fn flavour_of(&self, role: &str) -> &Flavour {
        self.flavours.get(role).unwrap_or(&self.flavour)
    }

    /// How many sites the subnet holds: one /24 each.
    pub fn site_capacity(&self) -> u64 {
        site_capacity(&self.subnet)
    }
}

fn default_flavour() -> Flavour {
    Flavour {
        name: Some(DEFAULT_FLAVOUR.to_owned()),
        cpus: 1,
        memory: 512,
    }
}

fn default_subnet() -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::new(192, 168, 56, 0), 21).unwrap_or_default()
}

/// The number of /24 blocks in `subnet` (0 when it is smaller than a /24).
fn site_capacity(subnet: &Ipv4Net) -> u64 {
    match subnet.prefix_len() {
        len @ 0..=24 => 1u64 << (24 - len),
        _ => 0,
    }
}

/// The subnet written as text (`192.168.56.0/21`) in the state.
mod as_text {
    use ipnet::Ipv4Net;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(net: &Ipv4Net, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(net)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Ipv4Net, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The Vagrant provider's options as an experiment's state holds them
/// (`scenario.provider.options`, checked when the scenario was read).
pub fn options(value: &Value) -> Result<VagrantOptions, String> {
    serde_json::from_value(value.clone())
        .map_err(|e| format!("the vagrant provider's options: {e}"))
}

/// The Vagrant provider, as the scenario parser sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct VagrantKind;

const BASE: &str = "provider.vagrant";

impl ProviderKind for VagrantKind {
    fn name(&self) -> &'static str {
        "vagrant"
    }

    fn options_schema(&self) -> Value {
        schema()
    }

    fn check_options(&self, options: &Value, ctx: &mut OptionsContext<'_>) -> CheckedOptions {
        let checked = check(options, ctx);
        CheckedOptions::kept(serde_json::to_value(&checked).unwrap_or_else(|_| json!({})))
    }

    fn check_sites(&self, options: &Value, sites: &[Site], ctx: &mut OptionsContext<'_>) {
        let Ok(options) = self::options(options) else {
            return;
        };
        let capacity = options.site_capacity();
        let subnet_is = if ctx.is_written(&format!("{BASE}.subnet")) {
            format!("`{BASE}.subnet` {}", options.subnet)
        } else {
            format!("the default subnet {DEFAULT_SUBNET}")
        };
        if let Some(site) = usize::try_from(capacity)
            .ok()
            .and_then(|capacity| sites.get(capacity))
        {
            ctx.key_error(
                &format!("sites.{}", site.name),
                format!(
                    "{subnet_is} holds {capacity} site{} (a /24 each), the scenario has {}: give \
                     `{BASE}.subnet` a shorter prefix (VirtualBox allows host-only networks \
                     outside 192.168.56.0/21 only when /etc/vbox/networks.conf lists them)",
                    if capacity == 1 { "" } else { "s" },
                    sites.len()
                ),
            );
        }
        for site in sites {
            let hosts: u64 = site.roles.iter().map(|r| u64::from(r.count)).sum();
            if hosts > u64::from(MAX_HOSTS_PER_SITE) {
                ctx.key_error(
                    &format!("sites.{}", site.name),
                    format!(
                        "a site holds at most {MAX_HOSTS_PER_SITE} VMs (.{FIRST_HOST_BYTE} to .254 \
                         of its /24), site {} has {hosts}; split it into several sites",
                        quote(&site.name)
                    ),
                );
            }
        }
        let roles: Vec<&str> = sites
            .iter()
            .flat_map(|s| s.roles.iter().map(|r| r.role.as_str()))
            .fold(Vec::new(), |mut seen, role| {
                if !seen.contains(&role) {
                    seen.push(role);
                }
                seen
            });
        for role in options.flavours.keys() {
            if !roles.contains(&role.as_str()) {
                ctx.key_error(
                    &format!("{BASE}.flavours.{role}"),
                    format!(
                        "no site has the role {}; the roles are {}",
                        quote(role),
                        roles.join(", ")
                    ),
                );
            }
        }
    }
}

/// Checks the options at `provider.vagrant`, reporting every error; what cannot be read keeps
/// its default.
fn check(value: &Value, ctx: &mut OptionsContext<'_>) -> VagrantOptions {
    let mut options = VagrantOptions::default();
    let empty = Map::new();
    let map = match value {
        Value::Object(map) => map,
        Value::Null => &empty,
        other => {
            ctx.value_error(
                BASE,
                format!(
                    "expected the vagrant provider's options (a mapping such as `{{backend: \
                     libvirt, box: {DEFAULT_BOX}}}`), found {}",
                    describe(other)
                ),
            );
            return options;
        }
    };
    known_keys(ctx, map, BASE, &OPTION_KEYS);
    if let Some(value) = map.get("backend") {
        match value.as_str() {
            Some("libvirt") => options.backend = Backend::Libvirt,
            Some("virtualbox") => options.backend = Backend::Virtualbox,
            _ => ctx.value_error(
                &format!("{BASE}.backend"),
                format!(
                    "expected `libvirt` (the default) or `virtualbox`, found {}",
                    describe(value)
                ),
            ),
        }
    }
    if let Some(value) = map.get("box") {
        match value.as_str() {
            Some(text) if is_box_name(text) => options.vagrant_box = text.to_owned(),
            _ => ctx.value_error(
                &format!("{BASE}.box"),
                format!(
                    "expected a Vagrant box such as {DEFAULT_BOX} (no spaces or quotes), found {}",
                    describe(value)
                ),
            ),
        }
    }
    if let Some(value) = map.get("flavour")
        && let Some(flavour) = flavour(ctx, &format!("{BASE}.flavour"), value)
    {
        options.flavour = flavour;
    }
    if let Some(value) = map.get("flavours") {
        let path = format!("{BASE}.flavours");
        match value {
            Value::Object(roles) => {
                for (role, value) in roles {
                    let role_path = format!("{path}.{role}");
                    if let Err(why) = check_name(role, MAX_PART_LEN) {
                        ctx.key_error(&role_path, format!("bad role name: {why}"));
                        continue;
                    }
                    if let Some(flavour) = flavour(ctx, &role_path, value) {
                        options.flavours.insert(role.clone(), flavour);
                    }
                }
            }
            other => ctx.value_error(
                &path,
                format!(
                    "expected the flavour of each role that has its own, e.g. `{{control: \
                     extra-large, compute: {{cpus: 2, memory: 3072}}}}`, found {}",
                    describe(other)
                ),
            ),
        }
    }
    if let Some(value) = map.get("subnet") {
        let path = format!("{BASE}.subnet");
        match subnet(value) {
            Ok(net) => options.subnet = net,
            Err(why) => ctx.value_error(&path, why),
        }
    }
    options
}

/// Refuses the keys of `map` (at `path`) that are not `known`.
fn known_keys(ctx: &mut OptionsContext<'_>, map: &Map<String, Value>, path: &str, known: &[&str]) {
    for key in map.keys() {
        if !known.contains(&key.as_str()) {
            ctx.key_error(
                &format!("{path}.{key}"),
                format!("unknown key `{key}`, expected one of {}", known.join(", ")),
            );
        }
    }
}

/// A box name: printable, without spaces or quotes (`generic/debian12`, `debian/bookworm64`).
fn is_box_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 200
        && text
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\' | '`'))
}

fn flavour_names() -> String {
    FLAVOURS
        .iter()
        .map(|(name, _, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A flavour at `path`: a name among [`FLAVOURS`], or `{cpus, memory}`.
fn flavour(ctx: &mut OptionsContext<'_>, path: &str, value: &Value) -> Option<Flavour> {
    match value {
        Value::String(name) => {
            let found = Flavour::named(name);
            if found.is_none() {
                ctx.value_error(
                    path,
                    format!(
                        "unknown flavour {}, expected one of {} or `{{cpus: 2, memory: 2048}}`",
                        quote(name),
                        flavour_names()
                    ),
                );
            }
            found
        }
        Value::Object(map) => {
            known_keys(ctx, map, path, &FLAVOUR_KEYS);
            let cpus = bounded(
                ctx,
                map,
                path,
                ("cpus", "the number of CPUs", 2),
                1,
                MAX_CPUS,
            );
            let memory = bounded(
                ctx,
                map,
                path,
                ("memory", "the memory in MiB", 2048),
                MIN_MEMORY_MIB,
                MAX_MEMORY_MIB,
            );
            let ok = map.keys().all(|k| FLAVOUR_KEYS.contains(&k.as_str()));
            Some(Flavour {
                name: None,
                cpus: cpus?,
                memory: memory?,
            })
            .filter(|_| ok)
        }
        other => {
            ctx.value_error(
                path,
                format!(
                    "expected a flavour ({}) or `{{cpus: 2, memory: 2048}}`, found {}",
                    flavour_names(),
                    describe(other)
                ),
            );
            None
        }
    }
}

/// The whole number `key` of the mapping at `path`, from `min` to `max`; `(key, what it is, an
/// example value)`.
fn bounded(
    ctx: &mut OptionsContext<'_>,
    map: &Map<String, Value>,
    path: &str,
    (key, what, example): (&str, &str, u32),
    min: u32,
    max: u32,
) -> Option<u32> {
    let key_path = format!("{path}.{key}");
    match map.get(key) {
        None | Some(Value::Null) => {
            ctx.missing(&key_path, path, what, &format!("{key}: {example}"));
            None
        }
        Some(value) => {
            let found = value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (min..=max).contains(n));
            if found.is_none() {
                ctx.value_error(
                    &key_path,
                    format!(
                        "expected {what}, a whole number from {min} to {max}, found {}",
                        describe(value)
                    ),
                );
            }
            found
        }
    }
}

/// `subnet`: an IPv4 block of a /24 or more, written with its network address.
fn subnet(value: &Value) -> Result<Ipv4Net, String> {
    let expected = || {
        format!(
            "expected an IPv4 block such as {DEFAULT_SUBNET}, found {}",
            describe(value)
        )
    };
    let text = value.as_str().ok_or_else(expected)?;
    let net: Ipv4Net = text.trim().parse().map_err(|_| expected())?;
    if net.trunc() != net {
        return Err(format!(
            "{} has bits set after the prefix: did you mean {}?",
            quote(text),
            net.trunc()
        ));
    }
    if net.prefix_len() > 24 {
        return Err(format!(
            "each site takes a /24 of the subnet: it must be a /24 or larger, found a /{}",
            net.prefix_len()
        ));
    }
    Ok(net)
}

/// The JSON Schema of `provider.vagrant`.
fn schema() -> Value {
    let names: Vec<&str> = FLAVOURS.iter().map(|(name, _, _)| *name).collect();
    let table = FLAVOURS
        .iter()
        .map(|(name, cpus, memory)| format!("{name} {cpus} CPU/{memory} MiB"))
        .collect::<Vec<_>>()
        .join(", ");
    let flavour = json!({
        "description": format!("A flavour ({table}), or a size."),
        "oneOf": [
            {"enum": names},
            {
                "type": "object",
                "additionalProperties": false,
                "required": ["cpus", "memory"],
                "properties": {
                    "cpus": {"type": "integer", "minimum": 1, "maximum": MAX_CPUS},
                    "memory": {
                        "type": "integer",
                        "minimum": MIN_MEMORY_MIB,
                        "maximum": MAX_MEMORY_MIB,
                        "description": "Memory in MiB.",
                    },
                },
            },
        ],
    });
    json!({
        "type": "object",
        "additionalProperties": false,
        "description": "Options of the Vagrant provider: a VM per host, from a generated Vagrantfile.",
        "properties": {
            "backend": {
                "enum": ["libvirt", "virtualbox"],
                "default": "libvirt",
                "description": "The hypervisor: libvirt (with the vagrant-libvirt plugin) or VirtualBox.",
            },
            "box": {
                "type": "string",
                "default": DEFAULT_BOX,
                "description": "The Vagrant box every VM starts from.",
            },
            "flavour": {
                "default": DEFAULT_FLAVOUR,
                "description": "The flavour of every role that `flavours` does not name.",
                "oneOf": flavour["oneOf"].clone(),
            },
            "flavours": {
                "type": "object",
                "description": "The flavour of each role that has its own, by role.",
                "propertyNames": {"pattern": "^[a-z](-?[a-z0-9])*$", "maxLength": MAX_PART_LEN},
                "additionalProperties": flavour,
            },
            "subnet": {
                "type": "string",
                "default": DEFAULT_SUBNET,
                "description": "An IPv4 block of a /24 or more: each site gets the next /24 of it, its VMs .10 on. VirtualBox allows host-only networks in 192.168.56.0/21 only, unless /etc/vbox/networks.conf lists more.",
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_are_ipv4_blocks_of_a_24_or_more() {
        assert_eq!(
            subnet(&json!("10.0.0.0/16")).map(|n| n.to_string()),
            Ok("10.0.0.0/16".to_owned())
        );
        assert_eq!(site_capacity(&subnet(&json!("10.0.0.0/16")).unwrap()), 256);
        assert_eq!(site_capacity(&default_subnet()), 8);
        assert!(
            subnet(&json!("192.168.56.5/21"))
                .unwrap_err()
                .contains("did you mean 192.168.56.0/21?")
        );
        assert!(
            subnet(&json!("192.168.56.0/25"))
                .unwrap_err()
                .contains("/25")
        );
        for bad in [
            json!("fd00::/64"),
            json!("192.168.56.0"),
            json!(21),
            json!("x/8"),
        ] {
            assert!(subnet(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flavours_are_enoslib_s() {
        let large = Flavour::named("extra-large").unwrap();
        assert_eq!((large.cpus, large.memory), (6, 6144));
        assert_eq!(Flavour::named("huge"), None);
        assert_eq!(large.label(), "extra-large");
        let sized = Flavour {
            name: None,
            cpus: 2,
            memory: 3072,
        };
        assert_eq!(sized.label(), "2 CPUs, 3072 MiB");
    }

    #[test]
    fn the_state_form_reads_back() {
        let mut o = VagrantOptions::default();
        o.flavours
            .insert("control".into(), Flavour::named("big").unwrap());
        let value = serde_json::to_value(&o).unwrap();
        assert_eq!(value["subnet"], json!("192.168.56.0/21"));
        assert_eq!(value["box"], json!("generic/debian12"));
        assert_eq!(options(&value).unwrap(), o);
    }
}
