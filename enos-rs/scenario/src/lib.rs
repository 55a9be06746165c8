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
//!
//! This crate knows no provider: the program passes the [`ProviderKind`]s it has to [`parse`],
//! and the kind the scenario names checks its options (located like every other error, in the
//! scenario or in a file the options name) and may define the sites. The options stay a JSON
//! value in [`ProviderSection`], which the provider reads back at run time.
//!
//! Modules: `check` holds what every section shares (reading a file, serde's errors located,
//! the checker that collects errors); `sections` one module per section, each with its raw
//! shape, its checks and its model; `source` the source map; `schema` the JSON Schema.
#![warn(missing_docs)]

pub mod change;
mod check;
mod model;
pub mod resources;
mod schema;
mod sections;
mod selector;
pub(crate) mod source;
mod units;

use std::path::Path;

pub use change::{ShapeChange, parse_change};
pub use model::Scenario;
pub use schema::json_schema;
pub use sections::bench;
pub use sections::deploy;
pub use sections::metrics;
pub use sections::network::{Constraint, DEFAULT_RATE, NetworkSpec};
pub use sections::provider::{
    CheckedOptions, DEFAULT_PROVIDER, OptionsContext, ProviderKind, ProviderSection, UncheckedKind,
};
pub use sections::sites::{HostPlan, RoleCount, Site};
pub use sections::sweep;
pub(crate) use sections::{network, provider, sites, vars};
pub use selector::{Named, Selector};
pub use source::{Diagnostic, source_snippet};
pub use units::{Delay, LossRate, Rate, Span, Timeout};

use selector::Names;
use source::SourceMap;

/// The most hosts a scenario may ask for, over all sites and roles.
pub const MAX_HOSTS: u64 = 4096;
/// The longest experiment name.
pub const MAX_NAME_LEN: usize = 32;
/// The longest site or role name.
pub const MAX_PART_LEN: usize = 16;
/// The largest scenario file, in bytes.
pub const MAX_FILE_BYTES: usize = 1 << 20;

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

/// Reads and parses the scenario file at `path` with the provider kinds `kinds` (see
/// [`parse`]); messages name the path as given, and files the scenario names are relative to its
/// directory.
pub fn load(path: &Path, kinds: &[&dyn ProviderKind]) -> Result<Scenario, ScenarioError> {
    let source = read_file(path)?;
    parse(&source, &path.display().to_string(), kinds)
}

/// Reads the text of a scenario (or constraints) file at `path`, as every command must: at most
/// [`MAX_FILE_BYTES`] are read, and a file that is not UTF-8 is an error at the line and column
/// of its first invalid byte. Messages name the path as given.
pub fn read_file(path: &Path) -> Result<String, ScenarioError> {
    check::read_file(path)
}

/// Parses and validates the scenario `source`, naming `file_name` in messages; the files it
/// names (templates, stacks, a provider's hosts file) are relative to the directory of
/// `file_name`.
///
/// `kinds` are the providers the program has: the scenario's `provider:` must name one of them
/// (`local` when it names none), which checks its options (see [`ProviderKind`]).
pub fn parse(
    source: &str,
    file_name: &str,
    kinds: &[&dyn ProviderKind],
) -> Result<Scenario, ScenarioError> {
    sections::parse(source, file_name, kinds)
}

/// Parses the scenario `source` (see [`parse`]) and gives the points of its sweep: one
/// scenario text per combination of the swept values, each checked (none without `sweep:`).
pub fn sweep_points(
    source: &str,
    file_name: &str,
    kinds: &[&dyn ProviderKind],
) -> Result<(Scenario, Vec<sweep::SweepPoint>), ScenarioError> {
    sections::parse_with_points(source, file_name, kinds)
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
    network::parse_constraints(source, file_name, sites)
}

/// `text` in quotes for a message, cut after 40 characters: `'paris'`.
pub fn quote(text: &str) -> String {
    check::quote(text)
}

/// What a loosely typed value is, for a message: `'two'`, `4`, `a list`, `nothing`.
pub fn describe(value: &serde_json::Value) -> String {
    check::describe(value)
}

/// Checks a name as experiment, site and role names are: lowercase letters, digits and single
/// dashes, starting with a letter, at most `max` characters; says what is wrong with it.
pub fn check_name(text: &str, max: usize) -> Result<(), String> {
    check::check_name(text, max)
}

/// Reads `text` as a selector of the hosts of `sites`: a site, role or host name, or an EnOS
/// range of them (`paris-server-[1-3]`); the error says what is wrong.
pub fn selector(text: &str, sites: &[Site]) -> Result<Selector, String> {
    Names::of(sites).selector(text)
}
