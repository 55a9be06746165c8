//! The tests of enos-provider-vagrant: one test binary, one module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

mod common;
mod deploy;
mod options;
mod plan;
mod validate;
