//! The tests of enos-provider-openstack.
