//! Checks of one step, in a scenario or in a stack file: its kind, its hosts, its options and
//! every template it holds, each error located at the key or value it is about.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use super::model::{
    Action, FailurePolicy, FileRoot, FileSpec, Readiness, RunSpec, ServiceSpec, Step, Targets,
    TemplateSource, Vars,
};
use crate::check::{Checker, describe, quote};
use crate::resources::{self, Found};
use crate::selector::Names;
use crate::units::Timeout;

/// One entry of `deploy:` or of a stack's `steps:`, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub(crate) name: Option<String>,
    // What the step does: exactly one of these.
    packages: Option<Vec<String>>,
    template: Option<RawTemplate>,
    copy: Option<RawCopy>,
    run: Option<String>,
    service: Option<RawService>,
    wait: Option<RawReady>,
    fetch: Option<RawFetch>,
    pub(crate) stack: Option<String>,
    // Options of `stack`.
    pub(crate) vars: Option<IndexMap<String, Value>>,
    // Options of `run`.
    creates: Option<String>,
    unless: Option<String>,
    chdir: Option<String>,
    env: Option<IndexMap<String, Value>>,
    // Options of every step.
    roles: Option<Vec<String>>,
    sites: Option<Vec<String>>,
    hosts: Option<Vec<String>>,
    when: Option<Value>,
    run_once: Option<bool>,
    throttle: Option<Value>,
    pub(crate) on_failure: Option<Value>,
    timeout: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    src: Option<String>,
    content: Option<String>,
    dest: Option<String>,
    mode: Option<Value>,
    owner: Option<String>,
    group: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCopy {
    src: Option<String>,
    dest: Option<String>,
    mode: Option<Value>,
    owner: Option<String>,
    group: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    name: Option<String>,
    command: Option<String>,
    ready: Option<RawReady>,
    chdir: Option<String>,
    env: Option<IndexMap<String, Value>>,
    user: Option<String>,
    watch: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReady {
    tcp: Option<Value>,
    http: Option<String>,
    status: Option<Value>,
    command: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFetch {
    src: Option<String>,
    dest: Option<String>,
}

/// The keys that say what a step does.
pub(crate) const KINDS: [&str; 8] = [
    "packages", "template", "copy", "run", "service", "wait", "fetch", "stack",
];

/// The options of `run` steps.
const RUN_OPTIONS: [&str; 4] = ["creates", "unless", "chdir", "env"];

/// Whether `text` holds minijinja syntax (and so is only known once rendered).
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// A minijinja environment for syntax checks: the same syntax as the deploy engine's.
fn syntax_env() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env
}

/// Where the steps being checked are written, and what they may use.
pub(crate) struct StepContext<'a> {
    /// The sites, roles and hosts of the scenario.
    pub names: &'a Names,
    /// Where relative file names resolve.
    pub files: &'a FileRoot,
    /// The stack whose steps these are, with its resolved variables; `None` for the scenario's
    /// own steps.
    pub stack: Option<&'a Vars>,
    /// Problems that depend on the values the scenario gave the stack: reported at the
    /// scenario's entry rather than in the stack file.
    pub deferred: Vec<String>,
}

impl Checker<'_> {
    /// One step, of the scenario or of a stack (`ctx` says which). `earlier` holds the names of
    /// the steps before it in the same group, for `watch`.
    pub(crate) fn step(
        &mut self,
        path: &str,
        raw: RawStep,
        ctx: &mut StepContext<'_>,
        earlier: &[String],
    ) -> Option<Step> {
        let given = raw.given();
        let present: Vec<&str> = KINDS
            .iter()
            .copied()
            .filter(|k| given.contains(k))
            .collect();
        match present.as_slice() {
            [] => {
                self.key_error(path, format!("a step needs one of {}", KINDS.join(", ")));
                return None;
            }
            [_] => {}
            [first, second, ..] => {
                self.key_error(
                    &format!("{path}.{second}"),
                    format!(
                        "a step does one thing: `{first}` and `{second}` are both given; write two \
                         steps"
                    ),
                );
                return None;
            }
        }
        let kind = present[0];
        if kind == "stack" {
            // Only reachable from a stack file: scenarios route stacks to `stack_group`.
            self.key_error(
                &format!("{path}.stack"),
                "a stack's steps cannot use other stacks",
            );
            return None;
        }
        if given.contains(&"vars") {
            self.key_error(
                &format!("{path}.vars"),
                "`vars` gives a stack its variables; this step uses no stack",
            );
        }
        if kind != "run" {
            for key in RUN_OPTIONS.iter().filter(|k| given.contains(k)) {
                self.key_error(
                    &format!("{path}.{key}"),
                    format!("`{key}` applies to `run` steps, not to `{kind}`"),
                );
            }
        }
        let targets = self.targets(path, &raw, ctx);
        let when = raw.when.as_ref().and_then(|w| self.when(path, w));
        let throttle = raw
            .throttle
            .as_ref()
            .and_then(|t| self.whole_number(&format!("{path}.throttle"), t, "hosts at a time"));
        let on_failure = self.on_failure(path, raw.on_failure.as_ref());
        let timeout = raw.timeout.as_ref().and_then(|t| {
            self.quantity::<Timeout>(&format!("{path}.timeout"), Some(t), "timeout", "90s")
        });
        let mut raw = raw;
        let payload = raw.take_action()?;
        let action = self.action(path, kind, payload, ctx, earlier)?;
        let name = raw.name.unwrap_or_else(|| default_name(&action));
        Some(Step {
            name,
            at: self.location(path),
            targets,
            when,
            run_once: raw.run_once.unwrap_or(false),
            throttle,
            on_failure: on_failure.unwrap_or_default(),
            timeout,
            action,
        })
    }

    /// `on_failure`: `fail`, `continue` or `{min: N}`.
    pub(crate) fn on_failure(
        &mut self,
        path: &str,
        value: Option<&Value>,
    ) -> Option<FailurePolicy> {
        let path = format!("{path}.on_failure");
        match value? {
            Value::String(s) if s == "fail" => Some(FailurePolicy::Fail),
            Value::String(s) if s == "continue" => Some(FailurePolicy::Continue),
            Value::Object(map) if map.len() == 1 && map.contains_key("min") => {
                let n = map.get("min")?;
                self.whole_number(&format!("{path}.min"), n, "hosts per role")
                    .map(FailurePolicy::Min)
            }
            other => {
                self.value_error(
                    &path,
                    format!(
                        "expected `fail`, `continue` or `{{min: N}}` (N hosts of each role must \
                         succeed), found {}",
                        describe(other)
                    ),
                );
                None
            }
        }
    }

    /// A whole number from 1 (throttles, minimums).
    fn whole_number(&mut self, path: &str, value: &Value, what: &str) -> Option<u32> {
        match value.as_u64() {
            Some(n) if n >= 1 => u32::try_from(n).ok().or_else(|| {
                self.value_error(path, format!("expected at most {} {what}", u32::MAX));
                None
            }),
            _ => {
                self.value_error(
                    path,
                    format!(
                        "expected a whole number of {what} from 1, found {}",
                        describe(value)
                    ),
                );
                None
            }
        }
    }

    /// `when`: a minijinja expression, or `true`/`false`.
    fn when(&mut self, path: &str, value: &Value) -> Option<String> {
        let path = format!("{path}.when");
        let text = match value {
            Value::Bool(b) => return Some(b.to_string()),
            Value::String(text) => text,
            other => {
                self.value_error(
                    &path,
                    format!(
                        "expected an expression such as `host.site == 'paris'`, found {}",
                        describe(other)
                    ),
                );
                return None;
            }
        };
        if is_template(text) {
            self.value_error(
                &path,
                "`when` is an expression already: write `vars.db == 'shared'`, without `{{ }}`",
            );
            return None;
        }
        match syntax_env().compile_expression(text) {
            Ok(_) => Some(text.clone()),
            Err(e) => {
                self.value_error(&path, format!("bad expression: {}", template_error(&e)));
                None
            }
        }
    }

    /// `roles`, `sites` and `hosts`; in a stack, each item is a template rendered with the
    /// stack's variables (an item that renders empty is dropped).
    fn targets(&mut self, path: &str, raw: &RawStep, ctx: &mut StepContext<'_>) -> Targets {
        let mut targets = Targets::default();
        let lists = [
            ("roles", raw.roles.as_deref()),
            ("sites", raw.sites.as_deref()),
            ("hosts", raw.hosts.as_deref()),
        ];
        for (key, items) in lists {
            for (i, item) in items.unwrap_or_default().iter().enumerate() {
                let item_path = format!("{path}.{key}[{i}]");
                let text = match ctx.stack {
                    Some(vars) if is_template(item) => {
                        match syntax_env().render_str(item, minijinja::context! { vars => vars }) {
                            Ok(text) => text.trim().to_owned(),
                            Err(e) => {
                                self.value_error(&item_path, template_error(&e));
                                continue;
                            }
                        }
                    }
                    _ => item.clone(),
                };
                if text.is_empty() && ctx.stack.is_some() {
                    continue;
                }
                let problem = match key {
                    "roles" if !ctx.names.roles.contains(&text) => Some(format!(
                        "{} is not a role of the scenario (roles: {})",
                        quote(&text),
                        ctx.names.roles.join(", ")
                    )),
                    "sites" if !ctx.names.sites.contains(&text) => Some(format!(
                        "{} is not a site of the scenario (sites: {})",
                        quote(&text),
                        ctx.names.sites.join(", ")
                    )),
                    "hosts" => match ctx.names.selector(&text) {
                        Ok(selector) => {
                            targets.hosts.push(selector);
                            None
                        }
                        Err(why) => Some(why),
                    },
                    "roles" => {
                        targets.roles.push(text);
                        None
                    }
                    _ => {
                        targets.sites.push(text);
                        None
                    }
                };
                if let Some(problem) = problem {
                    if ctx.stack.is_some() && is_template(item) {
                        let at = self.location(&item_path);
                        ctx.deferred.push(format!(
                            "{} (at {}:{}:{}) gives {problem}",
                            item, at.file, at.line, at.column
                        ));
                    } else {
                        self.value_error(&item_path, problem);
                    }
                }
            }
        }
        targets
    }

    /// Checks that `text` (at `path`) is a well-formed template; returns it.
    fn template_text(&mut self, path: &str, text: &str) -> String {
        if let Err(e) = syntax_env().template_from_str(text) {
            self.value_error(path, format!("bad template: {}", template_error(&e)));
        }
        text.to_owned()
    }

    /// A required text value of a mapping (`template.dest`): present, not empty.
    fn required_text(
        &mut self,
        path: &str,
        parent: &str,
        value: Option<String>,
        what: &str,
        example: &str,
    ) -> Option<String> {
        match value {
            Some(text) if !text.trim().is_empty() => Some(self.template_text(path, &text)),
            Some(_) => {
                self.value_error(
                    path,
                    format!("expected {what} (e.g. `{example}`), found nothing"),
                );
                None
            }
            None => {
                self.missing(path, parent, what, example);
                None
            }
        }
    }

    /// A path on the host: absolute (once rendered).
    fn remote_path(&mut self, path: &str, parent: &str, value: Option<String>) -> Option<String> {
        let text = self.required_text(
            path,
            parent,
            value,
            "a path on the host",
            "dest: /etc/app.conf",
        )?;
        if !is_template(&text) && !text.starts_with('/') {
            self.value_error(
                path,
                format!("{} must be an absolute path on the host", quote(&text)),
            );
            return None;
        }
        Some(text)
    }

    /// A file mode: a string of octal digits such as `"0644"`.
    fn mode(&mut self, path: &str, value: Option<Value>) -> Option<String> {
        let value = value?;
        match &value {
            Value::String(text)
                if (3..=4).contains(&text.len())
                    && text.chars().all(|c| ('0'..='7').contains(&c)) =>
            {
                Some(format!("{:0>4}", text))
            }
            Value::Number(_) => {
                self.value_error(
                    path,
                    "write the mode as a string, e.g. \"0644\": YAML reads an unquoted 0644 as a \
                     number, not as permission bits",
                );
                None
            }
            other => {
                self.value_error(
                    path,
                    format!(
                        "expected permission bits in octal such as \"0644\", found {}",
                        describe(other)
                    ),
                );
                None
            }
        }
    }

    fn file_spec(
        &mut self,
        path: &str,
        dest: Option<String>,
        mode: Option<Value>,
        owner: Option<String>,
        group: Option<String>,
    ) -> Option<FileSpec> {
        let dest = self.remote_path(&format!("{path}.dest"), path, dest);
        let mode = self.mode(&format!("{path}.mode"), mode);
        let owner = owner.map(|o| self.template_text(&format!("{path}.owner"), &o));
        let group = group.map(|g| self.template_text(&format!("{path}.group"), &g));
        let mut names_ok = true;
        if let Some(owner) = owner.as_deref().filter(|o| !is_template(o))
            && let Err(why) = check_owner(owner, group.is_some())
        {
            self.value_error(&format!("{path}.owner"), why);
            names_ok = false;
        }
        if let Some(group) = group.as_deref().filter(|g| !is_template(g))
            && let Err(why) = check_account(group, "group")
        {
            self.value_error(&format!("{path}.group"), why);
            names_ok = false;
        }
        if !names_ok {
            return None;
        }
        Some(FileSpec {
            dest: dest?,
            mode,
            owner,
            group,
        })
    }

    /// A file named by a step (`template.src`, `copy.src`): it must exist (when it is not a
    /// template itself), and a template file must be a well-formed template.
    fn local_file(
        &mut self,
        path: &str,
        text: &str,
        files: &FileRoot,
        template: bool,
    ) -> Option<()> {
        if is_template(text) {
            return Some(());
        }
        let found = match resources::find(files, text) {
            Ok(found) => found,
            Err(why) => {
                let relative_to = match files {
                    FileRoot::Dir(_) => format!("the directory of {}", self.file),
                    FileRoot::Builtin(dir) => format!("the built-in {dir}"),
                };
                self.value_error(path, format!("{why} (files are relative to {relative_to})"));
                return None;
            }
        };
        if !template {
            return Some(());
        }
        if matches!(found, Found::Dir(_)) {
            self.value_error(
                path,
                format!("{} is a directory, not a template", quote(text)),
            );
            return None;
        }
        let source = match resources::read_text(files, text) {
            Ok(source) => source,
            Err(why) => {
                self.value_error(path, why);
                return None;
            }
        };
        let mut env = syntax_env();
        if let Err(e) = env.add_template_owned(text.to_owned(), source.into_owned()) {
            self.value_error(path, format!("bad template: {}", template_error(&e)));
            return None;
        }
        Some(())
    }

    fn env_vars(
        &mut self,
        path: &str,
        raw: Option<IndexMap<String, Value>>,
    ) -> IndexMap<String, String> {
        let mut env = IndexMap::new();
        for (key, value) in raw.unwrap_or_default() {
            let key_path = format!("{path}.{key}");
            let valid = !key.is_empty()
                && !key.starts_with(|c: char| c.is_ascii_digit())
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                self.key_error(
                    &key_path,
                    format!("bad environment variable name {}", quote(&key)),
                );
                continue;
            }
            let text = match value {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    self.value_error(
                        &key_path,
                        format!(
                            "expected a string, number or boolean, found {}",
                            describe(&other)
                        ),
                    );
                    continue;
                }
            };
            env.insert(key, self.template_text(&key_path, &text));
        }
        env
    }

    fn readiness(&mut self, path: &str, raw: RawReady) -> Option<Readiness> {
        let given: Vec<&str> = [
            ("tcp", raw.tcp.is_some()),
            ("http", raw.http.is_some()),
            ("command", raw.command.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, p)| p.then_some(k))
        .collect();
        if given.len() != 1 {
            let at = match given.get(1) {
                Some(second) => format!("{path}.{second}"),
                None => path.to_owned(),
            };
            self.key_error(
                &at,
                "a readiness check is one of `tcp: PORT`, `http: URL` (with `status`, default \
                 200) or `command: CHECK`",
            );
            return None;
        }
        if raw.status.is_some() && raw.http.is_none() {
            self.key_error(&format!("{path}.status"), "`status` goes with `http`");
        }
        if let Some(tcp) = raw.tcp {
            let tcp_path = format!("{path}.tcp");
            return match tcp {
                Value::Number(n) if n.as_u64().is_some_and(|p| (1..=65535).contains(&p)) => {
                    Some(Readiness::Tcp(n.to_string()))
                }
                Value::String(text) => {
                    let text = self.template_text(&tcp_path, &text);
                    if !is_template(&text)
                        && let Err(why) = tcp_target(&text)
                    {
                        self.value_error(&tcp_path, why);
                        return None;
                    }
                    Some(Readiness::Tcp(text))
                }
                other => {
                    self.value_error(
                        &tcp_path,
                        format!(
                            "expected a port (1 to 65535) or `address:port`, found {}",
                            describe(&other)
                        ),
                    );
                    None
                }
            };
        }
        if let Some(url) = raw.http {
            let url = self.template_text(&format!("{path}.http"), &url);
            let status = match raw.status {
                None => 200,
                Some(Value::Number(n)) if n.as_u64().is_some_and(|s| (100..=599).contains(&s)) => {
                    u16::try_from(n.as_u64().unwrap_or(200)).unwrap_or(200)
                }
                Some(other) => {
                    self.value_error(
                        &format!("{path}.status"),
                        format!(
                            "expected an HTTP status from 100 to 599, found {}",
                            describe(&other)
                        ),
                    );
                    200
                }
            };
            return Some(Readiness::Http { url, status });
        }
        raw.command
            .map(|c| Readiness::Command(self.template_text(&format!("{path}.command"), &c)))
    }

    fn action(
        &mut self,
        path: &str,
        kind: &str,
        raw: RawAction,
        ctx: &StepContext<'_>,
        earlier: &[String],
    ) -> Option<Action> {
        let here = format!("{path}.{kind}");
        match raw {
            RawAction::Packages(names) => {
                if names.is_empty() {
                    self.value_error(&here, "expected at least one package name");
                    return None;
                }
                let names = names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| self.template_text(&format!("{here}[{i}]"), n))
                    .collect();
                Some(Action::Packages { names })
            }
            RawAction::Template(t) => {
                let source = match (t.src, t.content) {
                    (Some(src), None) => {
                        let src_path = format!("{here}.src");
                        self.required_text(
                            &src_path,
                            &here,
                            Some(src),
                            "a template file",
                            "src: app.conf.j2",
                        )
                        .and_then(|src| {
                            self.local_file(&src_path, &src, ctx.files, true)
                                .map(|()| src)
                        })
                        .map(TemplateSource::File)
                    }
                    (None, Some(content)) => Some(TemplateSource::Inline(
                        self.template_text(&format!("{here}.content"), &content),
                    )),
                    (Some(_), Some(_)) => {
                        self.key_error(
                            &format!("{here}.content"),
                            "give `src` (a file) or `content` (the text), not both",
                        );
                        None
                    }
                    (None, None) => {
                        self.missing(
                            &format!("{here}.src"),
                            &here,
                            "a template file, or `content`",
                            "src: app.conf.j2",
                        );
                        None
                    }
                };
                let file = self.file_spec(&here, t.dest, t.mode, t.owner, t.group);
                Some(Action::Template {
                    source: source?,
                    file: file?,
                })
            }
            RawAction::Copy(c) => {
                let src_path = format!("{here}.src");
                let src = self.required_text(
                    &src_path,
                    &here,
                    c.src,
                    "a file or directory to copy",
                    "src: files/app.conf",
                );
                let src = src.and_then(|src| {
                    self.local_file(&src_path, &src, ctx.files, false)
                        .map(|()| src)
                });
                let file = self.file_spec(&here, c.dest, c.mode, c.owner, c.group);
                Some(Action::Copy {
                    src: src?,
                    file: file?,
                })
            }
            RawAction::Run(r) => {
                if r.command.trim().is_empty() {
                    self.value_error(&here, "expected a command line, found nothing");
                    return None;
                }
                Some(Action::Run(RunSpec {
                    command: self.template_text(&here, &r.command),
                    creates: r
                        .creates
                        .map(|c| self.template_text(&format!("{path}.creates"), &c)),
                    unless: r
                        .unless
                        .map(|u| self.template_text(&format!("{path}.unless"), &u)),
                    chdir: r
                        .chdir
                        .map(|d| self.template_text(&format!("{path}.chdir"), &d)),
                    env: self.env_vars(&format!("{path}.env"), r.env),
                }))
            }
            RawAction::Service(s) => {
                let name = match s.name {
                    Some(name)
                        if !name.is_empty()
                            && name.len() <= 64
                            && name.chars().all(|c| {
                                c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c)
                            })
                            && !name.starts_with('.') =>
                    {
                        Some(name)
                    }
                    Some(name) => {
                        self.value_error(
                            &format!("{here}.name"),
                            format!(
                                "bad service name {}: lowercase letters, digits, `_`, `.` and `-`, \
                                 at most 64 (its pid and log files are named after it)",
                                quote(&name)
                            ),
                        );
                        None
                    }
                    None => {
                        self.missing(
                            &format!("{here}.name"),
                            &here,
                            "the service's name",
                            "name: web",
                        );
                        None
                    }
                };
                let command = self.required_text(
                    &format!("{here}.command"),
                    &here,
                    s.command,
                    "the command that runs it in the foreground",
                    "command: nginx -g 'daemon off;'",
                );
                let ready = s
                    .ready
                    .and_then(|r| self.readiness(&format!("{here}.ready"), r));
                let watch = s.watch.unwrap_or_default();
                for (i, name) in watch.iter().enumerate() {
                    if !earlier.contains(name) {
                        let scope = if ctx.stack.is_some() {
                            "of this stack"
                        } else {
                            "of the scenario"
                        };
                        let known = if earlier.is_empty() {
                            "there is none".to_owned()
                        } else {
                            format!("they are: {}", earlier.join(", "))
                        };
                        self.value_error(
                            &format!("{here}.watch[{i}]"),
                            format!(
                                "{} names no step {scope} before this one ({known})",
                                quote(name)
                            ),
                        );
                    }
                }
                Some(Action::Service(ServiceSpec {
                    name: name?,
                    command: command?,
                    ready,
                    chdir: s
                        .chdir
                        .map(|d| self.template_text(&format!("{here}.chdir"), &d)),
                    env: self.env_vars(&format!("{here}.env"), s.env),
                    user: s.user.map(|u| {
                        let user_path = format!("{here}.user");
                        let u = self.template_text(&user_path, &u);
                        if !is_template(&u)
                            && let Err(why) = check_account(&u, "user")
                        {
                            self.value_error(&user_path, why);
                        }
                        u
                    }),
                    watch,
                }))
            }
            RawAction::Wait(r) => self.readiness(&here, r).map(|ready| Action::Wait { ready }),
            RawAction::Fetch(f) => {
                let src = self.remote_path(&format!("{here}.src"), &here, f.src);
                let dest = f.dest.map(|d| {
                    let dest_path = format!("{here}.dest");
                    let d = self.template_text(&dest_path, &d);
                    if !is_template(&d)
                        && let Err(why) = check_results_path(&d)
                    {
                        self.value_error(&dest_path, why);
                    }
                    d
                });
                Some(Action::Fetch { src: src?, dest })
            }
        }
    }
}

/// The payload of a step's kind, taken out of the raw step.
enum RawAction {
    Packages(Vec<String>),
    Template(RawTemplate),
    Copy(RawCopy),
    Run(RawRun),
    Service(RawService),
    Wait(RawReady),
    Fetch(RawFetch),
}

/// A `run` step's command and options.
struct RawRun {
    command: String,
    creates: Option<String>,
    unless: Option<String>,
    chdir: Option<String>,
    env: Option<IndexMap<String, Value>>,
}

impl RawStep {
    /// The keys written in the step.
    pub(crate) fn given(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("packages", self.packages.is_some()),
            ("template", self.template.is_some()),
            ("copy", self.copy.is_some()),
            ("run", self.run.is_some()),
            ("service", self.service.is_some()),
            ("wait", self.wait.is_some()),
            ("fetch", self.fetch.is_some()),
            ("stack", self.stack.is_some()),
            ("vars", self.vars.is_some()),
            ("creates", self.creates.is_some()),
            ("unless", self.unless.is_some()),
            ("chdir", self.chdir.is_some()),
            ("env", self.env.is_some()),
            ("roles", self.roles.is_some()),
            ("sites", self.sites.is_some()),
            ("hosts", self.hosts.is_some()),
            ("when", self.when.is_some()),
            ("run_once", self.run_once.is_some()),
            ("throttle", self.throttle.is_some()),
            ("on_failure", self.on_failure.is_some()),
            ("timeout", self.timeout.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, given)| given.then_some(key))
        .collect()
    }

    /// Takes out the payload of the step's kind (`None` for `stack` or no kind).
    fn take_action(&mut self) -> Option<RawAction> {
        if let Some(p) = self.packages.take() {
            return Some(RawAction::Packages(p));
        }
        if let Some(t) = self.template.take() {
            return Some(RawAction::Template(t));
        }
        if let Some(c) = self.copy.take() {
            return Some(RawAction::Copy(c));
        }
        if let Some(command) = self.run.take() {
            return Some(RawAction::Run(RawRun {
                command,
                creates: self.creates.take(),
                unless: self.unless.take(),
                chdir: self.chdir.take(),
                env: self.env.take(),
            }));
        }
        if let Some(v) = self.service.take() {
            return Some(RawAction::Service(v));
        }
        if let Some(w) = self.wait.take() {
            return Some(RawAction::Wait(w));
        }
        self.fetch.take().map(RawAction::Fetch)
    }
}

/// A path inside the results directory: relative, without `..`.
pub fn check_results_path(text: &str) -> Result<(), String> {
    let path = PathBuf::from(text);
    let inside = !text.is_empty()
        && path.is_relative()
        && path.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
    if inside {
        Ok(())
    } else {
        Err(format!(
            "{} must be a path inside the results directory (relative, without `..`)",
            quote(text)
        ))
    }
}

/// The longest user or group name taken: what `useradd` and most systems allow.
const ACCOUNT_NAME_MAX: usize = 32;

/// A user or group name (`what` says which) as portable systems take it: `[a-z_][a-z0-9_-]*`,
/// optionally ending with `$`, at most 32 characters; or a numeric id.
pub fn check_account(text: &str, what: &str) -> Result<(), String> {
    let numeric = !text.is_empty() && text.len() <= 10 && text.bytes().all(|b| b.is_ascii_digit());
    let body = text.strip_suffix('$').unwrap_or(text);
    let named = !body.is_empty()
        && text.len() <= ACCOUNT_NAME_MAX
        && body.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && body
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if numeric || named {
        Ok(())
    } else {
        Err(format!(
            "{} is not a {what} name: lowercase letters, digits, `_` and `-`, starting with a \
             letter or `_`, at most {ACCOUNT_NAME_MAX} characters (or a numeric id)",
            quote(text)
        ))
    }
}

/// A file's owner: `user` or `user:group` (`group_given`: the step also has a `group`, so the
/// owner names none).
pub fn check_owner(text: &str, group_given: bool) -> Result<(), String> {
    match text.split_once(':') {
        Some((_, _)) if group_given => Err(format!(
            "{} names a group, and `group` names one too: give it once",
            quote(text)
        )),
        Some((user, group)) => {
            check_account(user, "user")?;
            check_account(group, "group")
        }
        None => check_account(text, "user"),
    }
}

/// The target of a `tcp` readiness check: `PORT` (the host's own address) or `ADDRESS:PORT`,
/// where the address is a host name or an IP literal (IPv6 in brackets: `[::1]:80`) and the
/// port is from 1 to 65535.
pub fn tcp_target(text: &str) -> Result<(Option<String>, u16), String> {
    let expected = || {
        format!(
            "{} is not a port (1 to 65535) or `address:port` (a host name or an IP address)",
            quote(text)
        )
    };
    let (address, port) = match text.rsplit_once(':') {
        None => (None, text),
        Some((address, port)) => {
            let address = match address.strip_prefix('[').and_then(|a| a.strip_suffix(']')) {
                Some(v6) => v6
                    .parse::<std::net::Ipv6Addr>()
                    .map(|_| v6)
                    .map_err(|_| expected())?,
                None if address.parse::<std::net::Ipv4Addr>().is_ok() || is_host_name(address) => {
                    address
                }
                None => return Err(expected()),
            };
            (Some(address.to_owned()), port)
        }
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(expected());
    }
    match port.parse::<u16>() {
        Ok(port) if port >= 1 => Ok((address, port)),
        _ => Err(expected()),
    }
}

/// A host name: dot-separated labels of letters, digits and `-` (not at either end of a
/// label), at most 253 characters.
fn is_host_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// A step's name when none is given: what it does, in a few words.
fn default_name(action: &Action) -> String {
    let short = |text: &str| {
        let line = text.lines().next().unwrap_or("").trim();
        if line.chars().count() > 48 || text.trim().contains('\n') {
            format!("{}…", line.chars().take(48).collect::<String>())
        } else {
            line.to_owned()
        }
    };
    match action {
        Action::Packages { names } => format!("packages: {}", short(&names.join(", "))),
        Action::Template { file, .. } => format!("template: {}", short(&file.dest)),
        Action::Copy { file, .. } => format!("copy: {}", short(&file.dest)),
        Action::Run(run) => format!("run: {}", short(&run.command)),
        Action::Service(s) => format!("service: {}", s.name),
        Action::Wait { ready } => format!("wait: {}", short(&ready.to_string())),
        Action::Fetch { src, .. } => format!("fetch: {}", short(src)),
    }
}

/// A minijinja error in one line: what went wrong, and where in the template (`(line 2)`).
pub fn template_error(e: &minijinja::Error) -> String {
    use std::fmt::Write as _;
    let mut text = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(line) = e.line() {
        let _ = write!(text, " (line {line})");
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        let _ = write!(text, ": {inner}");
        source = inner.source();
    }
    text
}

/// Checks the steps of a stack file, with its own source map.
pub(crate) fn check_stack_steps(
    checker: &mut Checker<'_>,
    steps: Vec<RawStep>,
    ctx: &mut StepContext<'_>,
    policy: Option<FailurePolicy>,
) -> Vec<Step> {
    let mut checked: Vec<Step> = Vec::new();
    for (i, raw) in steps.into_iter().enumerate() {
        let earlier: Vec<String> = checked.iter().map(|s| s.name.clone()).collect();
        let explicit_policy = raw.on_failure.is_some();
        if let Some(mut step) = checker.step(&format!("steps[{i}]"), raw, ctx, &earlier) {
            if let (Some(policy), false) = (policy, explicit_policy) {
                step.on_failure = policy;
            }
            checked.push(step);
        }
    }
    checked
}
