//! The `metrics:` section: what the collectors measure on every host while workloads run.
//!
//! ```yaml
//! metrics:
//!   period: 1s                 # system samples (default 1s)
//!   system: true               # CPU, memory, network, disks, processes (default true)
//!   energy:
//!     source: auto             # auto | rapl | kwollect | model | none (default auto)
//!     model: {idle_w: 90, max_w: 200}       # hosts without a meter (default: see below)
//!     roles:                   # a model per role (a class of hosts)
//!       compute: {table: [93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135]}
//!     kwollect:
//!       metrics: [wattmetre_power_watt]
//! ```
//!
//! The values are read as loose YAML values and checked here, each mistake at its key.

use enos_energy::model::PowerModel;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::check::{Checker, describe, quote};
use crate::sites::Site;
use crate::units::Span;
use std::time::Duration;

/// The shortest sampling period.
pub const MIN_PERIOD: Duration = Duration::from_millis(10);
/// The longest sampling period.
pub const MAX_PERIOD: Duration = Duration::from_secs(3600);
/// The default sampling period.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(1);
/// Grid'5000's API, where Kwollect answers (`<url>/sites/<site>/metrics`).
pub const DEFAULT_KWOLLECT_URL: &str = "https://api.grid5000.fr/stable";
/// The Kwollect metrics asked by default: wattmeters (node-level, 1 s), then BMCs and PDUs.
pub const DEFAULT_KWOLLECT_METRICS: [&str; 3] = [
    "wattmetre_power_watt",
    "bmc_node_power_watt",
    "pdu_outlet_power_watt",
];

/// The model of hosts the scenario gives none for: the SPECpower table of an HP ProLiant
/// ML110 G5 (Xeon 3075), watts at 0, 10, …, 100 % load, as CloudSim ships it. A stand-in, to
/// be replaced by the testbed's own figures: estimates are tagged `model` wherever they go.
pub const DEFAULT_MODEL: PowerModel = PowerModel::Table {
    watts: [
        93.7, 97.0, 101.0, 105.0, 110.0, 116.0, 121.0, 125.0, 129.0, 133.0, 135.0,
    ],
};

/// Keys of the section, for messages.
const SECTION_KEYS: &str = "period, system, energy";
/// Keys of `energy:`, for messages.
const ENERGY_KEYS: &str = "source, model, roles, kwollect";
/// Keys of `energy.kwollect:`, for messages.
const KWOLLECT_KEYS: &str = "url, metrics";

/// Where a host's energy figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnergyChoice {
    /// The best source each host has: RAPL where readable, Kwollect for Grid'5000 nodes, the
    /// model otherwise; the choice is said in every figure.
    #[default]
    Auto,
    /// RAPL counters only (hosts without them have no energy series, and say why).
    Rapl,
    /// Grid'5000's Kwollect only.
    Kwollect,
    /// The power model only.
    Model,
    /// No energy.
    None,
}

impl EnergyChoice {
    fn parse(text: &str) -> Option<EnergyChoice> {
        Some(match text {
            "auto" => EnergyChoice::Auto,
            "rapl" => EnergyChoice::Rapl,
            "kwollect" => EnergyChoice::Kwollect,
            "model" => EnergyChoice::Model,
            "none" => EnergyChoice::None,
            _ => return None,
        })
    }

    /// The name, as written in scenarios.
    pub fn name(self) -> &'static str {
        match self {
            EnergyChoice::Auto => "auto",
            EnergyChoice::Rapl => "rapl",
            EnergyChoice::Kwollect => "kwollect",
            EnergyChoice::Model => "model",
            EnergyChoice::None => "none",
        }
    }
}

/// Where Kwollect answers and what to ask it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KwollectSpec {
    /// The API's base URL.
    pub url: String,
    /// The metrics to fetch.
    pub metrics: Vec<String>,
}

impl Default for KwollectSpec {
    fn default() -> Self {
        KwollectSpec {
            url: DEFAULT_KWOLLECT_URL.to_owned(),
            metrics: DEFAULT_KWOLLECT_METRICS.map(str::to_owned).to_vec(),
        }
    }
}

/// The energy part of the section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergySpec {
    /// The source asked for.
    pub source: EnergyChoice,
    /// The model of hosts whose role has none of its own.
    pub model: PowerModel,
    /// A model per role.
    pub roles: IndexMap<String, PowerModel>,
    /// Kwollect's address and metrics.
    pub kwollect: KwollectSpec,
}

impl Default for EnergySpec {
    fn default() -> Self {
        EnergySpec {
            source: EnergyChoice::Auto,
            model: DEFAULT_MODEL,
            roles: IndexMap::new(),
            kwollect: KwollectSpec::default(),
        }
    }
}

impl EnergySpec {
    /// The model of a host of `role`.
    pub fn model_of(&self, role: &str) -> &PowerModel {
        self.roles.get(role).unwrap_or(&self.model)
    }
}

/// The `metrics:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsSection {
    /// How often the system is sampled (and the model's energy computed).
    #[serde(with = "period_ms")]
    pub period: Duration,
    /// Whether system metrics are sampled.
    pub system: bool,
    /// Energy.
    pub energy: EnergySpec,
}

impl Default for MetricsSection {
    fn default() -> Self {
        MetricsSection {
            period: DEFAULT_PERIOD,
            system: true,
            energy: EnergySpec::default(),
        }
    }
}

mod period_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(period: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(period.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

fn join(base: &str, key: &str) -> String {
    format!("{base}.{key}")
}

impl Checker<'_> {
    /// The `metrics:` section (`None` when absent or empty).
    pub(crate) fn metrics(
        &mut self,
        raw: Option<&Value>,
        sites: &[Site],
    ) -> Option<MetricsSection> {
        // `metrics:` without a value: every default.
        let Some(value) = raw else {
            return self.map.has("metrics").then(MetricsSection::default);
        };
        let body = match value {
            Value::Null => return Some(MetricsSection::default()),
            Value::Object(body) => body,
            other => {
                self.value_error(
                    "metrics",
                    format!(
                        "expected a mapping with {SECTION_KEYS}, found {}",
                        describe(other)
                    ),
                );
                return None;
            }
        };
        let mut section = MetricsSection::default();
        self.unknown_keys("metrics", body, SECTION_KEYS);
        if let Some(v) = body.get("period")
            && let Some(span) = self.quantity::<Span>("metrics.period", Some(v), "period", "1s")
        {
            if (MIN_PERIOD..=MAX_PERIOD).contains(&span.0) {
                section.period = span.0;
            } else {
                self.value_error(
                    "metrics.period",
                    "a period from 10ms to 1h, e.g. 1s or 100ms",
                );
            }
        }
        if let Some(v) = body.get("system") {
            match v {
                Value::Bool(b) => section.system = *b,
                other => self.value_error(
                    "metrics.system",
                    format!("expected true or false, found {}", describe(other)),
                ),
            }
        }
        match body.get("energy") {
            None | Some(Value::Null) => {}
            Some(Value::Object(energy)) => self.metrics_energy(energy, sites, &mut section.energy),
            Some(other) => self.value_error(
                "metrics.energy",
                format!(
                    "expected a mapping with {ENERGY_KEYS}, found {}",
                    describe(other)
                ),
            ),
        }
        Some(section)
    }

    fn unknown_keys(&mut self, base: &str, body: &Map<String, Value>, known: &str) {
        for key in body.keys() {
            if !known.split(", ").any(|k| k == key) {
                self.key_error(
                    &join(base, key),
                    format!("unknown key `{key}`, expected one of {known}"),
                );
            }
        }
    }

    fn metrics_energy(&mut self, body: &Map<String, Value>, sites: &[Site], spec: &mut EnergySpec) {
        let base = "metrics.energy";
        self.unknown_keys(base, body, ENERGY_KEYS);
        if let Some(v) = body.get("source") {
            match v.as_str().and_then(EnergyChoice::parse) {
                Some(choice) => spec.source = choice,
                None => self.value_error(
                    &join(base, "source"),
                    format!(
                        "expected one of auto, rapl, kwollect, model, none, found {}",
                        describe(v)
                    ),
                ),
            }
        }
        if let Some(v) = body.get("model")
            && let Some(model) = self.power_model(&join(base, "model"), v)
        {
            spec.model = model;
        }
        match body.get("roles") {
            None | Some(Value::Null) => {}
            Some(Value::Object(roles)) => {
                for (role, v) in roles {
                    let path = format!("{base}.roles.{role}");
                    let known = sites
                        .iter()
                        .any(|s| s.roles.iter().any(|r| r.role == *role));
                    if !known {
                        self.key_error(&path, format!("no site has the role {}", quote(role)));
                        continue;
                    }
                    if let Some(model) = self.power_model(&path, v) {
                        spec.roles.insert(role.clone(), model);
                    }
                }
            }
            Some(other) => self.value_error(
                &join(base, "roles"),
                format!(
                    "expected a mapping of role to model, found {}",
                    describe(other)
                ),
            ),
        }
        match body.get("kwollect") {
            None | Some(Value::Null) => {}
            Some(Value::Object(k)) => self.metrics_kwollect(k, &mut spec.kwollect),
            Some(other) => self.value_error(
                &join(base, "kwollect"),
                format!(
                    "expected a mapping with {KWOLLECT_KEYS}, found {}",
                    describe(other)
                ),
            ),
        }
    }

    fn metrics_kwollect(&mut self, body: &Map<String, Value>, spec: &mut KwollectSpec) {
        let base = "metrics.energy.kwollect";
        self.unknown_keys(base, body, KWOLLECT_KEYS);
        if let Some(v) = body.get("url") {
            match v.as_str() {
                Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                    spec.url = url.trim_end_matches('/').to_owned();
                }
                _ => self.value_error(
                    &join(base, "url"),
                    format!(
                        "expected an http(s) URL such as {DEFAULT_KWOLLECT_URL}, found {}",
                        describe(v)
                    ),
                ),
            }
        }
        if let Some(v) = body.get("metrics") {
            let path = join(base, "metrics");
            let names: Option<Vec<String>> = v.as_array().and_then(|list| {
                list.iter()
                    .map(|m| {
                        m.as_str()
                            .filter(|m| {
                                !m.is_empty()
                                    && m.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                            })
                            .map(str::to_owned)
                    })
                    .collect()
            });
            match names {
                Some(names) if !names.is_empty() => spec.metrics = names,
                _ => self.value_error(
                    &path,
                    format!(
                        "expected a list of Kwollect metric names such as [wattmetre_power_watt], \
                         found {}",
                        describe(v)
                    ),
                ),
            }
        }
    }

    /// A power model: `{idle_w, max_w}` (linear), `{idle_w, max_w, r}` (Fan et al.) or
    /// `{table: [11 watts]}` (SPECpower).
    fn power_model(&mut self, path: &str, value: &Value) -> Option<PowerModel> {
        const EXPECTED: &str = "a model: {idle_w: 90, max_w: 200} (linear), with `r: 1.4` \
                                (Fan et al.), or {table: [11 watts at 0, 10, …, 100 % load]}";
        let Value::Object(body) = value else {
            self.value_error(
                path,
                format!("expected {EXPECTED}, found {}", describe(value)),
            );
            return None;
        };
        self.unknown_keys(path, body, "idle_w, max_w, r, table");
        let number = |c: &mut Self, key: &str| -> Option<f64> {
            let v = body.get(key)?;
            match v.as_f64() {
                Some(n) => Some(n),
                None => {
                    c.value_error(
                        &join(path, key),
                        format!("expected a number of watts, found {}", describe(v)),
                    );
                    None
                }
            }
        };
        let model = if let Some(table) = body.get("table") {
            if body.contains_key("idle_w") || body.contains_key("max_w") || body.contains_key("r") {
                self.value_error(
                    path,
                    format!("either a table or idle_w and max_w: {EXPECTED}"),
                );
                return None;
            }
            let watts: Option<Vec<f64>> = table
                .as_array()
                .and_then(|l| l.iter().map(Value::as_f64).collect());
            match watts.and_then(|w| <[f64; 11]>::try_from(w).ok()) {
                Some(watts) => PowerModel::Table { watts },
                None => {
                    self.value_error(
                        &join(path, "table"),
                        format!(
                            "expected 11 numbers of watts (at 0, 10, …, 100 % load), found {}",
                            describe(table)
                        ),
                    );
                    return None;
                }
            }
        } else {
            let idle = number(self, "idle_w");
            let max = number(self, "max_w");
            let r = number(self, "r");
            if !body.contains_key("idle_w") || !body.contains_key("max_w") {
                self.value_error(path, format!("expected {EXPECTED}"));
                return None;
            }
            let (idle_w, max_w) = (idle?, max?);
            match (body.contains_key("r"), r) {
                (false, _) => PowerModel::Linear { idle_w, max_w },
                (true, Some(r)) => PowerModel::Fan { idle_w, max_w, r },
                (true, None) => return None,
            }
        };
        if let Err(e) = model.check() {
            self.value_error(path, e.to_string());
            return None;
        }
        Some(model)
    }
}

/// The JSON Schema of the `metrics:` section.
pub(crate) fn json_schema() -> Value {
    use serde_json::json;
    let watts = json!({"type": "number", "minimum": 0});
    let model = json!({
        "oneOf": [
            {
                "type": "object",
                "required": ["idle_w", "max_w"],
                "additionalProperties": false,
                "properties": {"idle_w": watts, "max_w": watts, "r": {"type": "number", "minimum": 1, "maximum": 2}},
                "description": "Linear between idle and maximum power; with `r`, Fan et al.'s fit.",
            },
            {
                "type": "object",
                "required": ["table"],
                "additionalProperties": false,
                "properties": {"table": {"type": "array", "minItems": 11, "maxItems": 11, "items": watts}},
                "description": "SPECpower-style: watts at 0, 10, …, 100 % load.",
            },
        ],
    });
    json!({
        "description": "What the collectors measure on every host while workloads run: system \
                        metrics at a period, and energy with its source.",
        "type": ["object", "null"],
        "additionalProperties": false,
        "properties": {
            "period": {
                "type": "string",
                "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$",
                "default": "1s",
                "description": "How often hosts are sampled, from 10ms to 1h.",
            },
            "system": {"type": "boolean", "default": true, "description": "CPU, memory, network, disks and processes from /proc."},
            "energy": {
                "type": ["object", "null"],
                "additionalProperties": false,
                "properties": {
                    "source": {"enum": ["auto", "rapl", "kwollect", "model", "none"], "default": "auto"},
                    "model": model.clone(),
                    "roles": {"type": "object", "additionalProperties": model, "description": "A model per role."},
                    "kwollect": {
                        "type": "object",
                        "additionalProperties": false,
                        "properties": {
                            "url": {"type": "string", "pattern": "^https?://", "default": DEFAULT_KWOLLECT_URL},
                            "metrics": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"}},
                        },
                    },
                },
            },
        },
    })
}
