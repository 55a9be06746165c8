//! Reading a scenario with the registered providers' checks, and what `enos validate`,
//! `enos deploy --dry-run` and `enos schema` give.

use std::path::Path;

use enos_deploy::DeployPlan;
use enos_provider::ProvisionPlan;
use enos_scenario::Scenario;

/// A length of time as scenarios write it (`90s`, `2h`), at most a day: what `enos extend --by`
/// takes.
pub use enos_scenario::Timeout;

use crate::registry::Providers;
use crate::{Error, steps};

/// The name of the provider `scenario` asks for.
pub fn provider_name(scenario: &Scenario) -> &str {
    &scenario.provider.name
}

/// Reads and checks the scenario `file` (size cap, UTF-8 errors with their line and column, every
/// located error of the file), including what its provider can hold once it is resolved, so
/// that no scenario that validates fails later for its size. Returns it with its text.
pub fn load(providers: &Providers, file: &Path) -> Result<(Scenario, String), Error> {
    load_text(providers, file, enos_scenario::read_file(file)?)
}

/// As [`load`], with the scenario's text `source` given (a point of a sweep): `file` names it
/// in messages and is where the files it names are found.
pub fn load_text(
    providers: &Providers,
    file: &Path,
    source: String,
) -> Result<(Scenario, String), Error> {
    let name = file.display().to_string();
    let scenario = enos_scenario::parse(&source, &name, &providers.kinds())?;
    let provider = providers.get(provider_name(&scenario))?;
    if let Err((key, why)) = provider.check_scenario(&scenario) {
        return Err(enos_scenario::error_at_key(&source, &name, &key, why).into());
    }
    Ok((scenario, source))
}

/// What `enos validate` found in a valid scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// The experiment's name.
    pub name: String,
    /// Its number of sites.
    pub sites: usize,
    /// Its number of hosts.
    pub hosts: usize,
    /// Its number of deploy steps (stacks expanded).
    pub steps: usize,
    /// Its number of bench workloads.
    pub workloads: usize,
    /// The number of points of their parameter matrices, together.
    pub points: usize,
    /// The metrics agents' period, when the scenario has a `metrics:` section.
    pub metrics_period: Option<std::time::Duration>,
    /// The number of points of its sweep, when it has a `sweep:` section.
    pub sweep_points: Option<usize>,
}

/// Checks the scenario `file`, its deploy steps rendered on a made-up testbed included.
pub fn validate(providers: &Providers, file: &Path) -> Result<Validated, Error> {
    let (scenario, _) = load(providers, file)?;
    let plan = steps::example_plan(&scenario)?;
    Ok(Validated {
        name: scenario.name.clone(),
        sites: scenario.sites.len(),
        hosts: scenario.hosts().len(),
        steps: plan.steps.len(),
        workloads: scenario.bench.workloads.len(),
        points: scenario.bench.points(),
        metrics_period: scenario.metrics.as_ref().map(|m| m.period),
        sweep_points: scenario.sweep.as_ref().map(|s| s.len()),
    })
}

/// What `enos deploy --dry-run` shows: what the provider would reserve or create, then the
/// deploy steps.
#[derive(Debug, Clone)]
pub struct DryRun {
    /// What the provider would reserve or create, from the scenario alone.
    pub provision: ProvisionPlan,
    /// The deploy steps rendered on a made-up testbed (site i is 10.<i>.0.0/16, secrets are
    /// placeholders).
    pub steps: DeployPlan,
}

/// What a deploy of the scenario `file` would do, without doing it: the provider's
/// reservations and creations ([`enos_provider::Provider::plan`], no credentials read, nothing
/// asked of the testbed), and the deploy steps rendered on a made-up testbed.
pub fn dry_run(providers: &Providers, file: &Path) -> Result<DryRun, Error> {
    let (scenario, _) = load(providers, file)?;
    let provision = providers.get(provider_name(&scenario))?.plan(&scenario)?;
    Ok(DryRun {
        provision,
        steps: steps::example_plan(&scenario)?,
    })
}

/// An EnOS reservation converted into a scenario: its text and the settings that did not carry
/// over as they were.
pub use enos_import::{ImportWarning, Imported};

/// Reads the EnOS reservation `file` (as scenarios are read: at most 1 MiB, UTF-8) and converts
/// it into a scenario (`enos import`); an error names the file, line, column and key.
pub fn import_reservation(file: &Path) -> Result<Imported, Error> {
    let source = enos_scenario::read_file(file)?;
    enos_import::convert(&source, &file.display().to_string()).map_err(|e| Error {
        message: e.to_string(),
        hint: None,
        preformatted: true,
    })
}

/// Writes the scenario `text` to `path` whole (atomically), refusing to replace a file that
/// exists unless `replace`.
pub fn write_scenario(path: &Path, text: &str, replace: bool) -> Result<(), Error> {
    if !replace && path.symlink_metadata().is_ok() {
        return Err(
            Error::new(format!("{} exists: nothing was written", path.display()))
                .hint("choose another file, or add --force to replace it"),
        );
    }
    enos_core::fsutil::write_atomic(path, text.as_bytes())
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))
}

/// The JSON Schema of scenario files, with the registered providers' options.
pub fn schema(providers: &Providers) -> serde_json::Value {
    enos_scenario::json_schema(&providers.kinds())
}

/// A duration as scenarios write it: `1s`, `250ms`, `2m`.
pub fn span_text(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    match ms {
        ms if ms % 60_000 == 0 && ms > 0 => format!("{}m", ms / 60_000),
        ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    }
}
