//! WAN emulation of enos-rs: from a scenario's `network` section to what each host must do.
//!
//! [`resolve`] turns the constraints and the testbed's hosts into a [`WanMatrix`]: classes of
//! hosts no selector tells apart, and one [`LinkShape`] per shaped pair of classes, so its size
//! grows with the distinct constraints, not with the square of the hosts. [`WanMatrix::pairs`]
//! expands it into one shape per (source host, destination address). [`tc`] compiles that into
//! the tc commands of EnOSlib's NetemHTB for hosts whose kernel has netem; [`validate`] plans the
//! measurements (a sample of pairs on large testbeds) and compares what was measured with what
//! was asked. Nothing here does I/O.
#![warn(missing_docs)]

mod matrix;

pub use enos_scenario::{ShapeChange, parse_change};
pub use matrix::{
    ClassMember, ClassShape, HostClass, LinkShape, MatrixIndex, PairShape, PairView, Pairs,
    WanHost, WanMatrix,
};
pub use patch::apply_change;
pub use resolve::{is_neutral, resolve};
mod patch;
mod resolve;
mod sample;
pub mod tc;
pub mod validate;
