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
//! The hosts define the scenario's sites and roles (a host with two roles counts in both), so
//! `sites:` may be left out; when it is written it must say the same. Hosts are named
//! `<site>-<role>-<n>` after their first role unless they have a `name`.
//!
//! For now this crate holds the provider's options: their model ([`StaticOptions`]), their checks
//! as the scenario parser's [`ProviderKind`] ([`StaticKind`]), and [`options`] to read them back
//! from an experiment's state.
#![warn(missing_docs)]

mod check;
mod model;

pub use check::{MAX_HOST_NAME_LEN, StaticKind};
pub use model::{Become, Jump, StaticHost, StaticOptions, options};

#[doc(no_inline)]
pub use enos_scenario::ProviderKind;
