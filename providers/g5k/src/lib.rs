//! The Grid'5000 provider of enos-rs: OAR jobs, kadeploy and kavlan through the Grid'5000 REST
//! API.
//!
//! ```yaml
//! provider:
//!   g5k:
//!     walltime: "02:00:00"
//!     env_name: debian12-min
//!     sites:
//!       paris: {site: rennes, cluster: paravance, min: {compute: 1}}
//!       lyon: {cluster: gros}          # the site from the built-in table of clusters
//! ```
//!
//! `deploy` submits one OAR job per Grid'5000 site (`POST /sites/{site}/jobs`) holding the
//! nodes of every scenario site mapped there (and a VLAN with `vlan`), or reuses the job
//! recorded in the experiment or the active job of the same name; waits until each runs;
//! installs the kadeploy environment with the experiment's key on the nodes
//! (`POST /sites/{site}/deployments`), trying the nodes that fail again; and hands back the
//! hosts, `<site>-<role>-<n>`, reached as root on the nodes (through `access.grid5000.fr` from
//! outside Grid'5000). A role may accept fewer hosts than asked (`min`). Every job and
//! deployment is recorded in the experiment's state ([`G5kState`]) as soon as it exists:
//! `destroy` deletes the jobs (`DELETE /sites/{site}/jobs/{uid}`) also after a half-finished
//! deploy, and `extend` asks OAR for more walltime.
//!
//! The options' model is [`G5kOptions`], their checks the scenario parser's [`ProviderKind`]
//! ([`G5kKind`]); the provider is [`G5kProvider`], configured by [`G5kConfig`] with what the
//! scenario does not say (the API URL, credentials, polling). Credentials ([`G5kCredentials`])
//! come from `G5K_USERNAME`/`G5K_PASSWORD` or `~/.python-grid5000.yaml` and go nowhere but the
//! `Authorization` header.
#![warn(missing_docs)]

mod allot;
mod api;
mod check;
mod clusters;
mod credentials;
mod options;
mod provider;
mod request;
mod state;

pub use check::G5kKind;
pub use clusters::{SITES, site_of};
pub use credentials::G5kCredentials;
pub use options::{
    DEFAULT_API_URL, DEFAULT_DEPLOY_RETRIES, DEFAULT_ENV_NAME, DEFAULT_WALLTIME, G5kOptions, Queue,
    SiteMapping, VlanKind, Walltime, options,
};
pub use provider::{
    ACCESS_HOST, G5kConfig, G5kProvider, NameResolution, PollBackoff, SYSTEM_CA_FILE, control_dir,
};
pub use request::JOB_COMMAND;
pub use state::{DeploymentRecord, G5kState, JobRecord};

#[doc(no_inline)]
pub use enos_scenario::ProviderKind;
