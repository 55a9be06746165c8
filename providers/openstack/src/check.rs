//! The checks of the OpenStack provider's options, each error located at the key or value it
//! is about; what the options must agree on with the scenario's sites (flavours of every role,
//! sites that exist, room in the private network); the options' JSON Schema.

use std::net::Ipv4Addr;

use enos_scenario::deploy::check_account;
use enos_scenario::{CheckedOptions, OptionsContext, ProviderKind, Site, check_name, describe};
use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::model::{
    DEFAULT_CIDR, Lease, LeaseRequest, NetworkChoice, OpenStackOptions, SiteOptions,
};
use crate::times;

const BASE: &str = "provider.openstack";
const OPTION_KEYS: [&str; 12] = [
    "cloud",
    "image",
    "flavour",
    "flavours",
    "user",
    "external_network",
    "network",
    "security_groups",
    "key_name",
    "region",
    "lease",
    "sites",
];
const NETWORK_KEYS: [&str; 3] = ["cidr", "dns_nameservers", "name"];
const LEASE_KEYS: [&str; 2] = ["reservation", "create"];
const LEASE_CREATE_KEYS: [&str; 3] = ["start", "end", "resource_properties"];
const SITE_KEYS: [&str; 1] = ["availability_zone"];
/// The longest name of an OpenStack resource (Nova and Neutron take 255 characters).
const MAX_RESOURCE_NAME: usize = 255;
/// The smallest and largest prefix of the private network.
const MIN_PREFIX: u8 = 8;
const MAX_PREFIX: u8 = 29;
/// Addresses of a subnet that no server gets: the network's, the gateway's, DHCP's and the
/// broadcast one.
const RESERVED_ADDRESSES: u64 = 4;

/// The OpenStack provider, as the scenario parser sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenStackKind;

impl ProviderKind for OpenStackKind {
    fn name(&self) -> &'static str {
        "openstack"
    }

    fn options_schema(&self) -> Value {
        schema()
    }

    fn check_options(&self, options: &Value, ctx: &mut OptionsContext<'_>) -> CheckedOptions {
        let Value::Object(map) = options else {
            ctx.value_error(
                BASE,
                format!(
                    "expected the openstack provider's options (a mapping with at least `image` \
                     and `user`), found {}",
                    describe(options)
                ),
            );
            return CheckedOptions::kept(json!({}));
        };
        match check(map, ctx) {
            Some(checked) => {
                CheckedOptions::kept(serde_json::to_value(&checked).unwrap_or_else(|_| json!({})))
            }
            None => CheckedOptions::kept(options.clone()),
        }
    }

    fn check_sites(&self, options: &Value, sites: &[Site], ctx: &mut OptionsContext<'_>) {
        // Options with errors were reported already; they are kept as written.
        if let Ok(options) = crate::model::options(options) {
            check_sites(&options, sites, ctx);
        }
    }
}

/// The options in `map`; `None` after an error (reported).
fn check(map: &Map<String, Value>, ctx: &mut OptionsContext<'_>) -> Option<OpenStackOptions> {
    let mut ok = known_keys(ctx, map, BASE, &OPTION_KEYS);
    // `provider: openstack` has no mapping of options to show: show the name.
    let parent = if ctx.is_written(BASE) {
        BASE
    } else {
        "provider"
    };
    let cloud = optional_text(ctx, map, "cloud", "a clouds.yaml entry such as chameleon");
    let image = match map.get("image") {
        None | Some(Value::Null) => {
            ctx.missing(
                &format!("{BASE}.image"),
                parent,
                "the image every server boots, by name or id",
                "image: debian-12",
            );
            None
        }
        Some(_) => optional_text(ctx, map, "image", "an image name or id such as debian-12")
            .and_then(|v| v),
    };
    let user = match map.get("user") {
        None | Some(Value::Null) => {
            ctx.missing(
                &format!("{BASE}.user"),
                parent,
                "the image's login user (debian on Debian's cloud images, ubuntu on Ubuntu's, \
                 cc on Chameleon's)",
                "user: debian",
            );
            None
        }
        Some(Value::String(text)) => match check_account(text, "user") {
            Ok(()) => Some(text.clone()),
            Err(why) => {
                ctx.value_error(&format!("{BASE}.user"), why);
                None
            }
        },
        Some(other) => {
            ctx.value_error(
                &format!("{BASE}.user"),
                format!(
                    "expected the image's login user such as debian, found {}",
                    describe(other)
                ),
            );
            None
        }
    };
    let flavour = optional_text(ctx, map, "flavour", "a flavour name or id such as m1.small");
    let flavours = flavours(ctx, map);
    let external_network = optional_text(
        ctx,
        map,
        "external_network",
        "an external network's name or id such as public",
    );
    let network = network(ctx, map);
    let security_groups = security_groups(ctx, map);
    let key_name = optional_text(ctx, map, "key_name", "a keypair's name");
    let region = optional_text(ctx, map, "region", "a region such as RegionOne");
    let lease = lease(ctx, map);
    let sites = sites(ctx, map);
    ok &= !ctx.failed();
    let options = OpenStackOptions {
        cloud: cloud?,
        image: image?,
        flavour: flavour?,
        flavours: flavours?,
        user: user?,
        external_network: external_network?,
        network: network?,
        security_groups: security_groups?,
        key_name: key_name?,
        region: region?,
        lease: lease?,
        sites: sites?,
    };
    ok.then_some(options)
}

/// Refuses the keys of `map` (at `path`) that are not `known`; whether all were.
fn known_keys(
    ctx: &mut OptionsContext<'_>,
    map: &Map<String, Value>,
    path: &str,
    known: &[&str],
) -> bool {
    let mut ok = true;
    for key in map.keys() {
        if !known.contains(&key.as_str()) {
            ctx.key_error(
                &format!("{path}.{key}"),
                format!("unknown key `{key}`, expected one of {}", known.join(", ")),
            );
            ok = false;
        }
    }
    ok
}

/// A name of an OpenStack thing (an image, a flavour, a network…): non-empty, one line, at
/// most 255 characters.
fn resource_name(value: &Value, what: &str) -> Result<String, String> {
    match value {
        Value::String(text)
            if !text.trim().is_empty()
                && text.len() <= MAX_RESOURCE_NAME
                && !text.chars().any(char::is_control) =>
        {
            Ok(text.clone())
        }
        Value::String(text) if text.trim().is_empty() => {
            Err(format!("expected {what}, found an empty text"))
        }
        Value::String(_) => Err(format!(
            "expected {what}: one line of at most {MAX_RESOURCE_NAME} characters"
        )),
        other => Err(format!("expected {what}, found {}", describe(other))),
    }
}

/// The optional text `key` of the options: `Some(None)` when absent, `None` after an error.
fn optional_text(
    ctx: &mut OptionsContext<'_>,
    map: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Option<Option<String>> {
    match map.get(key) {
        None | Some(Value::Null) => Some(None),
        Some(value) => match resource_name(value, what) {
            Ok(text) => Some(Some(text)),
            Err(why) => {
                ctx.value_error(&format!("{BASE}.{key}"), why);
                None
            }
        },
    }
}

/// `flavours`: role → flavour.
fn flavours(
    ctx: &mut OptionsContext<'_>,
    map: &Map<String, Value>,
) -> Option<IndexMap<String, String>> {
    let path = format!("{BASE}.flavours");
    let items = match map.get("flavours") {
        None | Some(Value::Null) => return Some(IndexMap::new()),
        Some(Value::Object(items)) => items,
        Some(other) => {
            ctx.value_error(
                &path,
                format!(
                    "expected a flavour per role (e.g. `flavours: {{control: m1.large}}`), found {}",
                    describe(other)
                ),
            );
            return None;
        }
    };
    let mut ok = true;
    let mut flavours = IndexMap::new();
    for (role, value) in items {
        let role_path = format!("{path}.{role}");
        if let Err(why) = check_name(role, enos_scenario::MAX_PART_LEN) {
            ctx.key_error(&role_path, format!("bad role name: {why}"));
            ok = false;
            continue;
        }
        match resource_name(value, "a flavour name or id such as m1.large") {
            Ok(flavour) => {
                flavours.insert(role.clone(), flavour);
            }
            Err(why) => {
                ctx.value_error(&role_path, why);
                ok = false;
            }
        }
    }
    ok.then_some(flavours)
}

/// `network`: `{cidr, dns_nameservers}` to make one, `{name}` to use one; the default CIDR when
/// absent.
fn network(ctx: &mut OptionsContext<'_>, map: &Map<String, Value>) -> Option<NetworkChoice> {
    let path = format!("{BASE}.network");
    let items = match map.get("network") {
        None | Some(Value::Null) => {
            return Some(NetworkChoice::Create {
                cidr: DEFAULT_CIDR.to_owned(),
                dns_nameservers: Vec::new(),
            });
        }
        Some(Value::Object(items)) => items,
        Some(other) => {
            ctx.value_error(
                &path,
                format!(
                    "expected `{{cidr: 10.87.0.0/24}}` (a network made for the experiment) or \
                     `{{name: NETWORK}}` (an existing one), found {}",
                    describe(other)
                ),
            );
            return None;
        }
    };
    if !known_keys(ctx, items, &path, &NETWORK_KEYS) {
        return None;
    }
    if let Some(name) = items.get("name") {
        if items.contains_key("cidr") || items.contains_key("dns_nameservers") {
            let extra = if items.contains_key("cidr") {
                "cidr"
            } else {
                "dns_nameservers"
            };
            ctx.key_error(
                &format!("{path}.{extra}"),
                "an existing network (`name`) is used as it is: `cidr` and `dns_nameservers` \
                 are for a network made for the experiment",
            );
            return None;
        }
        return match resource_name(name, "an existing network's name or id") {
            Ok(name) => Some(NetworkChoice::Existing { name }),
            Err(why) => {
                ctx.value_error(&format!("{path}.name"), why);
                None
            }
        };
    }
    let cidr = match items.get("cidr") {
        None | Some(Value::Null) => Some(DEFAULT_CIDR.to_owned()),
        Some(Value::String(text)) => match parse_cidr(text) {
            Ok(_) => Some(text.clone()),
            Err(why) => {
                ctx.value_error(&format!("{path}.cidr"), why);
                None
            }
        },
        Some(other) => {
            ctx.value_error(
                &format!("{path}.cidr"),
                format!(
                    "expected an IPv4 subnet such as 10.87.0.0/24, found {}",
                    describe(other)
                ),
            );
            None
        }
    };
    let dns_path = format!("{path}.dns_nameservers");
    let dns_nameservers = match items.get("dns_nameservers") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(list)) => {
            let mut servers = Vec::new();
            let mut ok = true;
            for (i, item) in list.iter().enumerate() {
                match item.as_str().map(str::parse::<std::net::IpAddr>) {
                    Some(Ok(_)) => servers.push(item.as_str().unwrap_or_default().to_owned()),
                    _ => {
                        ctx.value_error(
                            &format!("{dns_path}[{i}]"),
                            format!(
                                "expected a DNS server's IP address such as 9.9.9.9, found {}",
                                describe(item)
                            ),
                        );
                        ok = false;
                    }
                }
            }
            ok.then_some(servers)
        }
        Some(other) => {
            ctx.value_error(
                &dns_path,
                format!(
                    "expected a list of DNS servers' addresses (e.g. `[9.9.9.9]`), found {}",
                    describe(other)
                ),
            );
            None
        }
    };
    Some(NetworkChoice::Create {
        cidr: cidr?,
        dns_nameservers: dns_nameservers?,
    })
}

/// An IPv4 subnet `a.b.c.d/len`, the address being the network's, the prefix from 8 to 29.
pub(crate) fn parse_cidr(text: &str) -> Result<(Ipv4Addr, u8), String> {
    let bad = || {
        format!("'{text}' is not an IPv4 subnet: expected `address/prefix` such as 10.87.0.0/24")
    };
    let (address, prefix) = text.trim().split_once('/').ok_or_else(bad)?;
    let address: Ipv4Addr = address.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    if !(MIN_PREFIX..=MAX_PREFIX).contains(&prefix) {
        return Err(format!(
            "'{text}': the prefix must be from /{MIN_PREFIX} to /{MAX_PREFIX}"
        ));
    }
    let mask = u32::MAX << (32 - u32::from(prefix));
    if u32::from(address) & !mask != 0 {
        let network = Ipv4Addr::from(u32::from(address) & mask);
        return Err(format!(
            "'{text}' is not a network address: did you mean {network}/{prefix}?"
        ));
    }
    Ok((address, prefix))
}

/// `security_groups`: a list of at least one group name.
fn security_groups(
    ctx: &mut OptionsContext<'_>,
    map: &Map<String, Value>,
) -> Option<Option<Vec<String>>> {
    let path = format!("{BASE}.security_groups");
    let list = match map.get("security_groups") {
        None | Some(Value::Null) => return Some(None),
        Some(Value::Array(list)) if !list.is_empty() => list,
        Some(other) => {
            ctx.value_error(
                &path,
                format!(
                    "expected a list of at least one security group (e.g. `[default]`), found {}",
                    describe(other)
                ),
            );
            return None;
        }
    };
    let mut groups = Vec::new();
    let mut ok = true;
    for (i, item) in list.iter().enumerate() {
        match resource_name(item, "a security group's name or id") {
            Ok(name) if groups.contains(&name) => {
                ctx.value_error(
                    &format!("{path}[{i}]"),
                    format!("the security group '{name}' is given twice"),
                );
                ok = false;
            }
            Ok(name) => groups.push(name),
            Err(why) => {
                ctx.value_error(&format!("{path}[{i}]"), why);
                ok = false;
            }
        }
    }
    ok.then_some(Some(groups))
}

/// `lease`: `{reservation: ID}` or `{create: {start, end, resource_properties}}`.
fn lease(ctx: &mut OptionsContext<'_>, map: &Map<String, Value>) -> Option<Option<Lease>> {
    let path = format!("{BASE}.lease");
    let items = match map.get("lease") {
        None | Some(Value::Null) => return Some(None),
        Some(Value::Object(items)) => items,
        Some(other) => {
            ctx.value_error(
                &path,
                format!(
                    "expected `{{reservation: ID}}` (an existing Blazar reservation) or \
                     `{{create: {{start: now, end: +4h}}}}`, found {}",
                    describe(other)
                ),
            );
            return None;
        }
    };
    if !known_keys(ctx, items, &path, &LEASE_KEYS) {
        return None;
    }
    match (items.get("reservation"), items.get("create")) {
        (Some(_), Some(_)) => {
            ctx.key_error(
                &format!("{path}.create"),
                "give `reservation` (an existing reservation) or `create` (a lease to make), \
                 not both",
            );
            None
        }
        (Some(id), None) => match resource_name(id, "a Blazar reservation's id") {
            Ok(id) => Some(Some(Lease::Reservation(id))),
            Err(why) => {
                ctx.value_error(&format!("{path}.reservation"), why);
                None
            }
        },
        (None, Some(create)) => {
            let create_path = format!("{path}.create");
            let Value::Object(create) = create else {
                ctx.value_error(
                    &create_path,
                    format!(
                        "expected the lease to make (e.g. `{{start: now, end: +4h}}`), found {}",
                        describe(create)
                    ),
                );
                return None;
            };
            if !known_keys(ctx, create, &create_path, &LEASE_CREATE_KEYS) {
                return None;
            }
            let text = |ctx: &mut OptionsContext<'_>, key: &str| -> Option<Option<String>> {
                match create.get(key) {
                    None | Some(Value::Null) => Some(None),
                    Some(Value::String(text)) => Some(Some(text.clone())),
                    Some(other) => {
                        ctx.value_error(
                            &format!("{create_path}.{key}"),
                            format!("expected a text, found {}", describe(other)),
                        );
                        None
                    }
                }
            };
            let start = text(ctx, "start")?.unwrap_or_else(|| "now".to_owned());
            let Some(end) = text(ctx, "end")? else {
                ctx.missing(
                    &format!("{create_path}.end"),
                    &create_path,
                    "when the lease ends: a UTC time or a length after the start",
                    "end: +4h",
                );
                return None;
            };
            let resource_properties = text(ctx, "resource_properties")?;
            if let Err((key, why)) = times::check_window(&start, &end) {
                ctx.value_error(&format!("{create_path}.{key}"), why);
                return None;
            }
            Some(Some(Lease::Create(LeaseRequest {
                start,
                end,
                resource_properties,
            })))
        }
        (None, None) => {
            ctx.value_error(
                &path,
                "expected `reservation: ID` (an existing Blazar reservation) or `create: {start: \
                 now, end: +4h}`",
            );
            None
        }
    }
}

/// `sites`: site → `{availability_zone}`.
fn sites(
    ctx: &mut OptionsContext<'_>,
    map: &Map<String, Value>,
) -> Option<IndexMap<String, SiteOptions>> {
    let path = format!("{BASE}.sites");
    let items = match map.get("sites") {
        None | Some(Value::Null) => return Some(IndexMap::new()),
        Some(Value::Object(items)) => items,
        Some(other) => {
            ctx.value_error(
                &path,
                format!(
                    "expected options per site (e.g. `sites: {{paris: {{availability_zone: \
                     nova}}}}`), found {}",
                    describe(other)
                ),
            );
            return None;
        }
    };
    let mut ok = true;
    let mut sites = IndexMap::new();
    for (site, value) in items {
        let site_path = format!("{path}.{site}");
        let Value::Object(site_map) = value else {
            ctx.value_error(
                &site_path,
                format!(
                    "expected the site's options (e.g. `{{availability_zone: nova}}`), found {}",
                    describe(value)
                ),
            );
            ok = false;
            continue;
        };
        if !known_keys(ctx, site_map, &site_path, &SITE_KEYS) {
            ok = false;
            continue;
        }
        let zone = match site_map.get("availability_zone") {
            None | Some(Value::Null) => None,
            Some(value) => match resource_name(value, "an availability zone such as nova") {
                Ok(zone) => Some(zone),
                Err(why) => {
                    ctx.value_error(&format!("{site_path}.availability_zone"), why);
                    ok = false;
                    continue;
                }
            },
        };
        sites.insert(
            site.clone(),
            SiteOptions {
                availability_zone: zone,
            },
        );
    }
    ok.then_some(sites)
}

/// What the options must agree on with the scenario's sites.
fn check_sites(options: &OpenStackOptions, sites: &[Site], ctx: &mut OptionsContext<'_>) {
    let site_names: Vec<&str> = sites.iter().map(|s| s.name.as_str()).collect();
    for site in options.sites.keys() {
        if !site_names.contains(&site.as_str()) {
            ctx.key_error(
                &format!("{BASE}.sites.{site}"),
                format!(
                    "no site '{site}' in `sites:` (it has {})",
                    site_names.join(", ")
                ),
            );
        }
    }
    let mut roles: Vec<&str> = Vec::new();
    for role in sites.iter().flat_map(|s| &s.roles) {
        if !roles.contains(&role.role.as_str()) {
            roles.push(&role.role);
        }
    }
    for role in options.flavours.keys() {
        if !roles.contains(&role.as_str()) {
            ctx.key_error(
                &format!("{BASE}.flavours.{role}"),
                format!(
                    "no site has a role '{role}' (the roles are {})",
                    roles.join(", ")
                ),
            );
        }
    }
    let without: Vec<&str> = roles
        .iter()
        .copied()
        .filter(|role| options.flavour_of(role).is_none())
        .collect();
    if !without.is_empty() {
        let parent = if ctx.is_written(BASE) {
            BASE
        } else {
            "provider"
        };
        ctx.missing(
            &format!("{BASE}.flavour"),
            parent,
            &format!(
                "the flavour of role{} {} (or give {} one under `flavours`)",
                if without.len() == 1 { "" } else { "s" },
                without.join(", "),
                if without.len() == 1 { "it" } else { "each" }
            ),
            "flavour: m1.small",
        );
    }
    if let NetworkChoice::Create { cidr, .. } = &options.network
        && let Ok((_, prefix)) = parse_cidr(cidr)
    {
        let hosts: u64 = sites
            .iter()
            .flat_map(|s| &s.roles)
            .map(|r| u64::from(r.count))
            .sum();
        let room = (1u64 << (32 - u32::from(prefix))).saturating_sub(RESERVED_ADDRESSES);
        if hosts > room {
            let path = format!("{BASE}.network.cidr");
            let message = format!(
                "{cidr} has room for {room} servers, the scenario asks for {hosts}: give a \
                 larger subnet"
            );
            if ctx.is_written(&path) {
                ctx.value_error(&path, message);
            } else {
                ctx.key_error(BASE, format!("the default network {message}"));
            }
        }
    }
}

/// The JSON Schema of `provider.openstack`.
fn schema() -> Value {
    let name = |what: &str| json!({"type": "string", "minLength": 1, "maxLength": MAX_RESOURCE_NAME, "description": what});
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["image", "user"],
        "description": "Options of the openstack provider: Nova servers on an OpenStack cloud, reached through one floating IP.",
        "properties": {
            "cloud": name("The clouds.yaml entry holding the credentials (default: OS_CLOUD, else the OS_* environment of an openrc file)."),
            "image": name("The image every server boots, by name or id."),
            "flavour": name("The flavour of every role without its own under `flavours`."),
            "flavours": {
                "type": "object",
                "description": "The flavour of each role that has its own.",
                "additionalProperties": name("A flavour name or id."),
            },
            "user": {
                "type": "string",
                "description": "The image's login user (debian, ubuntu, cc on Chameleon); commands needing root run through sudo unless it is root. No default.",
            },
            "external_network": name("The external network of the router's gateway and the floating IP (default: the first external network)."),
            "network": {
                "description": "The servers' network: made for the experiment (`cidr`), or an existing one (`name`).",
                "oneOf": [
                    {
                        "type": "object",
                        "additionalProperties": false,
                        "properties": {
                            "cidr": {"type": "string", "default": DEFAULT_CIDR, "description": "The IPv4 subnet made, e.g. 10.87.0.0/24."},
                            "dns_nameservers": {"type": "array", "items": {"type": "string"}, "description": "The subnet's DNS servers (default: the cloud's)."},
                        },
                    },
                    {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["name"],
                        "properties": {"name": name("An existing network, used as it is.")},
                    },
                ],
            },
            "security_groups": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": true,
                "items": name("A security group's name or id."),
                "description": "Security groups used as they are (default: one made for the experiment: SSH from anywhere, everything between its servers).",
            },
            "key_name": name("A keypair of yours to put on the servers too (default: one made from the experiment's key)."),
            "region": name("The region whose endpoints are used (default: OS_REGION_NAME or the clouds.yaml entry's)."),
            "lease": {
                "description": "A Blazar reservation (Chameleon): an existing one, or a lease to make.",
                "oneOf": [
                    {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["reservation"],
                        "properties": {"reservation": name("The reservation's id, given to Nova as a scheduler hint.")},
                    },
                    {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["create"],
                        "properties": {
                            "create": {
                                "type": "object",
                                "additionalProperties": false,
                                "required": ["end"],
                                "properties": {
                                    "start": {"type": "string", "default": "now", "description": "`now` or a UTC time `YYYY-MM-DD HH:MM`."},
                                    "end": {"type": "string", "description": "A UTC time `YYYY-MM-DD HH:MM`, or a length after the start such as `+4h`."},
                                    "resource_properties": {"type": "string", "description": "Blazar's filter on the hosts, e.g. `[\"==\", \"$node_type\", \"compute_skylake\"]`."},
                                },
                            },
                        },
                    },
                ],
            },
            "sites": {
                "type": "object",
                "description": "Per scenario site: where its servers go.",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {"availability_zone": name("The Nova availability zone of the site's servers.")},
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_are_ipv4_networks() {
        assert_eq!(
            parse_cidr("10.87.0.0/24"),
            Ok((Ipv4Addr::new(10, 87, 0, 0), 24))
        );
        assert_eq!(
            parse_cidr("10.87.0.5/24"),
            Err("'10.87.0.5/24' is not a network address: did you mean 10.87.0.0/24?".into())
        );
        for bad in [
            "10.87.0.0",
            "10.87.0.0/30",
            "10.87.0.0/4",
            "fd00::/64",
            "x/24",
        ] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
    }
}
