//! Checks of the scenario's `deploy:` section: its own steps, and the stacks it uses with their
//! variables.

use std::path::Path;

use indexmap::IndexMap;
use serde_json::Value;

use super::model::{DeploySpec, FileRoot, StackUse, StepGroup, Vars};
use super::stack::{StackFile, VarSpec};
use super::steps::{KINDS, RawStep, StepContext};
use crate::check::{Checker, quote};
use crate::selector::Names;
use crate::sites::Site;

/// The keys an entry naming a stack may have.
const STACK_KEYS: [&str; 4] = ["stack", "vars", "name", "on_failure"];

impl Checker<'_> {
    /// The `deploy:` section.
    pub(crate) fn deploy(
        &mut self,
        raw: Option<Vec<RawStep>>,
        vars: &Vars,
        sites: &[Site],
    ) -> DeploySpec {
        let names = Names::of(sites);
        let scenario_dir = self.dir();
        let files = FileRoot::Dir(scenario_dir.clone());
        let mut groups = Vec::new();
        // The names of the scenario's own steps so far: its services may watch them.
        let mut earlier: Vec<String> = Vec::new();
        for (i, step) in raw.unwrap_or_default().into_iter().enumerate() {
            let path = format!("deploy[{i}]");
            if step.stack.is_some() {
                if let Some(group) = self.stack_group(&path, step, &names, &scenario_dir) {
                    groups.push(group);
                }
                continue;
            }
            let mut ctx = StepContext {
                names: &names,
                files: &files,
                stack: None,
                deferred: Vec::new(),
            };
            if let Some(step) = self.step(&path, step, &mut ctx, &earlier) {
                earlier.push(step.name.clone());
                groups.push(StepGroup {
                    at: self.location(&path),
                    stack: None,
                    vars: vars.clone(),
                    files: files.clone(),
                    steps: vec![step],
                });
            }
        }
        DeploySpec {
            vars: vars.clone(),
            groups,
        }
    }

    /// An entry `- stack: NAME` with its `vars`: the stack's steps, checked in the stack file,
    /// and the variables, checked against the stack's declarations.
    fn stack_group(
        &mut self,
        path: &str,
        raw: RawStep,
        names: &Names,
        scenario_dir: &Path,
    ) -> Option<StepGroup> {
        let name = raw.stack.clone().unwrap_or_default();
        let stack_path = format!("{path}.stack");
        for key in raw.given() {
            if KINDS.contains(&key) && key != "stack" {
                self.key_error(
                    &format!("{path}.{key}"),
                    format!(
                        "a step does one thing: `stack` and `{key}` are both given; write two steps"
                    ),
                );
            } else if !STACK_KEYS.contains(&key) {
                self.key_error(
                    &format!("{path}.{key}"),
                    format!(
                        "`{key}` does not apply to a stack: its variables choose the hosts and \
                         its steps say the rest (a stack takes `vars`, `name` and `on_failure`)"
                    ),
                );
            }
        }
        let policy = self.on_failure(path, raw.on_failure.as_ref());
        let stack = match StackFile::locate(&name, scenario_dir) {
            Ok(stack) => stack,
            Err(why) => {
                self.value_error(&stack_path, why);
                return None;
            }
        };
        let parsed = match stack.parse() {
            Ok(parsed) => parsed,
            Err(diagnostics) => {
                self.value_error(
                    &stack_path,
                    format!("the stack file {} has errors (below)", stack.display),
                );
                self.diagnostics.extend(diagnostics);
                return None;
            }
        };
        let before = self.diagnostics.len();
        let vars = self.stack_vars(path, &name, &parsed.vars, raw.vars, names);
        if self.diagnostics.len() > before {
            // The steps would be checked with wrong or missing values: their errors would only
            // repeat these.
            return None;
        }
        let mut ctx = StepContext {
            names,
            files: &stack.files,
            stack: Some(&vars),
            deferred: Vec::new(),
        };
        let backup = parsed.backup.clone();
        let (steps, diagnostics) = parsed.check_steps(&mut ctx, policy);
        self.diagnostics.extend(diagnostics);
        for problem in std::mem::take(&mut ctx.deferred) {
            self.value_error(&stack_path, format!("stack {}: {problem}", quote(&name)));
        }
        let mut at = self.location(path);
        if let Some(given) = &raw.name {
            at.path = format!("{path} ({given})");
        }
        Some(StepGroup {
            at,
            stack: Some(StackUse {
                name,
                file: stack.display.clone(),
                backup,
            }),
            vars,
            files: stack.files.clone(),
            steps,
        })
    }

    /// The values a scenario gives a stack: every name declared, every required one given,
    /// every value of its declared type; returns them with the defaults of the others.
    fn stack_vars(
        &mut self,
        path: &str,
        stack: &str,
        declared: &IndexMap<String, VarSpec>,
        given: Option<IndexMap<String, Value>>,
        names: &Names,
    ) -> Vars {
        let given = given.unwrap_or_default();
        let expected = || {
            if declared.is_empty() {
                "it takes none".to_owned()
            } else {
                format!(
                    "expected one of {}",
                    declared.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            }
        };
        for key in given.keys() {
            if !declared.contains_key(key) {
                self.key_error(
                    &format!("{path}.vars.{key}"),
                    format!(
                        "unknown variable `{key}` of stack {}, {}",
                        quote(stack),
                        expected()
                    ),
                );
            }
        }
        let mut vars = Vars::new();
        for (key, spec) in declared {
            let value_path = format!("{path}.vars.{key}");
            match given.get(key) {
                Some(value) => {
                    if let Err(why) = spec.check(value, Some(names)) {
                        self.value_error(&value_path, format!("variable `{key}`: {why}"));
                    }
                    vars.insert(key.clone(), value.clone());
                }
                None => match &spec.default {
                    Some(default) => {
                        vars.insert(key.clone(), default.clone());
                    }
                    None => {
                        let at = if self.map.has(&format!("{path}.vars")) {
                            format!("{path}.vars")
                        } else {
                            path.to_owned()
                        };
                        let doc = spec
                            .doc
                            .as_deref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default();
                        self.key_error(
                            &at,
                            format!(
                                "missing variable `{key}` of stack {}: {}{doc}",
                                quote(stack),
                                spec.kind.describe()
                            ),
                        );
                    }
                },
            }
        }
        vars
    }
}
