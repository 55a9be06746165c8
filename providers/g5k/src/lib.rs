//! The Grid'5000 provider of enos-rs: OAR jobs, kadeploy and kavlan through the Grid'5000 REST API
#![warn(missing_docs)]
