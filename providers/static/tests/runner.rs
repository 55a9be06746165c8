//! Tests of the static provider's options: one test binary, one module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

mod options;
