//! Integration tests of the `enos` binary: one test binary, modules per area, shared helpers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

mod all_in_one;
mod bench;
mod cli;
mod common;
mod deploy;
mod egress;
mod layering;
mod masters;
mod metrics;
mod openstack;
mod remote;
mod scale;
mod stacks;
mod static_hosts;
mod testbed;
mod wan;
