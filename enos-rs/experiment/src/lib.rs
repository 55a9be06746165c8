//! The experiment library of enos-rs: the lifecycle of a run, what the `enos` binary calls.
//!
//! Each operation — [`validate`], [`dry_run`], [`deploy()`], [`exec()`], [`tc_apply`],
//! [`tc_validate`], [`tc_reset`], [`bench()`], [`metrics_start`], [`metrics_stop`],
//! [`backup()`], [`info()`], [`inventory()`], [`extend()`], [`destroy()`] — takes the
//! registered [`Providers`] where it needs them and a `&dyn Reporter` for progress, and returns
//! a typed outcome or an [`Error`]; nothing here prints or picks an exit code. A command opens
//! one fleet of SSH masters (a [`Session`]) that all its phases share.
//!
//! Where things are written under an experiment's directory is named in
//! [`enos_core::layout`]; the record types written there, with their versions, are in
//! [`records`]. The measuring commands and their parsers are in `enos_probes`.
#![warn(missing_docs)]

pub mod backup;
pub mod bench;
pub mod bundle;
pub mod deploy;
mod error;
pub mod exec;
pub mod info;
mod kwollect;
pub mod ledger;
pub mod metrics;
mod program;
pub mod records;
pub mod registry;
pub mod run;
pub mod scenario;
pub mod session;
pub mod steps;
pub mod stream;
pub mod sweep;
pub mod teardown;
pub mod wan;

use std::sync::Arc;

use enos_core::Experiment;
use enos_provider::Provider;

pub use enos_core::{ExperimentState, Host, NullReporter, Reporter, TaskId};
pub use enos_inventory::InventoryFormat;
pub use enos_remote::CommandOutput;

/// The types of a deploy plan and of a deploy report, as the deploy engine defines them.
pub mod deploy_report {
    pub use enos_deploy::report::StepReport;
    pub use enos_deploy::{DeployPlan, DeployReport, Outcome, Status};
}

pub use backup::{BackupRun, backup};
pub use bench::{BenchRequest, BenchRun, RunStatus, bench};
pub use deploy::{DeployRequest, DeployRun, Deployed, deploy};
pub use error::Error;
pub use exec::{ExecRequest, ExecRun, HostOutcome, exec};
pub use info::{Info, info, inventory};
pub use metrics::{MetricsRun, metrics_start, metrics_stop};
pub use registry::Providers;
pub use run::{RunOutcome, RunRequest, RunVerdict, run};
pub use scenario::{DryRun, Validated, dry_run, load, schema, validate};
pub use session::Session;
pub use steps::StepsRun;
pub use sweep::{SweepOutcome, SweepPlan, SweepRequest, sweep};
pub use teardown::{Destroyed, destroy, extend};
pub use wan::{
    ApplyRequest, TcApplied, Validation, ValidationOptions, tc_apply, tc_reset, tc_validate,
};

/// The directory of the experiment `location` designates (a results root's `current` link
/// followed), once it opens as an experiment.
pub fn results_dir(location: &std::path::Path) -> Result<std::path::PathBuf, Error> {
    Ok(Experiment::open(location)?.dir().to_owned())
}

/// The provider of the experiment, among those registered.
pub(crate) fn provider_of(
    providers: &Providers,
    experiment: &Experiment,
) -> Result<Arc<dyn Provider>, Error> {
    providers.get(scenario::provider_name(&experiment.state().scenario))
}

#[cfg(test)]
pub(crate) mod testing {
    #![allow(clippy::unwrap_used)]

    use std::net::{IpAddr, Ipv4Addr};

    use enos_wan::WanHost;

    /// Hosts named `<site>-<n>` with addresses 10.0.0.1, 10.0.0.2, … in order.
    pub(crate) fn hosts(names: &[&str]) -> Vec<WanHost> {
        names
            .iter()
            .zip(1u8..)
            .map(|(name, i)| WanHost {
                name: (*name).to_owned(),
                site: name.split('-').next().unwrap().to_owned(),
                role: "node".to_owned(),
                address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)),
            })
            .collect()
    }
}
