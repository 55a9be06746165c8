//! Tests of the scenario format: one test binary, one module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

mod examples;
mod invalid;
mod model;
mod robustness;
