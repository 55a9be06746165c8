//! The measuring commands of enos-rs, each beside the parser of its output.
//!
//! A probe is a shell command run on a host over SSH and a function that reads what it printed.
//! WAN validation, benchmarks and collectors use the same ones, so a tool's flags and the parser
//! that depends on them never drift apart. Nothing here does I/O.
#![warn(missing_docs)]

pub mod fping;
pub mod iperf3;
