//! Tests of the deploy engine: one test binary, modules per area, shared helpers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

mod common;
mod facts;
mod plan;
mod scripts;
mod stacks;
