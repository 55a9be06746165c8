//! The probes' tests, in one binary: each probe's parser on outputs the tool really prints.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fping;
mod iperf3;
