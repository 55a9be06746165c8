//! Which ordered pairs of hosts validation measures: all of them on a small testbed, a sample
//! per site pair on a large one. Re-exported by [`crate::validate`].

use std::collections::BTreeSet;

use crate::matrix::group_by_key;
use crate::{LinkShape, WanHost, WanMatrix};

/// Above this many ordered pairs of hosts (51 hosts and more), validation measures a sample.
pub const SAMPLE_THRESHOLD: usize = 2_500;

/// How many ordered pairs a sample measures per (source site, destination site) pair, when the
/// two sites have that many.
pub const SAMPLE_PER_SITE_PAIR: usize = 4;

/// The most ordered pairs a sample measures per site pair, when its pairs are asked different
/// shapes or its hosts fall in different classes of the matrix.
pub const SAMPLE_MAX_PER_SITE_PAIR: usize = 16;

/// What validation measures: for each host, the hosts it probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbePlan {
    /// Per host (by index in the hosts the plan was made for), the indexes of the hosts it
    /// probes, ascending.
    pub targets: Vec<Vec<usize>>,
    /// Whether only a sample of the ordered pairs is measured.
    pub sampled: bool,
    /// How many ordered pairs of distinct hosts the testbed has.
    pub total_pairs: usize,
    /// How many of them are measured.
    pub measured_pairs: usize,
}

impl ProbePlan {
    /// The measured ordered pairs (source index, destination index), by source then
    /// destination.
    pub fn pairs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.targets
            .iter()
            .enumerate()
            .flat_map(|(src, targets)| targets.iter().map(move |&dst| (src, dst)))
    }

    /// The plan that measures only `pairs` (source index, destination index) of this plan's
    /// hosts, e.g. the pairs a first measurement found outside tolerance; it keeps this plan's
    /// `sampled` and `total_pairs`. Pairs the plan does not have are left out.
    pub fn only(&self, pairs: impl IntoIterator<Item = (usize, usize)>) -> ProbePlan {
        let mut only = ProbePlan {
            targets: vec![Vec::new(); self.targets.len()],
            sampled: self.sampled,
            total_pairs: self.total_pairs,
            measured_pairs: 0,
        };
        for (src, dst) in pairs {
            let planned = self
                .targets
                .get(src)
                .is_some_and(|targets| targets.binary_search(&dst).is_ok());
            if planned {
                only.add_pair(src, dst);
            }
        }
        only
    }

    /// Adds the pair `src` → `dst` (e.g. one whose rate is measured too); `false` when it was
    /// already there, or is no pair of distinct hosts of the plan.
    pub fn add_pair(&mut self, src: usize, dst: usize) -> bool {
        if src == dst || dst >= self.targets.len() {
            return false;
        }
        let Some(targets) = self.targets.get_mut(src) else {
            return false;
        };
        match targets.binary_search(&dst) {
            Ok(_) => false,
            Err(at) => {
                targets.insert(at, dst);
                self.measured_pairs += 1;
                true
            }
        }
    }
}

/// The pairs to measure among `hosts` for `matrix`: every ordered pair when there are at most
/// `limit` of them ([`SAMPLE_THRESHOLD`] for the CLI), a sample otherwise.
///
/// The sample is taken per pair of sites {S, D} (S = D included), and each chosen pair of hosts
/// is measured both ways. In order, until the site pair has [`SAMPLE_MAX_PER_SITE_PAIR`]
/// ordered pairs measured each way:
/// 1. one pair of hosts for each distinct ask (the shapes there and back) between the two sites;
/// 2. one pair for each pair of classes of the matrix not covered yet (classes split a site when
///    a selector names some of its hosts only);
/// 3. more pairs, spread evenly over the hosts of both sites, until each way has
///    [`SAMPLE_PER_SITE_PAIR`] ordered pairs (or every pair the sites have).
///
/// Hosts of a class are taken in turn, so that the sample spreads over hosts. The plan is
/// deterministic: the same hosts and matrix give the same plan. Cost: O(hosts + sites² +
/// (site, class) groups²).
pub fn probe_plan(hosts: &[WanHost], matrix: &WanMatrix, limit: usize) -> ProbePlan {
    let n = hosts.len();
    let total_pairs = n * n.saturating_sub(1);
    if total_pairs <= limit {
        return ProbePlan {
            targets: (0..n)
                .map(|src| (0..n).filter(|&dst| dst != src).collect())
                .collect(),
            sampled: false,
            total_pairs,
            measured_pairs: total_pairs,
        };
    }
    let index = matrix.index();
    let class: Vec<Option<usize>> = hosts.iter().map(|h| index.class_of(&h.name)).collect();
    let (site_of, sites) = group_by_key(hosts.iter().map(|h| h.site.as_str()));
    // A cell is the hosts of one class on one site.
    let (_, cells) =
        group_by_key((0..n).map(|i| (site_of.get(i).copied(), class.get(i).copied().flatten())));
    let mut cells_of_site: Vec<Vec<usize>> = vec![Vec::new(); sites.len()];
    for (c, members) in cells.iter().enumerate() {
        if let Some(site) = members.first().and_then(|&h| site_of.get(h))
            && let Some(list) = cells_of_site.get_mut(*site)
        {
            list.push(c);
        }
    }
    let mut sampler = Sampler {
        cells: &cells,
        cell_class: cells
            .iter()
            .map(|m| m.first().and_then(|&h| class.get(h).copied().flatten()))
            .collect(),
        next: vec![0; cells.len()],
        index: &index,
        targets: vec![BTreeSet::new(); n],
    };
    for s in 0..sites.len() {
        for d in s..sites.len() {
            sampler.site_pair(&sites, &cells_of_site, s, d);
        }
    }
    let targets: Vec<Vec<usize>> = sampler
        .targets
        .into_iter()
        .map(|t| t.into_iter().collect())
        .collect();
    let measured_pairs = targets.iter().map(Vec::len).sum();
    ProbePlan {
        targets,
        sampled: true,
        total_pairs,
        measured_pairs,
    }
}

/// The state of [`probe_plan`] while it samples.
struct Sampler<'a> {
    cells: &'a [Vec<usize>],
    cell_class: Vec<Option<usize>>,
    /// Per cell, which of its hosts is taken next.
    next: Vec<usize>,
    index: &'a crate::MatrixIndex<'a>,
    targets: Vec<BTreeSet<usize>>,
}

/// What a pair of hosts is asked: the shape there and the shape back.
type Ask = (Option<LinkShape>, Option<LinkShape>);

impl Sampler<'_> {
    /// Samples the site pair {s, d}, s ≤ d.
    fn site_pair(
        &mut self,
        sites: &[Vec<usize>],
        cells_of_site: &[Vec<usize>],
        s: usize,
        d: usize,
    ) {
        let same = s == d;
        // Ordered pairs a chosen pair of hosts adds to each way of the site pair.
        let per_pick = if same { 2 } else { 1 };
        let (want, most) = (
            SAMPLE_PER_SITE_PAIR.div_ceil(per_pick),
            SAMPLE_MAX_PER_SITE_PAIR / per_pick,
        );
        let empty = Vec::new();
        let (src_cells, dst_cells) = (
            cells_of_site.get(s).unwrap_or(&empty),
            cells_of_site.get(d).unwrap_or(&empty),
        );
        let mut cell_pairs = Vec::new();
        for (i, &x) in src_cells.iter().enumerate() {
            for (j, &y) in dst_cells.iter().enumerate() {
                let lone = x == y && self.cells.get(x).is_none_or(|m| m.len() < 2);
                if (!same || j >= i) && !lone {
                    cell_pairs.push((x, y));
                }
            }
        }
        let mut picks: Vec<(usize, usize)> = Vec::new();
        let mut covered = vec![false; cell_pairs.len()];
        let mut asks: Vec<Ask> = Vec::new();
        for (k, &(x, y)) in cell_pairs.iter().enumerate() {
            if picks.len() >= most {
                break;
            }
            let ask = self.ask(x, y);
            if !asks.contains(&ask) {
                asks.push(ask);
                covered[k] = self.pick_in_cells(x, y, &mut picks);
            }
        }
        for (k, &(x, y)) in cell_pairs.iter().enumerate() {
            if picks.len() >= most {
                break;
            }
            if !covered[k] {
                covered[k] = self.pick_in_cells(x, y, &mut picks);
            }
        }
        let (Some(src_hosts), Some(dst_hosts)) = (sites.get(s), sites.get(d)) else {
            return;
        };
        // Evenly spaced hosts first (shifted by the other site, so that a site's site pairs
        // do not all take its first host), then the first pairs not taken.
        let (ns, nd) = (src_hosts.len(), dst_hosts.len());
        if ns == 0 || nd == 0 {
            return;
        }
        for j in 0..want {
            if picks.len() >= want {
                return;
            }
            let a = (j * ns / want + d) % ns;
            let b = if same {
                (a + (ns / (2 * want)).max(1)) % ns
            } else {
                (j * nd / want + s) % nd
            };
            if let (Some(&a), Some(&b)) = (src_hosts.get(a), dst_hosts.get(b)) {
                self.pick(a, b, &mut picks);
            }
        }
        for (i, &a) in src_hosts.iter().enumerate() {
            for &b in dst_hosts.iter().skip(if same { i + 1 } else { 0 }) {
                if picks.len() >= want {
                    return;
                }
                self.pick(a, b, &mut picks);
            }
        }
    }

    /// What the pairs from cell `x` to cell `y` are asked.
    fn ask(&self, x: usize, y: usize) -> Ask {
        let class = |c: usize| self.cell_class.get(c).copied().flatten();
        let shape = |from: usize, to: usize| match (class(from), class(to)) {
            (Some(a), Some(b)) => self.index.class_shape(a, b).copied(),
            _ => None,
        };
        (shape(x, y), shape(y, x))
    }

    /// Picks a pair of hosts from cell `x` to cell `y`, taking their hosts in turn; whether the
    /// two cells are now covered.
    fn pick_in_cells(&mut self, x: usize, y: usize, picks: &mut Vec<(usize, usize)>) -> bool {
        let (Some(xs), Some(ys)) = (self.cells.get(x), self.cells.get(y)) else {
            return false;
        };
        let (Some(&nx), Some(&ny)) = (self.next.get(x), self.next.get(y)) else {
            return false;
        };
        if xs.is_empty() || ys.is_empty() {
            return false;
        }
        let a = xs[nx % xs.len()];
        let b = if x == y {
            ys[(nx + 1) % ys.len()]
        } else {
            ys[ny % ys.len()]
        };
        if let Some(next) = self.next.get_mut(x) {
            *next += 1;
        }
        if x != y
            && let Some(next) = self.next.get_mut(y)
        {
            *next += 1;
        }
        self.pick(a, b, picks);
        picks.contains(&(a.min(b), a.max(b)))
    }

    /// Measures `a` → `b` and `b` → `a`, unless already chosen for this site pair.
    fn pick(&mut self, a: usize, b: usize, picks: &mut Vec<(usize, usize)>) {
        let key = (a.min(b), a.max(b));
        if a == b || picks.contains(&key) {
            return;
        }
        picks.push(key);
        if let Some(t) = self.targets.get_mut(a) {
            t.insert(b);
        }
        if let Some(t) = self.targets.get_mut(b) {
            t.insert(a);
        }
    }
}
