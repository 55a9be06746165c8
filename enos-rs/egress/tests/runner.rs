//! Integration tests of the egress proxy.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod access;
mod cache;
mod common;
mod forward;
mod tunnel;
