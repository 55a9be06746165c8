//! Tests of enos-provider-openstack: one test binary, one module per area, against a fake
//! cloud (`fake`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

mod deploy;
mod failures;
mod fake;
mod lease;
mod options;
mod plan;
mod sdk;
mod support;
