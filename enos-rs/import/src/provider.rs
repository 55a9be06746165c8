//! The reservation's `provider` made into the options of an enos-rs provider.
//!
//! EnOS names its provider by `type` (or by a bare string) and merges the provider's defaults
//! under the options written. The options with an equivalent are carried over; the others are
//! warned about, each with the reason.

use crate::ctx::{Ctx, join};
use crate::layout::Family;
use crate::output::{G5kOut, NetworkNameOut, OpenstackOut, ProviderOut, StaticOut, VagrantOut};
use crate::report::ImportError;
use crate::yaml::{Entry, Node, Value, quote};

/// The provider types EnOS has and `enos import` converts, as listed in messages.
const TYPES: &str = "g5k, vagrant, static, chameleonkvm, chameleonbaremetal or openstack";

/// What the provider section gives.
pub(crate) struct ProviderIn<'n> {
    pub family: Family,
    /// The options carried over (sites, flavours and hosts are filled in from the resources).
    pub out: ProviderOut,
    /// `provider.resources`: EnOSlib's own description of the resources, if written.
    pub resources: Option<&'n Node>,
    /// The g5k job name, which also names the scenario.
    pub job_name: Option<String>,
}

/// Reads the `provider` entry.
pub(crate) fn read<'n>(ctx: &mut Ctx<'_>, entry: &'n Entry) -> Result<ProviderIn<'n>, ImportError> {
    let node = &entry.node;
    let (type_name, type_node, options): (String, &Node, &[Entry]) = match &node.value {
        Value::Scalar { text, .. } => (text.clone(), node, &[]),
        Value::Map(entries) => match crate::ctx::find(entries, "type") {
            Some(t) => (
                ctx.text(
                    &t.node,
                    "provider.type",
                    &format!("a provider type: {TYPES}"),
                )?,
                &t.node,
                entries.as_slice(),
            ),
            None => {
                return Err(ctx.error(
                    node.at,
                    "provider",
                    format!("missing key `type`: the EnOS provider ({TYPES}), e.g. `type: g5k`"),
                ));
            }
        },
        _ => {
            return Err(ctx.error(
                node.at,
                "provider",
                format!(
                    "expected a provider: a mapping with `type` (e.g. `{{type: g5k, walltime: \
                     \"02:00:00\"}}`) or a type such as `g5k`, found {}",
                    node.describe()
                ),
            ));
        }
    };
    let type_path = if options.is_empty() {
        "provider"
    } else {
        "provider.type"
    };
    let lowered = type_name.to_ascii_lowercase();
    let family = match lowered.as_str() {
        "g5k" => Family::G5k,
        "vagrant" | "enos_vagrant" => Family::Vagrant,
        "static" => Family::Static,
        "openstack" | "chameleonkvm" | "chameleonbaremetal" => Family::Openstack,
        "vmong5k" => {
            return Err(ctx.error(
                type_node.at,
                type_path,
                "EnOS's vmong5k provider (virtual machines on Grid'5000 nodes) has no enos-rs \
                 equivalent; g5k gives whole nodes, vagrant virtual machines on this machine",
            ));
        }
        _ => {
            return Err(ctx.error(
                type_node.at,
                type_path,
                format!(
                    "unknown EnOS provider type {}, expected {TYPES}",
                    quote(&type_name)
                ),
            ));
        }
    };
    let mut provider = ProviderIn {
        family,
        out: ProviderOut::Static(StaticOut::default()),
        resources: None,
        job_name: None,
    };
    provider.out = match family {
        Family::G5k => ProviderOut::G5k(g5k(ctx, options, &mut provider)?),
        Family::Vagrant => ProviderOut::Vagrant(vagrant(ctx, options, &mut provider)?),
        Family::Static => ProviderOut::Static(static_options(ctx, options, &mut provider)),
        Family::Openstack => {
            let cloud = openstack(ctx, options, &mut provider, &lowered)?;
            if lowered != "openstack" {
                let message = if lowered == "chameleonkvm" {
                    "Chameleon's KVM cloud is an OpenStack cloud: imported for enos-rs's \
                     openstack provider, with EnOS's chameleonkvm defaults (image \
                     CC-Ubuntu16.04, user cc) where the reservation gives none; its \
                     credentials come from the openrc of that cloud"
                } else {
                    "Chameleon's bare-metal cloud is imported for enos-rs's openstack \
                     provider, with EnOS's chameleonbaremetal defaults (image CC-Ubuntu16.04, \
                     user cc, network sharednet1) where the reservation gives none; the \
                     openstack provider takes no Blazar lease: reserve the nodes before \
                     deploying"
                };
                ctx.warn(type_node.at, type_path, message);
            }
            ProviderOut::Openstack(cloud)
        }
    };
    Ok(provider)
}

/// `provider` options of the g5k type.
fn g5k<'n>(
    ctx: &mut Ctx<'_>,
    options: &'n [Entry],
    provider: &mut ProviderIn<'n>,
) -> Result<G5kOut, ImportError> {
    let mut out = G5kOut::default();
    for entry in options {
        let path = join("provider", &entry.key);
        let value = |ctx: &Ctx<'_>, what: &str| ctx.text(&entry.node, &path, what);
        match entry.key.as_str() {
            "type" => {}
            "job_name" => {
                let name = value(ctx, "an OAR job name such as enos")?;
                provider.job_name = Some(name.clone());
                out.job_name = Some(name);
            }
            "walltime" => out.walltime = Some(value(ctx, "a walltime such as \"02:00:00\"")?),
            "queue" => out.queue = Some(value(ctx, "an OAR queue such as default")?),
            "reservation" => {
                out.reservation = Some(value(ctx, "a start date such as \"2020-02-29 19:00:00\"")?);
            }
            "env_name" => out.env_name = Some(value(ctx, "a kadeploy environment name")?),
            "job_type" => {
                let deploy_only = match &entry.node.value {
                    Value::Scalar { text, .. } => text == "deploy",
                    Value::Seq(items) => items.iter().all(|i| i.text() == Some("deploy")),
                    _ => false,
                };
                if !deploy_only {
                    ctx.warn_key(
                        "provider",
                        entry,
                        "OAR job types other than `deploy` have no equivalent: the g5k provider \
                         of enos-rs reserves nodes to deploy `env_name` on them",
                    );
                }
            }
            "resources" => provider.resources = Some(&entry.node),
            "role_distribution" => ctx.warn_key(
                "provider",
                entry,
                "EnOS's role distribution has no equivalent: each role gets exactly the hosts \
                 its site asks for",
            ),
            _ => no_equivalent(ctx, entry, "g5k"),
        }
    }
    Ok(out)
}

/// `provider` options of the vagrant type.
fn vagrant<'n>(
    ctx: &mut Ctx<'_>,
    options: &'n [Entry],
    provider: &mut ProviderIn<'n>,
) -> Result<VagrantOut, ImportError> {
    let mut out = VagrantOut {
        // EnOS's default, which EnOSlib's (libvirt) does not share.
        backend: Some("virtualbox".to_owned()),
        ..VagrantOut::default()
    };
    for entry in options {
        let path = join("provider", &entry.key);
        match entry.key.as_str() {
            "type" => {}
            "backend" => {
                let backend = ctx.text(&entry.node, &path, "libvirt or virtualbox")?;
                if backend != "libvirt" && backend != "virtualbox" {
                    return Err(ctx.error(
                        entry.node.at,
                        &path,
                        format!(
                            "unknown vagrant backend {}, expected libvirt or virtualbox",
                            quote(&backend)
                        ),
                    ));
                }
                out.backend = Some(backend);
            }
            "box" => out.vm_box = Some(ctx.text(&entry.node, &path, "a Vagrant box name")?),
            "resources" => provider.resources = Some(&entry.node),
            "user" if entry.node.text() == Some("root") => {}
            _ => no_equivalent(ctx, entry, "vagrant"),
        }
    }
    Ok(out)
}

/// `provider` options of the static type.
fn static_options<'n>(
    ctx: &mut Ctx<'_>,
    options: &'n [Entry],
    provider: &mut ProviderIn<'n>,
) -> StaticOut {
    for entry in options {
        match entry.key.as_str() {
            "type" => {}
            "resources" => provider.resources = Some(&entry.node),
            "networks" | "network" | "eths" => ctx.warn_key(
                "provider",
                entry,
                "the networks of the hosts (and their kolla roles such as network_interface) \
                 have no equivalent: enos-rs shapes the interface holding each host's address, \
                 or the host's `interface`",
            ),
            _ => no_equivalent(ctx, entry, "static"),
        }
    }
    StaticOut::default()
}

/// `provider` options of the openstack, chameleonkvm and chameleonbaremetal types.
fn openstack<'n>(
    ctx: &mut Ctx<'_>,
    options: &'n [Entry],
    provider: &mut ProviderIn<'n>,
    type_name: &str,
) -> Result<OpenstackOut, ImportError> {
    let mut out = OpenstackOut::default();
    for entry in options {
        let path = join("provider", &entry.key);
        match entry.key.as_str() {
            "type" => {}
            "image" => out.image = Some(ctx.text(&entry.node, &path, "a Glance image name")?),
            "user" => out.user = Some(ctx.text(&entry.node, &path, "a user name such as cc")?),
            "key_name" => {
                out.key_name = Some(ctx.text(&entry.node, &path, "a Nova key pair name")?);
            }
            "network" => {
                let name = match &entry.node.value {
                    Value::Map(fields) => {
                        let mut name = None;
                        for field in fields {
                            let field_path = join(&path, &field.key);
                            if field.key == "name" {
                                name =
                                    Some(ctx.text(&field.node, &field_path, "a network name")?);
                            } else {
                                ctx.warn_key(
                                    &path,
                                    field,
                                    "no equivalent in enos-rs's openstack provider, which \
                                     takes the network's name",
                                );
                            }
                        }
                        name
                    }
                    _ => Some(ctx.text(&entry.node, &path, "a network: `{name: NAME}`")?),
                };
                out.network = name.map(|name| serde_saphyr::FlowMap(NetworkNameOut { name }));
            }
            "resources" => provider.resources = Some(&entry.node),
            _ => no_equivalent(ctx, entry, "openstack"),
        }
    }
    // EnOS's defaults for Chameleon, which the reservation relied on.
    if type_name != "openstack" {
        out.image.get_or_insert_with(|| "CC-Ubuntu16.04".to_owned());
        out.user.get_or_insert_with(|| "cc".to_owned());
    }
    if type_name == "chameleonbaremetal" && out.network.is_none() {
        out.network = Some(serde_saphyr::FlowMap(NetworkNameOut {
            name: "sharednet1".to_owned(),
        }));
    }
    Ok(out)
}

/// A provider option with no equivalent in the enos-rs provider `enos_rs`.
fn no_equivalent(ctx: &mut Ctx<'_>, entry: &Entry, enos_rs: &str) {
    ctx.warn_key(
        "provider",
        entry,
        format!("no equivalent in enos-rs's {enos_rs} provider; left out"),
    );
}
