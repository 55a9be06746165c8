//! The providers a binary registers: looked up by the name a scenario gives.

use std::sync::Arc;

use enos_provider::{Daemon, Provider, ProviderKind};

use crate::Error;

/// The registered providers.
#[derive(Default, Clone)]
pub struct Providers {
    providers: Vec<Arc<dyn Provider>>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Providers {
    /// No provider.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `provider`, replacing one of the same name.
    pub fn register(mut self, provider: impl Provider + 'static) -> Self {
        self.providers.retain(|p| p.name() != provider.name());
        self.providers.push(Arc::new(provider));
        self
    }

    /// The provider called `name`.
    pub fn get(&self, name: &str) -> Result<Arc<dyn Provider>, Error> {
        self.providers
            .iter()
            .find(|p| p.name() == name)
            .cloned()
            .ok_or_else(|| {
                Error::new(format!(
                    "this enos has no provider '{name}'; it has {}",
                    self.names().join(", ")
                ))
            })
    }

    /// The names of the registered providers, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.providers.iter().map(|p| p.name()).collect()
    }

    /// Every registered provider.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Provider>> {
        self.providers.iter()
    }

    /// The scenario side of every provider: how a scenario's `provider:` options are checked.
    pub fn kinds(&self) -> Vec<&dyn ProviderKind> {
        self.providers
            .iter()
            .map(|p| p.as_ref() as &dyn ProviderKind)
            .collect()
    }

    /// The daemons of every provider, for the binary's hidden `daemon` subcommand.
    pub fn daemons(&self) -> Vec<Daemon> {
        self.providers.iter().flat_map(|p| p.daemons()).collect()
    }
}
