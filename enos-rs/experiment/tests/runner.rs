//! The experiment library's tests, in one binary.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod records;
