//! The energy crate's tests: RAPL counters and their wraps, zones read from a powercap tree, and
//! the power models.

mod model;
mod rapl;
