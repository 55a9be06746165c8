//! The Vagrant provider of enos-rs: VMs from a generated Vagrantfile (libvirt or VirtualBox)
#![warn(missing_docs)]
