//! The core of enos-rs: experiment state, results directories, the provider and reporter seams,
//! and inventories.
//!
//! The core does no network I/O and never writes to the terminal: providers and the
//! remote-execution crate talk to hosts, the `enos` binary talks to people.
#![warn(missing_docs)]

pub mod experiment;
pub mod fsutil;
pub mod inventory;
pub mod provider;
pub mod report;
pub mod ssh;
pub mod state;
pub mod testbed;

pub use experiment::{Experiment, Opened, StateError};
pub use provider::{Provider, ProviderError, WanMethod};
pub use report::{NullReporter, Reporter, TaskId};
pub use state::{ExperimentState, Phase};
pub use testbed::{Become, Host, HostKeySource, Jump, SiteNetwork, SshAccess, Testbed};
