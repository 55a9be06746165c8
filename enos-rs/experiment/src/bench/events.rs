//! The events of a workload's timeline: WAN changes, partitions and cuts, and services stopped,
//! killed and started again, each recorded with its time.

use std::time::{Duration, Instant};

use enos_core::Reporter;
use enos_provider::Provider;
use enos_scenario::Selector;
use enos_scenario::bench::{Action, Workload};
use enos_wan::WanMatrix;
use serde_json::json;

use super::{Label, current_matrix, select};
use crate::session::Session;
use crate::stream::RecordStream;
use crate::{Error, wan};

/// Runs the workload's events at their offsets, recording each with its time.
pub(super) async fn run_events(
    session: &mut Session,
    provider: &dyn Provider,
    workload: &Workload,
    label: &Label,
    stream: &RecordStream,
    reporter: &dyn Reporter,
) {
    let started = Instant::now() + workload.warmup.0;
    let mut saved: Vec<(String, WanMatrix)> = Vec::new();
    for event in &workload.events {
        let at = started + event.at.0;
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        let (name, outcome) = match &event.action {
            Action::Set(change) => (
                "set",
                apply_changes(session, provider, std::slice::from_ref(change), reporter).await,
            ),
            Action::Partition(site) => {
                saved.push((site.clone(), current_matrix(session)));
                let others: Vec<String> = session
                    .experiment
                    .state()
                    .scenario
                    .sites
                    .iter()
                    .filter(|s| s.name != *site)
                    .map(|s| format!("{site}<->{} loss=100%", s.name))
                    .collect();
                (
                    "partition",
                    apply_changes(session, provider, &others, reporter).await,
                )
            }
            Action::Heal(site) => {
                let before = saved
                    .iter()
                    .rposition(|(s, _)| s == site)
                    .map(|i| saved.remove(i).1);
                let outcome = match before {
                    Some(matrix) => wan::apply_matrix(
                        session,
                        provider,
                        &matrix,
                        vec![format!("bench: heal {site}")],
                        reporter,
                    )
                    .await
                    .map(|_| ()),
                    None => Err(Error::new(format!("{site} was not partitioned"))),
                };
                ("heal", outcome)
            }
            Action::Cut(host) => {
                // The host loses every packet to and from every site; the point's end (or the
                // run's) gives the WAN back.
                let own = session.testbed.host(host).map(|h| h.site.clone());
                let alone = |site: &str| {
                    Some(site) == own.as_deref()
                        && session
                            .testbed
                            .hosts
                            .iter()
                            .filter(|h| h.site == site)
                            .count()
                            == 1
                };
                let cuts: Vec<String> = session
                    .experiment
                    .state()
                    .scenario
                    .sites
                    .iter()
                    .filter(|s| !alone(&s.name))
                    .map(|s| format!("{host}<->{} loss=100%", s.name))
                    .collect();
                (
                    "cut",
                    apply_changes(session, provider, &cuts, reporter).await,
                )
            }
            Action::Stop { service, on } => (
                "stop",
                on_service(session, service, on, &signal("TERM"), reporter).await,
            ),
            Action::Kill { service, on } => (
                "kill",
                on_service(session, service, on, &signal("KILL"), reporter).await,
            ),
            Action::Start { service, on } => (
                "start",
                on_service(session, service, on, START, reporter).await,
            ),
        };
        let _ = stream.push(&label.record(
            "event",
            json!({
                "event": name,
                "action": event.action,
                "at_ms": event.at.0.as_secs_f64() * 1e3,
                "done_ms": Instant::now().saturating_duration_since(started).as_secs_f64() * 1e3,
                "time": format!("{:.9}", jiff::Timestamp::now()),
                "error": outcome.err().map(|e| e.message),
            }),
        ));
    }
}

/// The script that sends `signal` to a service's whole process group (its pid file in
/// `$pidf`).
fn signal(signal: &str) -> String {
    format!(
        "pid=$(cat \"$pidf\" 2>/dev/null) || {{ echo \"no service $name here\" >&2; exit 1; }}; \
         kill -s {signal} -- \"-$pid\""
    )
}

/// The script that starts a service again as its deploy step did, unless it runs (its start
/// file in `$startf`, written by that step).
const START: &str = "pid=$(cat \"$pidf\" 2>/dev/null || true); \
     if [ -n \"$pid\" ] && kill -0 \"$pid\" 2>/dev/null; then exit 0; fi; \
     [ -r \"$startf\" ] || { echo \"no service $name here (deployed by this version of enos)\" >&2; exit 1; }; \
     sh \"$startf\"";

/// Runs `script` as root on the hosts `on` names, about the deploy steps' service `service`:
/// `$name`, `$pidf` (its pid file) and `$startf` (its start file) are set.
async fn on_service(
    session: &mut Session,
    service: &str,
    on: &Selector,
    script: &str,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    if !enos_deploy::script::is_service_name(service) {
        return Err(Error::new(format!(
            "'{service}' is not the name of a service"
        )));
    }
    let hosts = select(&session.testbed, on);
    let dir = enos_deploy::script::SERVICE_DIR;
    let script =
        format!("name={service}; pidf={dir}/$name.pid; startf={dir}/$name.start; {script}");
    let commands: Vec<(String, String)> = hosts
        .iter()
        .map(|h| (h.name.clone(), h.as_root(&script)))
        .collect();
    let fleet = session.fleet(reporter).await?;
    let failed: Vec<String> = fleet
        .run_each(&commands, Duration::from_secs(30), &enos_core::NullReporter)
        .await
        .into_iter()
        .filter_map(|r| match r.outcome {
            Ok(o) if o.exit.code() == Some(0) => None,
            Ok(o) => Some(format!("{}: {}", r.host, o.stderr_text().trim())),
            Err(e) => Some(format!("{}: {}", r.host, e.reason())),
        })
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::new(failed.join("; ")))
    }
}

/// Applies live changes (`enos tc apply --set` syntax) to the matrix in force.
pub(super) async fn apply_changes(
    session: &mut Session,
    provider: &dyn Provider,
    changes: &[String],
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let hosts = wan::wan_hosts(&session.testbed);
    let sites = session.experiment.state().scenario.sites.clone();
    let mut matrix = current_matrix(session);
    for text in changes {
        let change = enos_wan::parse_change(text, &sites)
            .map_err(|e| Error::new(format!("'{text}': {e}")))?;
        matrix = enos_wan::apply_change(&matrix, &change, &hosts)
            .map_err(|e| Error::new(format!("'{text}': {e}")))?;
    }
    let source = changes.iter().map(|c| format!("bench: set {c}")).collect();
    wan::apply_matrix(session, provider, &matrix, source, reporter)
        .await
        .map(|_| ())
}
