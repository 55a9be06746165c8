//! The tests of enos-import.
