//! Resolution of the network section into a [`crate::WanMatrix`].
