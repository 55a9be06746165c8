//! The tests of enos-provider-g5k: one test binary, one module per area. Deploys run against a
//! fake Grid'5000 API (`fake_g5k`); the python-grid5000 client is run against the same fake.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

mod common;
mod deploy;
mod failures;
mod fake_g5k;
mod options;
mod plan;
mod python_client;
