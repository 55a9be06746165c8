//! The tests of enos-provider-vagrant.
