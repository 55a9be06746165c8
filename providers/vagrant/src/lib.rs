//! The Vagrant provider: a VM per host of the scenario, from a Vagrantfile that enos writes, on
//! libvirt (with the vagrant-libvirt plugin) or VirtualBox.
//!
//! ```yaml
//! provider:
//!   vagrant:
//!     backend: libvirt          # libvirt (default) | virtualbox
//!     box: generic/debian12     # default
//!     flavour: tiny             # every role's, unless `flavours` names the role
//!     flavours: {control: extra-large, compute: {cpus: 2, memory: 3072}}
//!     subnet: 192.168.56.0/21   # default: a /24 per site, VMs from .10
//! sites:
//!   paris: {roles: {control: 1, compute: 2}}
//! ```
//!
//! The options' model is [`VagrantOptions`], their checks the scenario parser's
//! [`ProviderKind`] ([`VagrantKind`]), and [`options`] reads them back from an experiment's
//! state. The provider itself is [`VagrantProvider`], which runs Vagrant as its
//! [`VagrantConfig`] says: `deploy` writes the Vagrantfile ([`render`]) into the experiment's
//! `vagrant/` directory, records it in the experiment's state, runs `vagrant up` there and reads
//! `vagrant ssh-config`; `destroy` runs `vagrant destroy -f`. Each VM is reached as root with the
//! experiment's key, which a shell provisioner adds to root's `authorized_keys`; its address in
//! the testbed is the one on the experiment's private network, where tc shapes the WAN.
#![warn(missing_docs)]

mod command;
mod layout;
mod options;
mod output;
mod provider;
mod vagrantfile;

pub use command::VagrantConfig;
pub use layout::{Layout, Machine, SiteBlock, layout};
pub use options::{
    Backend, DEFAULT_BOX, DEFAULT_FLAVOUR, DEFAULT_SUBNET, FIRST_HOST_BYTE, FLAVOURS, Flavour,
    MAX_CPUS, MAX_HOSTS_PER_SITE, MAX_MEMORY_MIB, MIN_MEMORY_MIB, VagrantKind, VagrantOptions,
    options,
};
pub use output::{SshEntry, lists_libvirt_plugin, parse_ssh_config, parse_status};
pub use provider::{VAGRANT_DIR, VAGRANT_LOG, VagrantProvider};
pub use vagrantfile::{VAGRANTFILE, domain_prefix, render, ruby_literal};

#[doc(no_inline)]
pub use enos_scenario::ProviderKind;
