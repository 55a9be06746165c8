//! Converts EnOS reservation files (`reservation.yaml`) into enos-rs scenarios.
//!
//! [`convert`] reads a reservation — its `provider`, its `resources` or `topology`, its
//! `network_constraints` — and writes the scenario that asks for the same testbed: the same
//! provider's enos-rs counterpart with the options that have one, a site per EnOS group with
//! its roles, and the same WAN. Every setting without an equivalent (EnOS's Docker registry,
//! kolla's settings, provider options enos-rs does not take…) becomes an [`ImportWarning`]
//! naming its key path and saying why, or what was approximated; the scenario's header repeats
//! them. A reservation that cannot be read is an [`ImportError`] at its file, line, column and
//! key. Nothing here reads files, prints or panics, whatever the input.
//!
//! The mapping is described in the project's `docs/import.md`.
#![warn(missing_docs)]

mod ctx;
mod layout;
mod names;
mod network;
mod output;
mod provider;
mod quantity;
mod report;
mod yaml;

use std::path::Path;

use indexmap::IndexMap;
use serde_saphyr::FlowMap;

pub use report::{ImportError, ImportWarning};

use ctx::{Ctx, find};
use layout::{Family, Layout};
use names::{NameKind, enos_name};
use output::{
    ClusterOut, DeployOut, NetworkOut, ProviderOut, ScenarioOut, SiteOut, StackStepOut, VarOut,
    commented, to_yaml,
};
use report::Pos;
use yaml::Value;

/// The largest reservation read, in bytes (as for scenarios).
pub const MAX_FILE_BYTES: usize = enos_scenario::MAX_FILE_BYTES;

/// A reservation converted: the scenario's text and what did not carry over as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The scenario, as YAML text: a commented header saying it was imported from the
    /// reservation (and listing the warnings), then `name`, `provider`, `sites` and `network`.
    pub scenario: String,
    /// The settings with no enos-rs equivalent, or approximated, in file order.
    pub warnings: Vec<ImportWarning>,
}

/// EnOS's own keys that have no enos-rs equivalent, and why.
const ENOS_ONLY: [(&str, &str); 11] = [
    (
        "registry",
        "EnOS's Docker registry mirror for kolla's images has no equivalent: enos-rs deploys no \
         registry (a local cache of kolla's images is kolla's `docker_registry`, in the \
         `openstack` stack's `kolla` variable)",
    ),
    (
        "kolla",
        "kolla-ansible's globals.yml values: in enos-rs they are the `kolla` variable of the \
         `openstack` stack, which needs `control` and `compute` roles",
    ),
    (
        "kolla-ansible",
        "the kolla-ansible package EnOS installed: the `openstack` stack pins its own (its \
         `kolla_ansible` variable)",
    ),
    (
        "kolla_repo",
        "the kolla-ansible repository of older EnOS releases: the `openstack` stack installs \
         kolla-ansible from PyPI (its `kolla_ansible` variable)",
    ),
    (
        "kolla_ref",
        "the kolla-ansible branch of older EnOS releases: the `openstack` stack pins its \
         release (its `release` and `kolla_ansible` variables)",
    ),
    (
        "inventory",
        "EnOS's kolla-ansible inventory: the `openstack` stack writes its own from the roles it \
         is given (its `control`, `compute`, `network`, `monitoring` and `storage` variables)",
    ),
    (
        "enable_monitoring",
        "EnOS's monitoring stack (cAdvisor, collectd, InfluxDB, Grafana) has no equivalent: a \
         `metrics:` section makes enos-rs sample every host (CPU, memory, network, energy)",
    ),
    (
        "docker_version",
        "the Docker version EnOS installed has no equivalent: the `openstack` stack lets \
         kolla-ansible install Docker",
    ),
    (
        "patches",
        "EnOS's patches to kolla-ansible have no equivalent: copy files with `deploy:` steps",
    ),
    (
        "strategy",
        "a setting of older EnOS releases with no enos-rs equivalent",
    ),
    (
        "hints",
        "a setting of older EnOS releases with no enos-rs equivalent",
    ),
];

/// The roles the `openstack` stack takes as variables, in its order.
const KOLLA_GROUPS: [&str; 5] = ["control", "compute", "network", "monitoring", "storage"];

/// The width the header's comments are wrapped at.
const COMMENT_WIDTH: usize = 96;

/// Converts the EnOS reservation `source` into an enos-rs scenario. `file_name` is the
/// reservation's file as given: it is named in messages and in the scenario's header, and its
/// stem names the experiment when the provider has no job name.
///
/// Errors name the file, line, column and key path of what cannot be read: YAML that does not
/// parse, a reservation that is not a mapping, a value of the wrong type, an unknown provider
/// type, a delay, rate or loss enos-rs cannot express.
pub fn convert(source: &str, file_name: &str) -> Result<Imported, ImportError> {
    if source.len() > MAX_FILE_BYTES {
        return Err(ImportError::whole_file(
            file_name,
            format!(
                "the file is larger than {} KiB; a reservation is a few dozen lines",
                MAX_FILE_BYTES / 1024
            ),
        ));
    }
    let mut ctx = Ctx::new(file_name, source);
    let root = match yaml::parse(source) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(ImportError::whole_file(
                file_name,
                "the file holds nothing; expected an EnOS reservation: a mapping with \
                 `provider` and `resources` (or `topology`)",
            ));
        }
        Err(problem) => return Err(ctx.error(problem.at, &problem.path, problem.message)),
    };
    let Value::Map(top) = &root.value else {
        return Err(ctx.error(
            root.at,
            "",
            format!(
                "expected an EnOS reservation: a mapping with `provider` and `resources` (or \
                 `topology`), found {}",
                root.describe()
            ),
        ));
    };
    let Some(provider_entry) = find(top, "provider") else {
        return Err(ctx.error(
            root.at,
            "",
            "missing key `provider`: the EnOS provider (e.g. `provider: {type: g5k, walltime: \
             \"02:00:00\"}`)",
        ));
    };
    let mut provider = provider::read(&mut ctx, provider_entry)?;
    let layout = read_layout(&mut ctx, top, &provider, root.at)?;
    let network = match find(top, "network_constraints") {
        Some(entry) => network::read(&mut ctx, entry, &layout)?,
        None => None,
    };
    let deploy = deploy_suggestion(&layout, find(top, "kolla").map(|e| &e.node));
    warn_other_keys(&mut ctx, top, provider.family, deploy.is_some());

    fill_provider(&mut provider.out, &layout);
    let stem = Path::new(file_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = provider
        .job_name
        .as_deref()
        .map(|job| enos_name(job, NameKind::Experiment))
        .filter(|name| name != "experiment")
        .unwrap_or_else(|| enos_name(&stem, NameKind::Experiment));
    let sites = match provider.family {
        Family::Static => IndexMap::new(),
        _ => layout
            .sites
            .iter()
            .map(|(site, build)| {
                (
                    site.clone(),
                    SiteOut {
                        roles: FlowMap(build.roles.clone()),
                    },
                )
            })
            .collect(),
    };
    let (network, disabled) = match network {
        Some(n) if n.enabled => (Some(n.section), None),
        Some(n) => (None, Some(n.section)),
        None => (None, None),
    };
    let scenario = ScenarioOut {
        name,
        provider: provider.out,
        sites,
        network,
    };
    let mut warnings = ctx.warnings;
    warnings.sort_by_key(|w| (w.line, w.column));
    let mut text = header(file_name, &warnings);
    text.push_str(&yaml_text(&scenario, file_name)?);
    if let Some(section) = disabled {
        #[derive(serde::Serialize)]
        struct NetworkOnly {
            network: NetworkOut,
        }
        text.push_str(
            "\n# EnOS had these network constraints disabled (`enable: false`); uncomment to \
             apply them:\n",
        );
        text.push_str(&commented(&yaml_text(
            &NetworkOnly { network: section },
            file_name,
        )?));
    }
    if let Some(deploy) = deploy {
        text.push_str(
            "\n# EnOS deployed OpenStack on these hosts with kolla-ansible; enos-rs does it with \
             the\n# `openstack` stack (see docs/stacks/openstack.md). To do the same, \
             uncomment:\n",
        );
        text.push_str(&commented(&yaml_text(&deploy, file_name)?));
    }
    Ok(Imported {
        scenario: text,
        warnings,
    })
}

/// The resources, from the provider's own `resources` (which EnOS takes first), `topology`
/// or `resources`, in that order; the ones EnOS ignores are warned about.
fn read_layout(
    ctx: &mut Ctx<'_>,
    top: &[yaml::Entry],
    provider: &provider::ProviderIn<'_>,
    root_at: Pos,
) -> Result<Layout, ImportError> {
    let topology = find(top, "topology");
    let resources = find(top, "resources");
    if let Some(own) = provider.resources {
        for ignored in [topology, resources].into_iter().flatten() {
            ctx.warn_key(
                "",
                ignored,
                "EnOS ignores it when the provider has its own `resources`; left out",
            );
        }
        return layout::read_machines(ctx, own, "provider.resources", provider.family);
    }
    if let Some(topology) = topology {
        if let Some(resources) = resources {
            ctx.warn_key(
                "",
                resources,
                "EnOS ignores `resources` when `topology` is given; left out",
            );
        }
        return layout::read(ctx, &topology.node, "topology", provider.family);
    }
    if let Some(resources) = resources {
        return layout::read(ctx, &resources.node, "resources", provider.family);
    }
    Err(ctx.error(
        root_at,
        "",
        "missing key `resources` (or `topology`): the hosts to get, e.g. `resources: \
         {paravance: {control: 1, compute: 2}}`",
    ))
}

/// Warns about the top-level keys the conversion does not read; `suggested` when the scenario
/// ends with a suggested `openstack` stack step.
fn warn_other_keys(ctx: &mut Ctx<'_>, top: &[yaml::Entry], family: Family, suggested: bool) {
    for entry in top {
        let key = entry.key.as_str();
        match key {
            "provider" | "resources" | "topology" | "network_constraints" => {}
            // Where EnOS's static reservations define their hosts' anchors.
            "hosts" if family == Family::Static => {}
            "enable_monitoring" if entry.node.boolean() == Some(false) => {}
            "registry" if is_no_registry(&entry.node) => {}
            "kolla" if suggested => ctx.warn_key(
                "",
                entry,
                "kolla-ansible's globals.yml values: they are the `kolla` variable of the \
                 `openstack` stack step suggested at the end of the scenario; check them against \
                 the kolla-ansible release it deploys",
            ),
            _ => {
                let reason = ENOS_ONLY.iter().find(|(k, _)| *k == key).map_or(
                    "not a setting of EnOS reservations that `enos import` knows; left out",
                    |(_, why)| why,
                );
                ctx.warn_key("", entry, reason);
            }
        }
    }
}

/// Whether `registry` is `{type: none}`: no mirror, as in enos-rs.
fn is_no_registry(node: &yaml::Node) -> bool {
    matches!(&node.value, Value::Map(entries)
        if find(entries, "type").and_then(|t| t.node.text()) == Some("none"))
}

/// Puts what the resources say into the provider's options: g5k sites' clusters, vagrant and
/// openstack flavours, static hosts.
fn fill_provider(out: &mut ProviderOut, layout: &Layout) {
    match out {
        ProviderOut::G5k(g5k) => {
            for (site, build) in &layout.sites {
                if let Some(cluster) = &build.cluster {
                    g5k.sites.insert(
                        site.clone(),
                        FlowMap(ClusterOut {
                            cluster: cluster.clone(),
                        }),
                    );
                }
            }
        }
        ProviderOut::Vagrant(vagrant) => {
            let (flavour, flavours) = flavours(layout);
            vagrant.flavour = flavour;
            vagrant.flavours = flavours;
        }
        ProviderOut::Openstack(openstack) => {
            let (flavour, flavours) = flavours(layout);
            openstack.flavour = flavour;
            openstack.flavours = flavours;
        }
        ProviderOut::Static(hosts) => {
            hosts.hosts = layout.hosts.iter().cloned().map(FlowMap).collect();
        }
    }
}

/// One `flavour` when every role has the same, else `flavours` per role.
fn flavours(layout: &Layout) -> (Option<String>, IndexMap<String, String>) {
    let mut values = layout.flavours.values();
    match values.next() {
        Some(first) if values.all(|f| f == first) => (Some(first.clone()), IndexMap::new()),
        Some(_) => (None, layout.flavours.clone()),
        None => (None, IndexMap::new()),
    }
}

/// The `openstack` stack on the imported roles, when they hold kolla's `control` and
/// `compute` groups, with EnOS's `kolla:` values.
fn deploy_suggestion(layout: &Layout, kolla: Option<&yaml::Node>) -> Option<DeployOut> {
    let has = |role: &str| layout.sites.values().any(|s| s.roles.contains_key(role));
    if !has("control") || !has("compute") {
        return None;
    }
    let mut vars: IndexMap<&'static str, VarOut> = KOLLA_GROUPS
        .iter()
        .filter(|group| has(group))
        .map(|group| (*group, VarOut::Role((*group).to_owned())))
        .collect();
    if let Some(kolla) = kolla
        && matches!(&kolla.value, Value::Map(entries) if !entries.is_empty())
    {
        vars.insert("kolla", VarOut::Yaml(kolla.clone()));
    }
    Some(DeployOut {
        deploy: vec![StackStepOut {
            stack: "openstack",
            vars,
        }],
    })
}

fn yaml_text<T: serde::Serialize>(value: &T, file_name: &str) -> Result<String, ImportError> {
    to_yaml(value).ok_or_else(|| {
        ImportError::whole_file(file_name, "the scenario could not be written as YAML")
    })
}

/// The scenario's header: where it comes from and the warnings, as comments.
fn header(file_name: &str, warnings: &[ImportWarning]) -> String {
    let mut text = String::new();
    wrap_comment(
        &mut text,
        &format!(
            "Imported by `enos import` from the EnOS reservation {}.",
            printable(file_name)
        ),
        "# ",
        "# ",
    );
    if warnings.is_empty() {
        text.push_str("# Every setting of the reservation has its equivalent here.\n");
    } else {
        let n = warnings.len();
        text.push_str(&format!(
            "# {n} setting{} of the reservation {} no enos-rs equivalent or {} approximated:\n",
            if n == 1 { "" } else { "s" },
            if n == 1 { "has" } else { "have" },
            if n == 1 { "was" } else { "were" },
        ));
        for w in warnings {
            let line = format!(
                "{} (line {}): {}",
                printable(&w.path),
                w.line,
                printable(&w.message)
            );
            wrap_comment(&mut text, &line, "#   - ", "#     ");
        }
    }
    text
}

/// `text` with control characters (a newline in a quoted key) shown as `?`, for a comment.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Appends `text` as comment lines of at most [`COMMENT_WIDTH`] characters where words allow,
/// the first starting with `first`, the others with `next`.
fn wrap_comment(out: &mut String, text: &str, first: &str, next: &str) {
    let mut line = first.to_owned();
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !empty && line.chars().count() + 1 + word.chars().count() > COMMENT_WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = next.to_owned();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
}
