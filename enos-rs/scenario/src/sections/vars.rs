//! The `vars:` section: the scenario's variables, `vars.<name>` in the templates of its steps.

use indexmap::IndexMap;
use serde_json::Value;

use crate::check::{Checker, quote};
use crate::deploy::Vars;

/// Names that templates use for their own context; variables may not take them.
const RESERVED: [&str; 8] = [
    "host",
    "hosts",
    "groups",
    "sites",
    "experiment",
    "vars",
    "secret",
    "free_address",
];

/// A variable name: `[a-z_][a-z0-9_]*`, as templates can write `vars.name`.
pub(crate) fn check_var_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        return Err(format!(
            "bad variable name {}: lowercase letters, digits and `_`, not starting with a digit",
            quote(name)
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "{} is a name templates use for their own context; choose another",
            quote(name)
        ));
    }
    Ok(())
}

impl Checker<'_> {
    /// The scenario's `vars:` section.
    pub(crate) fn vars_section(&mut self, raw: Option<IndexMap<String, Value>>) -> Vars {
        let raw = raw.unwrap_or_default();
        for name in raw.keys() {
            if let Err(why) = check_var_name(name) {
                self.key_error(&format!("vars.{name}"), why);
            }
        }
        raw
    }
}
