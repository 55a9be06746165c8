//! The checks of the static provider's options, each error located at the key or value it is
//! about, in the scenario or in the hosts file; the sites the hosts define; the options' schema.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

use enos_scenario::deploy::check_account;
use enos_scenario::{
    CheckedOptions, MAX_PART_LEN, OptionsContext, ProviderKind, RoleCount, Site, check_name,
    describe, quote,
};
use serde_json::{Map, Value, json};

use crate::model::{Become, Jump, StaticHost, StaticOptions};

/// The longest host name given with `name` (a DNS label).
pub const MAX_HOST_NAME_LEN: usize = 63;
/// The longest interface name Linux takes.
const MAX_INTERFACE_LEN: usize = 15;
/// The SSH port unless one is written.
const SSH_PORT: u16 = 22;
/// The user unless one is written.
const ROOT: &str = "root";

const OPTION_KEYS: [&str; 2] = ["hosts", "known_hosts"];
const HOST_KEYS: [&str; 10] = [
    "name",
    "address",
    "port",
    "user",
    "identity",
    "jump",
    "site",
    "roles",
    "interface",
    "become",
];
const JUMP_KEYS: [&str; 4] = ["address", "port", "user", "identity"];

/// The static provider, as the scenario parser sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct StaticKind;

impl ProviderKind for StaticKind {
    fn name(&self) -> &'static str {
        "static"
    }

    fn options_schema(&self) -> Value {
        schema()
    }

    fn check_options(&self, options: &Value, ctx: &mut OptionsContext<'_>) -> CheckedOptions {
        let base = "provider.static";
        let Value::Object(map) = options else {
            ctx.value_error(
                base,
                format!(
                    "expected the static provider's options (a mapping with `hosts`), found {}",
                    describe(options)
                ),
            );
            return CheckedOptions {
                options: json!({}),
                sites: Some(Vec::new()),
            };
        };
        for key in map.keys() {
            if !OPTION_KEYS.contains(&key.as_str()) {
                ctx.key_error(
                    &format!("{base}.{key}"),
                    format!(
                        "unknown key `{key}`, expected one of {}",
                        OPTION_KEYS.join(", ")
                    ),
                );
            }
        }
        let path = format!("{base}.hosts");
        let hosts = match map.get("hosts") {
            None => {
                // `provider: static` has no mapping of options to show: show the name.
                let parent = if ctx.is_written(base) {
                    base
                } else {
                    "provider"
                };
                ctx.missing(
                    &path,
                    parent,
                    "the hosts: a list, or a file holding it",
                    "hosts: [{address: 10.0.0.11, site: paris, roles: [server]}]",
                );
                Vec::new()
            }
            Some(Value::String(file)) if !file.trim().is_empty() => ctx
                .read_side_file(
                    &path,
                    file,
                    "a list of hosts (each with address, site and roles)",
                    |value, ctx| hosts(value, "", ctx),
                )
                .unwrap_or_default(),
            Some(value) => hosts(value, &path, ctx),
        };
        let known_hosts = map.get("known_hosts").and_then(|value| {
            let path = format!("{base}.known_hosts");
            match value {
                Value::String(text) => local_file(&path, text, ctx),
                other => {
                    ctx.value_error(
                        &path,
                        format!("expected a known_hosts file, found {}", describe(other)),
                    );
                    None
                }
            }
        });
        let sites = sites(&hosts);
        let options = StaticOptions { hosts, known_hosts };
        CheckedOptions {
            options: serde_json::to_value(&options).unwrap_or_else(|_| json!({})),
            sites: Some(sites),
        }
    }
}

/// The sites the hosts define: in the order they first appear, with their roles in the order
/// they first appear, and each role's hosts by name.
fn sites(hosts: &[StaticHost]) -> Vec<Site> {
    let mut sites: Vec<Site> = Vec::new();
    for host in hosts {
        let at = match sites.iter().position(|s| s.name == host.site) {
            Some(at) => at,
            None => {
                sites.push(Site {
                    name: host.site.clone(),
                    roles: Vec::new(),
                });
                sites.len() - 1
            }
        };
        let site = &mut sites[at];
        for role in &host.roles {
            match site.roles.iter_mut().find(|r| &r.role == role) {
                Some(count) => {
                    count.count += 1;
                    count.names.push(host.name.clone());
                }
                None => site.roles.push(RoleCount {
                    role: role.clone(),
                    count: 1,
                    names: vec![host.name.clone()],
                }),
            }
        }
    }
    sites
}

/// A host as checked, before its name is settled.
struct Checked {
    path: String,
    name: Option<String>,
    host: StaticHost,
}

/// The list of hosts at `base` (`provider.static.hosts`, or the root of a hosts file).
fn hosts(value: &Value, base: &str, ctx: &mut OptionsContext<'_>) -> Vec<StaticHost> {
    let Value::Array(items) = value else {
        ctx.value_error(
            base,
            format!(
                "expected a list of hosts (each with address, site and roles), or the file \
                 holding it, found {}",
                describe(value)
            ),
        );
        return Vec::new();
    };
    if items.is_empty() {
        ctx.value_error(
            base,
            "expected at least one host, e.g. `[{address: 10.0.0.11, site: paris, roles: \
             [server]}]`",
        );
    }
    let checked: Vec<Checked> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| host(&format!("{base}[{i}]"), item, ctx))
        .collect();
    settle_names(checked, ctx)
}

/// Gives every host its name (the one written, or `<site>-<first role>-<n>`), and refuses two
/// hosts of one name or address, and a host named like a site or a role.
fn settle_names(checked: Vec<Checked>, ctx: &mut OptionsContext<'_>) -> Vec<StaticHost> {
    let mut seen: HashMap<(String, String), u32> = HashMap::new();
    let mut hosts = Vec::new();
    let mut written = Vec::new();
    for Checked {
        path,
        name,
        mut host,
    } in checked
    {
        let first = host.roles.first().cloned().unwrap_or_default();
        let mut index = 0;
        for role in &host.roles {
            let n = seen.entry((host.site.clone(), role.clone())).or_insert(0);
            *n += 1;
            if *role == first {
                index = *n;
            }
        }
        host.name = name
            .clone()
            .unwrap_or_else(|| format!("{}-{first}-{index}", host.site));
        written.push((path, name.is_some()));
        hosts.push(host);
    }
    let site_names: Vec<&str> = hosts.iter().map(|h| h.site.as_str()).collect();
    for (host, (path, _)) in hosts.iter().zip(&written) {
        for (j, role) in host.roles.iter().enumerate() {
            if site_names.contains(&role.as_str()) {
                ctx.value_error(
                    &format!("{path}.roles[{j}]"),
                    format!(
                        "'{role}' is both a site and a role; inventories need distinct group \
                         names"
                    ),
                );
            }
        }
    }
    let groups: Vec<&str> = hosts
        .iter()
        .flat_map(|h| std::iter::once(h.site.as_str()).chain(h.roles.iter().map(String::as_str)))
        .collect();
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut addresses: HashMap<String, usize> = HashMap::new();
    for (i, host) in hosts.iter().enumerate() {
        let (path, explicit) = &written[i];
        let name_path = if *explicit {
            format!("{path}.name")
        } else {
            path.clone()
        };
        let report = |ctx: &mut OptionsContext<'_>, message: String| {
            if *explicit {
                ctx.value_error(&name_path, message);
            } else {
                ctx.key_error(&name_path, message);
            }
        };
        if let Some(&other) = names.get(host.name.as_str()) {
            report(
                ctx,
                format!(
                    "two hosts are named {}: this one and the one at {}; give one another `name`",
                    quote(&host.name),
                    written[other].0
                ),
            );
        } else {
            names.insert(&host.name, i);
        }
        if groups.contains(&host.name.as_str()) {
            report(
                ctx,
                format!(
                    "{} names a site or a role already; inventories need distinct names",
                    quote(&host.name)
                ),
            );
        }
        let address = canonical_address(&host.address);
        if let Some(&other) = addresses.get(&address) {
            ctx.value_error(
                &format!("{path}.address"),
                format!(
                    "the host at {} has this address already: the WAN tells hosts apart by \
                     their address",
                    written[other].0
                ),
            );
        } else {
            addresses.insert(address, i);
        }
    }
    hosts
}

/// An address as compared for duplicates: an IP in its canonical form, a name in lowercase.
fn canonical_address(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(ip) => ip.to_canonical().to_string(),
        Err(_) => address.trim_end_matches('.').to_ascii_lowercase(),
    }
}

/// One host at `path`; `None` when it has errors (reported).
fn host(path: &str, value: &Value, ctx: &mut OptionsContext<'_>) -> Option<Checked> {
    let Value::Object(map) = value else {
        ctx.value_error(
            path,
            format!(
                "expected a host, a mapping with address, site and roles (e.g. `{{address: \
                 10.0.0.11, site: paris, roles: [server]}}`), found {}",
                describe(value)
            ),
        );
        return None;
    };
    let ok = known_keys(ctx, map, path, &HOST_KEYS);
    let address = address(ctx, map, path, "its", "address: 10.0.0.11");
    let port = port_or_default(ctx, map, path);
    let user = map
        .get("user")
        .map(|v| user(ctx, &format!("{path}.user"), v))
        .unwrap_or_else(|| Some(ROOT.to_owned()));
    let identity = optional_file(ctx, map, path, "identity", "a private key file");
    let site = required_text(ctx, map, path, "site", "its site", "site: paris").and_then(|site| {
        match check_name(&site, MAX_PART_LEN) {
            Ok(()) => Some(site),
            Err(why) => {
                ctx.value_error(&format!("{path}.site"), format!("bad site name: {why}"));
                None
            }
        }
    });
    let roles = roles(ctx, map, path);
    let name = match map.get("name") {
        None => Some(None),
        Some(Value::String(name)) => match check_name(name, MAX_HOST_NAME_LEN) {
            Ok(()) => Some(Some(name.clone())),
            Err(why) => {
                ctx.value_error(&format!("{path}.name"), format!("bad host name: {why}"));
                None
            }
        },
        Some(other) => {
            ctx.value_error(
                &format!("{path}.name"),
                format!(
                    "expected a host name such as paris-gw, found {}",
                    describe(other)
                ),
            );
            None
        }
    };
    let interface = match map.get("interface") {
        None => Some(None),
        Some(Value::String(text)) if is_interface(text) => Some(Some(text.clone())),
        Some(other) => {
            ctx.value_error(
                &format!("{path}.interface"),
                format!(
                    "expected an interface name such as eth1 (letters, digits, `-`, `_` and `.`, \
                     at most {MAX_INTERFACE_LEN}), found {}",
                    describe(other)
                ),
            );
            None
        }
    };
    let r#become = match map.get("become") {
        None => Some(None),
        Some(Value::String(text)) if text == "sudo" => Some(Some(Become::Sudo)),
        Some(other) => {
            ctx.value_error(
                &format!("{path}.become"),
                format!(
                    "expected `sudo` (the only way this version gets root), found {}",
                    describe(other)
                ),
            );
            None
        }
    };
    // The jump host's user and key default to the host's.
    let jump = match map.get("jump") {
        None => Some(None),
        Some(value) => {
            let host_user = user.as_deref().unwrap_or(ROOT);
            let host_identity = identity.as_ref().and_then(Option::as_ref);
            jump(
                ctx,
                &format!("{path}.jump"),
                value,
                host_user,
                host_identity,
            )
            .map(Some)
        }
    };
    let user = user?;
    let r#become = r#become?.or((user != ROOT).then_some(Become::Sudo));
    let host = StaticHost {
        name: String::new(),
        address: address?,
        port: port?,
        user,
        identity: identity?,
        jump: jump?,
        site: site?,
        roles: roles?,
        interface: interface?,
        r#become,
    };
    ok.then_some(Checked {
        path: path.to_owned(),
        name: name?,
        host,
    })
}

/// A required, non-empty text value `key` of the mapping at `path`.
fn required_text(
    ctx: &mut OptionsContext<'_>,
    map: &Map<String, Value>,
    path: &str,
    key: &str,
    what: &str,
    example: &str,
) -> Option<String> {
    let key_path = format!("{path}.{key}");
    match map.get(key) {
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text.clone()),
        None | Some(Value::Null) => {
            ctx.missing(&key_path, path, what, example);
            None
        }
        Some(other) => {
            ctx.value_error(
                &key_path,
                format!(
                    "expected {what} (e.g. `{example}`), found {}",
                    describe(other)
                ),
            );
            None
        }
    }
}

/// `roles`: a non-empty list of role names, each once.
fn roles(
    ctx: &mut OptionsContext<'_>,
    map: &Map<String, Value>,
    path: &str,
) -> Option<Vec<String>> {
    let roles_path = format!("{path}.roles");
    let items = match map.get("roles") {
        None | Some(Value::Null) => {
            ctx.missing(&roles_path, path, "the host's roles", "roles: [server]");
            return None;
        }
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => {
            ctx.value_error(
                &roles_path,
                "expected at least one role (e.g. `roles: [server]`), found an empty list",
            );
            return None;
        }
        Some(other) => {
            ctx.value_error(
                &roles_path,
                format!(
                    "expected a list of at least one role (e.g. `roles: [server]`), found {}",
                    describe(other)
                ),
            );
            return None;
        }
    };
    let mut roles: Vec<String> = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{roles_path}[{i}]");
        let problem = match item {
            Value::String(role) => match check_name(role, MAX_PART_LEN) {
                Ok(()) if roles.contains(role) => {
                    Some(format!("the role {} is given twice", quote(role)))
                }
                Ok(()) if !roles.is_empty() => Some(format!(
                    "a host plays one role in this version (the testbed, the WAN's selectors and \
                     deploy steps see one role per host); {} is the second",
                    quote(role)
                )),
                Ok(()) => {
                    roles.push(role.clone());
                    None
                }
                Err(why) => Some(format!("bad role name: {why}")),
            },
            other => Some(format!(
                "expected a role name such as server, found {}",
                describe(other)
            )),
        };
        if let Some(problem) = problem {
            ctx.value_error(&item_path, problem);
            ok = false;
        }
    }
    ok.then_some(roles)
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

/// The required `address` of `map` (at `path`): an IP address or a DNS name; `whose` says
/// whose in the message (`its`, `the jump host's`).
fn address(
    ctx: &mut OptionsContext<'_>,
    map: &Map<String, Value>,
    path: &str,
    whose: &str,
    example: &str,
) -> Option<String> {
    let what = format!("{whose} IP address or DNS name");
    required_text(ctx, map, path, "address", &what, example).and_then(|text| {
        let key = format!("{path}.address");
        check_address(&text)
            .map(|()| text)
            .map_err(|why| ctx.value_error(&key, why))
            .ok()
    })
}

/// The `port` of `map` (at `path`), 22 when absent.
fn port_or_default(
    ctx: &mut OptionsContext<'_>,
    map: &Map<String, Value>,
    path: &str,
) -> Option<u16> {
    map.get("port")
        .map(|v| port(ctx, &format!("{path}.port"), v))
        .unwrap_or(Some(SSH_PORT))
}

/// An SSH port: a whole number from 1 to 65535.
fn port(ctx: &mut OptionsContext<'_>, path: &str, value: &Value) -> Option<u16> {
    match value.as_u64().and_then(|p| u16::try_from(p).ok()) {
        Some(p) if p >= 1 => Some(p),
        _ => {
            ctx.value_error(
                path,
                format!("expected a port from 1 to 65535, found {}", describe(value)),
            );
            None
        }
    }
}

/// A user name.
fn user(ctx: &mut OptionsContext<'_>, path: &str, value: &Value) -> Option<String> {
    let checked = match value {
        Value::String(text) => check_account(text, "user").map(|()| text.clone()),
        other => Err(format!(
            "expected a user name such as debian, found {}",
            describe(other)
        )),
    };
    checked.map_err(|why| ctx.value_error(path, why)).ok()
}

/// An optional file `key` of the mapping at `path`: `Some(None)` when absent, `None` after an
/// error.
fn optional_file(
    ctx: &mut OptionsContext<'_>,
    map: &Map<String, Value>,
    path: &str,
    key: &str,
    what: &str,
) -> Option<Option<PathBuf>> {
    let key_path = format!("{path}.{key}");
    match map.get(key) {
        None => Some(None),
        Some(Value::String(text)) => local_file(&key_path, text, ctx).map(Some),
        Some(other) => {
            ctx.value_error(
                &key_path,
                format!("expected {what}, found {}", describe(other)),
            );
            None
        }
    }
}

/// A file of this machine named at `path`: absolute, or relative to the directory of the file
/// naming it; it must exist.
fn local_file(path: &str, text: &str, ctx: &mut OptionsContext<'_>) -> Option<PathBuf> {
    if text.starts_with('~') {
        ctx.value_error(
            path,
            format!(
                "{}: `~` is not expanded; write the path in full, or relative to the directory of \
                 {}",
                quote(text),
                ctx.file()
            ),
        );
        return None;
    }
    let file = ctx.dir().join(text);
    if text.trim().is_empty() || !file.is_file() {
        ctx.value_error(
            path,
            format!(
                "no file {} (relative to the directory of {})",
                quote(text),
                ctx.file()
            ),
        );
        return None;
    }
    Some(file)
}

/// `jump`: `[user@]address[:port]`, or a mapping `{address, port, user, identity}`; the user
/// and identity default to the host's.
fn jump(
    ctx: &mut OptionsContext<'_>,
    path: &str,
    value: &Value,
    host_user: &str,
    host_identity: Option<&PathBuf>,
) -> Option<Jump> {
    match value {
        Value::String(text) => match parse_jump(text) {
            Ok((user, address, port)) => Some(Jump {
                address,
                port: port.unwrap_or(SSH_PORT),
                user: user.unwrap_or_else(|| host_user.to_owned()),
                identity: host_identity.cloned(),
            }),
            Err(why) => {
                ctx.value_error(path, why);
                None
            }
        },
        Value::Object(map) => {
            let ok = known_keys(ctx, map, path, &JUMP_KEYS);
            let address = address(ctx, map, path, "the jump host's", "address: gw.example.org");
            let port = port_or_default(ctx, map, path);
            let user = map
                .get("user")
                .map(|v| user(ctx, &format!("{path}.user"), v))
                .unwrap_or_else(|| Some(host_user.to_owned()));
            let identity = optional_file(ctx, map, path, "identity", "a private key file")?
                .or_else(|| host_identity.cloned());
            let jump = Jump {
                address: address?,
                port: port?,
                user: user?,
                identity,
            };
            ok.then_some(jump)
        }
        other => {
            ctx.value_error(
                path,
                format!(
                    "expected a jump host, `user@host:port` or a mapping with address, port, \
                     user and identity, found {}",
                    describe(other)
                ),
            );
            None
        }
    }
}

/// `[user@]address[:port]`, with an IPv6 address in brackets when a port follows.
fn parse_jump(text: &str) -> Result<(Option<String>, String, Option<u16>), String> {
    let expected = || {
        format!(
            "{} is not a jump host: expected `user@host:port` (user and port optional; an IPv6 \
             address in brackets)",
            quote(text)
        )
    };
    let (user, rest) = match text.split_once('@') {
        Some((user, rest)) => {
            check_account(user, "user")?;
            (Some(user.to_owned()), rest)
        }
        None => (None, text),
    };
    let (address, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (v6, after) = inner.split_once(']').ok_or_else(expected)?;
        v6.parse::<Ipv6Addr>().map_err(|_| expected())?;
        match after {
            "" => (v6, None),
            _ => (v6, Some(after.strip_prefix(':').ok_or_else(expected)?)),
        }
    } else if rest.parse::<Ipv6Addr>().is_ok() {
        (rest, None)
    } else {
        match rest.split_once(':') {
            Some((address, port)) => (address, Some(port)),
            None => (rest, None),
        }
    };
    check_address(address).map_err(|_| expected())?;
    let port = match port {
        None => None,
        Some(digits) => match digits.parse::<u16>() {
            Ok(p) if p >= 1 && digits.bytes().all(|b| b.is_ascii_digit()) => Some(p),
            _ => {
                return Err(format!(
                    "{}: the port must be a number from 1 to 65535",
                    quote(text)
                ));
            }
        },
    };
    Ok((user, address.to_owned(), port))
}

/// An IP address or a DNS name: dot-separated labels of letters, digits and `-` (not at either
/// end of a label), at most 253 characters.
fn check_address(text: &str) -> Result<(), String> {
    if text.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if let Some((user, _)) = text.split_once('@') {
        return Err(format!(
            "{} is not an address: write the user under `user: {user}`",
            quote(text)
        ));
    }
    let name = text.strip_suffix('.').unwrap_or(text);
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{} is not an IP address or a DNS name (letters, digits, `-` and dots)",
            quote(text)
        ))
    }
}

/// A Linux interface name: 1 to 15 letters, digits, `-`, `_` and `.`, not `.` or `..`.
fn is_interface(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_INTERFACE_LEN
        && text != "."
        && text != ".."
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The JSON Schema of `provider.static`.
fn schema() -> Value {
    let name = |what: &str| {
        json!({
            "type": "string",
            "pattern": "^[a-z](-?[a-z0-9])*$",
            "maxLength": MAX_PART_LEN,
            "description": format!("A {what} name: lowercase letters, digits and dashes, starting with a letter."),
        })
    };
    let address = json!({"type": "string", "description": "An IP address or a DNS name."});
    let port = json!({"type": "integer", "minimum": 1, "maximum": 65535, "default": SSH_PORT});
    let identity = json!({
        "type": "string",
        "description": "A private key file: absolute, or relative to the directory of the file naming it.",
    });
    let host = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["address", "site", "roles"],
        "properties": {
            "name": {
                "type": "string",
                "pattern": "^[a-z](-?[a-z0-9])*$",
                "maxLength": MAX_HOST_NAME_LEN,
                "description": "The host's name in the experiment (default: <site>-<first role>-<n>).",
            },
            "address": address.clone(),
            "port": port.clone(),
            "user": {"type": "string", "default": ROOT, "description": "The user to log in as."},
            "identity": identity.clone(),
            "jump": {
                "description": "A host to go through: `user@host:port`, or a mapping.",
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["address"],
                        "properties": {
                            "address": address,
                            "port": port,
                            "user": {"type": "string", "description": "Default: the host's user."},
                            "identity": identity,
                        },
                    },
                ],
            },
            "site": name("site"),
            "roles": {"type": "array", "minItems": 1, "uniqueItems": true, "items": name("role")},
            "interface": {
                "type": "string",
                "maxLength": MAX_INTERFACE_LEN,
                "description": "The interface of the experiment's network, where the WAN is shaped (default: the one holding the address).",
            },
            "become": {
                "enum": ["sudo"],
                "description": "How deploy steps and WAN shaping get root (default: sudo when the user is not root).",
            },
        },
    });
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["hosts"],
        "description": "Options of the static provider: hosts that already exist, reached over SSH.",
        "properties": {
            "hosts": {
                "description": "The hosts, or a YAML file holding their list (relative to the scenario's directory).",
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "minItems": 1, "items": host},
                ],
            },
            "known_hosts": {
                "type": "string",
                "description": "A known_hosts file pinning the hosts' keys; without it, keys are learnt on first contact.",
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_hosts_are_read_in_the_ssh_form() {
        assert_eq!(
            parse_jump("admin@gw.example.org:2222"),
            Ok((Some("admin".into()), "gw.example.org".into(), Some(2222)))
        );
        assert_eq!(parse_jump("10.0.0.1"), Ok((None, "10.0.0.1".into(), None)));
        assert_eq!(
            parse_jump("[2001:db8::1]:22"),
            Ok((None, "2001:db8::1".into(), Some(22)))
        );
        assert_eq!(
            parse_jump("2001:db8::1"),
            Ok((None, "2001:db8::1".into(), None))
        );
        for bad in [
            "", "@gw", "Admin@gw", "gw:0", "gw:x", "gw:", "[::1", "[gw]:22", "a b",
        ] {
            assert!(parse_jump(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn addresses_are_ips_or_dns_names() {
        for good in ["10.0.0.1", "2001:db8::1", "node-1.lan", "NODE.example.org."] {
            assert_eq!(check_address(good), Ok(()), "{good}");
        }
        for bad in ["", "-a.lan", "a..lan", "a_b", "http://a", "root@a"] {
            assert!(check_address(bad).is_err(), "{bad:?}");
        }
        assert_eq!(canonical_address("Node.LAN."), "node.lan");
        assert_eq!(canonical_address("::ffff:10.0.0.1"), "10.0.0.1");
    }
}
