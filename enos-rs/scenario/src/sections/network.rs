//! The `network:` section (or a constraints file): the WAN between the hosts, with EnOS
//! network_constraints semantics.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ScenarioError;
use crate::check::{Checker, read_source, saphyr_options, serde_error};
use crate::selector::{Names, Selector};
use crate::sites::Site;
use crate::units::{Delay, LossRate, Rate};

/// Parses a constraints file: a `network` section alone, with key paths from its root.
pub(crate) fn parse_constraints(
    source: &str,
    file_name: &str,
    sites: &[Site],
) -> Result<NetworkSpec, ScenarioError> {
    let (map, root) = read_source(
        source,
        file_name,
        "a mapping of network constraints (default_delay, constraints, …)",
    )?;
    let raw: RawNetwork = serde_saphyr::from_str_with_options(source, saphyr_options())
        .map_err(|e| serde_error(&e, &map, file_name, source))?;
    let mut checker = Checker::new(file_name, source, &map, root);
    let network = checker.network(Some(raw), sites, "");
    if checker.diagnostics.is_empty() {
        Ok(network)
    } else {
        checker.diagnostics.sort_by_key(|d| (d.line, d.column));
        Err(ScenarioError {
            diagnostics: checker.diagnostics,
        })
    }
}

/// The section as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetwork {
    default_delay: Option<Value>,
    default_jitter: Option<Value>,
    default_rate: Option<Value>,
    default_loss: Option<Value>,
    groups: Option<Vec<String>>,
    except: Option<Vec<String>>,
    constraints: Option<Vec<RawConstraint>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConstraint {
    src: Option<String>,
    dst: Option<String>,
    delay: Option<Value>,
    jitter: Option<Value>,
    rate: Option<Value>,
    loss: Option<Value>,
    // EnOS and EnOSlib spell it `symetric`; both are read.
    #[serde(alias = "symetric")]
    symmetric: Option<bool>,
}

/// The network section: defaults and constraints, with EnOS semantics (values are one-way).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Delay applied between the hosts of `groups` where no constraint says otherwise.
    pub default_delay: Delay,
    /// Jitter applied with the default delay.
    pub default_jitter: Delay,
    /// Rate applied where no constraint says otherwise.
    pub default_rate: Rate,
    /// Loss applied where no constraint says otherwise.
    pub default_loss: LossRate,
    /// The hosts between which the defaults apply; `None` means every host.
    pub groups: Option<Vec<Selector>>,
    /// Hosts taken out of `groups`: the defaults do not apply to them.
    pub except: Vec<Selector>,
    /// Constraints, in file order: where several set the same direction, the last one wins.
    pub constraints: Vec<Constraint>,
}

impl NetworkSpec {
    /// Whether the section shapes anything: a non-zero default or at least one constraint.
    pub fn shapes_anything(&self) -> bool {
        !self.constraints.is_empty() || self.default_shapes()
    }

    /// Whether the defaults alone shape traffic (a delay, jitter, loss, or a rate below 10gbit).
    pub fn default_shapes(&self) -> bool {
        !self.default_delay.0.is_zero()
            || !self.default_jitter.0.is_zero()
            || self.default_loss.percent() > 0.0
            || self.default_rate != DEFAULT_RATE
    }
}

/// The rate of a direction nothing limits: 10gbit, as in EnOSlib.
pub const DEFAULT_RATE: Rate = Rate(10_000_000_000);

impl Default for NetworkSpec {
    fn default() -> Self {
        Self {
            default_delay: Delay::default(),
            default_jitter: Delay::default(),
            default_rate: DEFAULT_RATE,
            default_loss: LossRate::default(),
            groups: None,
            except: Vec::new(),
            constraints: Vec::new(),
        }
    }
}

/// A constraint from some hosts to others (and back, when symmetric).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    /// The hosts traffic leaves.
    pub src: Selector,
    /// The hosts traffic goes to.
    pub dst: Selector,
    /// One-way delay (the default when absent).
    pub delay: Option<Delay>,
    /// Jitter (the default when absent).
    pub jitter: Option<Delay>,
    /// Rate (the default when absent).
    pub rate: Option<Rate>,
    /// Loss (the default when absent).
    pub loss: Option<LossRate>,
    /// Whether the constraint also applies from `dst` to `src`.
    pub symmetric: bool,
}

impl Checker<'_> {
    /// The network section; `base` is the key path it sits at (`network.`, or empty for a
    /// constraints file).
    pub(crate) fn network(
        &mut self,
        raw: Option<RawNetwork>,
        sites: &[Site],
        base: &str,
    ) -> NetworkSpec {
        let mut spec = NetworkSpec::default();
        let Some(raw) = raw else { return spec };
        let delay = self.quantity(
            &format!("{base}default_delay"),
            raw.default_delay.as_ref(),
            "delay",
            "2ms",
        );
        let jitter = self.quantity(
            &format!("{base}default_jitter"),
            raw.default_jitter.as_ref(),
            "jitter",
            "1ms",
        );
        let rate = self.quantity(
            &format!("{base}default_rate"),
            raw.default_rate.as_ref(),
            "rate",
            "1gbit",
        );
        let loss = self.quantity(
            &format!("{base}default_loss"),
            raw.default_loss.as_ref(),
            "loss",
            "0%",
        );
        spec.default_delay = delay.unwrap_or(spec.default_delay);
        spec.default_jitter = jitter.unwrap_or(spec.default_jitter);
        spec.default_rate = rate.unwrap_or(spec.default_rate);
        spec.default_loss = loss.unwrap_or(spec.default_loss);
        self.jitter_within_delay(
            &format!("{base}default_jitter"),
            spec.default_jitter,
            spec.default_delay,
        );
        let names = Names::of(sites);
        spec.groups = raw.groups.map(|groups| {
            groups
                .iter()
                .enumerate()
                .filter_map(|(i, text)| self.selector(&format!("{base}groups[{i}]"), text, &names))
                .collect()
        });
        spec.except = raw
            .except
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(|(i, text)| self.selector(&format!("{base}except[{i}]"), text, &names))
            .collect();
        for (i, c) in raw.constraints.unwrap_or_default().into_iter().enumerate() {
            let path = format!("{base}constraints[{i}]");
            let src = self.end(&path, "src", c.src, &names, "the hosts traffic leaves");
            let dst = self.end(&path, "dst", c.dst, &names, "the hosts traffic goes to");
            let delay: Option<Delay> =
                self.quantity(&format!("{path}.delay"), c.delay.as_ref(), "delay", "25ms");
            let jitter: Option<Delay> = self.quantity(
                &format!("{path}.jitter"),
                c.jitter.as_ref(),
                "jitter",
                "1ms",
            );
            let rate = self.quantity(&format!("{path}.rate"), c.rate.as_ref(), "rate", "100mbit");
            let loss = self.quantity(&format!("{path}.loss"), c.loss.as_ref(), "loss", "1%");
            let jitter_path = if c.jitter.is_some() {
                format!("{path}.jitter")
            } else {
                format!("{path}.delay")
            };
            self.jitter_within_delay(
                &jitter_path,
                jitter.unwrap_or(spec.default_jitter),
                delay.unwrap_or(spec.default_delay),
            );
            if let (Some(src), Some(dst)) = (src, dst) {
                spec.constraints.push(Constraint {
                    src,
                    dst,
                    delay,
                    jitter,
                    rate,
                    loss,
                    symmetric: c.symmetric.unwrap_or(false),
                });
            }
        }
        spec
    }

    /// Jitter larger than its delay would ask for negative delays.
    fn jitter_within_delay(&mut self, path: &str, jitter: Delay, delay: Delay) {
        if jitter > delay {
            self.value_error(
                path,
                format!(
                    "the jitter ({jitter}) is larger than the delay ({delay}): delays would turn \
                     negative"
                ),
            );
        }
    }

    /// The `src` or `dst` of a constraint.
    fn end(
        &mut self,
        constraint: &str,
        key: &str,
        value: Option<String>,
        names: &Names,
        what: &str,
    ) -> Option<Selector> {
        let path = format!("{constraint}.{key}");
        let Some(text) = value else {
            self.missing(&path, constraint, what, &format!("{key}: paris"));
            return None;
        };
        self.selector(&path, &text, names)
    }

    /// A site, role or host name, or an EnOS range of them (`paris-server-[1-3]`).
    fn selector(&mut self, path: &str, text: &str, names: &Names) -> Option<Selector> {
        match names.selector(text) {
            Ok(selector) => Some(selector),
            Err(why) => {
                self.value_error(path, why);
                None
            }
        }
    }
}
