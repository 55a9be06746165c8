//! The core of enos-rs: experiment state, results directories, the provider and reporter seams,
//! and inventories.
//!
//! The core does no network I/O: providers and the remote-execution crate do.
#![warn(missing_docs)]

pub mod report;

pub use report::{NullReporter, Reporter, TaskId};
