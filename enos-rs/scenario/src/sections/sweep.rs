//! The `sweep:` section: keys of the scenario whose values vary from run to run. `enos run`
//! runs the scenario once per combination of the values (a *point*), each run registered in the
//! results root's ledger with its point, so that a sweep interrupted resumes at the first point
//! not done.
//!
//! ```yaml
//! sweep:
//!   network.default_delay: [5ms, 20ms, 40ms]   # a key path, as messages write it
//!   bench.workloads[0].args.rate: [50, 100]    # lists by index
//! ```
//!
//! Points are the Cartesian product of the values, the last key varying fastest (as EnOSlib's
//! sweeper and `itertools.product`). A key must lead through the scenario's existing mappings
//! and lists; the last one may be new in its mapping. Each point must be a valid scenario: an
//! error in one is shown at the value that made it.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::check::{Checker, describe, quote, saphyr_options};
use crate::provider::ProviderKind;
use crate::source::{Diagnostic, SourceMap};
use crate::{Scenario, ScenarioError};

/// The most points a sweep may have.
pub const MAX_POINTS: usize = 1000;

/// One swept key and its values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepParameter {
    /// The key's path, as messages write it (`network.constraints[0].delay`).
    pub path: String,
    /// Its values, in order.
    pub values: Vec<Value>,
}

/// The validated `sweep:` section.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Sweep {
    /// The swept keys, in file order.
    pub parameters: Vec<SweepParameter>,
}

impl Sweep {
    /// The number of points.
    pub fn len(&self) -> usize {
        self.parameters.iter().map(|p| p.values.len()).product()
    }

    /// Whether there is no point (never, for a sweep that validated).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value index of each parameter at each point, the last parameter varying fastest.
    fn combinations(&self) -> Vec<Vec<usize>> {
        let mut points = vec![Vec::new()];
        for parameter in &self.parameters {
            points = points
                .into_iter()
                .flat_map(|prefix| {
                    (0..parameter.values.len()).map(move |i| {
                        let mut next = prefix.clone();
                        next.push(i);
                        next
                    })
                })
                .collect();
        }
        points
    }
}

/// One point of a sweep: the scenario with the point's values.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// Its number, from 1.
    pub number: usize,
    /// The swept keys and their values at this point.
    pub params: IndexMap<String, Value>,
    /// The scenario's text at this point (YAML, without `sweep:`).
    pub source: String,
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// `network.constraints[0].delay` as steps; the error says what is wrong with the path.
fn segments(path: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if key.is_empty() {
            return Err(format!("bad key path {}: an empty key", quote(path)));
        }
        out.push(Segment::Key(key.to_owned()));
        while !rest.is_empty() {
            let Some(end) = rest.find(']') else {
                return Err(format!("bad key path {}: `[` without `]`", quote(path)));
            };
            let index = rest
                .get(1..end)
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| {
                    format!(
                        "bad key path {}: a list index is a number, as in `[0]`",
                        quote(path)
                    )
                })?;
            out.push(Segment::Index(index));
            rest = rest.get(end + 1..).unwrap_or_default();
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(format!(
                    "bad key path {}: `.` expected after `]`",
                    quote(path)
                ));
            }
        }
    }
    Ok(out)
}

/// The path of the first `n` steps, for messages.
fn shown(steps: &[Segment]) -> String {
    let mut text = String::new();
    for step in steps {
        match step {
            Segment::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Segment::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}

/// Sets the value at `steps` in `doc`: every step but the last must exist; the last may be a
/// new key of a mapping.
fn set(doc: &mut Value, steps: &[Segment], value: Value) -> Result<(), String> {
    let Some((last, parents)) = steps.split_last() else {
        return Err("an empty key path".to_owned());
    };
    let mut here = doc;
    for (i, step) in parents.iter().enumerate() {
        let at = shown(&steps[..=i]);
        here = match (step, here) {
            (Segment::Key(key), Value::Object(map)) => map
                .get_mut(key)
                .ok_or_else(|| format!("the scenario has no key `{at}`"))?,
            (Segment::Index(n), Value::Array(list)) => {
                let len = list.len();
                list.get_mut(*n)
                    .ok_or_else(|| format!("`{at}`: the list has {len} elements"))?
            }
            (Segment::Key(_), other) => {
                return Err(format!(
                    "`{}` is {}, not a mapping",
                    shown(&steps[..i]),
                    describe(other)
                ));
            }
            (Segment::Index(_), other) => {
                return Err(format!(
                    "`{}` is {}, not a list",
                    shown(&steps[..i]),
                    describe(other)
                ));
            }
        };
    }
    let parent = shown(parents);
    match (last, here) {
        (Segment::Key(key), Value::Object(map)) => {
            map.insert(key.clone(), value);
            Ok(())
        }
        (Segment::Index(n), Value::Array(list)) => {
            let len = list.len();
            let slot = list
                .get_mut(*n)
                .ok_or_else(|| format!("`{}`: the list has {len} elements", shown(steps)))?;
            *slot = value;
            Ok(())
        }
        (Segment::Key(_), other) => {
            Err(format!("`{parent}` is {}, not a mapping", describe(other)))
        }
        (Segment::Index(_), other) => Err(format!("`{parent}` is {}, not a list", describe(other))),
    }
}

/// The value as a message shows it: `25ms`, `50`, `[1, 2]`.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The scenario document as loose values.
fn document(source: &str) -> Result<Value, String> {
    serde_saphyr::from_str_with_options::<Value>(source, saphyr_options())
        .map_err(|e| e.to_string())
}

/// The text of every point of `sweep` over the scenario `source` (the file `file_name`).
fn derive(source: &str, file_name: &str, sweep: &Sweep) -> Result<Vec<SweepPoint>, String> {
    let mut base = document(source)?;
    if let Value::Object(map) = &mut base {
        map.shift_remove("sweep");
    }
    let steps = sweep
        .parameters
        .iter()
        .map(|p| segments(&p.path))
        .collect::<Result<Vec<_>, _>>()?;
    let combinations = sweep.combinations();
    let total = combinations.len();
    let mut points = Vec::with_capacity(total);
    for (i, combination) in combinations.into_iter().enumerate() {
        let mut doc = base.clone();
        let mut params = IndexMap::new();
        for ((parameter, steps), &value_index) in
            sweep.parameters.iter().zip(&steps).zip(&combination)
        {
            let value = parameter
                .values
                .get(value_index)
                .cloned()
                .unwrap_or(Value::Null);
            set(&mut doc, steps, value.clone())?;
            params.insert(parameter.path.clone(), value);
        }
        let said: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k} = {}", value_text(v)))
            .collect();
        let body = serde_saphyr::to_string(&doc).map_err(|e| e.to_string())?;
        points.push(SweepPoint {
            number: i + 1,
            params,
            source: format!(
                "# Point {} of {total} of the sweep of {file_name}: {}\n{body}",
                i + 1,
                said.join(", ")
            ),
        });
    }
    Ok(points)
}

/// The points of the scenario `source`'s sweep (none without `sweep:`), each checked as a
/// scenario: an error in a point is shown at the value that made it.
pub(crate) fn points(
    source: &str,
    file_name: &str,
    scenario: &Scenario,
    kinds: &[&dyn ProviderKind],
) -> Result<Vec<SweepPoint>, ScenarioError> {
    let Some(sweep) = &scenario.sweep else {
        return Ok(Vec::new());
    };
    let map = SourceMap::build(source);
    let at_key = |path: &str, message: String| {
        let key = format!("sweep.{path}");
        let diagnostic = match map.key_at(&key) {
            Some(at) => Diagnostic::new(file_name, source, at, &key, message),
            None => Diagnostic::whole_file(file_name, message),
        };
        ScenarioError::one(diagnostic)
    };
    let points = derive(source, file_name, sweep).map_err(|why| {
        let path = sweep
            .parameters
            .first()
            .map(|p| p.path.as_str())
            .unwrap_or_default();
        at_key(path, why)
    })?;
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    for point in &points {
        let Err(error) = crate::sections::parse(&point.source, file_name, kinds) else {
            continue;
        };
        let Some(first) = error.diagnostics().first() else {
            continue;
        };
        // The value to blame: the swept key the error is under, else the first one.
        let blamed = sweep
            .parameters
            .iter()
            .position(|p| first.path.starts_with(&p.path))
            .unwrap_or(0);
        let Some(parameter) = sweep.parameters.get(blamed) else {
            continue;
        };
        let value = point
            .params
            .get(&parameter.path)
            .cloned()
            .unwrap_or_default();
        let index = parameter
            .values
            .iter()
            .position(|v| *v == value)
            .unwrap_or(0);
        let value_path = format!("sweep.{}[{index}]", parameter.path);
        if diagnostics.iter().any(|d| d.path == value_path) {
            continue;
        }
        let message = format!(
            "point {} ({}) is not a valid scenario: {}: {}",
            point.number,
            point
                .params
                .iter()
                .map(|(k, v)| format!("{k} = {}", value_text(v)))
                .collect::<Vec<_>>()
                .join(", "),
            if first.path.is_empty() {
                "the file"
            } else {
                &first.path
            },
            first.message
        );
        let at = map
            .value_at(&value_path)
            .or_else(|| map.key_at(&value_path));
        diagnostics.push(match at {
            Some(at) => Diagnostic::new(file_name, source, at, &value_path, message),
            None => Diagnostic::whole_file(file_name, message),
        });
    }
    if diagnostics.is_empty() {
        Ok(points)
    } else {
        Err(ScenarioError { diagnostics })
    }
}

impl Checker<'_> {
    /// The `sweep:` section: each key a path into the scenario, each value a non-empty list.
    pub(crate) fn sweep(&mut self, raw: Option<&Value>) -> Option<Sweep> {
        let raw = raw?;
        let Value::Object(entries) = raw else {
            self.value_error(
                "sweep",
                format!(
                    "expected a mapping of key paths to lists of values (e.g. \
                     `network.default_delay: [5ms, 50ms]`), found {}",
                    describe(raw)
                ),
            );
            return None;
        };
        if entries.is_empty() {
            self.value_error(
                "sweep",
                "expected at least one key path to sweep, found none",
            );
            return None;
        }
        let doc = document(self.source).ok();
        let mut parameters = Vec::new();
        let mut failed = false;
        for (path, values) in entries {
            let key = format!("sweep.{path}");
            let steps = match segments(path) {
                Ok(steps) => steps,
                Err(why) => {
                    self.key_error(&key, why);
                    failed = true;
                    continue;
                }
            };
            match steps.first() {
                Some(Segment::Key(top)) if top == "name" || top == "sweep" => {
                    self.key_error(
                        &key,
                        format!(
                            "`{top}` cannot be swept: every point is a run of the same \
                             experiment"
                        ),
                    );
                    failed = true;
                    continue;
                }
                _ => {}
            }
            if let Some(doc) = &doc {
                let mut probe = doc.clone();
                if let Err(why) = set(&mut probe, &steps, Value::Null) {
                    self.key_error(&key, why);
                    failed = true;
                    continue;
                }
            }
            let Value::Array(list) = values else {
                self.value_error(
                    &key,
                    format!(
                        "expected a list of the values to sweep (e.g. `[5ms, 50ms]`), found {}",
                        describe(values)
                    ),
                );
                failed = true;
                continue;
            };
            if list.is_empty() {
                self.value_error(&key, "expected at least one value, found an empty list");
                failed = true;
                continue;
            }
            parameters.push(SweepParameter {
                path: path.clone(),
                values: list.clone(),
            });
        }
        let sweep = Sweep { parameters };
        if !failed && sweep.len() > MAX_POINTS {
            self.key_error(
                "sweep",
                format!("{} points: a sweep has at most {MAX_POINTS}", sweep.len()),
            );
            failed = true;
        }
        (!failed).then_some(sweep)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn paths_read_as_keys_and_indices() {
        assert_eq!(
            segments("network.constraints[0].delay").unwrap(),
            vec![
                Segment::Key("network".into()),
                Segment::Key("constraints".into()),
                Segment::Index(0),
                Segment::Key("delay".into()),
            ]
        );
        assert!(segments("a..b").is_err());
        assert!(segments("a[x]").is_err());
        assert!(segments("a[0").is_err());
        assert!(segments("a[0]b").is_err());
    }

    #[test]
    fn points_are_the_product_with_the_last_key_fastest() {
        let sweep = Sweep {
            parameters: vec![
                SweepParameter {
                    path: "a".into(),
                    values: vec![json!(1), json!(2)],
                },
                SweepParameter {
                    path: "b".into(),
                    values: vec![json!("x"), json!("y"), json!("z")],
                },
            ],
        };
        assert_eq!(sweep.len(), 6);
        assert_eq!(
            sweep.combinations(),
            vec![
                vec![0, 0],
                vec![0, 1],
                vec![0, 2],
                vec![1, 0],
                vec![1, 1],
                vec![1, 2]
            ]
        );
    }

    #[test]
    fn set_replaces_existing_values_and_adds_last_keys_only() {
        let mut doc = json!({"network": {"constraints": [{"delay": "1ms"}]}});
        set(
            &mut doc,
            &segments("network.constraints[0].delay").unwrap(),
            json!("9ms"),
        )
        .unwrap();
        set(
            &mut doc,
            &segments("network.default_delay").unwrap(),
            json!("2ms"),
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"network": {"constraints": [{"delay": "9ms"}], "default_delay": "2ms"}})
        );
        let why = set(&mut doc, &segments("bench.duration").unwrap(), json!(1)).unwrap_err();
        assert_eq!(why, "the scenario has no key `bench`");
        let why = set(
            &mut doc,
            &segments("network.constraints[3].delay").unwrap(),
            json!(1),
        )
        .unwrap_err();
        assert_eq!(why, "`network.constraints[3]`: the list has 1 elements");
    }
}
