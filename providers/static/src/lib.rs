//! The static provider: hosts that already exist (machines, VMs, containers), listed in the
//! scenario with how to reach them over SSH.
//!
//! ```yaml
//! provider:
//!   static:
//!     known_hosts: known_hosts          # optional: pinned host keys (else learnt on first contact)
//!     hosts:                            # or `hosts: hosts.yaml`, the same list in a file
//!       - {address: 10.0.0.11, site: paris, roles: [server]}
//!       - {address: 10.0.0.12, site: paris, roles: [client], user: debian, port: 2222}
//!       - {address: lyon-1.lan, site: lyon, roles: [client], jump: admin@gw.example.org:22}
//! ```
//!
//! The hosts define the scenario's sites and roles (one role per host), so
//! `sites:` may be left out; when it is written it must say the same. Hosts are named
//! `<site>-<role>-<n>` after their first role unless they have a `name`.
//!
//! The options' model is [`StaticOptions`], their checks the scenario parser's [`ProviderKind`]
//! ([`StaticKind`]), and [`options`] reads them back from an experiment's state. The provider
//! itself is [`StaticProvider`]: its testbed is the hosts as listed, each reached as it says
//! (user, port, key, jump host, `sudo -n` for root), their keys pinned from `known_hosts` or
//! learnt on first contact. `destroy` removes nothing of theirs and powers nothing off: the
//! experiment undoes its shaping and the services its steps started.
#![warn(missing_docs)]

mod check;
mod model;
mod provider;

pub use check::{MAX_HOST_NAME_LEN, StaticKind};
pub use model::{Become, Jump, StaticHost, StaticOptions, options};
pub use provider::{StaticProvider, control_dir};

#[doc(no_inline)]
pub use enos_scenario::ProviderKind;
