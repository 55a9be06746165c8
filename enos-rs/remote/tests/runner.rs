//! Integration tests of enos-remote against a real OpenSSH server on the loopback addresses.
//!
//! They need root (to run sshd) and `/usr/sbin/sshd`: under CI their absence fails each test,
//! elsewhere each test is a recorded skip (see `enos_testkit`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    missing_docs
)]

mod access;
mod common;
mod masters;
mod run;
mod transfer;
