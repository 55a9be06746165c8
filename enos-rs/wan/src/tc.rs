//! The tc backend: EnOSlib's NetemHTB command plans, compiled from a [`crate::WanMatrix`].
