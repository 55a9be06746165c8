//! Live changes: `--set 'paris->rennes delay=50ms'` patches the matrix in force. A change is
//! read by [`enos_scenario::parse_change`] (the scenario checks the changes of its bench
//! section with it); here it is applied.

use enos_scenario::{Delay, LossRate, Selector, ShapeChange};

use crate::matrix::group_by_key;
use crate::{LinkShape, WanHost, WanMatrix};

/// The matrix `matrix` with `change` applied over `hosts`: each named direction keeps what the
/// change leaves out (an unshaped direction starts from no delay, no loss, 10gbit).
///
/// The classes are refined first: hosts stay together only if they were in one class of
/// `matrix` and the change's `src` and `dst` name them alike. Hosts `matrix` does not have are
/// a class apart (unshaped until now); hosts of `matrix` missing from `hosts` are dropped. Then
/// each class pair the change names gets its new shape. Cost: O(hosts + classes²).
pub fn apply_change(
    matrix: &WanMatrix,
    change: &ShapeChange,
    hosts: &[WanHost],
) -> Result<WanMatrix, String> {
    let selects = |s: &Selector, h: &WanHost| s.names_host(&h.name, &h.site, &h.role);
    let index = matrix.index();
    // (class in `matrix`, named by the change's src, named by its dst), per host.
    let keys: Vec<(Option<usize>, bool, bool)> = hosts
        .iter()
        .map(|h| {
            (
                index.class_of(&h.name),
                selects(&change.src, h),
                selects(&change.dst, h),
            )
        })
        .collect();
    let (_, classes) = group_by_key(keys.iter().copied());
    let key = |host: usize| keys.get(host).copied().unwrap_or((None, false, false));
    let mut named = false;
    // The first pair (in testbed order) left with a jitter larger than its delay.
    let mut too_jittery: Option<(usize, usize, LinkShape)> = None;
    let changed = WanMatrix::from_classes(hosts, classes, |a, b| {
        let (class_a, src_a, dst_a) = key(a);
        let (class_b, src_b, dst_b) = key(b);
        let old = match (class_a, class_b) {
            (Some(x), Some(y)) => index.class_shape(x, y).copied(),
            _ => None,
        };
        let forward = src_a && dst_b;
        let backward = change.both_ways && dst_a && src_b;
        if !(forward || backward) {
            return old;
        }
        named = true;
        let mut shape = old.unwrap_or_else(neutral);
        shape.delay = change.delay.unwrap_or(shape.delay);
        shape.jitter = change.jitter.unwrap_or(shape.jitter);
        shape.rate = change.rate.unwrap_or(shape.rate);
        shape.loss = change.loss.unwrap_or(shape.loss);
        if shape.jitter > shape.delay && too_jittery.is_none_or(|(x, y, _)| (a, b) < (x, y)) {
            too_jittery = Some((a, b, shape));
        }
        Some(shape)
    });
    if !named {
        return Err(format!("'{}' names no pair of hosts", change.text));
    }
    if let Some((a, b, shape)) = too_jittery {
        let name = |i: usize| hosts.get(i).map_or("?", |h| h.name.as_str());
        return Err(format!(
            "'{}' leaves {} -> {} with a jitter ({}) larger than its delay ({})",
            change.text,
            name(a),
            name(b),
            shape.jitter,
            shape.delay
        ));
    }
    Ok(changed)
}

fn neutral() -> LinkShape {
    LinkShape {
        delay: Delay::default(),
        jitter: Delay::default(),
        rate: enos_scenario::DEFAULT_RATE,
        loss: LossRate::default(),
    }
}
