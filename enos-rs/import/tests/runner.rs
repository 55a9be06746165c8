//! The tests of enos-import: one test binary, one module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

mod common;
mod convert;
mod errors;
mod garbage;
mod warnings;
