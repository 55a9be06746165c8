//! `resources`, `topology` and a provider's own `resources` made into sites, roles and hosts.
//!
//! EnOS reads both `resources` and `topology` with the same walk (its `gen_enoslib_roles`): a
//! value that is a mapping of mappings is a group (`grp1: {paravance: {control: 1}}`), one that
//! maps names to numbers is put in EnOS's `default_group` (`paravance: {control: 1}`). Group
//! keys may be ranges (`grp[2-4]`). Each group becomes a site named after it; resources
//! outside any group become one site `default-group`, or on Grid'5000 one site per cluster
//! (a g5k site is one cluster).

use std::collections::HashMap;

use indexmap::{IndexMap, IndexSet};

use crate::ctx::{Ctx, find, join};
use crate::names::{NameKind, enos_name, expand};
use crate::output::{HostOut, JumpOut};
use crate::report::{ImportError, Pos};
use crate::yaml::{Node, Value, quote};

/// The site that holds resources outside any group (EnOS's `default_group`).
pub(crate) const DEFAULT_SITE: &str = "default-group";
/// The most sites, and the most roles, a reservation may give: each has at least one host, and
/// a scenario holds at most this many.
const MAX_NAMES: usize = enos_scenario::MAX_HOSTS as usize;
/// The most sites the resources' group ranges may expand to, all together (each group of a
/// resource counted for each of its roles).
const MAX_EXPANDED: u64 = 100_000;
/// The longest host name the static provider takes (a DNS label).
const MAX_HOST_NAME_LEN: usize = 63;
/// EnOS's name for the group of resources outside any group.
pub(crate) const DEFAULT_GROUP: &str = "default_group";

/// The flavours of EnOSlib's vagrant provider: name, cores, memory (MiB).
pub(crate) const VAGRANT_FLAVOURS: [(&str, u64, u64); 6] = [
    ("tiny", 1, 512),
    ("small", 1, 1024),
    ("medium", 2, 2048),
    ("big", 3, 3072),
    ("large", 4, 4096),
    ("extra-large", 6, 6144),
];

/// Which enos-rs provider the resources are for: it says what a resource's "flavour" is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    G5k,
    Vagrant,
    Static,
    Openstack,
}

impl Family {
    /// What EnOS groups resources by, for messages, with an example.
    fn flavour_word(self) -> (&'static str, &'static str) {
        match self {
            Family::G5k => ("cluster", "paravance"),
            Family::Vagrant => ("flavour", "medium"),
            Family::Openstack => ("flavor", "m1.medium"),
            Family::Static => ("role", "control"),
        }
    }
}

/// Some text of the reservation and where it is.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub text: String,
    pub at: Pos,
    pub path: String,
}

/// A number of hosts of a role, on a flavour, in a group (or none).
#[derive(Debug)]
struct Desc {
    group: Option<Located>,
    flavour: Located,
    role: Located,
    count: u64,
    count_at: Pos,
    count_path: String,
}

/// A host of the static provider, with its role, in a group (or none).
#[derive(Debug)]
struct StaticDesc {
    group: Option<Located>,
    role: Located,
    host: HostIn,
}

/// A host as EnOS's static provider describes it.
#[derive(Debug)]
struct HostIn {
    /// Where the host is given (where an alias of it is used, if so).
    at: Pos,
    path: String,
    address: Located,
    alias: Option<Located>,
    user: Option<String>,
    keyfile: Option<Located>,
    port: Option<u16>,
    jump: Option<JumpOut>,
    interface: Option<String>,
}

/// One site being built.
#[derive(Debug, Default)]
pub(crate) struct SiteBuild {
    pub roles: IndexMap<String, u64>,
    /// The g5k cluster of the site.
    pub cluster: Option<String>,
}

/// What the resources give: sites, flavours per role, static hosts, and the enos-rs names of
/// EnOS's groups and roles (for the network constraints).
#[derive(Debug, Default)]
pub(crate) struct Layout {
    pub sites: IndexMap<String, SiteBuild>,
    /// Vagrant flavour or OpenStack flavor of each role, in order.
    pub flavours: IndexMap<String, String>,
    pub hosts: Vec<HostOut>,
    /// EnOS group or role name → the enos-rs sites or roles it stands for.
    pub selectors: IndexMap<String, IndexSet<String>>,
    /// enos-rs site name → the EnOS name it was made from.
    site_owner: HashMap<String, String>,
    /// enos-rs role name → the EnOS name it was made from.
    role_owner: HashMap<String, String>,
    /// Where each role's flavour was given, for conflicts.
    flavour_at: HashMap<String, Pos>,
    /// How many sites the groups' ranges expanded to so far, all resources together.
    expanded: u64,
}

impl Layout {
    /// The enos-rs site for the EnOS group `enos`; warns when it is renamed, refuses two groups
    /// that become one site.
    fn site(
        &mut self,
        ctx: &mut Ctx<'_>,
        enos: &str,
        at: Pos,
        path: &str,
        written: bool,
    ) -> Result<String, ImportError> {
        let name = enos_name(enos, NameKind::Site);
        match self.site_owner.get(&name) {
            Some(owner) if owner != enos => {
                return Err(ctx.error(
                    at,
                    path,
                    format!(
                        "{} and {} both become the site {} in enos-rs (names are lowercase \
                         letters, digits and dashes, at most 16 characters); rename one",
                        quote(owner),
                        quote(enos),
                        quote(&name)
                    ),
                ));
            }
            Some(_) => {}
            None => {
                if self.site_owner.len() >= MAX_NAMES {
                    return Err(too_many(ctx, at, path, "sites"));
                }
                self.site_owner.insert(name.clone(), enos.to_owned());
                if written && name != enos {
                    ctx.warn(
                        at,
                        path,
                        format!(
                            "the group {} is the site {}: enos-rs site names are lowercase \
                             letters, digits and dashes, at most 16 characters",
                            quote(enos),
                            quote(&name)
                        ),
                    );
                }
            }
        }
        Ok(name)
    }

    /// The enos-rs role for the EnOS role `role`; warns when it is renamed.
    fn role(&mut self, ctx: &mut Ctx<'_>, role: &Located) -> Result<String, ImportError> {
        let name = enos_name(&role.text, NameKind::Role);
        match self.role_owner.get(&name) {
            Some(owner) if *owner != role.text => {
                return Err(ctx.error(
                    role.at,
                    &role.path,
                    format!(
                        "the roles {} and {} both become the role {} in enos-rs (names are \
                         lowercase letters, digits and dashes, at most 16 characters); rename one",
                        quote(owner),
                        quote(&role.text),
                        quote(&name)
                    ),
                ));
            }
            Some(_) => {}
            None => {
                if self.role_owner.len() >= MAX_NAMES {
                    return Err(too_many(ctx, role.at, &role.path, "roles"));
                }
                self.role_owner.insert(name.clone(), role.text.clone());
                if name != role.text {
                    ctx.warn(
                        role.at,
                        &role.path,
                        format!(
                            "the role {} is the role {}: enos-rs role names are lowercase \
                             letters, digits and dashes, at most 16 characters",
                            quote(&role.text),
                            quote(&name)
                        ),
                    );
                }
            }
        }
        self.selector(&role.text, &name);
        Ok(name)
    }

    /// Records that the EnOS group or role `enos` stands for `name`.
    fn selector(&mut self, enos: &str, name: &str) {
        self.selectors
            .entry(enos.to_owned())
            .or_default()
            .insert(name.to_owned());
    }

    /// The enos-rs sites of a resource: those of its group (expanded), or the default one.
    fn sites_of(
        &mut self,
        ctx: &mut Ctx<'_>,
        group: Option<&Located>,
        default: &str,
        default_at: (Pos, &str),
    ) -> Result<Vec<String>, ImportError> {
        match group {
            Some(group) => {
                let names = expand(&group.text).map_err(|m| ctx.error(group.at, &group.path, m))?;
                self.expanded = self.expanded.saturating_add(names.len() as u64);
                if self.expanded > MAX_EXPANDED {
                    return Err(ctx.error(
                        group.at,
                        &group.path,
                        format!(
                            "the groups' ranges give more than {MAX_EXPANDED} sites and roles \
                             in all; a scenario holds at most {} hosts",
                            enos_scenario::MAX_HOSTS
                        ),
                    ));
                }
                let mut sites = Vec::new();
                for enos in names {
                    let site = self.site(ctx, &enos, group.at, &group.path, true)?;
                    self.selector(&enos, &site);
                    sites.push(site);
                }
                Ok(sites)
            }
            None => {
                let site = self.site(ctx, default, default_at.0, default_at.1, false)?;
                self.selector(DEFAULT_GROUP, &site);
                Ok(vec![site])
            }
        }
    }
}

/// Reads `resources` or `topology` (at `path`) for a provider of `family`.
pub(crate) fn read(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    family: Family,
) -> Result<Layout, ImportError> {
    if family == Family::Static {
        let descs = read_static(ctx, node, path)?;
        return place_static(ctx, descs);
    }
    let descs = read_descs(ctx, node, path, family)?;
    place(ctx, descs, family)
}

/// Reads a provider's own `resources` (`provider.resources`: EnOSlib's `machines` and
/// `networks`) for a provider of `family`.
pub(crate) fn read_machines(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    family: Family,
) -> Result<Layout, ImportError> {
    let entries = ctx.map(node, path, "EnOSlib resources: a mapping with `machines`")?;
    let Some(machines) = find(entries, "machines") else {
        return Err(ctx.error(
            node.at,
            path,
            "missing key `machines`: the machines to get (EnOSlib's resources)",
        ));
    };
    for entry in entries {
        match entry.key.as_str() {
            "machines" => {}
            "networks" => ctx.warn_key(
                path,
                entry,
                "EnOSlib's networks (with their roles such as network_interface) have no \
                 equivalent: each enos-rs provider makes its own network, and tc shapes the \
                 interface holding each host's address",
            ),
            _ => ctx.warn_key(path, entry, "not a key of EnOSlib resources; left out"),
        }
    }
    let machines_path = join(path, "machines");
    let items = ctx.list(&machines.node, &machines_path, "a list of machines")?;
    if family == Family::Static {
        let mut descs = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{machines_path}[{i}]");
            let entries = ctx.map(
                item,
                &item_path,
                "a machine (a mapping with address and roles)",
            )?;
            let role = machine_role(ctx, item, entries, &item_path)?;
            let host = read_host(ctx, item, &item_path, &["roles", "role"])?;
            descs.push(StaticDesc {
                group: None,
                role,
                host,
            });
        }
        return place_static(ctx, descs);
    }
    let mut descs = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{machines_path}[{i}]");
        if let Some(desc) = read_machine(ctx, item, &item_path, family)? {
            descs.push(desc);
        }
    }
    place(ctx, descs, family)
}

/// One machine of EnOSlib's g5k, vagrant or openstack resources.
fn read_machine(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    family: Family,
) -> Result<Option<Desc>, ImportError> {
    let (word, example) = family.flavour_word();
    let entries = ctx.map(
        node,
        path,
        &format!("a machine (e.g. `{{{word}: {example}, roles: [control], number: 1}}`)"),
    )?;
    let role = machine_role(ctx, node, entries, path)?;
    let count_keys: &[&str] = match family {
        Family::G5k => &["nodes"],
        _ => &["number"],
    };
    let flavour_keys: &[&str] = match family {
        Family::G5k => &["cluster"],
        _ => &["flavour", "flavor"],
    };
    let mut count = (1, node.at, path.to_owned());
    let mut flavour: Option<Located> = None;
    for entry in entries {
        let key_path = join(path, &entry.key);
        let key = entry.key.as_str();
        if count_keys.contains(&key) {
            count = (ctx.count(&entry.node, &key_path)?, entry.node.at, key_path);
        } else if flavour_keys.contains(&key) {
            flavour = Some(Located {
                text: ctx.text(
                    &entry.node,
                    &key_path,
                    &format!("a {word} such as {example}"),
                )?,
                at: entry.node.at,
                path: key_path,
            });
        } else if key == "flavour_desc" && family == Family::Vagrant {
            let chosen = flavour_for(ctx, &entry.node, &key_path)?;
            ctx.warn_key(
                path,
                entry,
                format!(
                    "a machine size of its own has no equivalent; approximated by the vagrant \
                     flavour {} (the smallest that is as large)",
                    quote(chosen)
                ),
            );
            flavour = Some(Located {
                text: chosen.to_owned(),
                at: entry.node.at,
                path: key_path,
            });
        } else if key == "servers" && family == Family::G5k {
            ctx.warn_key(
                path,
                entry,
                "machines named one by one have no equivalent (a g5k site is a cluster); this \
                 machine is left out",
            );
            return Ok(None);
        } else if !["roles", "role"].contains(&key) {
            ctx.warn_key(
                path,
                entry,
                "an EnOSlib machine setting with no equivalent in enos-rs; left out",
            );
        }
    }
    let flavour = match flavour {
        Some(flavour) => flavour,
        None if family == Family::Vagrant => Located {
            text: "tiny".to_owned(),
            at: node.at,
            path: path.to_owned(),
        },
        None => {
            return Err(ctx.error(
                node.at,
                path,
                format!(
                    "missing key `{}`: the machine's {word} (e.g. `{example}`)",
                    flavour_keys[0]
                ),
            ));
        }
    };
    Ok(Some(Desc {
        group: None,
        flavour,
        role,
        count: count.0,
        count_at: count.1,
        count_path: count.2,
    }))
}

/// The role of an EnOSlib machine: `roles` (its first item; the others are warned about) or
/// `role`.
fn machine_role(
    ctx: &mut Ctx<'_>,
    node: &Node,
    entries: &[crate::yaml::Entry],
    path: &str,
) -> Result<Located, ImportError> {
    if let Some(entry) = find(entries, "roles") {
        let roles_path = join(path, "roles");
        let items = match &entry.node.value {
            Value::Seq(items) if !items.is_empty() => items.as_slice(),
            Value::Scalar { .. } => std::slice::from_ref(&entry.node),
            _ => {
                return Err(ctx.error(
                    entry.node.at,
                    &roles_path,
                    format!(
                        "expected a list of roles such as [control], found {}",
                        entry.node.describe()
                    ),
                ));
            }
        };
        let mut roles = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{roles_path}[{i}]");
            roles.push(Located {
                text: ctx.text(item, &item_path, "a role name such as control")?,
                at: item.at,
                path: item_path,
            });
        }
        let mut roles = roles.into_iter();
        let Some(first) = roles.next() else {
            return Err(ctx.error(entry.node.at, &roles_path, "expected at least one role"));
        };
        let rest: Vec<String> = roles.map(|r| quote(&r.text)).collect();
        if !rest.is_empty() {
            ctx.warn(
                entry.key_at,
                &roles_path,
                format!(
                    "a host plays one role in enos-rs: these hosts are {}, not {}",
                    quote(&first.text),
                    rest.join(", ")
                ),
            );
        }
        return Ok(first);
    }
    if let Some(entry) = find(entries, "role") {
        let role_path = join(path, "role");
        return Ok(Located {
            text: ctx.text(&entry.node, &role_path, "a role name such as control")?,
            at: entry.node.at,
            path: role_path,
        });
    }
    Err(ctx.error(
        node.at,
        path,
        "missing key `roles`: the machine's roles (e.g. `roles: [control]`)",
    ))
}

/// The smallest vagrant flavour at least as large as `{core, mem}`, or the largest one.
fn flavour_for(ctx: &Ctx<'_>, node: &Node, path: &str) -> Result<&'static str, ImportError> {
    let entries = ctx.map(node, path, "a machine size such as `{core: 2, mem: 2048}`")?;
    let mut core = 1;
    let mut mem = 512;
    for entry in entries {
        let key_path = join(path, &entry.key);
        match entry.key.as_str() {
            "core" => core = ctx.count(&entry.node, &key_path)?,
            "mem" => mem = ctx.count(&entry.node, &key_path)?,
            _ => {}
        }
    }
    let chosen = VAGRANT_FLAVOURS
        .iter()
        .find(|(_, c, m)| *c >= core && *m >= mem)
        .map_or("extra-large", |(name, ..)| *name);
    Ok(chosen)
}

/// The walk of EnOS's `gen_enoslib_roles` over `resources` or `topology`.
fn read_descs(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    family: Family,
) -> Result<Vec<Desc>, ImportError> {
    let (word, example) = family.flavour_word();
    let expected = if path == "topology" {
        format!(
            "groups, each a mapping of {word}s to roles (e.g. `grp1: {{{example}: {{control: 1}}}}`)"
        )
    } else {
        format!(
            "{word}s, each a mapping of roles to numbers of hosts (e.g. `{example}: {{control: 1}}`)"
        )
    };
    let top = ctx.map(node, path, &format!("a mapping of {expected}"))?;
    let mut descs = Vec::new();
    for e1 in top {
        let p1 = join(path, &e1.key);
        let inner = ctx.map(
            &e1.node,
            &p1,
            &format!("a mapping of roles to numbers of hosts, or of {word}s to roles"),
        )?;
        for e2 in inner {
            let p2 = join(&p1, &e2.key);
            match &e2.node.value {
                Value::Map(roles) => {
                    for e3 in roles {
                        let p3 = join(&p2, &e3.key);
                        descs.push(Desc {
                            group: Some(Located {
                                text: e1.key.clone(),
                                at: e1.key_at,
                                path: p1.clone(),
                            }),
                            flavour: Located {
                                text: e2.key.clone(),
                                at: e2.key_at,
                                path: p2.clone(),
                            },
                            role: Located {
                                text: e3.key.clone(),
                                at: e3.key_at,
                                path: p3.clone(),
                            },
                            count: ctx.count(&e3.node, &p3)?,
                            count_at: e3.node.at,
                            count_path: p3,
                        });
                    }
                }
                _ => descs.push(Desc {
                    group: None,
                    flavour: Located {
                        text: e1.key.clone(),
                        at: e1.key_at,
                        path: p1.clone(),
                    },
                    role: Located {
                        text: e2.key.clone(),
                        at: e2.key_at,
                        path: p2.clone(),
                    },
                    count: ctx.count(&e2.node, &p2)?,
                    count_at: e2.node.at,
                    count_path: p2,
                }),
            }
        }
    }
    Ok(descs)
}

/// Sites, roles and flavours from g5k, vagrant or openstack resources.
fn place(ctx: &mut Ctx<'_>, descs: Vec<Desc>, family: Family) -> Result<Layout, ImportError> {
    let mut layout = Layout::default();
    for desc in descs {
        if family == Family::Vagrant
            && !VAGRANT_FLAVOURS
                .iter()
                .any(|(name, ..)| *name == desc.flavour.text)
        {
            let names: Vec<&str> = VAGRANT_FLAVOURS.iter().map(|(name, ..)| *name).collect();
            return Err(ctx.error(
                desc.flavour.at,
                &desc.flavour.path,
                format!(
                    "unknown vagrant flavour {}, expected one of {}",
                    quote(&desc.flavour.text),
                    names.join(", ")
                ),
            ));
        }
        if desc.count == 0 {
            ctx.warn(
                desc.count_at,
                &desc.count_path,
                "0 hosts: enos-rs asks for at least one host of each role it names, so this role \
                 is left out here",
            );
            continue;
        }
        let role = layout.role(ctx, &desc.role)?;
        let default = match family {
            Family::G5k => desc.flavour.text.clone(),
            _ => DEFAULT_SITE.to_owned(),
        };
        let sites = layout.sites_of(
            ctx,
            desc.group.as_ref(),
            &default,
            (desc.flavour.at, &desc.flavour.path),
        )?;
        for site in sites {
            let build = layout.sites.entry(site.clone()).or_default();
            let count = build.roles.entry(role.clone()).or_insert(0);
            *count = count.saturating_add(desc.count);
            if family != Family::G5k {
                continue;
            }
            match &build.cluster {
                None => build.cluster = Some(desc.flavour.text.clone()),
                Some(cluster) if *cluster == desc.flavour.text => {}
                Some(cluster) => {
                    let message = format!(
                        "a g5k site is one cluster: the site {} is on {}, so its hosts of {} are \
                         asked of {}",
                        quote(&site),
                        quote(cluster),
                        quote(&desc.flavour.text),
                        quote(cluster)
                    );
                    ctx.warn(desc.flavour.at, &desc.flavour.path, message);
                }
            }
        }
        if matches!(family, Family::Vagrant | Family::Openstack) {
            match layout.flavours.get(&role) {
                None => {
                    layout
                        .flavours
                        .insert(role.clone(), desc.flavour.text.clone());
                    layout.flavour_at.insert(role, desc.flavour.at);
                }
                Some(flavour) if *flavour == desc.flavour.text => {}
                Some(flavour) => {
                    let message = format!(
                        "enos-rs gives each role one {}: the hosts of the role {} are all {}",
                        family.flavour_word().0,
                        quote(&role),
                        quote(flavour)
                    );
                    ctx.warn(desc.flavour.at, &desc.flavour.path, message);
                }
            }
        }
    }
    if layout.sites.is_empty() {
        return Err(no_hosts(ctx));
    }
    Ok(layout)
}

/// More sites or roles than a scenario can hold hosts.
fn too_many(ctx: &Ctx<'_>, at: Pos, path: &str, what: &str) -> ImportError {
    ctx.error(
        at,
        path,
        format!(
            "the resources give more than {MAX_NAMES} {what}; a scenario holds at most {MAX_NAMES} \
             hosts"
        ),
    )
}

fn no_hosts(ctx: &Ctx<'_>) -> ImportError {
    ctx.error(
        Pos::START,
        "",
        "the reservation asks for no host: its resources name no role with at least one host",
    )
}

/// The walk of EnOS's static provider over `resources` or `topology`: roles to a host or a
/// list of hosts, possibly in groups.
fn read_static(ctx: &mut Ctx<'_>, node: &Node, path: &str) -> Result<Vec<StaticDesc>, ImportError> {
    let top = ctx.map(
        node,
        path,
        "a mapping of roles to hosts (e.g. `control: [{address: 192.0.2.11}]`), or of groups \
         to such mappings",
    )?;
    let mut descs = Vec::new();
    for e1 in top {
        let p1 = join(path, &e1.key);
        let is_group =
            matches!(&e1.node.value, Value::Map(entries) if find(entries, "address").is_none());
        if is_group {
            let inner = ctx.map(&e1.node, &p1, "a mapping of roles to hosts")?;
            for e2 in inner {
                let p2 = join(&p1, &e2.key);
                let group = Located {
                    text: e1.key.clone(),
                    at: e1.key_at,
                    path: p1.clone(),
                };
                let role = Located {
                    text: e2.key.clone(),
                    at: e2.key_at,
                    path: p2.clone(),
                };
                for (host_node, host_path) in host_items(ctx, &e2.node, &p2)? {
                    descs.push(StaticDesc {
                        group: Some(group.clone()),
                        role: role.clone(),
                        host: read_host(ctx, host_node, &host_path, &[])?,
                    });
                }
            }
        } else {
            let role = Located {
                text: e1.key.clone(),
                at: e1.key_at,
                path: p1.clone(),
            };
            for (host_node, host_path) in host_items(ctx, &e1.node, &p1)? {
                descs.push(StaticDesc {
                    group: None,
                    role: role.clone(),
                    host: read_host(ctx, host_node, &host_path, &[])?,
                });
            }
        }
    }
    Ok(descs)
}

/// A host, or a list of hosts, with their paths.
fn host_items<'n>(
    ctx: &Ctx<'_>,
    node: &'n Node,
    path: &str,
) -> Result<Vec<(&'n Node, String)>, ImportError> {
    match &node.value {
        Value::Seq(items) => Ok(items
            .iter()
            .enumerate()
            .map(|(i, item)| (item, format!("{path}[{i}]")))
            .collect()),
        Value::Map(_) => Ok(vec![(node, path.to_owned())]),
        _ => Err(ctx.error(
            node.at,
            path,
            format!(
                "expected a host (e.g. `{{address: 192.0.2.11, user: root}}`) or a list of \
                 hosts, found {}",
                node.describe()
            ),
        )),
    }
}

/// A host of EnOS's static provider: `address`, `alias`, `user`, `keyfile`, `port` and
/// `extra` (whose `gateway`, `gateway_user` and `gateway_port` are a jump host). `skip` are
/// keys the caller reads.
fn read_host(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    skip: &[&str],
) -> Result<HostIn, ImportError> {
    let entries = ctx.map(
        node,
        path,
        "a host (e.g. `{address: 192.0.2.11, user: root}`)",
    )?;
    let Some(address) = find(entries, "address") else {
        return Err(ctx.error(
            node.at,
            path,
            "missing key `address`: the host's address (e.g. `address: 192.0.2.11`)",
        ));
    };
    let address_path = join(path, "address");
    let mut host = HostIn {
        at: node.at,
        path: path.to_owned(),
        address: Located {
            text: ctx.text(&address.node, &address_path, "an IP address or a DNS name")?,
            at: address.node.at,
            path: address_path,
        },
        alias: None,
        user: None,
        keyfile: None,
        port: None,
        jump: None,
        interface: None,
    };
    for entry in entries {
        let key_path = join(path, &entry.key);
        match entry.key.as_str() {
            "address" => {}
            "alias" => {
                host.alias = Some(Located {
                    text: ctx.text(&entry.node, &key_path, "a host name such as enos-0")?,
                    at: entry.node.at,
                    path: key_path,
                });
            }
            "user" => host.user = Some(ctx.text(&entry.node, &key_path, "a user name")?),
            "keyfile" => {
                host.keyfile = Some(Located {
                    text: ctx.text(&entry.node, &key_path, "the path of a private key")?,
                    at: entry.node.at,
                    path: key_path,
                });
            }
            "port" => host.port = Some(port(ctx, &entry.node, &key_path)?),
            "extra" => (host.jump, host.interface) = read_extra(ctx, &entry.node, &key_path)?,
            key if skip.contains(&key) => {}
            _ => ctx.warn_key(
                path,
                entry,
                "not a setting of EnOS's static hosts; left out",
            ),
        }
    }
    Ok(host)
}

/// A TCP port.
fn port(ctx: &Ctx<'_>, node: &Node, path: &str) -> Result<u16, ImportError> {
    node.whole_number()
        .and_then(|n| u16::try_from(n).ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            ctx.error(
                node.at,
                path,
                format!("expected a port from 1 to 65535, found {}", node.describe()),
            )
        })
}

/// A static host's `extra`: EnOSlib's gateway settings make its jump host, kolla's
/// `network_interface` its interface; other variables have no equivalent.
fn read_extra(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
) -> Result<(Option<JumpOut>, Option<String>), ImportError> {
    let entries = ctx.map(node, path, "a mapping of host variables")?;
    let mut jump: Option<JumpOut> = None;
    let mut user = None;
    let mut jump_port = None;
    let mut interface = None;
    for entry in entries {
        let key_path = join(path, &entry.key);
        match entry.key.as_str() {
            "gateway" => {
                jump = Some(JumpOut {
                    address: ctx.text(&entry.node, &key_path, "the gateway's address")?,
                    user: None,
                    port: None,
                });
            }
            "gateway_user" => user = Some(ctx.text(&entry.node, &key_path, "a user name")?),
            "gateway_port" => jump_port = Some(port(ctx, &entry.node, &key_path)?),
            "network_interface" => {
                interface = Some(ctx.text(&entry.node, &key_path, "an interface name")?);
            }
            key if key.starts_with("internal_gateway") => ctx.warn_key(
                path,
                entry,
                "a second gateway has no equivalent: enos-rs goes through one jump host",
            ),
            _ => ctx.warn_key(
                path,
                entry,
                "a host variable with no equivalent in the static provider (deploy steps take \
                 variables from `vars:`); left out",
            ),
        }
    }
    if let Some(jump) = jump.as_mut() {
        jump.user = user;
        jump.port = jump_port;
    }
    Ok((jump, interface))
}

/// Sites, roles and hosts of the static provider; a host listed under several roles (an
/// alias of one host) plays the first.
fn place_static(ctx: &mut Ctx<'_>, descs: Vec<StaticDesc>) -> Result<Layout, ImportError> {
    let mut layout = Layout::default();
    let mut by_address: HashMap<String, usize> = HashMap::new();
    let mut keyfile_warned = false;
    for desc in descs {
        let role = layout.role(ctx, &desc.role)?;
        let sites = layout.sites_of(
            ctx,
            desc.group.as_ref(),
            DEFAULT_SITE,
            (desc.role.at, &desc.role.path),
        )?;
        let mut sites = sites.into_iter();
        let Some(site) = sites.next() else {
            continue;
        };
        let others: Vec<String> = sites.map(|s| quote(&s)).collect();
        let host = desc.host;
        if !others.is_empty() {
            ctx.warn(
                host.at,
                &host.path,
                format!(
                    "a host is in one site in enos-rs: {} is in {}, not {}",
                    host.address.text,
                    quote(&site),
                    others.join(", ")
                ),
            );
        }
        if let Some(&index) = by_address.get(&host.address.text) {
            let Some(first) = layout.hosts.get(index) else {
                continue;
            };
            let plays = first.roles.0.first().cloned().unwrap_or_default();
            if plays != role || first.site != site {
                ctx.warn(
                    host.at,
                    &host.path,
                    format!(
                        "a host plays one role, in one site, in enos-rs: {} stays {} in {} and \
                         is not also {} in {}",
                        host.address.text,
                        quote(&plays),
                        quote(&first.site),
                        quote(&role),
                        quote(&site)
                    ),
                );
            }
            continue;
        }
        let name = match host.alias {
            Some(alias) => match enos_scenario::check_name(&alias.text, MAX_HOST_NAME_LEN) {
                Ok(()) => Some(alias.text),
                Err(why) => {
                    ctx.warn(
                        alias.at,
                        &alias.path,
                        format!(
                            "not an enos-rs host name ({why}); the host gets its default \
                                 name, <site>-<role>-<n>"
                        ),
                    );
                    None
                }
            },
            None => None,
        };
        if let Some(keyfile) = &host.keyfile
            && !keyfile_warned
        {
            keyfile_warned = true;
            ctx.warn(
                keyfile.at,
                &keyfile.path,
                "key files are kept as written: EnOS read them from the directory it ran in, \
                 enos-rs reads them relative to the scenario's directory and does not expand \
                 `~`; check the paths (all hosts)",
            );
        }
        let site_build = layout.sites.entry(site.clone()).or_default();
        let count = site_build.roles.entry(role.clone()).or_insert(0);
        *count = count.saturating_add(1);
        by_address.insert(host.address.text.clone(), layout.hosts.len());
        layout.hosts.push(HostOut {
            address: host.address.text,
            site,
            roles: serde_saphyr::FlowSeq(vec![role]),
            user: host.user,
            port: host.port,
            name,
            identity: host.keyfile.map(|k| k.text),
            jump: host.jump,
            interface: host.interface,
        });
    }
    if layout.hosts.is_empty() {
        return Err(no_hosts(ctx));
    }
    Ok(layout)
}
