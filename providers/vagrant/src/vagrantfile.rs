//! The Vagrantfile, rendered from a minijinja template (`Vagrantfile.j2`): one
//! `config.vm.define` per host, its hostname and address, the backend's block with its CPUs and
//! memory, and a shell provisioner that lets root log in with the experiment's key.
//!
//! Every text reaches the Ruby code as a single-quoted literal ([`ruby_literal`]), so no value
//! can end the string it is in.

use minijinja::{Environment, context};
use serde::Serialize;

use crate::layout::Layout;
use crate::options::VagrantOptions;

const TEMPLATE: &str = include_str!("Vagrantfile.j2");

/// The name of the Vagrantfile, in the experiment's `vagrant/` directory.
pub const VAGRANTFILE: &str = "Vagrantfile";

/// What the template sees of a VM.
#[derive(Serialize)]
struct MachineView<'a> {
    name: &'a str,
    site: &'a str,
    role: &'a str,
    address: String,
    cpus: u32,
    memory: u32,
    flavour: String,
}

/// The prefix of the libvirt domains of `experiment` (vagrant-libvirt adds `_`, the machine's
/// name and a random suffix).
pub fn domain_prefix(experiment: &str) -> String {
    format!("enos-{experiment}")
}

/// The Vagrantfile of `layout` for the experiment `experiment`, whose VMs let root in with
/// `public_key` (an OpenSSH public key line).
pub fn render(
    experiment: &str,
    layout: &Layout,
    options: &VagrantOptions,
    public_key: &str,
) -> Result<String, String> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.add_filter("ruby", |text: String| ruby_literal(&text));
    env.add_template(VAGRANTFILE, TEMPLATE)
        .map_err(|e| format!("the Vagrantfile template: {e}"))?;
    let machines: Vec<MachineView<'_>> = layout
        .machines
        .iter()
        .map(|m| MachineView {
            name: &m.name,
            site: &m.site,
            role: &m.role,
            address: m.address.to_string(),
            cpus: m.cpus,
            memory: m.memory,
            flavour: options.flavour_of(&m.role).label(),
        })
        .collect();
    let template = env
        .get_template(VAGRANTFILE)
        .map_err(|e| format!("the Vagrantfile template: {e}"))?;
    template
        .render(context! {
            experiment => experiment,
            backend => options.backend.name(),
            box => &options.vagrant_box,
            public_key => public_key.trim(),
            prefix => domain_prefix(experiment),
            netmask => layout.network.netmask().to_string(),
            machines => machines,
        })
        .map_err(|e| format!("cannot render the Vagrantfile: {e}"))
}

/// `text` as a single-quoted Ruby string literal: only `\` and `'` are special there.
pub fn ruby_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if matches!(c, '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruby_literals_cannot_be_escaped_from() {
        assert_eq!(ruby_literal("generic/debian12"), "'generic/debian12'");
        assert_eq!(ruby_literal(r"a'b\c"), r"'a\'b\\c'");
        assert_eq!(ruby_literal("#{`id`}"), "'#{`id`}'");
    }
}
