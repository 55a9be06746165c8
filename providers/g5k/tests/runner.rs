//! The tests of enos-provider-g5k.
