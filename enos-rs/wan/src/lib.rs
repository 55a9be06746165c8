//! WAN emulation of enos-rs: from a scenario's `network` section to what each host must do.
//!
//! [`resolve`] turns the constraints and the testbed's hosts into a [`WanMatrix`], one
//! [`LinkShape`] per (source host, destination address). [`tc`] compiles that matrix into the tc
//! commands of EnOSlib's NetemHTB for hosts whose kernel has netem; [`validate`] compares what was
//! measured with what was asked. Nothing here does I/O.
#![warn(missing_docs)]

mod matrix;

pub use matrix::{LinkShape, PairShape, WanHost, WanMatrix};
pub use patch::{ShapeChange, apply_change, parse_change};
pub use resolve::{is_neutral, resolve};
mod patch;
mod resolve;
pub mod tc;
pub mod validate;
