//! The integration tests of enos-wan, one binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

mod patch;
mod resolve;
mod tc;
mod validate;
