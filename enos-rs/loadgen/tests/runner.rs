//! Integration tests of the load generator, against a hyper server on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod errors;
mod open_loop;
mod output;
