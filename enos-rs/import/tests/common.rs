//! What the test modules share: fixtures, the import of one, and the provider kinds scenarios
//! are parsed with.

use std::path::{Path, PathBuf};

use enos_import::Imported;
use enos_scenario::{ProviderKind, Scenario, ScenarioError, UncheckedKind};

/// The directory of this crate's test files.
pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// The text of `tests/<dir>/<name>`.
pub fn fixture(dir: &str, name: &str) -> String {
    let path = tests_dir().join(dir).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Imports `tests/fixtures/<name>`, which must succeed.
pub fn import(name: &str) -> Imported {
    enos_import::convert(&fixture("fixtures", name), name)
        .unwrap_or_else(|e| panic!("{name} does not import:\n{e}"))
}

/// Imports `text`, which must succeed; `reservation.yaml` is its name.
pub fn import_text(text: &str) -> Imported {
    enos_import::convert(text, "reservation.yaml")
        .unwrap_or_else(|e| panic!("the reservation does not import:\n{e}\n---\n{text}"))
}

/// The provider kinds the program has: the static provider's own, the others unchecked (their
/// crates check their options).
pub fn kinds() -> Vec<Box<dyn ProviderKind>> {
    vec![
        Box::new(enos_provider_static::StaticKind),
        Box::new(UncheckedKind("g5k")),
        Box::new(UncheckedKind("vagrant")),
        Box::new(UncheckedKind("openstack")),
    ]
}

/// Parses a scenario text as `enos validate` does, as the file `file` (files it names are
/// relative to its directory).
pub fn try_parse(scenario: &str, file: &Path) -> Result<Scenario, ScenarioError> {
    let kinds = kinds();
    let refs: Vec<&dyn ProviderKind> = kinds.iter().map(|k| k.as_ref()).collect();
    enos_scenario::parse(scenario, &file.display().to_string(), &refs)
}

/// Parses a scenario text, which must be valid.
pub fn parse(scenario: &str, file: &Path) -> Scenario {
    try_parse(scenario, file)
        .unwrap_or_else(|e| panic!("the imported scenario does not parse:\n{e}\n---\n{scenario}"))
}

/// The scenario and its warnings, as snapshotted.
pub fn report(imported: &Imported) -> String {
    let mut text = imported.scenario.clone();
    text.push_str("\n---- warnings ----\n");
    for warning in &imported.warnings {
        text.push_str(&format!("{warning}\n"));
    }
    text
}

/// The key paths of the warnings, in order.
pub fn warning_paths(imported: &Imported) -> Vec<&str> {
    imported.warnings.iter().map(|w| w.path.as_str()).collect()
}
