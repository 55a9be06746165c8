//! The OpenStack provider of enos-rs: Nova servers on a cloud (Chameleon's included), reached
//! through one floating IP.
//!
//! ```yaml
//! provider:
//!   openstack:
//!     cloud: chameleon                 # optional: a clouds.yaml entry (else the OS_* environment)
//!     image: debian-12                 # required: name or id
//!     user: debian                     # required: the image's login user (sudo unless root)
//!     flavour: m1.small                # the flavour of every role…
//!     flavours: {control: m1.large}    # …unless it has its own
//!     network: {cidr: 10.87.0.0/24}    # made for the experiment, or {name: existing-net}
//!     lease: {create: {start: now, end: +4h}}   # Chameleon: or {reservation: <id>}
//!     sites: {paris: {availability_zone: nova}}
//! ```
//!
//! The options' model is [`OpenStackOptions`], their checks the scenario parser's
//! [`ProviderKind`] ([`OpenStackKind`], located errors and a JSON Schema), and [`options`] reads
//! them back from an experiment's state. The provider itself is [`OpenStackProvider`], run with
//! an [`OpenStackConfig`] (where credentials are read from, poll intervals and timeouts);
//! `OpenStackProvider::default()` reads the process's environment and the usual clouds.yaml
//! places.
//!
//! Credentials ([`Credentials`]) are Keystone v3: a password or an application credential,
//! from an openrc file's `OS_*` variables or a clouds.yaml entry. A deploy authenticates, makes
//! (or finds again, by the ids recorded or by name) a Blazar lease, a network, subnet and
//! router, a security group and a keypair, boots one server per host named after it, waits for
//! them, and puts one floating IP on the first host; the other hosts are reached through it
//! (SSH's `ProxyJump`). Every id is recorded in the experiment's `provider_state`
//! ([`OpenStackState`]) and saved right after its creation, so that `destroy` removes it after
//! a half-finished deploy too. Passwords, secrets and tokens are never logged, recorded or
//! shown.
#![warn(missing_docs)]

mod api;
mod check;
mod client;
mod credentials;
mod model;
mod provider;
mod state;
mod times;

pub use check::OpenStackKind;
pub use credentials::{Credentials, Domain, Method, Named, Secret, Source, default_search_dirs};
pub use model::{
    DEFAULT_CIDR, Lease, LeaseRequest, NetworkChoice, OpenStackOptions, SiteOptions, options,
};
pub use provider::{OpenStackConfig, OpenStackProvider, plan};
pub use state::{FloatingIp, Made, OpenStackState};

#[doc(no_inline)]
pub use enos_scenario::ProviderKind;
