//! Stack files: a reusable, parameterised bundle of steps (`stacks/<name>/stack.yaml`), with the
//! variables it takes.
//!
//! ```yaml
//! description: A web server on every host of a role.
//! vars:
//!   role: {type: role, required: true, doc: the role whose hosts serve}
//!   port: {type: integer, default: 80}
//! steps:
//!   - packages: [nginx]
//!     roles: ["{{ vars.role }}"]
//! ```

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use super::model::{FailurePolicy, FileRoot, Step};
use super::steps::{RawStep, StepContext, check_stack_steps};
use crate::check::{Checker, describe, quote};
use crate::resources;
use crate::selector::Names;
use crate::source::{Diagnostic, Position, SourceMap};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStack {
    description: Option<String>,
    vars: Option<IndexMap<String, RawVar>>,
    steps: Option<Vec<RawStep>>,
    backup: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVar {
    #[serde(rename = "type")]
    kind: Option<String>,
    required: Option<bool>,
    default: Option<Value>,
    choices: Option<Vec<Value>>,
    doc: Option<String>,
}

/// The kinds of value a stack variable takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarKind {
    String,
    Integer,
    Boolean,
    /// The name of a role of the scenario.
    Role,
    /// The name of a site of the scenario.
    Site,
    /// A site, role, host or EnOS range of hosts.
    Hosts,
    List,
    Mapping,
    Any,
}

const VAR_KINDS: &str = "string, integer, boolean, role, site, hosts, list, mapping, any";

impl VarKind {
    fn parse(text: &str) -> Option<VarKind> {
        Some(match text {
            "string" => VarKind::String,
            "integer" => VarKind::Integer,
            "boolean" => VarKind::Boolean,
            "role" => VarKind::Role,
            "site" => VarKind::Site,
            "hosts" => VarKind::Hosts,
            "list" => VarKind::List,
            "mapping" => VarKind::Mapping,
            "any" => VarKind::Any,
            _ => return None,
        })
    }
}

/// A variable a stack declares.
#[derive(Debug, Clone)]
pub(crate) struct VarSpec {
    pub kind: VarKind,
    pub default: Option<Value>,
    pub choices: Option<Vec<Value>>,
    pub doc: Option<String>,
}

impl VarSpec {
    /// Checks `value` against the declaration; `names` are the scenario's sites, roles, hosts.
    pub(crate) fn check(&self, value: &Value, names: Option<&Names>) -> Result<(), String> {
        let text = value.as_str();
        let fits = match self.kind {
            VarKind::String | VarKind::Role | VarKind::Site | VarKind::Hosts => text.is_some(),
            VarKind::Integer => value.is_i64() || value.is_u64(),
            VarKind::Boolean => value.is_boolean(),
            VarKind::List => value.is_array(),
            VarKind::Mapping => value.is_object(),
            VarKind::Any => true,
        };
        if !fits {
            return Err(format!(
                "expected {}, found {}",
                self.kind.describe(),
                describe(value)
            ));
        }
        if let Some(choices) = &self.choices
            && !choices.contains(value)
        {
            let shown: Vec<String> = choices.iter().map(describe).collect();
            return Err(format!(
                "{} is not one of {}",
                describe(value),
                shown.join(", ")
            ));
        }
        let (Some(text), Some(names)) = (text, names) else {
            return Ok(());
        };
        match self.kind {
            VarKind::Role if !names.roles.iter().any(|r| r == text) => Err(format!(
                "{} is not a role of the scenario (roles: {})",
                quote(text),
                names.roles.join(", ")
            )),
            VarKind::Site if !names.sites.iter().any(|s| s == text) => Err(format!(
                "{} is not a site of the scenario (sites: {})",
                quote(text),
                names.sites.join(", ")
            )),
            VarKind::Hosts => names.selector(text).map(drop),
            _ => Ok(()),
        }
    }
}

/// Where a stack is: its file, shown name and the directory its relative files resolve in.
pub(crate) struct StackFile {
    /// The file as shown in messages.
    pub display: String,
    /// Where its relative file names resolve.
    pub files: FileRoot,
    /// Its text.
    source: String,
}

/// A stack file that parsed: its variables, and its steps still to check against a scenario.
pub(crate) struct ParsedStack<'s> {
    stack: &'s StackFile,
    map: SourceMap,
    root: Position,
    pub vars: IndexMap<String, VarSpec>,
    steps: Vec<RawStep>,
    /// What `enos backup` fetches from the hosts the stack's steps ran on.
    pub backup: Vec<String>,
}

impl StackFile {
    /// Finds the stack `name`: a built-in stack (`keystone`), or a directory holding
    /// `stack.yaml` when the name is a path (`./stacks/mine`, relative to `scenario_dir`).
    pub(crate) fn locate(name: &str, scenario_dir: &Path) -> Result<StackFile, String> {
        if name.contains('/') || name.starts_with('.') {
            let dir: PathBuf = scenario_dir.join(name);
            let file = dir.join("stack.yaml");
            let source = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read the stack file {}: {e}", file.display()))?;
            return Ok(StackFile {
                display: Path::new(name).join("stack.yaml").display().to_string(),
                files: FileRoot::Dir(std::path::absolute(&dir).unwrap_or(dir)),
                source,
            });
        }
        let path = format!("stacks/{name}/stack.yaml");
        match resources::builtin_file(&path) {
            Some(source) => Ok(StackFile {
                display: path,
                files: FileRoot::Builtin(format!("stacks/{name}")),
                source: source.to_owned(),
            }),
            None => Err(format!(
                "unknown stack {}: the built-in stacks are {}; a stack of your own is named by \
                 its directory (e.g. `./stacks/mine`, holding stack.yaml)",
                quote(name),
                resources::builtin_stacks().join(", ")
            )),
        }
    }

    /// Parses the stack file: its structure and its variable declarations.
    pub(crate) fn parse(&self) -> Result<ParsedStack<'_>, Vec<Diagnostic>> {
        let (map, root) = crate::check::read_source(
            &self.source,
            &self.display,
            "a stack (a mapping with description, vars and steps)",
        )
        .map_err(|e| e.diagnostics().to_vec())?;
        let raw: RawStack =
            serde_saphyr::from_str_with_options(&self.source, crate::check::saphyr_options())
                .map_err(|e| {
                    crate::check::serde_error(&e, &map, &self.display, &self.source)
                        .diagnostics()
                        .to_vec()
                })?;
        let mut checker = Checker::new(&self.display, &self.source, &map, root);
        if raw
            .description
            .as_deref()
            .is_none_or(|d| d.trim().is_empty())
        {
            checker.missing(
                "description",
                "",
                "one line on what the stack deploys",
                "description: A web server",
            );
        }
        let mut vars = IndexMap::new();
        for (name, spec) in raw.vars.unwrap_or_default() {
            let path = format!("vars.{name}");
            if let Err(why) = crate::vars::check_var_name(&name) {
                checker.key_error(&path, why);
                continue;
            }
            let kind = match spec.kind.as_deref() {
                None => VarKind::String,
                Some(text) => match VarKind::parse(text) {
                    Some(kind) => kind,
                    None => {
                        checker.value_error(
                            &format!("{path}.type"),
                            format!("unknown type {}, expected one of {VAR_KINDS}", quote(text)),
                        );
                        continue;
                    }
                },
            };
            let required = spec.required.unwrap_or(false);
            if required == spec.default.is_some() {
                checker.key_error(
                    &path,
                    "a variable is either `required: true` or has a `default` (templates never \
                     see an undefined variable)",
                );
            }
            let declared = VarSpec {
                kind,
                default: spec.default,
                choices: spec.choices,
                doc: spec.doc,
            };
            if let Some(default) = &declared.default
                && let Err(why) = declared.check(default, None)
            {
                checker.value_error(&format!("{path}.default"), why);
            }
            vars.insert(name, declared);
        }
        let steps = raw.steps.unwrap_or_default();
        if steps.is_empty() {
            checker.missing(
                "steps",
                "",
                "the stack's steps",
                "steps: [{packages: [nginx]}]",
            );
        }
        let backup = raw.backup.unwrap_or_default();
        for (i, path) in backup.iter().enumerate() {
            let plain = path.starts_with('/')
                && path.len() > 1
                && !path.contains('\0')
                && !path.split('/').any(|part| part == "..");
            if !plain {
                checker.value_error(
                    &format!("backup[{i}]"),
                    format!(
                        "expected an absolute path without `..` (a file or a directory on the \
                         hosts, e.g. /var/log/nginx), found {}",
                        quote(path)
                    ),
                );
            }
        }
        if !checker.diagnostics.is_empty() {
            return Err(checker.diagnostics);
        }
        Ok(ParsedStack {
            backup,
            stack: self,
            map,
            root,
            vars,
            steps,
        })
    }
}

impl ParsedStack<'_> {
    /// Checks the stack's steps with the variables a scenario gave (in `ctx`); errors are located
    /// in the stack file. `policy` overrides the failure policy of steps that set none.
    pub(crate) fn check_steps(
        self,
        ctx: &mut StepContext<'_>,
        policy: Option<FailurePolicy>,
    ) -> (Vec<Step>, Vec<Diagnostic>) {
        let mut checker = Checker::new(
            &self.stack.display,
            &self.stack.source,
            &self.map,
            self.root,
        );
        let steps = check_stack_steps(&mut checker, self.steps, ctx, policy);
        (steps, checker.diagnostics)
    }
}

impl VarKind {
    /// What a value of this kind is, for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            VarKind::String => "a string".to_owned(),
            VarKind::Integer => "a whole number".to_owned(),
            VarKind::Boolean => "true or false".to_owned(),
            VarKind::Role => "a role of the scenario".to_owned(),
            VarKind::Site => "a site of the scenario".to_owned(),
            VarKind::Hosts => "a site, role, host or range of hosts".to_owned(),
            VarKind::List => "a list".to_owned(),
            VarKind::Mapping => "a mapping".to_owned(),
            VarKind::Any => "any value".to_owned(),
        }
    }
}
