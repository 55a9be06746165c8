//! The `enos` program that testbed hosts run (the load generator, the metrics agent): this one,
//! where the hosts share the machine's files; otherwise a copy in each host's `~/.cache/enos/`,
//! named by this one's size and time, made on the hosts that lack it.

use std::path::Path;
use std::time::Duration;

use enos_provider::Provider;
use enos_remote::Fleet;

use crate::Error;

/// The command word that runs `program` on the hosts `names` (a quoted path, or
/// `"$HOME"/.cache/enos/enos-<size>-<mtime>` expanded by the login user's shell), copying it
/// there first where the hosts do not share the machine's files. `what` names the users, for
/// messages.
pub(crate) async fn on_hosts(
    fleet: &Fleet,
    provider: &dyn Provider,
    program: &Path,
    names: &[String],
    what: &str,
) -> Result<String, Error> {
    let local = program.display().to_string();
    if provider.hosts_share_files() || names.is_empty() {
        return Ok(enos_deploy::script::quote(&local));
    }
    let meta =
        std::fs::metadata(program).map_err(|e| Error::new(format!("cannot read {local}: {e}")))?;
    let stamp = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let relative = format!(".cache/enos/enos-{}-{stamp}", meta.len());
    let reporter = enos_core::NullReporter;
    let hosts = fleet.subset(names);
    let check = format!("test -x {relative}");
    let lacking: Vec<String> = hosts
        .run(&check, Duration::from_secs(30), &reporter)
        .await
        .into_iter()
        .filter(|r| !r.outcome.as_ref().is_ok_and(|o| o.exit.code() == Some(0)))
        .map(|r| r.host)
        .collect();
    let failed: Vec<String> = fleet
        .subset(&lacking)
        .upload(program, &relative, Duration::from_secs(300), &reporter)
        .await
        .into_iter()
        .filter_map(|r| {
            r.outcome
                .err()
                .map(|e| format!("{}: {}", r.host, e.reason()))
        })
        .collect();
    if !failed.is_empty() {
        return Err(Error::new(format!(
            "copying enos to the hosts of {what}: {}",
            failed.join("; ")
        )));
    }
    Ok(format!("\"$HOME\"/{relative}"))
}
