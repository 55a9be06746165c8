//! The provider seam: what every testbed (local, Grid'5000, Vagrant, OpenStack, static hosts)
//! implements.
//!
//! A provider turns a validated scenario into a [`Testbed`] (hosts, networks, SSH access) and
//! removes everything it created on `destroy`. It records its own handles in the experiment's
//! `provider_state` and saves the state after every step, so that `destroy` works after a crash.

use enos_wan::WanMatrix;
use serde::{Deserialize, Serialize};

use crate::experiment::{Experiment, StateError};
use crate::report::Reporter;
use crate::testbed::Testbed;

/// A failure of a provider, with an optional hint for the person running the command.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// What went wrong.
    pub message: String,
    /// What to do about it, when there is something to say.
    pub hint: Option<String>,
}

impl ProviderError {
    /// An error with `message` and no hint.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<StateError> for ProviderError {
    fn from(e: StateError) -> Self {
        ProviderError::new(e.to_string())
    }
}

/// How a testbed shapes the traffic between its hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WanMethod {
    /// HTB and netem qdiscs on each host's `device`, applied over SSH (EnOSlib's NetemHTB).
    Tc {
        /// The hosts' interface on the experiment network.
        device: String,
    },
    /// The provider's own emulator, driven through [`Provider::shape_wan`].
    Emulator {
        /// Why, and how, in a few words for `enos info`.
        description: String,
    },
}

/// A testbed provider.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// The provider's name as written in scenarios, e.g. `local`.
    fn name(&self) -> &'static str;

    /// Checks that this machine can run the provider (privileges, programs, credentials) before
    /// anything is created.
    async fn check(&self) -> Result<(), ProviderError>;

    /// Brings the experiment's testbed up, or completes a half-made one; a testbed that is already
    /// up is left as it is. Saves progress in the experiment's state as it goes.
    async fn deploy(
        &self,
        experiment: &mut Experiment,
        reporter: &dyn Reporter,
    ) -> Result<Testbed, ProviderError>;

    /// Removes everything the experiment created, also after a crash or a half-finished deploy.
    async fn destroy(
        &self,
        experiment: &mut Experiment,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError>;

    /// How this testbed shapes the WAN: tc on the hosts, or the provider's own emulator.
    async fn wan_method(&self, experiment: &Experiment) -> Result<WanMethod, ProviderError>;

    /// Shapes traffic between the hosts as `matrix` asks, replacing what was shaped before (an
    /// empty matrix removes all shaping). Called only when [`Provider::wan_method`] is
    /// [`WanMethod::Emulator`].
    async fn shape_wan(
        &self,
        experiment: &mut Experiment,
        matrix: &WanMatrix,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError> {
        let _ = (experiment, matrix, reporter);
        Err(ProviderError::new(format!(
            "the {} provider has no emulator of its own: it shapes the WAN with tc",
            self.name()
        )))
    }

    /// Facts about the experiment's testbed worth showing in `enos info`, as (label, value) pairs.
    fn describe(&self, experiment: &Experiment) -> Vec<(String, String)>;
}
