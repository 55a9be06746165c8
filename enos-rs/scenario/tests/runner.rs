//! Tests of the scenario format: one test binary, one module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use enos_scenario::{ProviderKind, UncheckedKind};

/// The provider kinds these tests register: `local`, taking its options unchecked (the local
/// provider's crate checks them, and its tests the messages).
const KINDS: &[&dyn ProviderKind] = &[&UncheckedKind("local")];

mod bench;
mod examples;
mod invalid;
mod metrics;
mod model;
mod providers;
mod robustness;
