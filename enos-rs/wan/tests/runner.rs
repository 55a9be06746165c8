//! The integration tests of enos-wan, one binary.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod patch;
mod resolve;
mod tc;
mod validate;
