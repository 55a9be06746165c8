//! The integration tests of enos-wan, one binary.

mod patch;
mod resolve;
mod tc;
mod validate;
