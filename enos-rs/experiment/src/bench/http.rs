//! `http` workloads: the load generator (`enos daemon http-load`) on each host of `from`, its
//! records streamed into the workload's as they come; the program the hosts run it with; URL
//! templates.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use enos_core::{Host, Testbed};
use enos_provider::Provider;
use enos_remote::Fleet;
use enos_scenario::Timeout;
use enos_scenario::bench::{Point, Targets, Workload, WorkloadKind};
use serde::Serialize;
use serde_json::{Value, json};

use super::{BenchRequest, Label, arg_str, select, tail};
use crate::Error;
use crate::stream::RecordStream;

/// The `enos` program the hosts of `http` workloads run the load generator with (see
/// [`crate::program::on_hosts`]).
pub(super) async fn program_on_hosts(
    fleet: &Fleet,
    testbed: &Testbed,
    provider: &dyn Provider,
    workloads: &[Workload],
    request: &BenchRequest,
) -> Result<String, Error> {
    let mut names: Vec<String> = Vec::new();
    for w in workloads.iter().filter(|w| w.kind == WorkloadKind::Http) {
        for h in select(testbed, &w.from) {
            if !names.contains(&h.name) {
                names.push(h.name);
            }
        }
    }
    crate::program::on_hosts(
        fleet,
        provider,
        &request.program,
        &names,
        "the http workloads",
    )
    .await
}

/// Runs the load generator on each host of `from` against its target URL, then folds its
/// records (labelled) into the workload's stream. Returns the records written.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run_http(
    fleet: &Fleet,
    testbed: &Testbed,
    workload: &Workload,
    point: &Point,
    hosts: &[Host],
    targets: &[Host],
    label: &Label,
    stream: &RecordStream,
    program: &str,
) -> Result<u64, Error> {
    let path = arg_str(point, "path").unwrap_or("/");
    let port = point
        .args
        .get("port")
        .and_then(Value::as_u64)
        .map_or(String::new(), |p| format!(":{p}"));
    let targets: Vec<String> = targets
        .iter()
        .map(|t| format!("http://{}{port}{path}", t.address))
        .collect();
    let templates = match &workload.targets {
        Some(Targets::Urls(urls)) => urls.as_slice(),
        _ => &[],
    };
    if targets.is_empty() && templates.is_empty() {
        return Err(Error::new(format!(
            "workload '{}': no target",
            workload.name
        )));
    }
    let duration = point.duration.map_or(Duration::from_secs(10), |s| s.0);
    let load = match (
        point.args.get("rate").and_then(Value::as_f64),
        arg_str(point, "steps"),
        point.args.get("connections").and_then(Value::as_u64),
    ) {
        (Some(rate), _, _) => format!("--rate {rate}"),
        (None, Some(steps), _) => format!("--steps {}", enos_deploy::script::quote(steps)),
        (None, None, Some(n)) => format!("--connections {n}"),
        (None, None, None) => "--rate 10".to_owned(),
    };
    let timeout = arg_str(point, "timeout")
        .and_then(|t| t.parse::<Timeout>().ok())
        .map_or_else(|| "10s".to_owned(), |t| t.to_string());
    let warmup = workload.warmup.0;
    let context = (!templates.is_empty()).then(|| UrlContext::new(testbed));
    let mut urls = Vec::with_capacity(hosts.len());
    for (i, host) in hosts.iter().enumerate() {
        urls.push(match &context {
            None => targets[i % targets.len()].clone(),
            Some(context) => {
                let template = &templates[i % templates.len()];
                context.render(template, host).map_err(|why| {
                    Error::new(format!(
                        "workload '{}': the URL {template} on {}: {why}",
                        workload.name, host.name
                    ))
                })?
            }
        });
    }
    let commands: Vec<(String, String)> = hosts
        .iter()
        .zip(&urls)
        .map(|(h, url)| {
            let url = enos_deploy::script::quote(url);
            (
                h.name.clone(),
                format!(
                    "{} daemon {} --url {url} {load} --duration {}ms --warmup {}ms --timeout {timeout} --out -",
                    program,
                    enos_loadgen::daemon::NAME,
                    duration.as_millis(),
                    warmup.as_millis(),
                ),
            )
        })
        .collect();
    let budget = duration + warmup + Duration::from_secs(60);
    // The generators' records go to the stream as they come, labelled: none is kept here.
    let counted = Arc::new(AtomicU64::new(0));
    let failure: Arc<Mutex<Option<Error>>> = Arc::new(Mutex::new(None));
    let sink: enos_remote::LineSink = {
        let (stream, label) = (stream.clone(), label.clone());
        let (counted, failure) = (Arc::clone(&counted), Arc::clone(&failure));
        Arc::new(move |host: &str, line: &str| {
            let Ok(mut fields) = serde_json::from_str::<Value>(line) else {
                return;
            };
            if let Some(map) = fields.as_object_mut() {
                map.insert("host".to_owned(), Value::from(host));
                if let Some(kind) = map.remove("type") {
                    map.insert("http".to_owned(), kind);
                }
            }
            match stream.push(&label.record("http", fields)) {
                Ok(()) => {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    let mut first = failure.lock().unwrap_or_else(|e| e.into_inner());
                    first.get_or_insert(e);
                }
            }
        })
    };
    let results = fleet
        .run_streaming(&commands, budget, &enos_core::NullReporter, sink)
        .await;
    if let Some(e) = failure.lock().unwrap_or_else(|e| e.into_inner()).take() {
        return Err(e);
    }
    let mut written = counted.load(Ordering::Relaxed);
    for result in results {
        let error = match result.outcome {
            Ok(output) if output.exit.code() != Some(0) => format!(
                "the load generator failed ({}): {}",
                output.exit,
                tail(&output.stderr).trim()
            ),
            Ok(_) => continue,
            Err(e) => e.reason(),
        };
        stream.push(&label.record("http", json!({"host": result.host, "error": error})))?;
        written += 1;
    }
    Ok(written)
}

/// A host as URL templates see it.
#[derive(Serialize)]
struct HostView<'a> {
    name: &'a str,
    site: &'a str,
    role: &'a str,
    address: String,
}

impl<'a> From<&'a Host> for HostView<'a> {
    fn from(h: &'a Host) -> Self {
        HostView {
            name: &h.name,
            site: &h.site,
            role: &h.role,
            address: h.address.to_string(),
        }
    }
}

/// What URL templates see, the same for every host of a point: `hosts` (every host) and
/// `groups` (role and site names, each with its hosts), as deploy templates do; `host` (that
/// host's name, site, role and address) is added for each.
struct UrlContext {
    env: minijinja::Environment<'static>,
    hosts: minijinja::Value,
    groups: minijinja::Value,
}

impl UrlContext {
    fn new(testbed: &Testbed) -> UrlContext {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let hosts: Vec<HostView<'_>> = testbed.hosts.iter().map(HostView::from).collect();
        let mut groups: indexmap::IndexMap<&str, Vec<HostView<'_>>> = indexmap::IndexMap::new();
        for h in &testbed.hosts {
            groups.entry(&h.role).or_default().push(HostView::from(h));
        }
        for h in &testbed.hosts {
            groups.entry(&h.site).or_default().push(HostView::from(h));
        }
        UrlContext {
            env,
            hosts: minijinja::Value::from_serialize(&hosts),
            groups: minijinja::Value::from_serialize(&groups),
        }
    }

    /// The URL template `template` for the load generator on `host`.
    fn render(&self, template: &str, host: &Host) -> Result<String, String> {
        let context = minijinja::context! {
            host => HostView::from(host),
            hosts => self.hosts.clone(),
            groups => self.groups.clone(),
        };
        let url = self
            .env
            .render_str(template, context)
            .map_err(|e| e.to_string())?;
        if !url.contains("://") {
            return Err(format!("'{url}' is not a URL"));
        }
        Ok(url)
    }
}
