//! The `provider:` section: which testbed provides the hosts, and its options.
//!
//! The scenario crate knows no provider: each one implements [`ProviderKind`] in its own crate
//! (the options it takes, their checks, what it can hold), and the program that reads scenarios
//! passes the kinds it has to [`crate::parse`]. Options stay a JSON value in the model,
//! [`ProviderSection::options`], which the provider reads back at run time.

use std::path::{Path, PathBuf};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::check::{
    Checker, describe, quote, read_document, read_file, saphyr_options, serde_error,
};
use crate::sites::Site;

/// Providers that later versions add: a scenario naming one is told it is not built yet rather
/// than that it is unknown.
const LATER_PROVIDERS: [&str; 5] = ["local", "static", "g5k", "vagrant", "openstack"];

/// The provider a scenario names when it names none.
pub const DEFAULT_PROVIDER: &str = "local";

/// The testbed provider and its options, as checked by the provider's kind.
///
/// In a scenario it is written `provider: NAME` or `provider: {NAME: {options}}`; in the
/// experiment's state it is stored as `{"NAME": {options}}` (the form earlier versions wrote for
/// the local provider), and `"NAME"` alone is read too.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSection {
    /// The provider's name, e.g. `local`.
    pub name: String,
    /// Its options, as its [`ProviderKind::check_options`] returned them: `{}` when the scenario
    /// gives none.
    pub options: Value,
}

impl ProviderSection {
    /// The provider `name` with `options`.
    pub fn new(name: impl Into<String>, options: Value) -> Self {
        Self {
            name: name.into(),
            options,
        }
    }
}

impl Serialize for ProviderSection {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = Map::new();
        map.insert(self.name.clone(), self.options.clone());
        map.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ProviderSection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(name) => Ok(ProviderSection::new(name, Value::Object(Map::new()))),
            Value::Object(map) if map.len() == 1 => {
                let Some((name, options)) = map.into_iter().next() else {
                    return Err(D::Error::custom("expected one provider"));
                };
                let options = match options {
                    Value::Null => Value::Object(Map::new()),
                    other => other,
                };
                Ok(ProviderSection::new(name, options))
            }
            other => Err(D::Error::custom(format!(
                "expected a provider, `\"NAME\"` or `{{\"NAME\": {{options}}}}`, found {}",
                describe(&other)
            ))),
        }
    }
}

/// A kind of provider, as the scenario sees it: its name, the options it takes under
/// `provider.<name>` and their checks, and what it can hold. Each provider crate implements it;
/// the program that reads scenarios passes the kinds it has to [`crate::parse`].
pub trait ProviderKind: Send + Sync {
    /// The provider's name as written in scenarios, e.g. `local`.
    fn name(&self) -> &'static str;

    /// The JSON Schema of the value under `provider.<name>` (merged into [`crate::json_schema`]).
    fn options_schema(&self) -> Value;

    /// Checks the options (the value under `provider.<name>`, `{}` when none is written),
    /// reporting every error through `ctx`, located at its key path (`provider.<name>.<key>`).
    /// Returns the options to keep in the experiment's state and, for a provider whose options
    /// define the hosts, the sites they give.
    fn check_options(&self, options: &Value, ctx: &mut OptionsContext<'_>) -> CheckedOptions;

    /// Checks what the provider can hold once the sites are known (e.g. the local provider's
    /// limits), reporting errors through `ctx` (at `sites.<site>`, say). `options` are those
    /// [`ProviderKind::check_options`] returned.
    fn check_sites(&self, options: &Value, sites: &[Site], ctx: &mut OptionsContext<'_>) {
        let _ = (options, sites, ctx);
    }
}

/// What a provider kind makes of its options.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedOptions {
    /// The options as the experiment's state keeps them, for the provider to read back at run
    /// time: defaults filled in, side files read in, relative paths resolved.
    pub options: Value,
    /// The sites the options define, with their hosts' names (the static provider's hosts);
    /// `None` when the scenario's `sites:` says what the provider makes. When both say, they
    /// must agree.
    pub sites: Option<Vec<Site>>,
}

impl CheckedOptions {
    /// `options`, kept as they are, defining no sites.
    pub fn kept(options: Value) -> Self {
        Self {
            options,
            sites: None,
        }
    }
}

/// A provider kind that keeps its options as written and checks nothing: for programs and
/// tests that read scenarios without the provider's crate (to resolve a WAN, plan deploy steps).
/// A program that provisions hosts registers the provider's own kind instead.
#[derive(Debug, Clone, Copy)]
pub struct UncheckedKind(pub &'static str);

impl ProviderKind for UncheckedKind {
    fn name(&self) -> &'static str {
        self.0
    }

    fn options_schema(&self) -> Value {
        serde_json::json!({"description": format!("Options of the {} provider.", self.0)})
    }

    fn check_options(&self, options: &Value, _: &mut OptionsContext<'_>) -> CheckedOptions {
        CheckedOptions::kept(options.clone())
    }
}

/// Where a provider kind reports the errors of its options: in the scenario (key paths from its
/// root, e.g. `provider.static.hosts[0].address`) or in a file the options name (key paths from
/// that file's root), each with its line, column and snippet.
pub struct OptionsContext<'a> {
    checker: Checker<'a>,
    /// Where the file is, as shown in messages and read from (relative to the working
    /// directory, as the scenario was given).
    shown_dir: PathBuf,
}

impl<'a> OptionsContext<'a> {
    fn new(checker: Checker<'a>) -> Self {
        let shown_dir = Path::new(checker.file)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Self { checker, shown_dir }
    }

    /// An error about the key at `path` (shown at the key).
    pub fn key_error(&mut self, path: &str, message: impl Into<String>) {
        self.checker.key_error(path, message);
    }

    /// An error about the value at `path` (shown at the value).
    pub fn value_error(&mut self, path: &str, message: impl Into<String>) {
        self.checker.value_error(path, message);
    }

    /// A required key `path` of the mapping at `parent` is absent (shown where the mapping
    /// starts) or written without a value: "missing key `KEY`: WHAT (e.g. `EXAMPLE`)".
    pub fn missing(&mut self, path: &str, parent: &str, what: &str, example: &str) {
        self.checker.missing(path, parent, what, example);
    }

    /// Whether the key at `path` is written in the file.
    pub fn is_written(&self, path: &str) -> bool {
        self.checker.map.has(path)
    }

    /// Whether an error was reported through this context.
    pub fn failed(&self) -> bool {
        !self.checker.diagnostics.is_empty()
    }

    /// The file whose values are being checked, as shown in messages.
    pub fn file(&self) -> &str {
        self.checker.file
    }

    /// The directory of that file, absolute: where relative file names in it resolve.
    pub fn dir(&self) -> PathBuf {
        self.checker.dir()
    }

    /// Reads the YAML file `name`, relative to the directory of the file being checked, and
    /// hands its value to `check` with a context whose key paths start at that file's root (a
    /// mapping or a list; `expected` says what it should hold, for messages). A file that cannot
    /// be read is an error at `path` (the value naming it); a file that does not parse is an
    /// error there too, and its own errors are located in it. Returns what `check` returns, or
    /// `None` when the file could not be read or parsed.
    pub fn read_side_file<T>(
        &mut self,
        path: &str,
        name: &str,
        expected: &str,
        check: impl FnOnce(&Value, &mut OptionsContext<'_>) -> T,
    ) -> Option<T> {
        let file = self.shown_dir.join(name);
        let shown = file.display().to_string();
        if let Err(e) = std::fs::metadata(&file).and_then(|m| {
            if m.is_file() {
                Ok(())
            } else {
                Err(std::io::Error::other("not a file"))
            }
        }) {
            self.value_error(
                path,
                format!(
                    "cannot read {} (relative to the directory of {}): {e}",
                    quote(name),
                    self.file()
                ),
            );
            return None;
        }
        let parsed = read_file(&file).and_then(|source| {
            let (map, root) = read_document(&source, &shown, expected, true)?;
            let value: Value = serde_saphyr::from_str_with_options(&source, saphyr_options())
                .map_err(|e| serde_error(&e, &map, &shown, &source))?;
            let mut inner = OptionsContext::new(Checker::new(&shown, &source, &map, root));
            let out = check(&value, &mut inner);
            self.checker
                .diagnostics
                .append(&mut inner.checker.diagnostics);
            Ok(out)
        });
        match parsed {
            Ok(out) => Some(out),
            Err(e) => {
                self.value_error(path, format!("the file {shown} has errors (below)"));
                self.checker
                    .diagnostics
                    .extend(e.diagnostics().iter().cloned());
                None
            }
        }
    }
}

/// The provider section once checked: the section, the kind that checked it (none after an
/// error about the name) and the sites its options define.
pub(crate) struct Provider<'k> {
    pub section: ProviderSection,
    pub kind: Option<&'k dyn ProviderKind>,
    pub sites: Option<Vec<Site>>,
    /// Whether the kind found errors in the options (the sites it gives may lack hosts).
    pub options_failed: bool,
}

impl<'a> Checker<'a> {
    /// The `provider:` section, checked by the kind it names among `kinds`.
    pub(crate) fn provider<'k>(
        &mut self,
        value: Option<&Value>,
        kinds: &[&'k dyn ProviderKind],
    ) -> Provider<'k> {
        let empty = Value::Object(Map::new());
        let failed = |name: &str| Provider {
            section: ProviderSection::new(name, Value::Object(Map::new())),
            kind: None,
            sites: None,
            options_failed: false,
        };
        let (name, options) = match value {
            None if self.map.has("provider") => {
                self.value_error(
                    "provider",
                    "expected a provider such as `local`, found nothing",
                );
                return failed(DEFAULT_PROVIDER);
            }
            None => (DEFAULT_PROVIDER, None),
            Some(Value::String(name)) => (name.as_str(), None),
            Some(Value::Object(map)) if map.len() == 1 => match map.iter().next() {
                Some((name, options)) => (name.as_str(), Some(options)),
                None => return failed(DEFAULT_PROVIDER),
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
                return failed(DEFAULT_PROVIDER);
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
                return failed(DEFAULT_PROVIDER);
            }
        };
        let Some(kind) = kinds.iter().copied().find(|k| k.name() == name) else {
            let at = if options.is_some() {
                format!("provider.{name}")
            } else {
                "provider".to_owned()
            };
            let message = if LATER_PROVIDERS.contains(&name) {
                format!(
                    "provider '{name}' is not built yet; this version has {}",
                    registered(kinds)
                )
            } else {
                let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
                match names.as_slice() {
                    [] => format!("unknown provider {}; this program has none", quote(name)),
                    [one] => format!("unknown provider {}, expected {one}", quote(name)),
                    many => format!(
                        "unknown provider {}, expected one of {}",
                        quote(name),
                        many.join(", ")
                    ),
                }
            };
            // At the value of `provider: g5k`, at the key of `provider: {g5k: {…}}`.
            if at == "provider" {
                self.value_error(&at, message);
            } else {
                self.key_error(&at, message);
            }
            return failed(name);
        };
        let options = match options {
            None | Some(Value::Null) => &empty,
            Some(options) => options,
        };
        let mut ctx = self.options_context();
        let checked = kind.check_options(options, &mut ctx);
        let options_failed = ctx.failed();
        self.diagnostics.append(&mut ctx.checker.diagnostics);
        Provider {
            section: ProviderSection::new(name, checked.options),
            kind: Some(kind),
            sites: checked.sites,
            options_failed,
        }
    }

    /// Lets `provider`'s kind check what it can hold, now that the sites are known.
    pub(crate) fn provider_sites(&mut self, provider: &Provider<'_>, sites: &[Site]) {
        if let Some(kind) = provider.kind {
            let mut ctx = self.options_context();
            kind.check_sites(&provider.section.options, sites, &mut ctx);
            self.diagnostics.append(&mut ctx.checker.diagnostics);
        }
    }

    /// A context for a provider kind over this checker's file, collecting its own errors.
    fn options_context(&self) -> OptionsContext<'a> {
        OptionsContext::new(Checker::new(self.file, self.source, self.map, self.root))
    }
}

/// The names of `kinds`, for messages: "`local`", "`local` and `static`".
fn registered(kinds: &[&dyn ProviderKind]) -> String {
    let names: Vec<String> = kinds.iter().map(|k| format!("`{}`", k.name())).collect();
    match names.as_slice() {
        [] => "none".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
