//! Converts EnOS reservation files into enos-rs scenarios
#![warn(missing_docs)]
