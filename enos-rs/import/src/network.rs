//! `network_constraints` made into the scenario's `network:` section.
//!
//! The keys are the same (enos-rs took EnOS's), values are one-way in both, and EnOS groups
//! are enos-rs sites of the same name, so `src` and `dst` stay as written. What changes: units
//! are written as enos-rs reads them, a name EnOS had to rename is renamed here too, and a
//! selector whose names are spread over several sites (EnOS's `default_group` on Grid'5000,
//! a range over renamed groups) becomes one constraint per pair of them.

use std::collections::HashSet;

use serde_saphyr::{FlowMap, FlowSeq};

use crate::ctx::{Ctx, find, join};
use crate::layout::Layout;
use crate::names::{expand, range_parts};
use crate::output::{ConstraintOut, NetworkOut};
use crate::quantity::{Quantity, convert};
use crate::report::ImportError;
use crate::yaml::{Entry, Node, Value, quote};

/// The most constraints one EnOS constraint may become (one per pair of sites it spreads over).
const MAX_PAIRS: usize = 1024;

/// The most constraints the section may become.
const MAX_CONSTRAINTS: usize = 10_000;

/// The `network:` section, and whether EnOS had it enabled (`enable: false` keeps it, to be
/// written commented out).
pub(crate) struct Network {
    pub section: NetworkOut,
    pub enabled: bool,
}

/// Reads `network_constraints`; `None` when it says nothing.
pub(crate) fn read(
    ctx: &mut Ctx<'_>,
    entry: &Entry,
    layout: &Layout,
) -> Result<Option<Network>, ImportError> {
    let path = "network_constraints";
    if matches!(entry.node.value, Value::Null) {
        return Ok(None);
    }
    let entries = ctx.map(
        &entry.node,
        path,
        "network constraints: a mapping with default_delay, default_rate, default_loss and \
         constraints",
    )?;
    let mut network = Network {
        section: NetworkOut::default(),
        enabled: true,
    };
    for field in entries {
        let field_path = join(path, &field.key);
        match field.key.as_str() {
            "enable" => {
                network.enabled = ctx.boolean(&field.node, &field_path)?;
                if !network.enabled {
                    ctx.warn_key(
                        path,
                        field,
                        "the constraints are disabled: the `network:` section is written \
                         commented out, at the end of the scenario",
                    );
                }
            }
            "default_delay" => {
                network.section.default_delay =
                    quantity(ctx, &field.node, &field_path, Quantity::Delay)?;
            }
            "default_rate" => {
                network.section.default_rate =
                    quantity(ctx, &field.node, &field_path, Quantity::Rate)?;
            }
            "default_loss" => {
                network.section.default_loss =
                    quantity(ctx, &field.node, &field_path, Quantity::Loss)?;
            }
            "groups" | "except" => {
                let names = selector_list(ctx, layout, &field.node, &field_path)?;
                let message = if field.key == "groups" {
                    "carried over: as in EnOSlib, the defaults apply among the hosts of `groups` \
                     only, and constraints apply whatever `groups` says"
                } else {
                    "carried over: as in EnOSlib, the hosts of `except` get no default shaping, \
                     but constraints naming them still apply (EnOS's documentation says `except` \
                     takes them out of every rule)"
                };
                ctx.warn_key(path, field, message);
                let names = Some(FlowSeq(names));
                if field.key == "groups" {
                    network.section.groups = names;
                } else {
                    network.section.except = names;
                }
            }
            "constraints" => {
                if matches!(field.node.value, Value::Null) {
                    continue;
                }
                let items = ctx.list(&field.node, &field_path, "a list of constraints")?;
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{field_path}[{i}]");
                    for constraint in constraint(ctx, layout, item, &item_path)? {
                        if network.section.constraints.len() >= MAX_CONSTRAINTS {
                            return Err(ctx.error(
                                item.at,
                                &item_path,
                                format!(
                                    "the constraints become more than {MAX_CONSTRAINTS} \
                                     enos-rs constraints; write fewer"
                                ),
                            ));
                        }
                        network.section.constraints.push(FlowMap(constraint));
                    }
                }
            }
            "default_network" | "network" => ctx.warn_key(
                path,
                field,
                "network roles have no equivalent: enos-rs shapes the interface holding each \
                 host's address",
            ),
            _ => ctx.warn_key(
                path,
                field,
                "not a key of EnOS's network constraints; left out",
            ),
        }
    }
    let section = &network.section;
    let empty = section.default_delay.is_none()
        && section.default_rate.is_none()
        && section.default_loss.is_none()
        && section.groups.is_none()
        && section.except.is_none()
        && section.constraints.is_empty();
    Ok((!empty).then_some(network))
}

fn quantity(
    ctx: &Ctx<'_>,
    node: &Node,
    path: &str,
    kind: Quantity,
) -> Result<Option<String>, ImportError> {
    convert(node, kind).map_err(|message| ctx.error(node.at, path, message))
}

/// One EnOS constraint, as one or more enos-rs constraints.
fn constraint(
    ctx: &mut Ctx<'_>,
    layout: &Layout,
    node: &Node,
    path: &str,
) -> Result<Vec<ConstraintOut>, ImportError> {
    let entries = ctx.map(
        node,
        path,
        "a constraint (e.g. `{src: grp1, dst: grp2, delay: 50ms, symmetric: true}`)",
    )?;
    let mut ends = Vec::new();
    for (key, what) in [("src", "from"), ("dst", "to")] {
        let Some(end) = find(entries, key) else {
            return Err(ctx.error(
                node.at,
                path,
                format!("missing key `{key}`: the group the constraint applies {what} (e.g. `{key}: grp1`)"),
            ));
        };
        ends.push(selector(ctx, layout, &end.node, &join(path, key))?);
    }
    let mut shape = ConstraintOut {
        src: String::new(),
        dst: String::new(),
        delay: None,
        rate: None,
        loss: None,
        symmetric: false,
    };
    let mut symmetric_written = false;
    for field in entries {
        let field_path = join(path, &field.key);
        match field.key.as_str() {
            "src" | "dst" => {}
            "delay" => shape.delay = quantity(ctx, &field.node, &field_path, Quantity::Delay)?,
            "rate" => shape.rate = quantity(ctx, &field.node, &field_path, Quantity::Rate)?,
            "loss" => shape.loss = quantity(ctx, &field.node, &field_path, Quantity::Loss)?,
            "symmetric" => {
                shape.symmetric = ctx.boolean(&field.node, &field_path)?;
                symmetric_written = true;
            }
            // EnOS's spelling; `symmetric` wins when both are written.
            "symetric" if !symmetric_written && find(entries, "symmetric").is_none() => {
                shape.symmetric = ctx.boolean(&field.node, &field_path)?;
            }
            "symetric" => {}
            "network" => ctx.warn_key(
                path,
                field,
                "network roles have no equivalent: enos-rs shapes the interface holding each \
                 host's address",
            ),
            _ => ctx.warn_key(path, field, "not a key of EnOS's constraints; left out"),
        }
    }
    let (srcs, dsts) = match ends.as_slice() {
        [srcs, dsts] => (srcs, dsts),
        _ => return Ok(Vec::new()),
    };
    let pairs = srcs.len().saturating_mul(dsts.len());
    if pairs > MAX_PAIRS {
        return Err(ctx.error(
            node.at,
            path,
            format!(
                "this constraint spreads over {pairs} pairs of sites, more than the \
                 {MAX_PAIRS} enos-rs constraints it may become; write it per group"
            ),
        ));
    }
    let mut out = Vec::new();
    for src in srcs {
        for dst in dsts {
            out.push(ConstraintOut {
                src: src.clone(),
                dst: dst.clone(),
                ..shape.clone()
            });
        }
    }
    Ok(out)
}

/// A list of selectors (`groups`, `except`), each made into its enos-rs names.
fn selector_list(
    ctx: &Ctx<'_>,
    layout: &Layout,
    node: &Node,
    path: &str,
) -> Result<Vec<String>, ImportError> {
    let items: Vec<(&Node, String)> = match &node.value {
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (item, format!("{path}[{i}]")))
            .collect(),
        Value::Scalar { .. } => vec![(node, path.to_owned())],
        _ => {
            return Err(ctx.error(
                node.at,
                path,
                format!(
                    "expected a list of groups or roles such as [grp1], found {}",
                    node.describe()
                ),
            ));
        }
    };
    let mut names: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (item, item_path) in items {
        for name in selector(ctx, layout, item, &item_path)? {
            if seen.insert(name.clone()) {
                names.push(name);
            }
        }
    }
    Ok(names)
}

/// An EnOS group or role name (or a range of them) as the enos-rs selectors standing for it:
/// itself when nothing was renamed or spread.
fn selector(
    ctx: &Ctx<'_>,
    layout: &Layout,
    node: &Node,
    path: &str,
) -> Result<Vec<String>, ImportError> {
    let text = ctx.text(node, path, "a group or role name such as grp1")?;
    if let Some(names) = layout.selectors.get(&text) {
        return Ok(names.iter().cloned().collect());
    }
    let unknown = |name: &str| {
        let mut known: Vec<&str> = layout.selectors.keys().map(String::as_str).collect();
        let more = known.len() > 20;
        known.truncate(20);
        ctx.error(
            node.at,
            path,
            format!(
                "{} is not a group or a role of this reservation; expected one of {}{}",
                quote(name),
                known.join(", "),
                if more { ", …" } else { "" }
            ),
        )
    };
    if range_parts(&text).is_none() {
        return Err(unknown(&text));
    }
    let expanded = expand(&text).map_err(|m| ctx.error(node.at, path, m))?;
    let mut names: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut as_written = true;
    for name in &expanded {
        let Some(mapped) = layout.selectors.get(name) else {
            return Err(unknown(name));
        };
        as_written &= mapped.len() == 1 && mapped.first() == Some(name);
        for m in mapped {
            if seen.insert(m) {
                names.push(m.clone());
            }
        }
    }
    Ok(if as_written { vec![text] } else { names })
}
