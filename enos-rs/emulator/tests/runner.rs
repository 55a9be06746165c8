//! The integration tests of enos-emulator, one binary. They need root: each test builds its
//! own network namespaces, runs an emulator between them and measures what goes through.
#![allow(clippy::print_stdout)]

mod common;
mod control;
mod fabric;
mod shaping;
