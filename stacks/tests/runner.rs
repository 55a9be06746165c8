//! The built-in stacks' tests, in one binary.
#![allow(clippy::unwrap_used, missing_docs)]

mod files;
