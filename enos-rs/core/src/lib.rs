//! The core of enos-rs: experiment state, the results layout, the testbed a provider hands back,
//! and the reporter seam.
//!
//! The core does no network I/O and never writes to the terminal: providers and the
//! remote-execution crate talk to hosts, the `enos` binary talks to people.
#![warn(missing_docs)]

pub mod experiment;
pub mod fsutil;
pub mod layout;
pub mod report;
pub mod ssh;
pub mod state;
pub mod testbed;

pub use experiment::{Experiment, Opened, StateError, read_state};
pub use report::{NullReporter, Reporter, TaskId};
pub use state::{ExperimentState, Phase};
pub use testbed::{Become, Host, HostKeySource, Jump, SiteNetwork, SshAccess, Testbed};
