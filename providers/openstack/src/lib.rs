//! The OpenStack provider of enos-rs: Nova servers on a cloud, reached through one floating IP
#![warn(missing_docs)]
