//! The system crate's tests: rates from made-up /proc and /sys trees with known counters, and
//! one pair of snapshots of this machine's own /proc.

mod fixtures;
mod live;
mod rates;
