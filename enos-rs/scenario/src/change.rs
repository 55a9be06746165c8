//! Live changes of the WAN, as `enos tc apply --set 'paris->rennes delay=50ms'` and the bench
//! section's `set:` events and `wan:` axes write them.
//!
//! A change names a source and a destination (sites, roles, hosts or ranges, as in
//! constraints), `->` for one direction or `<->` for both, then `key=value` pairs among
//! `delay`, `jitter`, `rate` and `loss`. Unlike a constraint, which replaces a direction's whole
//! shape, a change keeps what it does not name: `paris<->rennes loss=100%` partitions the two
//! sites and `paris<->rennes loss=0%` heals them with their delays intact. `enos-wan` applies
//! them to a matrix.

use crate::selector::{Names, Selector};
use crate::{Delay, LossRate, Rate, Site};

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
    parse_with(text, &Names::of(sites))
}

/// [`parse_change`] against names already gathered.
pub(crate) fn parse_with(text: &str, names: &Names) -> Result<ShapeChange, String> {
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
        src: names.selector(src)?,
        dst: names.selector(dst)?,
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
