//! The resolved WAN in class form: hosts the section cannot tell apart form a class, and there is
//! one shape per ordered pair of classes.
//!
//! A class holds hosts that every selector of the section (and of every change applied since)
//! names alike, so every ordered pair of distinct hosts (a in A, b in B) has the same shape. The
//! size is O(classes² + hosts), not O(hosts²): 1000 hosts in 10 sites with site-to-site
//! constraints are 10 classes and at most 100 shapes.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::Duration;

use enos_scenario::{Delay, LossRate, Rate};
use serde::{Deserialize, Serialize};

use crate::is_neutral;

/// What traffic in one direction goes through: delay, jitter, rate and loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinkShape {
    /// One-way delay.
    pub delay: Delay,
    /// Jitter around the delay (uniform in `[delay - jitter, delay + jitter]`).
    pub jitter: Delay,
    /// Rate, in bits per second.
    pub rate: Rate,
    /// Loss rate.
    pub loss: LossRate,
}

impl LinkShape {
    /// Whether netem has something to do: a delay, a jitter or a loss.
    pub fn needs_netem(&self) -> bool {
        self.delay.0 > Duration::ZERO || self.jitter.0 > Duration::ZERO || self.loss.percent() > 0.0
    }
}

/// A host as the WAN sees it: its name, site, role and address on the experiment network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WanHost {
    /// The host's name.
    pub name: String,
    /// Its site.
    pub site: String,
    /// Its role.
    pub role: String,
    /// Its address on the experiment network.
    pub address: IpAddr,
}

/// The shape of traffic from one host to one destination address, owned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairShape {
    /// The source host's name.
    pub src: String,
    /// The destination host's name.
    pub dst: String,
    /// The destination address.
    pub dst_address: IpAddr,
    /// The shape applied on the way from `src` to `dst_address`.
    pub shape: LinkShape,
}

/// One host of a class: its name and its address on the experiment network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassMember {
    /// The host's name.
    pub name: String,
    /// Its address on the experiment network.
    pub address: IpAddr,
}

/// Hosts that no selector tells apart: every pair between two classes has one shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostClass {
    /// The members, in testbed order.
    pub hosts: Vec<ClassMember>,
}

/// The shape of every ordered pair (a host of class `src`, another host of class `dst`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassShape {
    /// The source class, an index in [`WanMatrix::classes`].
    pub src: usize,
    /// The destination class; equal to `src` for the pairs of distinct hosts of one class.
    pub dst: usize,
    /// The shape of each of those directions.
    pub shape: LinkShape,
}

/// Every shaped direction of the experiment, by class; directions not listed are not shaped.
///
/// Every host of the testbed is in exactly one class. `shapes` lists only the class pairs whose
/// shape is not neutral, ordered by source class then destination class, each at most once. A
/// host is never shaped towards itself. [`resolve`](crate::resolve) and
/// [`apply_change`](crate::apply_change) give classes ordered by their first host in testbed
/// order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WanMatrix {
    /// The classes of hosts.
    pub classes: Vec<HostClass>,
    /// The shaped class pairs.
    pub shapes: Vec<ClassShape>,
}

/// One shaped direction, borrowed from a [`WanMatrix`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairView<'a> {
    /// The source host's name.
    pub src: &'a str,
    /// The destination host's name.
    pub dst: &'a str,
    /// The destination address.
    pub dst_address: IpAddr,
    /// The shape applied on the way from `src` to `dst_address`.
    pub shape: &'a LinkShape,
}

impl PairView<'_> {
    /// The same direction, owned.
    pub fn to_pair_shape(&self) -> PairShape {
        PairShape {
            src: self.src.to_owned(),
            dst: self.dst.to_owned(),
            dst_address: self.dst_address,
            shape: *self.shape,
        }
    }
}

impl WanMatrix {
    /// The shape from host `src` to host `dst`, if that direction is shaped. O(hosts + shapes):
    /// use [`WanMatrix::index`] to look up many pairs.
    pub fn shape(&self, src: &str, dst: &str) -> Option<&LinkShape> {
        if src == dst {
            return None;
        }
        let class_of = |name: &str| {
            self.classes
                .iter()
                .position(|c| c.hosts.iter().any(|h| h.name == name))
        };
        let (a, b) = (class_of(src)?, class_of(dst)?);
        self.class_shape(a, b)
    }

    /// The shape between the distinct hosts of class `src` and class `dst`, if shaped.
    pub fn class_shape(&self, src: usize, dst: usize) -> Option<&LinkShape> {
        self.shapes
            .iter()
            .find(|s| s.src == src && s.dst == dst)
            .map(|s| &s.shape)
    }

    /// A lookup table: the class of a host and the shape of a pair in O(1).
    pub fn index(&self) -> MatrixIndex<'_> {
        let mut class = HashMap::new();
        for (i, c) in self.classes.iter().enumerate() {
            for h in &c.hosts {
                class.entry(h.name.as_str()).or_insert(i);
            }
        }
        let mut shapes = HashMap::new();
        for s in &self.shapes {
            shapes.entry((s.src, s.dst)).or_insert(&s.shape);
        }
        MatrixIndex { class, shapes }
    }

    /// Every shaped direction, one per ordered pair of distinct hosts: sources class by class
    /// (each class's hosts in testbed order), and for each source its destinations in the same
    /// order. That is the testbed order whenever each class's hosts are contiguous in the
    /// testbed (a class per site, per role of a site, ...).
    pub fn pairs(&self) -> Pairs<'_> {
        let mut rows: Vec<Vec<&ClassShape>> = vec![Vec::new(); self.classes.len()];
        for s in &self.shapes {
            if s.dst < self.classes.len()
                && let Some(row) = rows.get_mut(s.src)
            {
                row.push(s);
            }
        }
        for row in &mut rows {
            // Stable: of a class pair listed twice, the first counts, as in `class_shape`.
            row.sort_by_key(|s| s.dst);
            row.dedup_by_key(|s| s.dst);
        }
        Pairs {
            matrix: self,
            rows,
            src_class: 0,
            src_member: 0,
            shape: 0,
            dst_member: 0,
        }
    }

    /// How many ordered pairs of hosts are shaped, computed from the class sizes.
    pub fn pair_count(&self) -> usize {
        let index = self.index();
        index
            .shapes
            .keys()
            .map(|&(a, b)| {
                let size = |c: usize| self.classes.get(c).map_or(0, |c| c.hosts.len());
                if a == b {
                    size(a) * size(a).saturating_sub(1)
                } else {
                    size(a) * size(b)
                }
            })
            .sum()
    }

    /// How many hosts the classes hold.
    pub fn host_count(&self) -> usize {
        self.classes.iter().map(|c| c.hosts.len()).sum()
    }

    /// A matrix of one class per host of `hosts` (in their order) with the shapes of `pairs`,
    /// given as (source name, destination name, shape). For tests and small tools: nothing is
    /// grouped, so the size is that of the pairs. A later pair of the same direction replaces an
    /// earlier one; neutral shapes are left out.
    pub fn from_pairs<'p>(
        hosts: &[WanHost],
        pairs: impl IntoIterator<Item = (&'p str, &'p str, LinkShape)>,
    ) -> Result<WanMatrix, String> {
        let position: HashMap<&str, usize> = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.name.as_str(), i))
            .collect();
        let find = |name: &str| {
            position
                .get(name)
                .copied()
                .ok_or_else(|| format!("{name} is no host of the testbed"))
        };
        let mut shapes: HashMap<(usize, usize), LinkShape> = HashMap::new();
        for (src, dst, shape) in pairs {
            let (a, b) = (find(src)?, find(dst)?);
            if a == b {
                return Err(format!("{src} cannot be shaped towards itself"));
            }
            shapes.insert((a, b), shape);
        }
        let classes = (0..hosts.len()).map(|i| vec![i]).collect();
        Ok(Self::from_classes(hosts, classes, |a, b| {
            shapes.get(&(a, b)).copied()
        }))
    }

    /// The matrix of `classes` (indexes in `hosts`, each class in testbed order, classes by
    /// their first host) where `shape_of(a, b)` gives the shape between two representatives.
    /// Called once per class pair that has a pair of distinct hosts.
    pub(crate) fn from_classes(
        hosts: &[WanHost],
        classes: Vec<Vec<usize>>,
        mut shape_of: impl FnMut(usize, usize) -> Option<LinkShape>,
    ) -> WanMatrix {
        let mut shapes = Vec::new();
        for (ca, a_members) in classes.iter().enumerate() {
            let Some(&a) = a_members.first() else {
                continue;
            };
            for (cb, b_members) in classes.iter().enumerate() {
                let b = if ca == cb {
                    b_members.get(1)
                } else {
                    b_members.first()
                };
                let Some(&b) = b else {
                    continue;
                };
                if let Some(shape) = shape_of(a, b).filter(|s| !is_neutral(s)) {
                    shapes.push(ClassShape {
                        src: ca,
                        dst: cb,
                        shape,
                    });
                }
            }
        }
        WanMatrix {
            classes: classes
                .into_iter()
                .map(|members| HostClass {
                    hosts: members
                        .into_iter()
                        .filter_map(|i| hosts.get(i))
                        .map(|h| ClassMember {
                            name: h.name.clone(),
                            address: h.address,
                        })
                        .collect(),
                })
                .collect(),
            shapes,
        }
    }
}

/// Groups items by key: the group of each item, and the items of each group; groups are
/// numbered in the order of their first item, items keep their order.
pub(crate) fn group_by_key<K: Hash + Eq>(
    keys: impl IntoIterator<Item = K>,
) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut numbers: HashMap<K, usize> = HashMap::new();
    let mut of = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, key) in keys.into_iter().enumerate() {
        let next = groups.len();
        let g = *numbers.entry(key).or_insert(next);
        if g == next {
            groups.push(Vec::new());
        }
        if let Some(members) = groups.get_mut(g) {
            members.push(i);
        }
        of.push(g);
    }
    (of, groups)
}

/// O(1) look-ups in a [`WanMatrix`]: [`WanMatrix::index`].
#[derive(Debug, Clone)]
pub struct MatrixIndex<'a> {
    class: HashMap<&'a str, usize>,
    shapes: HashMap<(usize, usize), &'a LinkShape>,
}

impl<'a> MatrixIndex<'a> {
    /// The class of the host called `name`, if the matrix has it.
    pub fn class_of(&self, name: &str) -> Option<usize> {
        self.class.get(name).copied()
    }

    /// The shape from host `src` to host `dst`, if that direction is shaped.
    pub fn shape(&self, src: &str, dst: &str) -> Option<&'a LinkShape> {
        if src == dst {
            return None;
        }
        self.class_shape(self.class_of(src)?, self.class_of(dst)?)
    }

    /// The shape between the distinct hosts of class `src` and class `dst`, if shaped.
    pub fn class_shape(&self, src: usize, dst: usize) -> Option<&'a LinkShape> {
        self.shapes.get(&(src, dst)).copied()
    }
}

/// The shaped directions of a matrix, one by one: [`WanMatrix::pairs`].
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    matrix: &'a WanMatrix,
    /// Per source class, its shaped class pairs by destination class.
    rows: Vec<Vec<&'a ClassShape>>,
    src_class: usize,
    src_member: usize,
    shape: usize,
    dst_member: usize,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = PairView<'a>;

    fn next(&mut self) -> Option<PairView<'a>> {
        let classes = &self.matrix.classes;
        loop {
            let src_class = classes.get(self.src_class)?;
            let (Some(row), Some(src)) = (
                self.rows.get(self.src_class),
                src_class.hosts.get(self.src_member),
            ) else {
                self.src_class += 1;
                self.src_member = 0;
                self.shape = 0;
                self.dst_member = 0;
                continue;
            };
            let Some(class_shape) = row.get(self.shape) else {
                self.src_member += 1;
                self.shape = 0;
                self.dst_member = 0;
                continue;
            };
            let Some(dst) = classes
                .get(class_shape.dst)
                .and_then(|c| c.hosts.get(self.dst_member))
            else {
                self.shape += 1;
                self.dst_member = 0;
                continue;
            };
            self.dst_member += 1;
            if class_shape.dst == self.src_class && self.dst_member - 1 == self.src_member {
                continue;
            }
            return Some(PairView {
                src: &src.name,
                dst: &dst.name,
                dst_address: dst.address,
                shape: &class_shape.shape,
            });
        }
    }
}
