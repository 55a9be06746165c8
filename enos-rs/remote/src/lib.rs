//! Remote execution for enos-rs: run commands and transfer files on many hosts over OpenSSH.
//!
//! Hosts are reached through the OpenSSH client configuration a provider writes (`ssh -F <file>
//! <alias>` works from a shell), with host keys pinned and checked strictly. Each host gets one
//! multiplexed master connection whose control socket sits at a stable path in a control
//! directory, so that later processes reuse it instead of logging in again; [`close_all`] shuts
//! them all down.
//!
//! ```no_run
//! # async fn example() {
//! use std::time::Duration;
//! use enos_core::NullReporter;
//! use enos_remote::{Fleet, RemoteConfig, Target};
//!
//! let config = RemoteConfig::new("results/ssh_config", "/run/enos/ab12/ssh");
//! let targets = vec![Target::new("paris-1"), Target::new("nantes-1")];
//! let (fleet, unreachable) = Fleet::connect(config, targets, &NullReporter).await;
//! for result in fleet.run("uname -r", Duration::from_secs(30), &NullReporter).await {
//!     match result.outcome {
//!         Ok(output) => { /* output.exit, output.stdout_text(), ... */ }
//!         Err(error) => { /* unreachable, timed out, ... */ }
//!     }
//! }
//! # }
//! ```
//!
//! # The control directory
//!
//! [`RemoteConfig::control_dir`] holds `<alias>.sock` (each master's control socket),
//! `<alias>.log` (what the master logged) and `<alias>.lock` per host. Every process working on
//! the same hosts must use the same directory, one per experiment. It must be short, because
//! Unix socket paths are: at most [`MAX_CONTROL_DIR_LEN`] bytes once absolute (a longer one
//! fails every host with [`RemoteError::ControlDir`]). It should be private to the user and on
//! a local file system: something like `/run/enos/<experiment prefix>/ssh`, or
//! `$XDG_RUNTIME_DIR/enos/<id>`, rather than a results directory deep in a project tree.
//!
//! Operations run on at most [`RemoteConfig::parallelism`] hosts at once, each with its own time
//! limit, and return one [`HostResult`] per host in the order of the targets: a failed or
//! unreachable host never hides the others' results. Progress goes to an
//! [`enos_core::Reporter`]: one task per operation, one step per host. The library never prints
//! and never panics on bad input.
#![warn(missing_docs)]

mod error;
mod fleet;
mod master;
mod session;
mod transfer;
mod types;

pub use bytes::Bytes;
pub use error::RemoteError;
pub use fleet::{Fleet, LineSink};
pub use master::{MAX_CONTROL_DIR_LEN, close_all};
pub use transfer::FetchedFile;
pub use types::{
    CommandOutput, Exit, HostCommand, HostFailure, HostKeyCheck, HostResult, RemoteConfig, Target,
};
