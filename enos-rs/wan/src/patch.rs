//! Live changes: `--set 'paris->rennes delay=50ms'` patches the matrix in force.
//!
//! A change names a source and a destination (sites, roles, hosts or ranges, as in
//! constraints), `->` for one direction or `<->` for both, then `key=value` pairs among
//! `delay`, `jitter`, `rate` and `loss`. Unlike a constraint, which replaces a direction's whole
//! shape, a change keeps what it does not name: `paris<->rennes loss=100%` partitions the two
//! sites and `paris<->rennes loss=0%` heals them with their delays intact.

use enos_scenario::{Delay, LossRate, Rate, Selector, Site};

use crate::{LinkShape, PairShape, WanHost, WanMatrix, is_neutral};

/// One live change, parsed from its text.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeChange {
    /// The text as given.
    pub text: String,
    /// The hosts traffic leaves.
    pub src: Selector,
    /// The hosts traffic goes to.
    pub dst: Selector,
    /// Whether the change applies both ways (`<->`).
    pub both_ways: bool,
    /// New one-way delay.
    pub delay: Option<Delay>,
    /// New jitter.
    pub jitter: Option<Delay>,
    /// New rate.
    pub rate: Option<Rate>,
    /// New loss.
    pub loss: Option<LossRate>,
}

/// Reads a change such as `paris->rennes delay=50ms loss=1%` against the hosts of `sites`.
pub fn parse_change(text: &str, sites: &[Site]) -> Result<ShapeChange, String> {
    let mut words = text.split_whitespace();
    let ends = words
        .next()
        .ok_or("empty change: expected e.g. 'paris->rennes delay=50ms'")?;
    let (src, dst, both_ways) = if let Some((a, b)) = ends.split_once("<->") {
        (a, b, true)
    } else if let Some((a, b)) = ends.split_once("->") {
        (a, b, false)
    } else {
        return Err(format!(
            "'{ends}' names no direction: write SRC->DST, or SRC<->DST for both ways"
        ));
    };
    let mut change = ShapeChange {
        text: text.to_owned(),
        src: enos_scenario::selector(src, sites)?,
        dst: enos_scenario::selector(dst, sites)?,
        both_ways,
        delay: None,
        jitter: None,
        rate: None,
        loss: None,
    };
    let mut any = false;
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("'{word}' is not key=value (e.g. delay=50ms)"))?;
        let bad = |why: String| format!("bad {key} '{value}': {why}");
        match key {
            "delay" => change.delay = Some(value.parse().map_err(bad)?),
            "jitter" => change.jitter = Some(value.parse().map_err(bad)?),
            "rate" => change.rate = Some(value.parse().map_err(bad)?),
            "loss" => change.loss = Some(value.parse().map_err(bad)?),
            other => {
                return Err(format!(
                    "unknown key '{other}', expected delay, jitter, rate or loss"
                ));
            }
        }
        any = true;
    }
    if !any {
        return Err(format!(
            "'{text}' changes nothing: add delay=, jitter=, rate= or loss="
        ));
    }
    Ok(change)
}

/// The matrix `matrix` with `change` applied over `hosts`: each named direction keeps what the
/// change leaves out (an unshaped direction starts from no delay, no loss, 10gbit).
pub fn apply_change(
    matrix: &WanMatrix,
    change: &ShapeChange,
    hosts: &[WanHost],
) -> Result<WanMatrix, String> {
    let selects = |s: &Selector, h: &WanHost| s.names_host(&h.name, &h.site, &h.role);
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (a, ha) in hosts.iter().enumerate() {
        for (b, hb) in hosts.iter().enumerate() {
            if a == b {
                continue;
            }
            let forward = selects(&change.src, ha) && selects(&change.dst, hb);
            let backward = change.both_ways && selects(&change.dst, ha) && selects(&change.src, hb);
            if forward || backward {
                pairs.push((a, b));
            }
        }
    }
    if pairs.is_empty() {
        return Err(format!("'{}' names no pair of hosts", change.text));
    }
    let position = |name: &str| hosts.iter().position(|h| h.name == name);
    let mut shaped: Vec<(usize, usize, LinkShape)> = Vec::new();
    for p in &matrix.pairs {
        if let (Some(a), Some(b)) = (position(&p.src), position(&p.dst)) {
            shaped.push((a, b, p.shape));
        }
    }
    for (a, b) in pairs {
        let existing = shaped.iter_mut().find(|(x, y, _)| (*x, *y) == (a, b));
        let mut shape = existing.as_ref().map_or(neutral(), |(_, _, s)| *s);
        shape.delay = change.delay.unwrap_or(shape.delay);
        shape.jitter = change.jitter.unwrap_or(shape.jitter);
        shape.rate = change.rate.unwrap_or(shape.rate);
        shape.loss = change.loss.unwrap_or(shape.loss);
        if shape.jitter > shape.delay {
            return Err(format!(
                "'{}' leaves {} -> {} with a jitter ({}) larger than its delay ({})",
                change.text, hosts[a].name, hosts[b].name, shape.jitter, shape.delay
            ));
        }
        match existing {
            Some(entry) => entry.2 = shape,
            None => shaped.push((a, b, shape)),
        }
    }
    shaped.retain(|(_, _, s)| !is_neutral(s));
    shaped.sort_by_key(|(a, b, _)| (*a, *b));
    Ok(WanMatrix {
        pairs: shaped
            .into_iter()
            .map(|(a, b, shape)| PairShape {
                src: hosts[a].name.clone(),
                dst: hosts[b].name.clone(),
                dst_address: hosts[b].address,
                shape,
            })
            .collect(),
    })
}

fn neutral() -> LinkShape {
    LinkShape {
        delay: Delay::default(),
        jitter: Delay::default(),
        rate: enos_scenario::DEFAULT_RATE,
        loss: LossRate::default(),
    }
}
