//! The `bench:` section: the workloads to run against the deployed hosts (EnOS's `run.yml`),
//! their parameter matrices and the events of their timelines.
//!
//! ```yaml
//! bench:
//!   duration: 30s                 # defaults of every workload
//!   args: {timeout: 5s}
//!   workloads:
//!     - name: token-http
//!       type: http
//!       from: client
//!       targets: "http://{{ groups.keystone[0].address }}:5000/v3"
//!       args: {rate: [10, 50, 100]}
//!       events:
//!         - {at: 10s, set: "paris<->rennes delay=50ms"}
//! ```
//!
//! `bench: FILE` names a file next to the scenario holding the same mapping (or the list of
//! workloads alone); its errors are located in it. The values are read as loose YAML values and
//! checked here, so that every mistake is reported, each at its key.

use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::check::{
    Checker, describe, quote, read_document, read_file, saphyr_options, serde_error,
};
use crate::selector::{Names, Selector};
use crate::sites::Site;
use crate::units::{Span, Timeout};

/// The most points (argument combinations) one workload's matrix may have.
pub const MAX_POINTS: usize = 1000;

/// The `bench:` section: the workloads, in file order (none when the section is absent).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BenchSection {
    /// The workloads, defaults applied.
    pub workloads: Vec<Workload>,
}

impl BenchSection {
    /// The number of points of every workload together.
    pub fn points(&self) -> usize {
        self.workloads.iter().map(Workload::point_count).sum()
    }
}

/// What a workload runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    /// An OpenStack Rally task (`args.task`, a file next to the scenario).
    Rally,
    /// HTTP requests, open loop (`rate`) or closed loop (`connections`).
    Http,
    /// ICMP echo requests.
    Ping,
    /// An iperf3 client against an iperf3 server on each target.
    Iperf3,
    /// A shell command (`args.run`) on each host of `from`.
    Command,
}

const KINDS: &str = "rally, http, ping, iperf3, command";

impl WorkloadKind {
    fn parse(text: &str) -> Option<WorkloadKind> {
        Some(match text {
            "rally" => WorkloadKind::Rally,
            "http" => WorkloadKind::Http,
            "ping" => WorkloadKind::Ping,
            "iperf3" => WorkloadKind::Iperf3,
            "command" => WorkloadKind::Command,
            _ => return None,
        })
    }

    /// The name written in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Rally => "rally",
            WorkloadKind::Http => "http",
            WorkloadKind::Ping => "ping",
            WorkloadKind::Iperf3 => "iperf3",
            WorkloadKind::Command => "command",
        }
    }

    /// The arguments this kind takes, in `args:`.
    pub fn arguments(self) -> &'static [&'static str] {
        match self {
            WorkloadKind::Rally => &["task", "args", "openrc"],
            WorkloadKind::Http => &["rate", "steps", "connections", "port", "path", "timeout"],
            WorkloadKind::Ping => &["interval"],
            WorkloadKind::Iperf3 => &["parallel"],
            WorkloadKind::Command => &["run"],
        }
    }

    fn takes_count(self) -> bool {
        matches!(self, WorkloadKind::Http | WorkloadKind::Ping)
    }

    fn needs_length(self) -> bool {
        matches!(
            self,
            WorkloadKind::Http | WorkloadKind::Ping | WorkloadKind::Iperf3
        )
    }

    fn needs_targets(self) -> bool {
        self.needs_length()
    }
}

const ALL_KINDS: [WorkloadKind; 5] = [
    WorkloadKind::Rally,
    WorkloadKind::Http,
    WorkloadKind::Ping,
    WorkloadKind::Iperf3,
    WorkloadKind::Command,
];

/// What a workload is aimed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Targets {
    /// Hosts of the scenario.
    Hosts(Selector),
    /// URLs (`http` only), minijinja templates that may name the target host; as written.
    Urls(Vec<String>),
}

/// A workload: what runs from which hosts against which, with its parameters, for how long, how
/// many times, and what happens meanwhile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Its name, unique in the section (scenario name rules).
    pub name: String,
    /// What it runs.
    pub kind: WorkloadKind,
    /// The hosts it runs from.
    pub from: Selector,
    /// What it is aimed at (required for `http`, `ping` and `iperf3`).
    pub targets: Option<Targets>,
    /// Its arguments, defaults applied, in file order (the workload's, then the defaults'):
    /// each with one value, or several (an axis of the matrix). A Rally task's own arguments are
    /// in `task_args`.
    pub args: IndexMap<String, Vec<Value>>,
    /// The arguments of a Rally task (`args.args`), with their values, as `args`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub task_args: IndexMap<String, Vec<Value>>,
    /// How long each point runs: one value, several (an axis), or none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duration: Vec<Span>,
    /// How many requests each point sends (`http`, `ping`), instead of a duration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub count: Vec<u64>,
    /// The WAN each point runs under: changes of the WAN in force (`enos tc apply --set`
    /// syntax, several joined by `;`), one value or several (an axis); none leaves it alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wan: Vec<String>,
    /// Time run before each point's measurement starts.
    pub warmup: Span,
    /// How many times each point runs (at least 1).
    pub repeat: u64,
    /// Events of the timeline of each run, in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    /// The files its arguments name (Rally tasks), by name as written, with their text as it
    /// was when the scenario was read: what runs is what was checked.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub files: IndexMap<String, String>,
}

/// One combination of a workload's arguments: what one run measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Its arguments, one value each.
    pub args: IndexMap<String, Value>,
    /// The arguments of its Rally task, one value each.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub task_args: IndexMap<String, Value>,
    /// How long it runs, if given.
    pub duration: Option<Span>,
    /// How many requests it sends, if given.
    pub count: Option<u64>,
    /// The changes of the WAN it runs under (`;`-separated), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wan: Option<String>,
    /// The parameters that vary between the points of the workload (those given several
    /// values), each with its value here as text: `{rate: "50"}`.
    pub labels: IndexMap<String, String>,
}

/// An axis of the matrix: a parameter's name, where it goes and its values.
enum Slot {
    Wan,
    Duration,
    Count,
    Arg,
    TaskArg,
}

/// The changes of a `wan` value, as `enos tc apply --set` reads each: joined by `;`.
fn split_changes(text: &str) -> impl Iterator<Item = &str> {
    text.split(';').map(str::trim)
}

impl Point {
    /// The changes of the WAN the point runs under, one by one (none without `wan`).
    pub fn wan_changes(&self) -> Vec<String> {
        self.wan
            .as_deref()
            .map(|w| split_changes(w).map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

impl Workload {
    /// The number of points of its matrix (the product of the lengths of its axes).
    pub fn point_count(&self) -> usize {
        self.axes().iter().map(|(_, _, v)| v.len()).product()
    }

    fn axes(&self) -> Vec<(Slot, String, Vec<Value>)> {
        let mut axes = Vec::new();
        if !self.wan.is_empty() {
            let values = self.wan.iter().map(|w| Value::from(w.as_str()));
            axes.push((Slot::Wan, "wan".to_owned(), values.collect()));
        }
        if !self.duration.is_empty() {
            let values = self.duration.iter().map(|d| Value::from(d.to_string()));
            axes.push((Slot::Duration, "duration".to_owned(), values.collect()));
        }
        if !self.count.is_empty() {
            let values = self.count.iter().map(|c| Value::from(*c));
            axes.push((Slot::Count, "count".to_owned(), values.collect()));
        }
        for (name, values) in &self.args {
            axes.push((Slot::Arg, name.clone(), values.clone()));
        }
        for (name, values) in &self.task_args {
            axes.push((Slot::TaskArg, name.clone(), values.clone()));
        }
        axes
    }

    /// Every point of the matrix: the cartesian product of the values of its WAN, duration (or
    /// count) and arguments, the first axis varying slowest (the WAN, duration or count, then
    /// the arguments in order, then the task's).
    pub fn points(&self) -> Vec<Point> {
        let axes = self.axes();
        let total: usize = axes.iter().map(|(_, _, v)| v.len()).product();
        let mut points = Vec::with_capacity(total);
        for index in 0..total {
            let mut point = Point {
                args: IndexMap::new(),
                task_args: IndexMap::new(),
                duration: None,
                count: None,
                wan: None,
                labels: IndexMap::new(),
            };
            // Mixed radix, the last axis fastest.
            let mut rest = index;
            let mut picks = vec![0; axes.len()];
            for (i, (_, _, values)) in axes.iter().enumerate().rev() {
                picks[i] = rest % values.len();
                rest /= values.len();
            }
            for ((slot, name, values), pick) in axes.iter().zip(picks) {
                let value = values[pick].clone();
                if values.len() > 1 {
                    point.labels.insert(name.clone(), label(&value));
                }
                match slot {
                    Slot::Wan => point.wan = Some(self.wan[pick].clone()),
                    Slot::Duration => point.duration = Some(self.duration[pick]),
                    Slot::Count => point.count = Some(self.count[pick]),
                    Slot::Arg => {
                        point.args.insert(name.clone(), value);
                    }
                    Slot::TaskArg => {
                        point.task_args.insert(name.clone(), value);
                    }
                }
            }
            points.push(point);
        }
        points
    }
}

/// A value as a label: strings without quotes.
fn label(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An event of a workload's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When it happens, from the start of the measured run (after the warm-up).
    pub at: Span,
    /// What happens.
    pub action: Action,
}

/// What an event does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A WAN change in `enos tc apply --set` syntax (`paris<->rennes delay=50ms`).
    Set(String),
    /// Cut a site off from the others.
    Partition(String),
    /// Undo a partition of a site.
    Heal(String),
    /// Stop a service on some hosts.
    Stop {
        /// The service (as the deploy section names it).
        service: String,
        /// The hosts.
        on: Selector,
    },
    /// Start a service on some hosts.
    Start {
        /// The service.
        service: String,
        /// The hosts.
        on: Selector,
    },
    /// Kill a service on some hosts (SIGKILL).
    Kill {
        /// The service.
        service: String,
        /// The hosts.
        on: Selector,
    },
    /// Cut one host off the network.
    Cut(String),
}

const SECTION_KEYS: &str = "workloads, wan, duration, count, warmup, repeat, args";
const WORKLOAD_KEYS: &str =
    "name, type, from, targets, args, wan, duration, count, warmup, repeat, events";
const EVENT_ACTIONS: [&str; 7] = ["set", "partition", "heal", "stop", "start", "kill", "cut"];

/// `base` and `key` joined into a key path.
fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}

/// The defaults of the section, checked.
#[derive(Default)]
struct Defaults {
    wan: Option<Vec<String>>,
    duration: Option<Vec<Span>>,
    count: Option<Vec<u64>>,
    warmup: Option<Span>,
    repeat: Option<u64>,
    args: IndexMap<String, Vec<Value>>,
    task_args: IndexMap<String, Vec<Value>>,
}

impl Checker<'_> {
    /// The `bench:` section: a mapping, a list of workloads, or the name of a file holding one.
    pub(crate) fn bench(&mut self, raw: Option<&Value>, sites: &[Site]) -> BenchSection {
        let names = Names::of(sites);
        let workloads = match raw {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(file)) => self.bench_file(file, &names),
            Some(value) => self.bench_body(value, "bench", &names),
        };
        BenchSection { workloads }
    }

    /// `bench: FILE`: the section in a file next to the scenario, its errors located there.
    fn bench_file(&mut self, name: &str, names: &Names) -> Vec<Workload> {
        if name.trim().is_empty() {
            self.value_error(
                "bench",
                "expected a mapping with `workloads`, or a file, found ''",
            );
            return Vec::new();
        }
        let dir = Path::new(self.file).parent().unwrap_or(Path::new(""));
        let file = dir.join(name);
        let shown = file.display().to_string();
        if !std::fs::metadata(self.dir().join(name)).is_ok_and(|m| m.is_file()) {
            self.value_error(
                "bench",
                format!(
                    "cannot read the workload file {} (relative to the directory of {})",
                    quote(name),
                    self.file
                ),
            );
            return Vec::new();
        }
        let expected = "a mapping with `workloads`, or a list of workloads";
        let parsed = read_file(&file).and_then(|source| {
            let (map, root) = read_document(&source, &shown, expected, true)?;
            let value: Value = serde_saphyr::from_str_with_options(&source, saphyr_options())
                .map_err(|e| serde_error(&e, &map, &shown, &source))?;
            let mut inner = Checker::new(&shown, &source, &map, root);
            let workloads = inner.bench_body(&value, "", names);
            Ok((workloads, inner.diagnostics))
        });
        match parsed {
            Ok((workloads, mut diagnostics)) => {
                if !diagnostics.is_empty() {
                    self.value_error("bench", format!("the file {shown} has errors (below)"));
                }
                self.diagnostics.append(&mut diagnostics);
                workloads
            }
            Err(e) => {
                self.value_error("bench", format!("the file {shown} has errors (below)"));
                self.diagnostics.extend(e.diagnostics().iter().cloned());
                Vec::new()
            }
        }
    }

    /// The section's body at `base`: a mapping of defaults and `workloads`, or the list alone.
    fn bench_body(&mut self, value: &Value, base: &str, names: &Names) -> Vec<Workload> {
        let (defaults, list, list_path) = match value {
            Value::Array(list) => (Defaults::default(), Some(list), base.to_owned()),
            Value::Object(body) => {
                let mut defaults = Defaults::default();
                for key in body.keys() {
                    if !SECTION_KEYS.split(", ").any(|k| k == key) {
                        self.key_error(
                            &join(base, key),
                            format!("unknown key `{key}`, expected one of {SECTION_KEYS}"),
                        );
                    }
                }
                if let Some(v) = body.get("wan") {
                    defaults.wan = self
                        .bench_axis(&join(base, "wan"), v, |c, at, v| c.bench_wan(at, v, names));
                }
                if let Some(v) = body.get("duration") {
                    defaults.duration =
                        self.bench_axis(&join(base, "duration"), v, Self::bench_duration);
                }
                if let Some(v) = body.get("count") {
                    defaults.count = self.bench_axis(&join(base, "count"), v, Self::bench_count);
                }
                self.bench_duration_or_count(base, body);
                defaults.warmup = body
                    .get("warmup")
                    .and_then(|v| self.bench_span(&join(base, "warmup"), v));
                defaults.repeat = body
                    .get("repeat")
                    .and_then(|v| self.bench_whole(&join(base, "repeat"), v, 1, 1000));
                if let Some(args) = body.get("args") {
                    self.bench_default_args(&join(base, "args"), args, &mut defaults);
                }
                let path = join(base, "workloads");
                let list = match body.get("workloads") {
                    None | Some(Value::Null) => {
                        self.missing(
                            &path,
                            base,
                            "the list of workloads",
                            "workloads: [{name: ping, type: ping, from: client, targets: server, \
                             duration: 30s}]",
                        );
                        None
                    }
                    Some(Value::Array(list)) => Some(list),
                    Some(other) => {
                        self.value_error(
                            &path,
                            format!("expected a list of workloads, found {}", describe(other)),
                        );
                        None
                    }
                };
                (defaults, list, path)
            }
            other => {
                self.value_error(
                    base,
                    format!(
                        "expected a mapping with `workloads`, a list of workloads or a file, \
                         found {}",
                        describe(other)
                    ),
                );
                return Vec::new();
            }
        };
        let Some(list) = list else {
            return Vec::new();
        };
        if list.is_empty() {
            self.value_error(
                &list_path,
                "expected at least one workload, found an empty list",
            );
        }
        let mut workloads: Vec<Workload> = Vec::new();
        let mut seen: IndexMap<String, usize> = IndexMap::new();
        for (i, raw) in list.iter().enumerate() {
            let path = format!("{list_path}[{i}]");
            let name_path = format!("{path}.name");
            if let Some(name) = raw.get("name").and_then(Value::as_str) {
                if let Some(first) = seen.get(name) {
                    self.value_error(
                        &name_path,
                        format!(
                            "duplicate workload name {}: {list_path}[{first}] has it already; \
                             names are unique",
                            quote(name)
                        ),
                    );
                } else {
                    seen.insert(name.to_owned(), i);
                }
            }
            if let Some(w) = self.bench_workload(raw, &path, &defaults, names) {
                workloads.push(w);
            }
        }
        workloads
    }

    /// The section's `args:` defaults: an argument of at least one kind of workload each.
    fn bench_default_args(&mut self, path: &str, args: &Value, defaults: &mut Defaults) {
        let Value::Object(args) = args else {
            self.value_error(
                path,
                format!("expected a mapping of arguments, found {}", describe(args)),
            );
            return;
        };
        for (name, value) in args {
            let here = format!("{path}.{name}");
            if !ALL_KINDS
                .iter()
                .any(|k| k.arguments().contains(&name.as_str()))
            {
                self.key_error(
                    &here,
                    format!(
                        "unknown argument `{name}`: no kind of workload takes it ({})",
                        ALL_KINDS
                            .iter()
                            .map(|k| format!("{}: {}", k.name(), k.arguments().join(", ")))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                );
                continue;
            }
            if name == "args" {
                if let Some(task_args) = self.bench_task_args(&here, value) {
                    defaults.task_args = task_args;
                }
            } else if let Some(values) = self.bench_argument(&here, name, value) {
                defaults.args.insert(name.clone(), values);
            }
        }
    }

    /// `duration` and `count` are exclusive.
    fn bench_duration_or_count(&mut self, base: &str, body: &Map<String, Value>) {
        if body.contains_key("duration") && body.contains_key("count") {
            self.key_error(
                &join(base, "count"),
                "`duration` and `count` are exclusive: a run lasts a time or sends a number of \
                 requests",
            );
        }
    }

    /// One workload at `path`.
    fn bench_workload(
        &mut self,
        raw: &Value,
        path: &str,
        defaults: &Defaults,
        names: &Names,
    ) -> Option<Workload> {
        let Value::Object(body) = raw else {
            self.value_error(
                path,
                format!(
                    "expected a workload (a mapping with name, type, from, …), found {}",
                    describe(raw)
                ),
            );
            return None;
        };
        for key in body.keys() {
            if !WORKLOAD_KEYS.split(", ").any(|k| k == key) {
                self.key_error(
                    &format!("{path}.{key}"),
                    format!("unknown key `{key}`, expected one of {WORKLOAD_KEYS}"),
                );
            }
        }
        let name = match body.get("name") {
            Some(Value::String(name)) => {
                match crate::check::check_name(name, crate::MAX_NAME_LEN) {
                    Ok(()) => Some(name.clone()),
                    Err(why) => {
                        self.value_error(
                            &format!("{path}.name"),
                            format!("bad workload name: {why}"),
                        );
                        None
                    }
                }
            }
            Some(other) if !other.is_null() => {
                self.value_error(
                    &format!("{path}.name"),
                    format!("expected a workload name, found {}", describe(other)),
                );
                None
            }
            _ => {
                self.missing(
                    &format!("{path}.name"),
                    path,
                    "the workload's name",
                    "name: tokens",
                );
                None
            }
        };
        let kind = match body.get("type") {
            Some(Value::String(text)) => match WorkloadKind::parse(text) {
                Some(kind) => Some(kind),
                None => {
                    self.value_error(
                        &format!("{path}.type"),
                        format!(
                            "unknown workload type {}, expected one of {KINDS}",
                            quote(text)
                        ),
                    );
                    None
                }
            },
            Some(other) if !other.is_null() => {
                self.value_error(
                    &format!("{path}.type"),
                    format!(
                        "expected a workload type ({KINDS}), found {}",
                        describe(other)
                    ),
                );
                None
            }
            _ => {
                self.missing(
                    &format!("{path}.type"),
                    path,
                    &format!("what the workload runs: {KINDS}"),
                    "type: http",
                );
                None
            }
        };
        let from = match body.get("from") {
            Some(Value::String(text)) => self.bench_hosts(&format!("{path}.from"), text, names),
            Some(other) if !other.is_null() => {
                self.value_error(
                    &format!("{path}.from"),
                    format!("expected a site, role or host, found {}", describe(other)),
                );
                None
            }
            _ => {
                self.missing(
                    &format!("{path}.from"),
                    path,
                    "the hosts the workload runs from",
                    "from: client",
                );
                None
            }
        };
        let targets = self.bench_targets(path, body.get("targets"), kind, names);
        let wan = match body.get("wan") {
            Some(v) => self.bench_axis(&format!("{path}.wan"), v, |c, at, v| {
                c.bench_wan(at, v, names)
            }),
            None => defaults.wan.clone(),
        };
        // Duration or count: the workload's shadow the defaults' (either of them).
        self.bench_duration_or_count(path, body);
        let mut duration = body
            .get("duration")
            .and_then(|v| self.bench_axis(&format!("{path}.duration"), v, Self::bench_duration));
        let mut count = body
            .get("count")
            .and_then(|v| self.bench_axis(&format!("{path}.count"), v, Self::bench_count));
        if !body.contains_key("duration") && !body.contains_key("count") {
            duration = defaults.duration.clone();
            count = defaults.count.clone();
        }
        if let Some(kind) = kind {
            if body.contains_key("count") && !kind.takes_count() {
                self.key_error(
                    &format!("{path}.count"),
                    format!(
                        "{} workloads run for a `duration`, not a `count` (only http and ping \
                         count requests)",
                        kind.name()
                    ),
                );
            } else if kind.needs_length()
                && !body.contains_key("duration")
                && !body.contains_key("count")
                && defaults.duration.is_none()
                && defaults.count.is_none()
            {
                self.missing(
                    &format!("{path}.duration"),
                    path,
                    &format!("how long the {} workload runs", kind.name()),
                    "duration: 30s",
                );
            }
            if !kind.takes_count() && !body.contains_key("count") {
                count = None;
            }
        }
        let warmup = match body.get("warmup") {
            Some(v) => self.bench_span(&format!("{path}.warmup"), v),
            None => defaults.warmup,
        };
        let repeat = match body.get("repeat") {
            Some(v) => self.bench_whole(&format!("{path}.repeat"), v, 1, 1000),
            None => defaults.repeat,
        };
        let (args, task_args) = self.bench_workload_args(path, body.get("args"), kind, defaults);
        let events = self.bench_events(path, body.get("events"), duration.as_deref(), names);
        let workload = Workload {
            name: name?,
            kind: kind?,
            from: from?,
            targets,
            args: args?,
            task_args,
            duration: duration.unwrap_or_default(),
            count: count.unwrap_or_default(),
            wan: wan.unwrap_or_default(),
            warmup: warmup.unwrap_or_default(),
            repeat: repeat.unwrap_or(1),
            events: events?,
            files: IndexMap::new(),
        };
        let mut workload = workload;
        for task in workload.args.get("task").into_iter().flatten() {
            let Some(name) = task.as_str() else { continue };
            match std::fs::read_to_string(self.dir().join(name)) {
                Ok(text) => {
                    workload.files.insert(name.to_owned(), text);
                }
                Err(e) => {
                    self.value_error(
                        &format!("{path}.args.task"),
                        format!("cannot read the Rally task {}: {e}", quote(name)),
                    );
                    return None;
                }
            }
        }
        let points = workload
            .axes()
            .iter()
            .try_fold(1usize, |n, (_, _, v)| n.checked_mul(v.len()))
            .unwrap_or(usize::MAX);
        if points > MAX_POINTS {
            self.key_error(
                &format!("{path}.name"),
                format!(
                    "the workload's parameter lists give {} points, at most {MAX_POINTS} are \
                     allowed: shorten the lists",
                    if points == usize::MAX {
                        "too many".to_owned()
                    } else {
                        points.to_string()
                    }
                ),
            );
            return None;
        }
        Some(workload)
    }

    /// A selector of hosts.
    fn bench_hosts(&mut self, path: &str, text: &str, names: &Names) -> Option<Selector> {
        match names.selector(text) {
            Ok(selector) => Some(selector),
            Err(why) => {
                self.value_error(path, why);
                None
            }
        }
    }

    /// `targets`: hosts, or URLs for http.
    fn bench_targets(
        &mut self,
        path: &str,
        value: Option<&Value>,
        kind: Option<WorkloadKind>,
        names: &Names,
    ) -> Option<Targets> {
        let here = format!("{path}.targets");
        let http = kind == Some(WorkloadKind::Http);
        let url = |text: &str| text.contains("://") || crate::deploy::is_template(text);
        match value {
            None | Some(Value::Null) => {
                if kind.is_some_and(WorkloadKind::needs_targets) {
                    self.missing(
                        &here,
                        path,
                        "what the workload is aimed at",
                        "targets: server",
                    );
                }
                None
            }
            Some(Value::String(text)) if http && url(text) => self
                .bench_urls(&here, std::slice::from_ref(value?))
                .map(Targets::Urls),
            Some(Value::String(text)) => self.bench_hosts(&here, text, names).map(Targets::Hosts),
            Some(Value::Array(list)) if http => self.bench_urls(&here, list).map(Targets::Urls),
            Some(other) => {
                let what = if http {
                    "a site, role or host, or URLs"
                } else {
                    "a site, role or host"
                };
                self.value_error(&here, format!("expected {what}, found {}", describe(other)));
                None
            }
        }
    }

    /// URLs, each a non-empty string whose template syntax is right.
    fn bench_urls(&mut self, path: &str, list: &[Value]) -> Option<Vec<String>> {
        let single = list.len() == 1 && !self.map.has(&format!("{path}[0]"));
        if list.is_empty() {
            self.value_error(path, "expected at least one URL, found an empty list");
            return None;
        }
        let mut urls = Vec::new();
        let mut ok = true;
        for (i, value) in list.iter().enumerate() {
            let here = if single {
                path.to_owned()
            } else {
                format!("{path}[{i}]")
            };
            match value {
                Value::String(text) if !text.trim().is_empty() => {
                    let env = minijinja::Environment::new();
                    if let Err(e) = env.template_from_str(text) {
                        self.value_error(
                            &here,
                            format!("bad template: {}", crate::deploy::template_error(&e)),
                        );
                        ok = false;
                    } else {
                        urls.push(text.clone());
                    }
                }
                other => {
                    self.value_error(&here, format!("expected a URL, found {}", describe(other)));
                    ok = false;
                }
            }
        }
        ok.then_some(urls)
    }

    /// The workload's `args:`, checked against its kind, with the defaults that kind takes.
    #[allow(clippy::type_complexity)]
    fn bench_workload_args(
        &mut self,
        path: &str,
        value: Option<&Value>,
        kind: Option<WorkloadKind>,
        defaults: &Defaults,
    ) -> (
        Option<IndexMap<String, Vec<Value>>>,
        IndexMap<String, Vec<Value>>,
    ) {
        let here = format!("{path}.args");
        let empty = Map::new();
        let args = match value {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(args)) => args,
            Some(other) => {
                self.value_error(
                    &here,
                    format!("expected a mapping of arguments, found {}", describe(other)),
                );
                return (None, IndexMap::new());
            }
        };
        let Some(kind) = kind else {
            return (None, IndexMap::new());
        };
        let takes = kind.arguments();
        let mut out = IndexMap::new();
        let mut task_args = defaults.task_args.clone();
        let mut ok = true;
        for (name, value) in args {
            let at = format!("{here}.{name}");
            if !takes.contains(&name.as_str()) {
                self.key_error(
                    &at,
                    format!(
                        "`{name}` is not an argument of {} workloads, which take {}",
                        kind.name(),
                        takes.join(", ")
                    ),
                );
                ok = false;
            } else if name == "args" {
                match self.bench_task_args(&at, value) {
                    Some(own) => task_args.extend(own),
                    None => ok = false,
                }
            } else {
                match self.bench_argument(&at, name, value) {
                    Some(values) => {
                        out.insert(name.clone(), values);
                    }
                    None => ok = false,
                }
            }
        }
        // Defaults of the arguments this kind takes; `rate`, `steps` and `connections` shadow
        // each other.
        const LOADS: [&str; 3] = ["rate", "steps", "connections"];
        for (name, values) in &defaults.args {
            let shadowed = match name.as_str() {
                "rate" | "steps" | "connections" => LOADS.iter().any(|l| args.contains_key(*l)),
                _ => args.contains_key(name),
            };
            if takes.contains(&name.as_str()) && !shadowed {
                out.insert(name.clone(), values.clone());
            }
        }
        if kind != WorkloadKind::Rally {
            task_args.clear();
        }
        match kind {
            // An argument written with a wrong value is not reported missing too.
            WorkloadKind::Http => {
                let given: Vec<&str> = LOADS
                    .into_iter()
                    .filter(|l| out.contains_key(*l) || args.contains_key(*l))
                    .collect();
                match given.len() {
                    0 => {
                        self.missing(
                            &format!("{here}.rate"),
                            if args.is_empty() { path } else { &here },
                            "either `rate` (requests per second, open loop), `steps` (rates one \
                             after the other, open loop) or `connections` (closed loop)",
                            "rate: 100",
                        );
                        ok = false;
                    }
                    1 => {}
                    _ => {
                        let last = given
                            .iter()
                            .rev()
                            .find(|l| args.contains_key(**l))
                            .unwrap_or(&given[given.len() - 1]);
                        self.key_error(
                            &format!("{here}.{last}"),
                            "give one of `rate` (requests per second, open loop), `steps` (rates \
                             one after the other, open loop) or `connections` (closed loop)",
                        );
                        ok = false;
                    }
                }
            }
            WorkloadKind::Command if !out.contains_key("run") && !args.contains_key("run") => {
                self.missing(
                    &format!("{here}.run"),
                    if args.is_empty() { path } else { &here },
                    "the command to run",
                    "run: ./bench.sh",
                );
                ok = false;
            }
            WorkloadKind::Rally if !out.contains_key("task") && !args.contains_key("task") => {
                self.missing(
                    &format!("{here}.task"),
                    if args.is_empty() { path } else { &here },
                    "the Rally task file, next to the scenario",
                    "task: keystone-tokens.yaml",
                );
                ok = false;
            }
            _ => {}
        }
        (ok.then_some(out), task_args)
    }

    /// A Rally task's `args`: a mapping of any values, lists being axes of the matrix.
    fn bench_task_args(
        &mut self,
        path: &str,
        value: &Value,
    ) -> Option<IndexMap<String, Vec<Value>>> {
        let Value::Object(args) = value else {
            self.value_error(
                path,
                format!(
                    "expected a mapping of task arguments, found {}",
                    describe(value)
                ),
            );
            return None;
        };
        let mut out = IndexMap::new();
        let mut ok = true;
        for (name, value) in args {
            match self.bench_axis(&format!("{path}.{name}"), value, |_, _, v| Some(v.clone())) {
                Some(values) => {
                    out.insert(name.clone(), values);
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// One argument (`name` known), a value or a list of them.
    fn bench_argument(&mut self, path: &str, name: &str, value: &Value) -> Option<Vec<Value>> {
        let check = |c: &mut Self, at: &str, v: &Value| -> Option<Value> {
            match name {
                "rate" => match v.as_f64() {
                    Some(rate) if rate > 0.0 && rate.is_finite() => Some(v.clone()),
                    _ => {
                        c.value_error(
                            at,
                            format!(
                                "expected a rate in requests per second, a number greater than \
                                 0, found {}",
                                describe(v)
                            ),
                        );
                        None
                    }
                },
                "connections" => c.bench_whole(at, v, 1, 100_000).map(Value::from),
                "steps" => {
                    let text = c.bench_text(at, v, "steps such as '100:10s,200:10s'")?;
                    match check_steps(&text) {
                        Ok(()) => Some(Value::from(text)),
                        Err(why) => {
                            c.value_error(at, why);
                            None
                        }
                    }
                }
                "parallel" => c.bench_whole(at, v, 1, 128).map(Value::from),
                "port" => c.bench_whole(at, v, 1, 65_535).map(Value::from),
                "timeout" => c
                    .quantity::<Timeout>(at, Some(v), "timeout", "5s")
                    .map(|t| Value::from(t.to_string())),
                "interval" => {
                    let span = c.bench_span(at, v)?;
                    if span.0.is_zero() {
                        c.value_error(at, "the interval must be greater than 0 (e.g. 200ms)");
                        return None;
                    }
                    Some(Value::from(span.to_string()))
                }
                "path" => match v.as_str() {
                    Some(p) if p.starts_with('/') => Some(v.clone()),
                    _ => {
                        c.value_error(
                            at,
                            format!("expected a path starting with `/`, found {}", describe(v)),
                        );
                        None
                    }
                },
                "run" => c.bench_text(at, v, "a command").map(Value::from),
                "openrc" => match v.as_str() {
                    Some(p) if p.starts_with('/') => Some(v.clone()),
                    _ => {
                        c.value_error(
                            at,
                            format!(
                                "expected the absolute path of an openrc on the hosts of `from`, \
                                 found {}",
                                describe(v)
                            ),
                        );
                        None
                    }
                },
                "task" => {
                    let task = c.bench_text(at, v, "a Rally task file")?;
                    if !c.dir().join(&task).is_file() {
                        c.value_error(
                            at,
                            format!(
                                "cannot read the Rally task {} (relative to the directory of {})",
                                quote(&task),
                                c.file
                            ),
                        );
                        return None;
                    }
                    Some(Value::from(task))
                }
                _ => Some(v.clone()),
            }
        };
        self.bench_axis(path, value, check)
    }

    /// A value, or a list of values (an axis of the matrix), each checked by `check` at its
    /// path. An empty list is an error, and so is a list in a list.
    fn bench_axis<T>(
        &mut self,
        path: &str,
        value: &Value,
        mut check: impl FnMut(&mut Self, &str, &Value) -> Option<T>,
    ) -> Option<Vec<T>> {
        let Value::Array(list) = value else {
            return check(self, path, value).map(|v| vec![v]);
        };
        if list.is_empty() {
            self.value_error(
                path,
                "an empty list gives no points: give one value, or a list of at least one",
            );
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in list.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if item.is_array() {
                self.value_error(&at, "a list in a list: a parameter's values are one list");
                ok = false;
            } else if let Some(v) = check(self, &at, item) {
                out.push(v);
            } else {
                ok = false;
            }
        }
        ok.then_some(out)
    }

    /// One value of `wan`: changes of the WAN, joined by `;`, each as `enos tc apply --set`
    /// reads it.
    fn bench_wan(&mut self, path: &str, value: &Value, names: &Names) -> Option<String> {
        let text = self.bench_text(
            path,
            value,
            "changes of the WAN such as 'paris<->rennes delay=50ms'",
        )?;
        for change in split_changes(&text) {
            if let Err(why) = crate::change::parse_with(change, names) {
                self.value_error(path, why);
                return None;
            }
        }
        Some(text)
    }

    /// A duration of a run: a span greater than zero.
    fn bench_duration(&mut self, path: &str, value: &Value) -> Option<Span> {
        let span = self.bench_span(path, value)?;
        if span.0.is_zero() {
            self.value_error(path, "a duration must be greater than 0 (e.g. 30s)");
            return None;
        }
        Some(span)
    }

    /// A count of requests: a whole number ≥ 1.
    fn bench_count(&mut self, path: &str, value: &Value) -> Option<u64> {
        self.bench_whole(path, value, 1, 100_000_000)
    }

    /// A span of time such as `30s`.
    fn bench_span(&mut self, path: &str, value: &Value) -> Option<Span> {
        self.quantity::<Span>(path, Some(value), "duration", "30s")
    }

    /// A whole number from `min` to `max`.
    fn bench_whole(&mut self, path: &str, value: &Value, min: u64, max: u64) -> Option<u64> {
        match value.as_u64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.value_error(
                    path,
                    format!(
                        "expected a whole number from {min} to {max}, found {}",
                        describe(value)
                    ),
                );
                None
            }
        }
    }

    /// A non-empty string.
    fn bench_text(&mut self, path: &str, value: &Value, what: &str) -> Option<String> {
        match value {
            Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
            other => {
                self.value_error(path, format!("expected {what}, found {}", describe(other)));
                None
            }
        }
    }

    /// The workload's `events:`; `duration` is its duration(s), when known.
    fn bench_events(
        &mut self,
        path: &str,
        value: Option<&Value>,
        duration: Option<&[Span]>,
        names: &Names,
    ) -> Option<Vec<Event>> {
        let here = format!("{path}.events");
        let list = match value {
            None | Some(Value::Null) => return Some(Vec::new()),
            Some(Value::Array(list)) => list,
            Some(other) => {
                self.value_error(
                    &here,
                    format!("expected a list of events, found {}", describe(other)),
                );
                return None;
            }
        };
        let shortest = duration.and_then(|d| d.iter().min().copied());
        let mut events = Vec::new();
        let mut ok = true;
        for (j, raw) in list.iter().enumerate() {
            let at = format!("{here}[{j}]");
            match self.bench_event(&at, raw, shortest, names) {
                Some(event) => events.push(event),
                None => ok = false,
            }
        }
        ok.then_some(events)
    }

    /// One event at `path`; `shortest` is the workload's shortest duration, when known.
    fn bench_event(
        &mut self,
        path: &str,
        raw: &Value,
        shortest: Option<Span>,
        names: &Names,
    ) -> Option<Event> {
        let Value::Object(body) = raw else {
            self.value_error(
                path,
                format!(
                    "expected an event (a mapping with `at` and an action), found {}",
                    describe(raw)
                ),
            );
            return None;
        };
        let mut ok = true;
        for key in body.keys() {
            if key != "at" && key != "on" && !EVENT_ACTIONS.contains(&key.as_str()) {
                self.key_error(
                    &format!("{path}.{key}"),
                    format!(
                        "unknown key `{key}`, expected `at`, one of {} and `on`",
                        EVENT_ACTIONS.join(", ")
                    ),
                );
                ok = false;
            }
        }
        let at = match body.get("at") {
            Some(v) if !v.is_null() => self.bench_span(&format!("{path}.at"), v),
            _ => {
                self.missing(
                    &format!("{path}.at"),
                    path,
                    "when the event happens",
                    "at: 30s",
                );
                None
            }
        };
        if let (Some(at), Some(end)) = (at, shortest)
            && at >= end
        {
            self.value_error(
                &format!("{path}.at"),
                format!(
                    "the event at {at} is not within the workload's duration ({end}): it would \
                     happen after the run ends"
                ),
            );
            ok = false;
        }
        let actions: Vec<&str> = EVENT_ACTIONS
            .iter()
            .copied()
            .filter(|a| body.contains_key(*a))
            .collect();
        let action = match actions.as_slice() {
            [] => {
                self.error_at(
                    self.map.value_at(path),
                    path,
                    format!(
                        "an event does one thing: expected one of {}",
                        EVENT_ACTIONS.join(", ")
                    ),
                );
                None
            }
            [one] => self.bench_action(path, one, &body[*one], body.get("on"), names),
            [_, second, ..] => {
                self.key_error(
                    &format!("{path}.{second}"),
                    format!(
                        "an event does one thing: `{}` and `{second}` are exclusive",
                        actions[0]
                    ),
                );
                None
            }
        };
        if body.contains_key("on") && !matches!(actions.as_slice(), ["stop" | "start" | "kill"]) {
            self.key_error(
                &format!("{path}.on"),
                "`on` names the hosts of a `stop`, `start` or `kill`, and only those",
            );
            ok = false;
        }
        let event = Event {
            at: at?,
            action: action?,
        };
        ok.then_some(event)
    }

    /// The action `key` of an event, with its value and `on:`.
    fn bench_action(
        &mut self,
        path: &str,
        key: &str,
        value: &Value,
        on: Option<&Value>,
        names: &Names,
    ) -> Option<Action> {
        let here = format!("{path}.{key}");
        match key {
            "set" => {
                let text = self.bench_text(
                    &here,
                    value,
                    "a WAN change such as 'paris<->rennes delay=50ms'",
                )?;
                if let Err(why) = crate::change::parse_with(&text, names) {
                    self.value_error(&here, why);
                    return None;
                }
                Some(Action::Set(text))
            }
            "partition" | "heal" => {
                let site = self.bench_text(&here, value, "a site")?;
                if !names.sites.contains(&site) {
                    self.value_error(
                        &here,
                        format!(
                            "{} is not a site of the scenario (sites: {})",
                            quote(&site),
                            names.sites.join(", ")
                        ),
                    );
                    return None;
                }
                Some(if key == "partition" {
                    Action::Partition(site)
                } else {
                    Action::Heal(site)
                })
            }
            "cut" => {
                let host = self.bench_text(&here, value, "a host")?;
                if !names.hosts.contains(&host) {
                    self.value_error(
                        &here,
                        format!(
                            "{} is not a host of the scenario (e.g. {})",
                            quote(&host),
                            names.hosts.first().map(String::as_str).unwrap_or("none")
                        ),
                    );
                    return None;
                }
                Some(Action::Cut(host))
            }
            _ => {
                let service = self.bench_text(&here, value, "a service name")?;
                let valid = service.len() <= 64
                    && !service.starts_with('.')
                    && service
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
                if !valid {
                    self.value_error(
                        &here,
                        format!(
                            "bad service name {}: lowercase letters, digits, `_`, `.` and `-`, at \
                             most 64",
                            quote(&service)
                        ),
                    );
                }
                let on_path = format!("{path}.on");
                let on = match on {
                    Some(Value::String(text)) => self.bench_hosts(&on_path, text, names),
                    Some(other) if !other.is_null() => {
                        self.value_error(
                            &on_path,
                            format!("expected a site, role or host, found {}", describe(other)),
                        );
                        None
                    }
                    _ => {
                        self.missing(&on_path, path, "the hosts of the service", "on: keystone");
                        None
                    }
                };
                let (service, on) = (valid.then_some(service)?, on?);
                Some(match key {
                    "stop" => Action::Stop { service, on },
                    "start" => Action::Start { service, on },
                    _ => Action::Kill { service, on },
                })
            }
        }
    }
}

/// Checks `steps` of an http workload: `RATE:DURATION` pairs joined by commas, each rate a
/// number of requests per second greater than 0, each duration greater than 0.
fn check_steps(text: &str) -> Result<(), String> {
    for step in text.split(',') {
        let (rate, length) = step.trim().split_once(':').ok_or_else(|| {
            format!("'{step}' is not RATE:DURATION (steps such as '100:10s,200:10s')")
        })?;
        match rate.trim().parse::<f64>() {
            Ok(r) if r > 0.0 && r.is_finite() => {}
            _ => {
                return Err(format!(
                    "'{rate}' is not a rate greater than 0 (in '{step}')"
                ));
            }
        }
        let span: Span = length
            .trim()
            .parse()
            .map_err(|e| format!("'{length}' in '{step}': {e}"))?;
        if span.0.is_zero() {
            return Err(format!("a step lasts more than 0 ('{step}')"));
        }
    }
    Ok(())
}

/// The JSON Schema of the `bench:` section; `selector` is that of a set of hosts.
pub(crate) fn json_schema(selector: &Value) -> Value {
    use serde_json::json;
    let span = json!({
        "type": "string",
        "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$",
        "description": "A length of time with its unit: ms, s, m or h.",
        "examples": ["30s", "2m", "500ms"],
    });
    // A parameter: one value, or a list of them (an axis of the matrix).
    let axis = |one: Value| json!({"anyOf": [one.clone(), {"type": "array", "minItems": 1, "items": one}]});
    let whole = |min: u64, max: u64| json!({"type": "integer", "minimum": min, "maximum": max});
    let services = |what: &str| json!({"type": "string", "description": format!("{what} this service (as deploy names it) on the hosts of `on`.")});
    let args = json!({
        "type": ["object", "null"],
        "description": "Arguments of the workload's type (rally: task, args, openrc; http: rate, steps \
                        or connections, port, path, timeout; ping: interval; iperf3: parallel; command: \
                        run). A list of values is an axis of the parameter matrix.",
        "additionalProperties": false,
        "properties": {
            "rate": axis(json!({"type": "number", "exclusiveMinimum": 0, "description": "Requests per second (open loop)."})),
            "steps": axis(json!({"type": "string", "pattern": "^[^:,]+:[^:,]+(,[^:,]+:[^:,]+)*$", "description": "Rates one after the other (open loop): RATE:DURATION pairs, 100:10s,200:10s."})),
            "connections": axis(whole(1, 100_000)),
            "port": axis(whole(1, 65_535)),
            "path": axis(json!({"type": "string", "pattern": "^/"})),
            "timeout": axis(span.clone()),
            "interval": axis(span.clone()),
            "parallel": axis(whole(1, 128)),
            "run": axis(json!({"type": "string", "minLength": 1, "description": "A shell command."})),
            "task": axis(json!({"type": "string", "description": "A Rally task file, next to the scenario."})),
            "args": {"type": "object", "description": "The Rally task's arguments; lists are axes."},
            "openrc": axis(json!({"type": "string", "pattern": "^/", "description": "The file Rally's credentials come from on the hosts of `from`, sourced with a target's site as its argument (default /root/admin-openrc, as the keystone stack writes it)."})),
        },
    });
    let event = json!({
        "type": "object",
        "required": ["at"],
        "additionalProperties": false,
        "minProperties": 2,
        "properties": {
            "at": span.clone(),
            "set": {"type": "string", "description": "A WAN change, as `enos tc apply --set`: paris<->rennes delay=50ms."},
            "partition": {"type": "string", "description": "Cut this site off the others."},
            "heal": {"type": "string", "description": "Undo the partition of this site."},
            "stop": services("Stop"),
            "start": services("Start"),
            "kill": services("Kill"),
            "on": selector.clone(),
            "cut": {"type": "string", "description": "Cut this host off the network."},
        },
    });
    let defaults = json!({
        "wan": axis(json!({"type": "string", "minLength": 1, "description": "Changes of the WAN in force for the point, as `enos tc apply --set` (several joined by `;`): paris<->rennes delay=50ms."})),
        "duration": axis(span.clone()),
        "count": axis(whole(1, 100_000_000)),
        "warmup": span.clone(),
        "repeat": whole(1, 1000),
        "args": args.clone(),
    });
    let mut workload_properties = defaults.clone();
    if let Some(p) = workload_properties.as_object_mut() {
        p.insert(
            "name".to_owned(),
            json!({"type": "string", "pattern": "^[a-z](-?[a-z0-9])*$", "maxLength": crate::MAX_NAME_LEN}),
        );
        p.insert(
            "type".to_owned(),
            json!({"enum": ["rally", "http", "ping", "iperf3", "command"]}),
        );
        p.insert("from".to_owned(), selector.clone());
        p.insert(
            "targets".to_owned(),
            json!({"anyOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": {"type": "string"}}],
                   "description": "Hosts (a site, role or host), or for http URLs, minijinja templates."}),
        );
        p.insert(
            "events".to_owned(),
            json!({"type": ["array", "null"], "items": event}),
        );
    }
    let workloads = json!({
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["name", "type", "from"],
            "additionalProperties": false,
            "properties": workload_properties,
        },
    });
    let mut body_properties = defaults;
    if let Some(p) = body_properties.as_object_mut() {
        p.insert("workloads".to_owned(), workloads);
    }
    json!({
        "description": "The workloads to benchmark (EnOS run.yml): defaults and `workloads`, or \
                        a file next to the scenario holding them.",
        "anyOf": [
            {"type": "string", "description": "A workload file, next to the scenario."},
            {"type": "null"},
            {
                "type": "object",
                "required": ["workloads"],
                "additionalProperties": false,
                "properties": body_properties,
            },
        ],
    })
}
