//! Scenario files of enos-rs: the typed format, its parser with locations, validation and a JSON
//! Schema.
//!
//! A scenario is parsed in four steps: the text must be UTF-8; the YAML parser's events give a
//! [`source::SourceMap`] from key paths to lines and columns (and catch several documents, empty
//! files and non-mapping roots); serde-saphyr deserializes raw structures, rejecting syntax errors,
//! wrong types, unknown and duplicate keys; then semantic checks produce the [`Scenario`]. Every
//! error names the file, line, column and key path, with a snippet and a caret. Nothing here
//! panics on bad input.
#![warn(missing_docs)]

mod model;
mod schema;
pub mod source;
pub mod units;

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

pub use model::{
    Constraint, HostPlan, LocalOptions, NetworkSpec, ProviderSpec, RoleCount, Scenario, Site,
};
pub use schema::json_schema;
pub use source::Diagnostic;
pub use units::{Delay, LossRate, Rate};

use source::{Position, SourceMap};

/// The most hosts a scenario may ask for.
pub const MAX_HOSTS: u64 = 4096;
/// The longest experiment name.
pub const MAX_NAME_LEN: usize = 32;
/// The longest site or role name.
pub const MAX_PART_LEN: usize = 16;

const TOP_LEVEL_KEYS: &str = "name, provider, sites, network";
const KNOWN_PROVIDERS: [&str; 5] = ["local", "g5k", "vagrant", "openstack", "static"];

/// Why a scenario was rejected: one or more located diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    diagnostics: Vec<Diagnostic>,
}

impl ScenarioError {
    /// The diagnostics, in file order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    provider: Option<Value>,
    sites: Option<IndexMap<String, RawSite>>,
    network: Option<RawNetwork>,
    deploy: Option<IgnoredAny>,
    bench: Option<IgnoredAny>,
    metrics: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    roles: Option<IndexMap<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    default_delay: Option<Value>,
    default_rate: Option<Value>,
    default_loss: Option<Value>,
    constraints: Option<Vec<RawConstraint>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConstraint {
    src: Option<String>,
    dst: Option<String>,
    delay: Option<Value>,
    rate: Option<Value>,
    loss: Option<Value>,
    symmetric: Option<bool>,
}

/// Reads and parses the scenario file at `path`; messages name the path as given.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => parse_bytes(&bytes, &file),
        Err(e) => Err(ScenarioError {
            diagnostics: vec![Diagnostic::new(
                &file,
                "",
                Position { line: 1, column: 1 },
                "",
                format!("cannot read the file: {e}"),
            )],
        }),
    }
}

fn parse_bytes(bytes: &[u8], file: &str) -> Result<Scenario, ScenarioError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text, file),
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let text = String::from_utf8_lossy(valid);
            let line = text.matches('\n').count() + 1;
            let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let shown = String::from_utf8_lossy(bytes);
            Err(one(
                file,
                &shown,
                Position { line, column },
                "",
                "the file is not UTF-8 text",
            ))
        }
    }
}

fn one(
    file: &str,
    source: &str,
    at: Position,
    path: &str,
    message: impl Into<String>,
) -> ScenarioError {
    ScenarioError {
        diagnostics: vec![Diagnostic::new(file, source, at, path, message)],
    }
}

/// Parses and validates `source`, naming `file_name` in messages.
pub fn parse(source: &str, file_name: &str) -> Result<Scenario, ScenarioError> {
    let start = Position { line: 1, column: 1 };
    if source.contains('\0') {
        let before = &source[..source.find('\0').unwrap_or(0)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        return Err(one(
            file_name,
            source,
            Position { line, column },
            "",
            "the file contains a NUL byte",
        ));
    }
    let map = SourceMap::build(source);
    if let Some(at) = map.second_document {
        return Err(one(
            file_name,
            source,
            at,
            "",
            "a scenario file holds one YAML document, but another one starts here",
        ));
    }
    match map.root_kind {
        Some("mapping") | None => {}
        Some("empty") => {
            return Err(one(
                file_name,
                source,
                start,
                "",
                "the file is empty: expected a mapping with `name` and `sites`",
            ));
        }
        Some(kind) => {
            return Err(one(
                file_name,
                source,
                map.root.unwrap_or(start),
                "",
                format!("expected a mapping with `name` and `sites`, found a {kind}"),
            ));
        }
    }
    if map.root_kind.is_none() && source.trim().is_empty() {
        return Err(one(
            file_name,
            source,
            start,
            "",
            "the file is empty: expected a mapping with `name` and `sites`",
        ));
    }
    let raw: RawScenario =
        serde_saphyr::from_str(source).map_err(|e| serde_error(&e, &map, file_name, source))?;
    Checker {
        file: file_name,
        source,
        map: &map,
        diagnostics: Vec::new(),
    }
    .scenario(raw)
}

/// Turns serde-saphyr's error into a located diagnostic with a key path.
fn serde_error(
    error: &serde_saphyr::Error,
    map: &SourceMap,
    file: &str,
    source: &str,
) -> ScenarioError {
    let at = error
        .location()
        .filter(|l| l.line() > 0)
        .map(|l| Position {
            line: l.line() as usize,
            column: (l.column() as usize).max(1),
        })
        .unwrap_or(Position { line: 1, column: 1 });
    let raw = error.without_snippet().to_string();
    let mut message = raw.lines().next().unwrap_or("").trim().to_owned();
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    let message = reword(&message);
    let path = map.path_at(at);
    ScenarioError {
        diagnostics: vec![Diagnostic::new(file, source, at, &path, message)],
    }
}

/// Makes serde's messages speak of keys and values rather than fields and structs.
fn reword(message: &str) -> String {
    let message = message.trim_start_matches("error: ");
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (key, expected) = rest.split_once(", expected").unwrap_or((rest, ""));
        let expected = expected.trim().trim_start_matches("one of ");
        let key_name = key.trim_matches('`');
        if ["deploy", "bench", "metrics"].contains(&key_name) {
            return format!("`{key_name}:` is not built yet");
        }
        let expected = expected
            .split(", ")
            .filter(|k| !["deploy", "bench", "metrics"].contains(&k.trim().trim_matches('`')))
            .collect::<Vec<_>>()
            .join(", ");
        return if expected.is_empty() {
            format!("unknown key {key}")
        } else {
            format!("unknown key {key}, expected one of {expected}")
        };
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return format!("duplicate key `{key}`: each key may appear once in a mapping");
    }
    match message {
        "expected mapping start" => {
            return "wrong type: expected a mapping (key: value pairs) here".to_owned();
        }
        "expected sequence start" => return "wrong type: expected a list here".to_owned(),
        "invalid boolean" => return "expected true or false".to_owned(),
        _ => {}
    }
    message
        .replace("invalid type: ", "wrong type: found ")
        .replace("struct RawSite", "a site (a mapping with `roles`)")
        .replace("struct RawNetwork", "the network section (a mapping)")
        .replace(
            "struct RawConstraint",
            "a constraint (a mapping with src, dst, …)",
        )
        .replace("struct RawScenario", "a scenario (a mapping)")
        .replace("field", "key")
}

struct Checker<'a> {
    file: &'a str,
    source: &'a str,
    map: &'a SourceMap,
    diagnostics: Vec<Diagnostic>,
}

fn check_name(text: &str, max: usize) -> Result<(), String> {
    if text.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if text.len() > max {
        return Err(format!("'{text}' is too long: at most {max} characters"));
    }
    if !text
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(format!(
            "'{text}' may only hold lowercase letters, digits and dashes"
        ));
    }
    if !text.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("'{text}' must start with a lowercase letter"));
    }
    if text.ends_with('-') || text.contains("--") {
        return Err(format!(
            "'{text}' must not end with a dash or hold two dashes in a row"
        ));
    }
    Ok(())
}

impl Checker<'_> {
    /// Records an error about `path`, shown at `at` (the document's start when unknown).
    fn error_at(&mut self, at: Option<Position>, path: &str, message: impl Into<String>) {
        let at = at.unwrap_or(Position { line: 1, column: 1 });
        self.diagnostics
            .push(Diagnostic::new(self.file, self.source, at, path, message));
    }

    fn key_error(&mut self, path: &str, message: impl Into<String>) {
        self.error_at(self.map.key_at(path), path, message);
    }

    fn value_error(&mut self, path: &str, message: impl Into<String>) {
        self.error_at(self.map.value_at(path), path, message);
    }

    fn quantity<T: std::str::FromStr<Err = String>>(
        &mut self,
        path: &str,
        value: Option<&Value>,
        example: &str,
    ) -> Option<T> {
        match value? {
            Value::String(text) => match text.parse() {
                Ok(v) => Some(v),
                Err(why) => {
                    let hint = if why.contains("e.g.") {
                        String::new()
                    } else {
                        format!(" (e.g. {example})")
                    };
                    self.value_error(path, format!("'{text}': {why}{hint}"));
                    None
                }
            },
            Value::Number(n) => {
                self.value_error(path, format!("{n} needs a unit, e.g. {example}"));
                None
            }
            Value::Null => None,
            other => {
                self.value_error(
                    path,
                    format!("expected a value such as {example}, found {}", kind(other)),
                );
                None
            }
        }
    }

    fn scenario(mut self, raw: RawScenario) -> Result<Scenario, ScenarioError> {
        for (key, present) in [
            ("deploy", raw.deploy.is_some()),
            ("bench", raw.bench.is_some()),
            ("metrics", raw.metrics.is_some()),
        ] {
            if present {
                self.key_error(
                    key,
                    format!("`{key}:` is not built yet; this enos knows {TOP_LEVEL_KEYS}"),
                );
            }
        }
        let name = match raw.name {
            Some(name) => {
                if let Err(why) = check_name(&name, MAX_NAME_LEN) {
                    self.value_error("name", format!("bad experiment name: {why}"));
                }
                name
            }
            None => {
                self.error_at(
                    self.map.root,
                    "",
                    "missing key `name` (the experiment's name, e.g. `name: quickstart`)",
                );
                String::new()
            }
        };
        let provider = self.provider(raw.provider.as_ref());
        let sites = self.sites(raw.sites);
        let network = self.network(raw.network, &sites);
        if self.diagnostics.is_empty() {
            Ok(Scenario {
                name,
                provider,
                sites,
                network,
            })
        } else {
            self.diagnostics.sort_by_key(|d| (d.line, d.column));
            Err(ScenarioError {
                diagnostics: self.diagnostics,
            })
        }
    }

    fn provider(&mut self, value: Option<&Value>) -> ProviderSpec {
        let local = ProviderSpec::Local(LocalOptions {});
        let (name, options) = match value {
            None | Some(Value::Null) => return local,
            Some(Value::String(name)) => (name.as_str(), None),
            Some(Value::Object(map)) if map.len() == 1 => {
                let Some((name, options)) = map.iter().next() else {
                    return local;
                };
                (name.as_str(), Some(options))
            }
            Some(other) => {
                self.value_error(
                    "provider",
                    format!(
                        "expected a provider name such as `local`, or `{{local: {{…}}}}`, found {}",
                        kind(other)
                    ),
                );
                return local;
            }
        };
        match name {
            "local" => {
                match options {
                    None | Some(Value::Null) => {}
                    Some(Value::Object(o)) if o.is_empty() => {}
                    Some(Value::Object(o)) => {
                        let key = o.keys().next().cloned().unwrap_or_default();
                        self.key_error(
                            &format!("provider.local.{key}"),
                            format!("unknown key `{key}`: the local provider has no options yet"),
                        );
                    }
                    Some(other) => self.value_error(
                        "provider.local",
                        format!("expected a mapping of options, found {}", kind(other)),
                    ),
                }
                local
            }
            known if KNOWN_PROVIDERS.contains(&known) => {
                self.value_error(
                    "provider",
                    format!("provider '{known}' is not built yet; use `local`"),
                );
                local
            }
            other => {
                self.value_error(
                    "provider",
                    format!(
                        "unknown provider '{other}', expected one of {}",
                        KNOWN_PROVIDERS.join(", ")
                    ),
                );
                local
            }
        }
    }

    fn sites(&mut self, raw: Option<IndexMap<String, RawSite>>) -> Vec<Site> {
        let Some(raw) = raw else {
            self.error_at(
                self.map.root,
                "",
                "missing key `sites` (e.g. `sites: {paris: {roles: {server: 1}}}`)",
            );
            return Vec::new();
        };
        if raw.is_empty() {
            self.value_error("sites", "expected at least one site");
        }
        let mut sites = Vec::new();
        let mut total: u64 = 0;
        for (site_name, site) in raw {
            let path = format!("sites.{site_name}");
            if let Err(why) = check_name(&site_name, MAX_PART_LEN) {
                self.key_error(&path, format!("bad site name: {why}"));
            }
            let roles_raw = site.roles.unwrap_or_default();
            if roles_raw.is_empty() {
                let at = if self.map.value_at(&format!("{path}.roles")).is_some() {
                    format!("{path}.roles")
                } else {
                    path.clone()
                };
                self.value_error(
                    &at,
                    "expected at least one role with a number of hosts, e.g. `roles: {server: 1}`",
                );
            }
            let mut roles = Vec::new();
            for (role, count) in roles_raw {
                let role_path = format!("{path}.roles.{role}");
                if let Err(why) = check_name(&role, MAX_PART_LEN) {
                    self.key_error(&role_path, format!("bad role name: {why}"));
                }
                let count = match &count {
                    Value::Number(n) => match n.as_i64() {
                        Some(c) if c >= 1 && c as u64 <= MAX_HOSTS => Some(c as u32),
                        Some(c) if c < 1 => {
                            self.value_error(
                                &role_path,
                                format!("expected at least 1 host, found {c}"),
                            );
                            None
                        }
                        Some(c) => {
                            self.value_error(
                                &role_path,
                                format!("expected at most {MAX_HOSTS} hosts, found {c}"),
                            );
                            None
                        }
                        None => {
                            self.value_error(
                                &role_path,
                                format!("expected a whole number of hosts, found {n}"),
                            );
                            None
                        }
                    },
                    other => {
                        self.value_error(
                            &role_path,
                            format!("expected a whole number of hosts, found {}", kind(other)),
                        );
                        None
                    }
                };
                if let Some(count) = count {
                    total += u64::from(count);
                    roles.push(RoleCount { role, count });
                }
            }
            sites.push(Site {
                name: site_name,
                roles,
            });
        }
        if total > MAX_HOSTS {
            self.value_error(
                "sites",
                format!("the scenario asks for {total} hosts, at most {MAX_HOSTS} are allowed"),
            );
        }
        // Host names `{site}-{role}-{n}` must be unique, and site and role names must differ
        // (both become inventory groups).
        let mut seen: Vec<(String, String)> = Vec::new();
        for site in &sites {
            for role in &site.roles {
                let stem = format!("{}-{}", site.name, role.role);
                if let Some((other, _)) = seen.iter().find(|(s, _)| *s == stem) {
                    let _ = other;
                    self.key_error(
                        &format!("sites.{}.roles.{}", site.name, role.role),
                        format!(
                            "hosts of site '{}' role '{}' would be named like others ({stem}-N)",
                            site.name, role.role
                        ),
                    );
                } else {
                    seen.push((stem, site.name.clone()));
                }
                if sites.iter().any(|s| s.name == role.role) {
                    self.key_error(
                        &format!("sites.{}.roles.{}", site.name, role.role),
                        format!(
                            "'{}' is both a site and a role; inventories need distinct group names",
                            role.role
                        ),
                    );
                }
            }
        }
        sites
    }

    fn network(&mut self, raw: Option<RawNetwork>, sites: &[Site]) -> NetworkSpec {
        let mut spec = NetworkSpec::default();
        let Some(raw) = raw else { return spec };
        if let Some(d) = self.quantity("network.default_delay", raw.default_delay.as_ref(), "2ms") {
            spec.default_delay = d;
        }
        if let Some(r) = self.quantity("network.default_rate", raw.default_rate.as_ref(), "1gbit") {
            spec.default_rate = r;
        }
        if let Some(l) = self.quantity("network.default_loss", raw.default_loss.as_ref(), "0%") {
            spec.default_loss = l;
        }
        let known: Vec<&str> = sites.iter().map(|s| s.name.as_str()).collect();
        for (i, c) in raw.constraints.unwrap_or_default().into_iter().enumerate() {
            let path = format!("network.constraints[{i}]");
            let mut ends = Vec::new();
            for (key, value) in [("src", &c.src), ("dst", &c.dst)] {
                match value {
                    None => self.value_error(&path, format!("missing key `{key}` (a site name)")),
                    Some(site) if !known.contains(&site.as_str()) => self.value_error(
                        &format!("{path}.{key}"),
                        format!(
                            "unknown site '{site}', expected one of {}",
                            known.join(", ")
                        ),
                    ),
                    Some(_) => {}
                }
                ends.push(value.clone().unwrap_or_default());
            }
            let delay = self.quantity(&format!("{path}.delay"), c.delay.as_ref(), "25ms");
            let rate = self.quantity(&format!("{path}.rate"), c.rate.as_ref(), "100mbit");
            let loss = self.quantity(&format!("{path}.loss"), c.loss.as_ref(), "1%");
            spec.constraints.push(Constraint {
                src: ends[0].clone(),
                dst: ends[1].clone(),
                delay,
                rate,
                loss,
                symmetric: c.symmetric.unwrap_or(false),
            });
        }
        spec
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
