//! The integration tests of enos-wan, one binary.

mod resolve;
mod tc;
mod validate;
