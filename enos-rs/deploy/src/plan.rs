//! Planning: every step rendered for every host before anything runs, so that a template error
//! (an undefined variable, a missing file) stops the deploy before it changes anything.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use enos_scenario::deploy::{
    Action, DeploySpec, FailurePolicy, FileRoot, FileSpec, Readiness, StepGroup, TemplateSource,
    check_account, check_owner, check_results_path, tcp_target, template_error,
};
use enos_scenario::resources::{self, Found};
use indexmap::IndexMap;
use minijinja::{Environment, Value};
use sha2::{Digest, Sha256};

use crate::context::{HostView, TestbedView, environment};
use crate::secrets::SecretStore;

/// Every step of a deploy, rendered for each of its hosts.
#[derive(Debug, Clone)]
pub struct DeployPlan {
    /// The steps, in the order they run.
    pub steps: Vec<PlannedStep>,
}

impl DeployPlan {
    /// The services the plan starts or keeps: host → service names, in step order.
    pub fn services(&self) -> BTreeMap<String, Vec<String>> {
        let mut services: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for task in self.steps.iter().flat_map(|s| &s.tasks) {
            if let Work::Do(HostAction::Service { name, .. }) = &task.work {
                let names = services.entry(task.host.clone()).or_default();
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        services
    }
}

/// One step, ready to run.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    /// Its number, from 1.
    pub number: usize,
    /// Its name.
    pub name: String,
    /// Where it comes from, for messages: the scenario entry and, for a stack, the stack file.
    pub origin: String,
    /// Its kind (`packages`, `template`, …).
    pub kind: &'static str,
    /// What a failure does.
    pub on_failure: FailurePolicy,
    /// At most this many hosts at a time.
    pub throttle: Option<u32>,
    /// How long one host may take.
    pub timeout: Duration,
    /// For a service: the indices (in [`DeployPlan::steps`]) of the steps it watches.
    pub watch: Vec<usize>,
    /// The step's hosts, in testbed order, with what each does.
    pub tasks: Vec<HostTask>,
}

/// What one host does in a step.
#[derive(Debug, Clone)]
pub struct HostTask {
    /// The host.
    pub host: String,
    /// Its role.
    pub role: String,
    /// What it does, or why it does nothing.
    pub work: Work,
    /// How its script becomes root, when the login is not root.
    pub become_root: Option<enos_core::Become>,
}

/// A host's part in a step.
#[derive(Debug, Clone)]
pub enum Work {
    /// The host sits this step out: `when` is false, or `run_once` picked another host.
    Skip(String),
    /// What the host does.
    Do(HostAction),
}

/// A step's action rendered for one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostAction {
    /// Install these packages.
    Packages(Vec<String>),
    /// Write a file with this content (a rendered template, or a copied file).
    Put {
        /// The path on the host.
        dest: String,
        /// The content: a copied file's is one buffer shared by every host that gets it.
        content: Content,
        /// Permission bits in octal.
        mode: String,
        /// The owner, when not root.
        owner: Option<String>,
        /// The group, when not the owner's.
        group: Option<String>,
    },
    /// Unpack a directory into `dest`.
    PutDir {
        /// The directory on the host.
        dest: String,
        /// A tar archive of the directory's content, one buffer shared by every host that
        /// gets it.
        archive: Bytes,
        /// `sha256  ./path` lines of every file, to tell whether the host has them already
        /// (shared like the archive).
        manifest: Arc<str>,
        /// The owner, when not root.
        owner: Option<String>,
        /// The group.
        group: Option<String>,
    },
    /// Run a command.
    Run {
        /// The command line.
        command: String,
        /// Skip when this path exists.
        creates: Option<String>,
        /// Skip when this command succeeds.
        unless: Option<String>,
        /// Where to run.
        chdir: Option<String>,
        /// Environment variables.
        env: IndexMap<String, String>,
    },
    /// Start (or keep) a service and wait until it is ready.
    Service {
        /// Its name.
        name: String,
        /// Its command line.
        command: String,
        /// Where to run.
        chdir: Option<String>,
        /// Environment variables.
        env: IndexMap<String, String>,
        /// The user to run as.
        user: Option<String>,
        /// The readiness check.
        ready: Option<Check>,
        /// A hash of everything that defines the running process: a change restarts it.
        definition: String,
    },
    /// Wait until a check succeeds.
    Wait(Check),
    /// Copy a file of the host into the results directory.
    Fetch {
        /// The file on the host.
        src: String,
        /// Where it goes, relative to the results directory.
        dest: PathBuf,
    },
}

/// What a file is written with: its bytes and their SHA-256, computed once. Clones share the
/// bytes (`Bytes` counts references): a file copied to many hosts is read once and held once,
/// from the plan down to every host's SSH channel.
#[derive(Clone, PartialEq, Eq)]
pub struct Content {
    bytes: Bytes,
    sha256: String,
}

impl Content {
    /// The content `bytes` (a `Vec<u8>`, a `String`, a static text… are taken without a copy).
    pub fn new(bytes: impl Into<Bytes>) -> Content {
        let bytes = bytes.into();
        let sha256 = hex(&Sha256::digest(&bytes));
        Content { bytes, sha256 }
    }

    /// The bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Their SHA-256, in lowercase hexadecimal.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

impl std::ops::Deref for Content {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 64;
        let head = self.bytes.slice(..self.bytes.len().min(SHOWN));
        f.debug_struct("Content")
            .field("len", &self.bytes.len())
            .field("sha256", &self.sha256)
            .field("head", &head)
            .finish()
    }
}

/// A readiness check, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// A TCP connection to this address and port succeeds.
    Tcp {
        /// The address.
        address: String,
        /// The port.
        port: u16,
    },
    /// An HTTP GET of `url` answers `status`.
    Http {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// This command exits with 0.
    Command(String),
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Check::Tcp { address, port } => write!(f, "tcp {address}:{port}"),
            Check::Http { url, status } => write!(f, "http {url} answers {status}"),
            Check::Command(c) => write!(f, "`{c}` succeeds"),
        }
    }
}

/// Why a plan could not be made: a step that does not render for a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: step '{step}'{on}: {message}", on = host.as_ref().map(|h| format!(" on {h}")).unwrap_or_default())]
pub struct PlanError {
    /// The step's name.
    pub step: String,
    /// Where the step is written.
    pub origin: String,
    /// The host it failed for, if it is about one.
    pub host: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// The default time limit of a step of each kind, per host.
fn default_timeout(kind: &str) -> Duration {
    match kind {
        "packages" | "run" => Duration::from_secs(30 * 60),
        "service" => Duration::from_secs(120),
        _ => Duration::from_secs(5 * 60),
    }
}

/// Renders `deploy` for the hosts of `testbed`; secrets come from `secrets`.
pub fn plan(
    deploy: &DeploySpec,
    testbed: &TestbedView,
    secrets: Arc<SecretStore>,
) -> Result<DeployPlan, PlanError> {
    let mut env = environment(testbed, secrets);
    let shared = testbed.shared();
    let mut sources = Sources::default();
    let mut steps: Vec<PlannedStep> = Vec::new();
    // Whether each planned step comes from a stack (or from the scenario itself).
    let mut from_stack: Vec<bool> = Vec::new();
    for group in &deploy.groups {
        let first_of_group = steps.len();
        for step in &group.steps {
            let origin = match &group.stack {
                Some(stack) => format!("{} (stack {}, at {})", group.at, stack.name, step.at),
                None => group.at.to_string(),
            };
            let fail = |host: Option<&str>, message: String| PlanError {
                step: step.name.clone(),
                origin: origin.clone(),
                host: host.map(str::to_owned),
                message,
            };
            // Template files are compiled once per step, under the name they are written with.
            if let Action::Template {
                source: TemplateSource::File(src),
                ..
            } = &step.action
                && !enos_scenario::deploy::is_template(src)
            {
                load_template(&mut env, &group.files, src).map_err(|m| fail(None, m))?;
            }
            // A service watches the steps before it in its stack, or, for a step of the
            // scenario, the scenario's steps before it; the latest of a name counts.
            let watch = match &step.action {
                Action::Service(service) => service
                    .watch
                    .iter()
                    .filter_map(|name| {
                        (0..steps.len()).rev().find(|&i| {
                            let same_scope = if group.stack.is_some() {
                                i >= first_of_group
                            } else {
                                !from_stack[i]
                            };
                            same_scope && steps[i].name == *name
                        })
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let mut tasks = Vec::new();
            let mut chosen: Option<String> = None;
            for host in &testbed.hosts {
                if !step.targets.selects(&host.name, &host.site, &host.role) {
                    continue;
                }
                let ctx = context(&shared, host, group);
                let work = if let Some(when) = &step.when
                    && !env
                        .compile_expression(when)
                        .and_then(|e| e.eval(&ctx))
                        .map_err(|e| {
                            fail(Some(&host.name), format!("when: {}", template_error(&e)))
                        })?
                        .is_true()
                {
                    Work::Skip(format!("when: {}", shortened(when)))
                } else if let (true, Some(first)) = (step.run_once, &chosen) {
                    Work::Skip(format!("run_once: runs on {first}"))
                } else {
                    chosen.get_or_insert_with(|| host.name.clone());
                    let rendered = Renderer {
                        env: &env,
                        ctx: &ctx,
                        files: &group.files,
                        host,
                        testbed,
                        sources: &mut sources,
                    }
                    .action(&step.action)
                    .map_err(|m| fail(Some(&host.name), m))?;
                    Work::Do(rendered)
                };
                tasks.push(HostTask {
                    host: host.name.clone(),
                    role: host.role.clone(),
                    work,
                    become_root: host.become_root,
                });
            }
            from_stack.push(group.stack.is_some());
            steps.push(PlannedStep {
                number: steps.len() + 1,
                name: step.name.clone(),
                origin,
                kind: step.action.kind(),
                on_failure: step.on_failure,
                throttle: step.throttle,
                timeout: step
                    .timeout
                    .map(|t| t.0)
                    .unwrap_or_else(|| default_timeout(step.action.kind())),
                watch,
                tasks,
            });
        }
    }
    Ok(DeployPlan { steps })
}

/// An expression as shown in a reason to skip: its first 60 characters, on one line.
fn shortened(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 60 {
        format!("{}…", line.chars().take(60).collect::<String>())
    } else {
        line
    }
}

/// Adds the template file `src` of `files` to `env` under its own name.
fn load_template(
    env: &mut Environment<'static>,
    files: &FileRoot,
    src: &str,
) -> Result<(), String> {
    let name = template_name(files, src);
    if env.get_template(&name).is_ok() {
        return Ok(());
    }
    let text = resources::read_text(files, src)?;
    env.add_template_owned(name, text.into_owned())
        .map_err(|e| format!("template {src}: {}", template_error(&e)))
}

/// The name a template file is known by in the environment (and in messages).
fn template_name(files: &FileRoot, src: &str) -> String {
    match files {
        FileRoot::Builtin(dir) => format!("{dir}/{src}"),
        FileRoot::Dir(dir) => dir.join(src).display().to_string(),
    }
}

/// The context of one host: the shared part, `host` and the group's `vars`.
fn context(shared: &BTreeMap<&'static str, Value>, host: &HostView, group: &StepGroup) -> Value {
    let mut ctx = shared.clone();
    ctx.insert("host", Value::from_serialize(host));
    ctx.insert("vars", Value::from_serialize(&group.vars));
    Value::from_iter(ctx)
}

/// Renders the fields of one step for one host.
struct Renderer<'a> {
    env: &'a Environment<'static>,
    ctx: &'a Value,
    files: &'a FileRoot,
    host: &'a HostView,
    testbed: &'a TestbedView,
    sources: &'a mut Sources,
}

impl Renderer<'_> {
    fn text(&self, what: &str, text: &str) -> Result<String, String> {
        if !enos_scenario::deploy::is_template(text) {
            return Ok(text.to_owned());
        }
        self.env
            .render_str(text, self.ctx)
            .map_err(|e| format!("{what}: {}", template_error(&e)))
    }

    fn option(&self, what: &str, text: Option<&String>) -> Result<Option<String>, String> {
        text.map(|t| self.text(what, t)).transpose()
    }

    fn env_vars(&self, env: &IndexMap<String, String>) -> Result<IndexMap<String, String>, String> {
        env.iter()
            .map(|(k, v)| Ok((k.clone(), self.text(&format!("env.{k}"), v)?)))
            .collect()
    }

    fn check(&self, ready: &Readiness) -> Result<Check, String> {
        Ok(match ready {
            Readiness::Tcp(text) => {
                let text = self.text("ready.tcp", text)?;
                let (address, port) =
                    tcp_target(text.trim()).map_err(|e| format!("ready.tcp: {e}"))?;
                Check::Tcp {
                    address: address.unwrap_or_else(|| self.host.address.to_string()),
                    port,
                }
            }
            Readiness::Http { url, status } => Check::Http {
                url: self.text("ready.http", url)?,
                status: *status,
            },
            Readiness::Command(command) => Check::Command(self.text("ready.command", command)?),
        })
    }

    /// A file's destination, owner and group (`owner: user:group` gives both), checked.
    fn file(&self, file: &FileSpec) -> Result<(String, Option<String>, Option<String>), String> {
        let dest = self.text("dest", &file.dest)?;
        if !dest.starts_with('/') {
            return Err(format!("dest: '{dest}' is not an absolute path"));
        }
        let owner = self.option("owner", file.owner.as_ref())?;
        let group = self.option("group", file.group.as_ref())?;
        if let Some(owner) = &owner {
            check_owner(owner, group.is_some()).map_err(|e| format!("owner: {e}"))?;
        }
        if let Some(group) = &group {
            check_account(group, "group").map_err(|e| format!("group: {e}"))?;
        }
        Ok(match owner.as_deref().and_then(|o| o.split_once(':')) {
            Some((user, group)) => (dest, Some(user.to_owned()), Some(group.to_owned())),
            None => (dest, owner, group),
        })
    }

    fn action(&mut self, action: &Action) -> Result<HostAction, String> {
        Ok(match action {
            Action::Packages { names } => HostAction::Packages(
                names
                    .iter()
                    .map(|n| self.text("packages", n))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .flat_map(|n| n.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
                    .collect(),
            ),
            Action::Template { source, file } => {
                let content = match source {
                    TemplateSource::Inline(text) => self.text("content", text)?,
                    TemplateSource::File(src) => {
                        let src = self.text("src", src)?;
                        let name = template_name(self.files, &src);
                        let template = self
                            .env
                            .get_template(&name)
                            .map_err(|e| format!("template {src}: {}", template_error(&e)))?;
                        template
                            .render(self.ctx)
                            .map_err(|e| format!("template {src}: {}", template_error(&e)))?
                    }
                };
                let (dest, owner, group) = self.file(file)?;
                HostAction::Put {
                    dest,
                    content: Content::new(content),
                    mode: file.mode.clone().unwrap_or_else(|| "0644".to_owned()),
                    owner,
                    group,
                }
            }
            Action::Copy { src, file } => {
                let src = self.text("src", src)?;
                let (dest, owner, group) = self.file(file)?;
                if self.testbed.example
                    && Path::new(&src).starts_with(&self.testbed.results_dir)
                    && !Path::new(&src).exists()
                {
                    // The made-up testbed's results directory exists only once there is a
                    // testbed: show the copy rather than read it.
                    return Ok(HostAction::Put {
                        dest,
                        content: Content::new(format!("(the content of {src})\n")),
                        mode: file.mode.clone().unwrap_or_else(|| "0644".to_owned()),
                        owner,
                        group,
                    });
                }
                let to = Destination {
                    dest,
                    mode: file.mode.clone(),
                    owner,
                    group,
                };
                copy(self.sources, self.files, &src, to)?
            }
            Action::Run(run) => HostAction::Run {
                command: self.text("run", &run.command)?,
                creates: self.option("creates", run.creates.as_ref())?,
                unless: self.option("unless", run.unless.as_ref())?,
                chdir: self.option("chdir", run.chdir.as_ref())?,
                env: self.env_vars(&run.env)?,
            },
            Action::Service(service) => {
                let command = self.text("command", &service.command)?;
                let chdir = self.option("chdir", service.chdir.as_ref())?;
                let env = self.env_vars(&service.env)?;
                let user = self.option("user", service.user.as_ref())?;
                if let Some(user) = &user {
                    check_account(user, "user").map_err(|e| format!("user: {e}"))?;
                }
                let ready = service.ready.as_ref().map(|r| self.check(r)).transpose()?;
                let definition = hex(&Sha256::digest(
                    serde_json::json!([command, chdir, env, user]).to_string(),
                ));
                HostAction::Service {
                    name: service.name.clone(),
                    command,
                    chdir,
                    env,
                    user,
                    ready,
                    definition,
                }
            }
            Action::Wait { ready } => HostAction::Wait(self.check(ready)?),
            Action::Fetch { src, dest } => {
                let src = self.text("src", src)?;
                let dest = match dest {
                    Some(dest) => self.text("dest", dest)?,
                    None => {
                        let name = Path::new(&src)
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .ok_or_else(|| format!("src: '{src}' does not end with a file name"))?;
                        format!("fetched/{}/{name}", self.host.name)
                    }
                };
                check_results_path(&dest).map_err(|e| format!("dest: {e}"))?;
                HostAction::Fetch {
                    src,
                    dest: PathBuf::from(dest),
                }
            }
        })
    }
}

/// Lowercase hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Where a `copy` goes on a host, rendered.
struct Destination {
    dest: String,
    mode: Option<String>,
    owner: Option<String>,
    group: Option<String>,
}

/// The files and directories a plan copies, each read (or packed) once however many hosts and
/// steps copy it, by where it was found.
#[derive(Default)]
struct Sources {
    files: HashMap<PathBuf, (Content, String)>,
    dirs: HashMap<PathBuf, (Bytes, Arc<str>)>,
}

/// A `copy` rendered: a file becomes a [`HostAction::Put`], a directory a
/// [`HostAction::PutDir`] with its archive and manifest; their bytes are shared with every
/// other host's copy of the same source.
fn copy(
    sources: &mut Sources,
    files: &FileRoot,
    src: &str,
    to: Destination,
) -> Result<HostAction, String> {
    use std::collections::hash_map::Entry;
    use std::os::unix::fs::PermissionsExt as _;
    let Destination {
        dest,
        mode,
        owner,
        group,
    } = to;
    let found = resources::find(files, src).map_err(|e| format!("copy: {e}"))?;
    let read_error =
        |path: &Path, e: std::io::Error| format!("copy: cannot read {}: {e}", path.display());
    match found {
        Found::Builtin(path) => Ok(HostAction::Put {
            dest,
            content: Content::new(resources::builtin_file(path).unwrap_or_default()),
            mode: mode.unwrap_or_else(|| "0644".to_owned()),
            owner,
            group,
        }),
        Found::File(path) => {
            let (content, source_mode) = match sources.files.entry(path) {
                Entry::Occupied(read) => read.into_mut(),
                Entry::Vacant(entry) => {
                    let path = entry.key();
                    let content = std::fs::read(path).map_err(|e| read_error(path, e))?;
                    let source_mode = std::fs::metadata(path)
                        .map(|m| format!("{:04o}", m.permissions().mode() & 0o7777))
                        .map_err(|e| read_error(path, e))?;
                    entry.insert((Content::new(content), source_mode))
                }
            };
            Ok(HostAction::Put {
                dest,
                content: content.clone(),
                mode: mode.unwrap_or_else(|| source_mode.clone()),
                owner,
                group,
            })
        }
        Found::Dir(path) => {
            let (archive, manifest) = match sources.dirs.entry(path) {
                Entry::Occupied(packed) => packed.into_mut(),
                Entry::Vacant(entry) => {
                    let path = entry.key();
                    let (archive, manifest) = pack_dir(path).map_err(|e| read_error(path, e))?;
                    entry.insert((Bytes::from(archive), Arc::from(manifest)))
                }
            };
            Ok(HostAction::PutDir {
                dest,
                archive: archive.clone(),
                manifest: manifest.clone(),
                owner,
                group,
            })
        }
    }
}

/// A tar archive of `dir`'s content, and the `sha256  ./path` line of each regular file, both in
/// name order.
fn pack_dir(dir: &Path) -> std::io::Result<(Vec<u8>, String)> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let mut entries: Vec<_> =
            std::fs::read_dir(dir.join(&relative))?.collect::<Result<Vec<_>, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = relative.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder.append_dir_all(".", dir)?;
    let archive = builder.into_inner()?;
    let mut manifest = String::new();
    for file in files {
        let full = dir.join(&file);
        if std::fs::symlink_metadata(&full)?.is_file() {
            let digest = Sha256::digest(std::fs::read(&full)?);
            let _ = writeln!(manifest, "{}  ./{}", hex(&digest), file.display());
        }
    }
    Ok((archive, manifest))
}

impl DeployPlan {
    /// The plan as text, the same for the same inputs: each step with what each host does,
    /// file contents included (for `enos deploy --dry-run` and golden tests).
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let total = self.steps.len();
        for step in &self.steps {
            let _ = writeln!(
                out,
                "step {}/{total}: {} ({})\n  from: {}",
                step.number, step.name, step.kind, step.origin
            );
            if step.on_failure != FailurePolicy::Fail || step.throttle.is_some() {
                let throttle = step
                    .throttle
                    .map(|t| format!(", {t} at a time"))
                    .unwrap_or_default();
                let _ = writeln!(out, "  on failure: {}{throttle}", step.on_failure);
            }
            if step.tasks.is_empty() {
                let _ = writeln!(out, "  (no host)");
            }
            for task in &step.tasks {
                match &task.work {
                    Work::Skip(why) => {
                        let _ = writeln!(out, "  {}: skipped ({why})", task.host);
                    }
                    Work::Do(action) => {
                        let _ = write!(out, "  {}: ", task.host);
                        describe_action(&mut out, action);
                    }
                }
            }
            out.push('\n');
        }
        out
    }
}

fn indented(out: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "    | {line}");
    }
}

fn describe_action(out: &mut String, action: &HostAction) {
    let owner = |owner: &Option<String>, group: &Option<String>| match (owner, group) {
        (None, None) => String::new(),
        (o, g) => format!(
            ", {}:{}",
            o.as_deref().unwrap_or("root"),
            g.as_deref().unwrap_or("")
        ),
    };
    match action {
        HostAction::Packages(names) => {
            let _ = writeln!(out, "install {}", names.join(" "));
        }
        HostAction::Put {
            dest,
            content,
            mode,
            owner: o,
            group: g,
        } => {
            let _ = writeln!(out, "write {dest} (mode {mode}{})", owner(o, g));
            match std::str::from_utf8(content) {
                Ok(text) => indented(out, text),
                Err(_) => {
                    let _ = writeln!(out, "    ({} bytes, not text)", content.len());
                }
            }
        }
        HostAction::PutDir {
            dest,
            manifest,
            owner: o,
            group: g,
            ..
        } => {
            let _ = writeln!(out, "unpack into {dest}{}", owner(o, g));
            indented(out, manifest);
        }
        HostAction::Run {
            command,
            creates,
            unless,
            chdir,
            env,
        } => {
            let _ = writeln!(out, "run");
            indented(out, command);
            for (label, value) in [("creates", creates), ("unless", unless), ("chdir", chdir)] {
                if let Some(value) = value {
                    let _ = writeln!(out, "    {label}: {value}");
                }
            }
            for (k, v) in env {
                let _ = writeln!(out, "    env {k}={v}");
            }
        }
        HostAction::Service {
            name,
            command,
            chdir,
            env,
            user,
            ready,
            ..
        } => {
            let _ = writeln!(out, "service {name}");
            indented(out, command);
            if let Some(user) = user {
                let _ = writeln!(out, "    user: {user}");
            }
            if let Some(chdir) = chdir {
                let _ = writeln!(out, "    chdir: {chdir}");
            }
            for (k, v) in env {
                let _ = writeln!(out, "    env {k}={v}");
            }
            if let Some(ready) = ready {
                let _ = writeln!(out, "    ready when {ready}");
            }
        }
        HostAction::Wait(check) => {
            let _ = writeln!(out, "wait until {check}");
        }
        HostAction::Fetch { src, dest } => {
            let _ = writeln!(out, "fetch {src} into {}", dest.display());
        }
    }
}
