//! Scenario files of enos-rs: the typed format, its parser with locations, validation and a JSON
//! Schema.
//!
//! A scenario is parsed in four steps. The bytes must be UTF-8 text of at most 1 MiB. A walk over
//! the YAML parser's events builds a source map from key paths to lines and columns, and refuses
//! syntax errors, several documents, empty files, non-mapping roots, deep nesting and alias bombs.
//! serde-saphyr then deserializes raw structures, refusing wrong types, unknown and duplicate
//! keys (the first such error stops the parse). Last, semantic checks (names, counts, quantities,
//! sites of constraints, host names) collect every error of the file and produce the
//! [`Scenario`]. Every error names the file, line, column and key path, with a snippet and a
//! caret; nothing here panics on bad input or prints.
#![warn(missing_docs)]

pub mod deploy;
mod model;
pub mod resources;
mod schema;
pub(crate) mod source;
mod units;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

pub use model::{
    Constraint, DEFAULT_RATE, HostPlan, LocalOptions, Named, NetworkSpec, ProviderSpec, RoleCount,
    Scenario, Selector, Site,
};
pub use schema::json_schema;
pub use source::Diagnostic;
pub use units::{Delay, LossRate, Rate, Timeout};

pub(crate) use source::{Position, Root, SourceMap};

/// The most hosts a scenario may ask for, over all sites and roles.
pub const MAX_HOSTS: u64 = 4096;
/// The longest experiment name.
pub const MAX_NAME_LEN: usize = 32;
/// The longest site or role name.
pub const MAX_PART_LEN: usize = 16;
/// The most sites of an experiment on the local provider: one /24 each in the experiment's /20
/// address block, less the management /24.
pub const LOCAL_MAX_SITES: usize = 15;
/// The most hosts of one site on the local provider: its /24 less the network, gateway and
/// broadcast addresses.
pub const LOCAL_MAX_HOSTS_PER_SITE: usize = 253;
/// The largest scenario file, in bytes.
pub const MAX_FILE_BYTES: usize = 1 << 20;

const TOP_LEVEL_KEYS: &str = "name, provider, sites, network, vars, deploy";
const NOT_BUILT_YET: [&str; 2] = ["bench", "metrics"];
const KNOWN_PROVIDERS: [&str; 5] = ["local", "g5k", "vagrant", "openstack", "static"];
const LOCAL_OPTIONS: &str = "egress_allow";

/// Why a scenario was rejected: one or more located diagnostics.
///
/// `Display` prints every diagnostic in the same style, separated by a blank line:
///
/// ```text
/// error: quickstart.yaml:7:21: sites.paris.roles.server: expected at least 1 host, found 0
///   |
/// 7 |     roles: {server: 0, client: 1}
///   |                     ^
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    diagnostics: Vec<Diagnostic>,
}

impl ScenarioError {
    /// The diagnostics, in file order (never empty).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    fn one(diagnostic: Diagnostic) -> Self {
        Self {
            diagnostics: vec![diagnostic],
        }
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

// The raw shapes serde fills in. Values whose checks need the source text or give better
// messages than serde's (names, counts, quantities, the provider) stay untyped here and are
// checked by `Checker`, which collects every error.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    provider: Option<Value>,
    sites: Option<IndexMap<String, Option<RawSite>>>,
    network: Option<RawNetwork>,
    vars: Option<IndexMap<String, Value>>,
    deploy: Option<Vec<deploy::RawStep>>,
    // Refused as "not built yet" by `Checker`, not as unknown keys.
    #[allow(dead_code)]
    bench: Option<IgnoredAny>,
    #[allow(dead_code)]
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

/// Reads and parses the scenario file at `path`; messages name the path as given.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let source = read_file(path)?;
    parse(&source, &path.display().to_string())
}

/// Reads the text of a scenario (or constraints) file at `path`, as every command must: at most
/// [`MAX_FILE_BYTES`] are read, and a file that is not UTF-8 is an error at the line and column
/// of its first invalid byte. Messages name the path as given.
pub fn read_file(path: &Path) -> Result<String, ScenarioError> {
    let file = path.display().to_string();
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return Err(ScenarioError::one(Diagnostic::whole_file(
            &file,
            format!("cannot read the file: {e}"),
        )));
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large(&file));
    }
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let shown = String::from_utf8_lossy(bytes);
        let valid = String::from_utf8_lossy(bytes.get(..at).unwrap_or(&[]));
        ScenarioError::one(Diagnostic::new(
            &file,
            &shown,
            Position::of_offset(&valid, valid.len()),
            "",
            format!(
                "the file is not UTF-8 text: byte 0x{:02x} here is not valid UTF-8",
                bytes.get(at).copied().unwrap_or(0)
            ),
        ))
    })
}

fn too_large(file: &str) -> ScenarioError {
    ScenarioError::one(Diagnostic::whole_file(
        file,
        format!(
            "the file is larger than {} KiB; a scenario is far smaller",
            MAX_FILE_BYTES / 1024
        ),
    ))
}

/// Parses and validates the scenario `source`, naming `file_name` in messages.
pub fn parse(source: &str, file_name: &str) -> Result<Scenario, ScenarioError> {
    let (map, root) = read_source(source, file_name, "a mapping with `name` and `sites`")?;
    let raw: RawScenario = serde_saphyr::from_str_with_options(source, saphyr_options())
        .map_err(|e| serde_error(&e, &map, file_name, source))?;
    Checker {
        file: file_name,
        source,
        map: &map,
        root,
        diagnostics: Vec::new(),
    }
    .scenario(raw)
}

/// A located error about the key `path` (e.g. `network`) of a scenario that parsed: for checks
/// made once the scenario is read, such as a provider's limits on what the scenario resolves to.
/// Shown at the key, or at the start of the file when `path` is not in `source`.
pub fn error_at_key(
    source: &str,
    file_name: &str,
    path: &str,
    message: impl Into<String>,
) -> ScenarioError {
    let map = SourceMap::build(source);
    let diagnostic = match map.key_at(path).or_else(|| map.value_at(path)) {
        Some(at) => Diagnostic::new(file_name, source, at, path, message),
        None => Diagnostic::whole_file(file_name, message),
    };
    ScenarioError::one(diagnostic)
}

/// Parses a constraints file — a `network` section alone, as EnOS's `network_constraints` — and
/// checks its names against the hosts of `sites`. Key paths in messages start at the root
/// (`constraints[0].delay`).
pub fn parse_network(
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
    let mut checker = Checker {
        file: file_name,
        source,
        map: &map,
        root,
        diagnostics: Vec::new(),
    };
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

pub(crate) fn saphyr_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        // `yes`, `on`, `no`, `off` are strings, as in YAML 1.2 and for JSON Schema tools.
        strict_booleans: true,
    }
}

/// The checks before deserializing: size, NUL bytes, YAML syntax and structure, a mapping at
/// the root (`expected` says which). Returns the source map and where the root mapping starts.
pub(crate) fn read_source(
    source: &str,
    file_name: &str,
    expected: &str,
) -> Result<(SourceMap, Position), ScenarioError> {
    let whole = |at: Position, message: &str| {
        ScenarioError::one(Diagnostic::new(file_name, source, at, "", message))
    };
    if source.len() > MAX_FILE_BYTES {
        return Err(too_large(file_name));
    }
    if let Some(offset) = source.find('\0') {
        return Err(whole(
            Position::of_offset(source, offset),
            "the file contains a NUL byte; a scenario is text",
        ));
    }
    let map = SourceMap::build(source);
    if let Some(problem) = &map.problem {
        return Err(ScenarioError::one(Diagnostic::new(
            file_name,
            source,
            problem.at,
            &problem.path,
            &problem.message,
        )));
    }
    let root = match map.root {
        Root::Mapping(at) => at,
        Root::Nothing if source.trim().is_empty() => {
            return Err(whole(
                Position::START,
                &format!("the file is empty: expected {expected}"),
            ));
        }
        Root::Nothing => {
            return Err(whole(
                Position::START,
                &format!("the file holds only comments: expected {expected}"),
            ));
        }
        Root::Null(at) => {
            return Err(whole(
                at,
                &format!("the document is empty: expected {expected}"),
            ));
        }
        Root::Other(kind, at) => {
            return Err(whole(at, &format!("expected {expected}, found a {kind}")));
        }
    };
    Ok((map, root))
}

/// Turns serde-saphyr's error into a located diagnostic with a key path.
pub(crate) fn serde_error(
    error: &serde_saphyr::Error,
    map: &SourceMap,
    file: &str,
    source: &str,
) -> ScenarioError {
    let at = error
        .location()
        .filter(|l| l.line() > 0)
        .map_or(Position::START, |l| Position {
            line: usize::try_from(l.line()).unwrap_or(usize::MAX),
            column: usize::try_from(l.column()).unwrap_or(usize::MAX).max(1),
        });
    let raw = error.without_snippet().to_string();
    let mut message = raw.lines().next().unwrap_or("").trim().to_owned();
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    let message = reword(&message, map.found_at(at));
    ScenarioError::one(Diagnostic::new(file, source, at, &map.path_at(at), message))
}

/// Makes serde's messages speak of keys, values and lists rather than fields, structs and
/// sequences, and say what was found when serde does not.
fn reword(message: &str, found: Option<&str>) -> String {
    let message = message.trim_start_matches("error: ");
    let found = found.map(|f| format!(", found {f}")).unwrap_or_default();
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (key, expected) = rest.split_once(", expected").unwrap_or((rest, ""));
        let expected = expected
            .trim()
            .trim_start_matches("one of ")
            .split(", ")
            .map(|k| k.trim())
            .filter(|k| !k.is_empty() && !NOT_BUILT_YET.contains(&k.trim_matches('`')))
            .collect::<Vec<_>>();
        return match expected.as_slice() {
            [] => format!("unknown key {key}"),
            [one] => format!("unknown key {key}, expected {one}"),
            many => format!("unknown key {key}, expected one of {}", many.join(", ")),
        };
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key") {
        let rest = rest.trim_start_matches(':').trim();
        let key = rest
            .split([',', ' '])
            .next()
            .unwrap_or(rest)
            .trim_matches('`');
        return format!("duplicate key `{key}`: each key may appear once in a mapping");
    }
    if message.starts_with("invalid boolean") {
        return format!("expected true or false{found}");
    }
    match message {
        "expected mapping start" => {
            return format!("wrong type: expected a mapping (key: value pairs){found}");
        }
        "expected sequence start" => return format!("wrong type: expected a list{found}"),
        "expected string scalar" => return format!("wrong type: expected a string{found}"),
        _ => {}
    }
    if message.starts_with("budget breached") || message == "recursion limit exceeded" {
        return format!("the file is too large or too deeply nested for a scenario ({message})");
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
        .replace("a sequence", "a list")
        .replace("sequence", "list")
        .replace("field", "key")
}

/// `text` in quotes for a message, cut after 40 characters.
pub(crate) fn quote(text: &str) -> String {
    if text.chars().count() > 40 {
        format!("'{}…'", text.chars().take(40).collect::<String>())
    } else {
        format!("'{text}'")
    }
}

/// Checks an experiment, site or role name; says what is wrong with it.
fn check_name(text: &str, max: usize) -> Result<(), String> {
    let shown = quote(text);
    if text.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if !text
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(format!(
            "{shown} may only hold lowercase letters, digits and dashes"
        ));
    }
    if !text.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("{shown} must start with a lowercase letter"));
    }
    if text.ends_with('-') {
        return Err(format!("{shown} must not end with a dash"));
    }
    if text.contains("--") {
        return Err(format!("{shown} must not hold two dashes in a row"));
    }
    if text.len() > max {
        return Err(format!(
            "{shown} is {} characters long, at most {max} are allowed",
            text.len()
        ));
    }
    Ok(())
}

/// Checks an entry of the local provider's `egress_allow`: a host name (`deb.debian.org`), every
/// name under a domain (`*.opendev.org`), either with `:port`, or an IP literal (`192.0.2.7`,
/// `2001:db8::7`, `[2001:db8::7]:8443`). Says what is wrong with it.
///
/// The egress proxy reads the same syntax (`enos_egress::AllowRule`).
pub fn check_egress_rule(text: &str) -> Result<(), String> {
    let port = |digits: &str| match digits.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err("the port must be a number from 1 to 65535".to_owned()),
    };
    if let Some((_, rest)) = text.split_once("://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        return Err(format!("expected a host, not a URL: write `{host}`"));
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| "a `[` without its `]`".to_owned())?;
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("expected an IPv6 address between `[` and `]`".to_owned());
        }
        return match after {
            "" => Ok(()),
            _ => port(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| "expected `:port` after `]`".to_owned())?,
            ),
        };
    }
    if text.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok(());
    }
    let host = match text.split_once(':') {
        Some((host, digits)) => {
            port(digits)?;
            host
        }
        None => text,
    };
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Ok(());
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    if name.is_empty() {
        return Err("expected a host name such as deb.debian.org".to_owned());
    }
    if name.contains('*') {
        return Err("`*` may only start an entry, as in `*.example.org`".to_owned());
    }
    if name.len() > 253 {
        return Err("a host name has at most 253 characters".to_owned());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("a host name has no empty labels (`..`, or a dot at an end)".to_owned());
        }
        if label.len() > 63 {
            return Err("a label of a host name has at most 63 characters".to_owned());
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("a host name holds only letters, digits, dashes and dots".to_owned());
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label of a host name does not start or end with a dash".to_owned());
        }
    }
    Ok(())
}

/// What a loosely typed value is, for messages.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_owned(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("{n}"),
        Value::String(s) => quote(s),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
    }
}

/// The semantic checks: they collect every error of the file.
pub(crate) struct Checker<'a> {
    pub(crate) file: &'a str,
    pub(crate) source: &'a str,
    pub(crate) map: &'a SourceMap,
    /// Where the root mapping starts: missing keys are reported there.
    pub(crate) root: Position,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error_at(&mut self, at: Option<Position>, path: &str, message: impl Into<String>) {
        let at = at.unwrap_or(self.root);
        self.diagnostics
            .push(Diagnostic::new(self.file, self.source, at, path, message));
    }

    /// An error about a key (shown at the key).
    pub(crate) fn key_error(&mut self, path: &str, message: impl Into<String>) {
        self.error_at(self.map.key_at(path), path, message);
    }

    /// An error about a value (shown at the value).
    pub(crate) fn value_error(&mut self, path: &str, message: impl Into<String>) {
        self.error_at(self.map.value_at(path), path, message);
    }

    /// A required key is absent (shown where its mapping starts) or present without a value.
    pub(crate) fn missing(&mut self, path: &str, parent: &str, what: &str, example: &str) {
        if self.map.has(path) {
            self.value_error(
                path,
                format!("expected {what} (e.g. `{example}`), found nothing"),
            );
        } else {
            let at = if parent.is_empty() {
                Some(self.root)
            } else {
                self.map.value_at(parent)
            };
            let key = path.rsplit('.').next().unwrap_or(path);
            self.error_at(
                at,
                path,
                format!("missing key `{key}`: {what} (e.g. `{example}`)"),
            );
        }
    }

    fn scenario(mut self, raw: RawScenario) -> Result<Scenario, ScenarioError> {
        for key in NOT_BUILT_YET {
            if self.map.has(key) {
                self.key_error(
                    key,
                    format!(
                        "`{key}:` is not built yet (a later version adds it); this version reads \
                         {TOP_LEVEL_KEYS}"
                    ),
                );
            }
        }
        let name = self.name(raw.name);
        let provider = self.provider(raw.provider.as_ref());
        let sites = self.sites(raw.sites);
        if matches!(provider, ProviderSpec::Local(_)) {
            self.local_limits(&sites);
        }
        let network = self.network(raw.network, &sites, "network.");
        let vars = self.vars_section(raw.vars);
        let deploy = self.deploy(raw.deploy, &vars, &sites);
        if self.diagnostics.is_empty() {
            Ok(Scenario {
                name,
                provider,
                sites,
                network,
                deploy,
            })
        } else {
            let file = self.file;
            // The scenario's own errors first, in file order, then those of stack files.
            self.diagnostics.sort_by(|a, b| {
                (a.file != file, &a.file, a.line, a.column).cmp(&(
                    b.file != file,
                    &b.file,
                    b.line,
                    b.column,
                ))
            });
            Err(ScenarioError {
                diagnostics: self.diagnostics,
            })
        }
    }

    fn name(&mut self, raw: Option<String>) -> String {
        let Some(name) = raw else {
            self.missing("name", "", "the experiment's name", "name: quickstart");
            return String::new();
        };
        if let Err(why) = check_name(&name, MAX_NAME_LEN) {
            self.value_error("name", format!("bad experiment name: {why}"));
        }
        name
    }

    fn provider(&mut self, value: Option<&Value>) -> ProviderSpec {
        let local = ProviderSpec::Local(LocalOptions::default());
        let (name, options) = match value {
            None if self.map.has("provider") => {
                self.value_error(
                    "provider",
                    "expected a provider such as `local`, found nothing",
                );
                return local;
            }
            None => return local,
            Some(Value::String(name)) => (name.as_str(), None),
            Some(Value::Object(map)) if map.len() == 1 => match map.iter().next() {
                Some((name, options)) => (name.as_str(), Some(options)),
                None => return local,
            },
            Some(Value::Object(map)) if map.len() > 1 => {
                let names: Vec<&str> = map.keys().map(String::as_str).collect();
                self.value_error(
                    "provider",
                    format!(
                        "expected one provider, found {}: {}",
                        names.len(),
                        names.join(", ")
                    ),
                );
                return local;
            }
            Some(other) => {
                self.value_error(
                    "provider",
                    format!(
                        "expected a provider name such as `local` or `{{local: {{}}}}`, found {}",
                        if other.is_object() {
                            "an empty mapping".to_owned()
                        } else {
                            describe(other)
                        }
                    ),
                );
                return local;
            }
        };
        let at = if options.is_some() {
            format!("provider.{name}")
        } else {
            "provider".to_owned()
        };
        match name {
            "local" => match options {
                None | Some(Value::Null) => local,
                Some(Value::Object(o)) => ProviderSpec::Local(self.local_options(o)),
                Some(other) => {
                    self.value_error(
                        "provider.local",
                        format!(
                            "expected the local provider's options (a mapping, e.g. `{{}}`), \
                             found {}",
                            describe(other)
                        ),
                    );
                    local
                }
            },
            known if KNOWN_PROVIDERS.contains(&known) => {
                self.provider_error(
                    &at,
                    format!("provider '{known}' is not built yet; this version has `local`"),
                );
                local
            }
            other => {
                self.provider_error(
                    &at,
                    format!(
                        "unknown provider {}, expected one of {}",
                        quote(other),
                        KNOWN_PROVIDERS.join(", ")
                    ),
                );
                local
            }
        }
    }

    /// The local provider's options.
    fn local_options(&mut self, options: &serde_json::Map<String, Value>) -> LocalOptions {
        let mut local = LocalOptions::default();
        for (key, value) in options {
            let path = format!("provider.local.{key}");
            match key.as_str() {
                "egress_allow" => local.egress_allow = self.egress_allow(&path, value),
                _ => self.key_error(
                    &path,
                    format!("unknown key `{key}`, expected {LOCAL_OPTIONS}"),
                ),
            }
        }
        local
    }

    /// The local provider's layout limits ([`LOCAL_MAX_SITES`], [`LOCAL_MAX_HOSTS_PER_SITE`]),
    /// checked here so that no scenario that validates fails at deploy for its size.
    fn local_limits(&mut self, sites: &[Site]) {
        if let Some(site) = sites.get(LOCAL_MAX_SITES) {
            self.key_error(
                &format!("sites.{}", site.name),
                format!(
                    "the local provider holds at most {LOCAL_MAX_SITES} sites (one /24 each in \
                     the experiment's /20), the scenario has {}",
                    sites.len()
                ),
            );
        }
        for site in sites {
            let hosts: u64 = site.roles.iter().map(|r| u64::from(r.count)).sum();
            if hosts > LOCAL_MAX_HOSTS_PER_SITE as u64 {
                self.key_error(
                    &format!("sites.{}", site.name),
                    format!(
                        "the local provider holds at most {LOCAL_MAX_HOSTS_PER_SITE} hosts per \
                         site (a /24 each), site `{}` has {hosts}; split it into several sites",
                        site.name
                    ),
                );
            }
        }
    }

    /// `provider.local.egress_allow`: a list of hosts the egress proxy may forward to.
    fn egress_allow(&mut self, path: &str, value: &Value) -> Vec<String> {
        let Value::Array(items) = value else {
            self.value_error(
                path,
                format!(
                    "expected a list of hosts the egress proxy may forward to (e.g. \
                     `[github.com, \"*.opendev.org\"]`), found {}",
                    describe(value)
                ),
            );
            return Vec::new();
        };
        let mut rules = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            match item {
                Value::String(text) => match check_egress_rule(text) {
                    Ok(()) => rules.push(text.clone()),
                    Err(why) => self.value_error(
                        &item_path,
                        format!("bad egress host {}: {why}", quote(text)),
                    ),
                },
                other => self.value_error(
                    &item_path,
                    format!(
                        "expected a host name such as deb.debian.org, found {}",
                        describe(other)
                    ),
                ),
            }
        }
        rules
    }

    /// An error about the provider's name: at the value of `provider: g5k`, at the key of
    /// `provider: {g5k: {…}}`.
    fn provider_error(&mut self, path: &str, message: String) {
        if path == "provider" {
            self.value_error(path, message);
        } else {
            self.key_error(path, message);
        }
    }

    fn sites(&mut self, raw: Option<IndexMap<String, Option<RawSite>>>) -> Vec<Site> {
        let Some(raw) = raw else {
            self.missing(
                "sites",
                "",
                "at least one site",
                "sites: {paris: {roles: {server: 1}}}",
            );
            return Vec::new();
        };
        if raw.is_empty() {
            self.value_error(
                "sites",
                "expected at least one site, e.g. `sites: {paris: {roles: {server: 1}}}`",
            );
        }
        let mut sites = Vec::new();
        let mut total: u64 = 0;
        for (site_name, site) in raw {
            let path = format!("sites.{site_name}");
            if let Err(why) = check_name(&site_name, MAX_PART_LEN) {
                self.key_error(&path, format!("bad site name: {why}"));
            }
            let roles_path = format!("{path}.roles");
            let roles_raw = site.and_then(|s| s.roles).unwrap_or_default();
            if roles_raw.is_empty() {
                let at = self
                    .map
                    .value_at(&roles_path)
                    .or_else(|| self.map.value_at(&path));
                self.error_at(
                    at,
                    &roles_path,
                    "expected at least one role with a number of hosts, e.g. `roles: {server: 1}`",
                );
            }
            let mut roles = Vec::new();
            for (role, count) in roles_raw {
                let role_path = format!("{roles_path}.{role}");
                if let Err(why) = check_name(&role, MAX_PART_LEN) {
                    self.key_error(&role_path, format!("bad role name: {why}"));
                }
                if let Some(count) = self.count(&role_path, &count) {
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
        self.host_names(&sites);
        sites
    }

    /// A role's number of hosts: a whole number from 1 to [`MAX_HOSTS`].
    fn count(&mut self, path: &str, value: &Value) -> Option<u32> {
        let Value::Number(n) = value else {
            self.value_error(
                path,
                format!(
                    "expected a whole number of hosts, found {}",
                    describe(value)
                ),
            );
            return None;
        };
        let problem = match (n.as_i64(), n.as_f64()) {
            (Some(c), _) if c < 1 => format!("expected at least 1 host, found {c}"),
            (Some(c), _) if c.unsigned_abs() <= MAX_HOSTS => return u32::try_from(c).ok(),
            (Some(c), _) => format!("expected at most {MAX_HOSTS} hosts, found {c}"),
            (None, Some(f)) if f.fract() == 0.0 && f > 0.0 => {
                format!("expected at most {MAX_HOSTS} hosts, found {n}")
            }
            _ => format!("expected a whole number of hosts, found {n}"),
        };
        self.value_error(path, problem);
        None
    }

    /// Host names `{site}-{role}-{n}` must be unique, and a name may not be both a site and a
    /// role (both become inventory groups). As `n` holds no dash, host names are unique exactly
    /// when the `{site}-{role}` stems are.
    fn host_names(&mut self, sites: &[Site]) {
        let site_names: Vec<&str> = sites.iter().map(|s| s.name.as_str()).collect();
        let mut stems: HashMap<String, (&str, &str)> = HashMap::new();
        for site in sites {
            for role in &site.roles {
                let path = format!("sites.{}.roles.{}", site.name, role.role);
                let stem = format!("{}-{}", site.name, role.role);
                match stems.get(&stem) {
                    Some((other_site, other_role)) => self.key_error(
                        &path,
                        format!(
                            "hosts of site '{}' role '{}' would have the same names as those of \
                             site '{other_site}' role '{other_role}' ({stem}-1, …)",
                            site.name, role.role
                        ),
                    ),
                    None => {
                        stems.insert(stem, (&site.name, &role.role));
                    }
                }
                if site_names.contains(&role.role.as_str()) {
                    self.key_error(
                        &path,
                        format!(
                            "'{}' is both a site and a role; inventories need distinct group \
                             names",
                            role.role
                        ),
                    );
                }
            }
        }
    }

    /// A delay, rate or loss: a string such as `25ms`, parsed by `T`'s `FromStr`.
    pub(crate) fn quantity<T: std::str::FromStr<Err = String>>(
        &mut self,
        path: &str,
        value: Option<&Value>,
        what: &str,
        example: &str,
    ) -> Option<T> {
        let Some(value) = value else {
            if self.map.has(path) {
                self.value_error(
                    path,
                    format!("expected a {what} such as {example}, found nothing"),
                );
            }
            return None;
        };
        match value {
            Value::String(text) => match text.parse() {
                Ok(v) => Some(v),
                Err(why) => {
                    self.value_error(path, format!("bad {what} {}: {why}", quote(text)));
                    None
                }
            },
            Value::Number(n) => {
                // A bare number: the same message as for the string, i.e. the unit is missing.
                let why = n
                    .to_string()
                    .parse::<T>()
                    .err()
                    .unwrap_or_else(|| format!("a unit is required (e.g. {example})"));
                self.value_error(path, format!("bad {what} '{n}': {why}"));
                None
            }
            other => {
                self.value_error(
                    path,
                    format!(
                        "expected a {what} such as {example}, found {}",
                        describe(other)
                    ),
                );
                None
            }
        }
    }

    /// The network section; `base` is the key path it sits at (`network.`, or empty for a
    /// constraints file).
    fn network(&mut self, raw: Option<RawNetwork>, sites: &[Site], base: &str) -> NetworkSpec {
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

/// Reads `text` as a selector of the hosts of `sites`: a site, role or host name, or an EnOS
/// range of them (`paris-server-[1-3]`); the error says what is wrong.
pub fn selector(text: &str, sites: &[Site]) -> Result<Selector, String> {
    Names::of(sites).selector(text)
}

/// The names a selector may use: sites, roles and hosts.
pub(crate) struct Names {
    pub(crate) sites: Vec<String>,
    pub(crate) roles: Vec<String>,
    pub(crate) hosts: Vec<String>,
}

impl Names {
    pub(crate) fn of(sites: &[Site]) -> Names {
        let mut roles: Vec<String> = Vec::new();
        let mut hosts = Vec::new();
        for site in sites {
            for role in &site.roles {
                if !roles.contains(&role.role) {
                    roles.push(role.role.clone());
                }
                hosts.extend((1..=role.count).map(|i| format!("{}-{}-{i}", site.name, role.role)));
            }
        }
        Names {
            sites: sites.iter().map(|s| s.name.clone()).collect(),
            roles,
            hosts,
        }
    }

    pub(crate) fn selector(&self, text: &str) -> Result<Selector, String> {
        let expanded =
            expand_range(text).map_err(|why| format!("bad range {}: {why}", quote(text)))?;
        let mut selected = Vec::new();
        for name in &expanded {
            let found = self.lookup(name);
            match found.as_slice() {
                [one] => selected.push(one.clone()),
                [] => {
                    let within = if expanded.len() > 1 {
                        format!(" (from the range {})", quote(text))
                    } else {
                        String::new()
                    };
                    return Err(format!(
                        "unknown site, role or host {}{within}, expected {}",
                        quote(name),
                        self.expected()
                    ));
                }
                many => {
                    let kinds: Vec<&str> = many.iter().map(Names::kind).collect();
                    return Err(format!(
                        "{} is ambiguous: it names both a {}",
                        quote(name),
                        kinds.join(" and a ")
                    ));
                }
            }
        }
        Ok(Selector {
            text: text.to_owned(),
            names: selected,
        })
    }

    fn lookup(&self, name: &str) -> Vec<Named> {
        let mut found = Vec::new();
        if self.sites.iter().any(|s| s == name) {
            found.push(Named::Site(name.to_owned()));
        }
        if self.roles.iter().any(|r| r == name) {
            found.push(Named::Role(name.to_owned()));
        }
        if self.hosts.iter().any(|h| h == name) {
            found.push(Named::Host(name.to_owned()));
        }
        found
    }

    fn kind(named: &Named) -> &'static str {
        match named {
            Named::Site(_) => "site",
            Named::Role(_) => "role",
            Named::Host(_) => "host",
        }
    }

    /// What a selector may name, for messages.
    fn expected(&self) -> String {
        if self.sites.is_empty() {
            return "a site, role or host, and the scenario has none".to_owned();
        }
        let list = |names: &[String]| {
            if names.len() > 6 {
                format!("{}, …", names[..6].join(", "))
            } else {
                names.join(", ")
            }
        };
        let host = self.hosts.first().map(String::as_str).unwrap_or("");
        format!(
            "a site ({}), a role ({}) or a host such as {host}",
            list(&self.sites),
            list(&self.roles)
        )
    }
}

/// The most names one range may expand to.
const MAX_RANGE: u64 = MAX_HOSTS;

/// Expands an EnOS range: `grp[2-4]` gives `grp2`, `grp3`, `grp4`; other text is itself.
fn expand_range(text: &str) -> Result<Vec<String>, String> {
    let Some(open) = text.find('[') else {
        if text.contains(']') {
            return Err("a `]` without its `[`".to_owned());
        }
        return Ok(vec![text.to_owned()]);
    };
    let (prefix, rest) = text.split_at(open);
    let Some(inner) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return Err("a range is written `name[first-last]`, at the end of the name".to_owned());
    };
    let Some((first, last)) = inner.split_once('-') else {
        return Err("expected `[first-last]`, e.g. `[1-3]`".to_owned());
    };
    let number = |part: &str| -> Result<u64, String> {
        if part.is_empty() || !part.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("{} is not a whole number", quote(part)));
        }
        part.parse::<u64>()
            .map_err(|_| format!("{} is too large", quote(part)))
    };
    let (first, last) = (number(first)?, number(last)?);
    if prefix.is_empty() {
        return Err("the range has no name before `[`".to_owned());
    }
    if last < first {
        return Err(format!("{last} is smaller than {first}"));
    }
    if last - first >= MAX_RANGE {
        return Err(format!("it names more than {MAX_RANGE} hosts"));
    }
    Ok((first..=last).map(|i| format!("{prefix}{i}")).collect())
}
