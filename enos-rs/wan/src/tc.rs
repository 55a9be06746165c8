//! The tc backend: EnOSlib's NetemHTB command plans, compiled from a [`crate::WanMatrix`].
//!
//! Per source interface: an HTB root (`handle 1:`); per destination address number `idx` (from
//! 0, in matrix order): an HTB class `1:{idx+1}` with the rate, a netem leaf `{idx+10}:` with the
//! delay and loss, and a u32 filter on the destination. The strings are EnOSlib's, byte for byte.
//! Two extensions: jitter is netem's second delay argument (`delay 10ms 2ms`), and a shape with
//! nothing for netem to do (rate only) gets no netem leaf, so rate limits work on kernels
//! without netem. tc reads class minors and handles as hex: the decimal strings stay distinct up
//! to `idx + 10 = 9999`, hence [`MAX_DESTINATIONS`].
//!
//! [`apply_script`] and [`reset_script`] make one shell script per host (one SSH round trip).
//! Apply refuses, changing nothing, when an interface has a root qdisc that is neither the
//! kernel's default nor one enos installed (marked under `/run/enos-tc/`); reset removes only
//! what enos installed, which gives the interface back its default root.

use std::net::IpAddr;

use crate::{LinkShape, WanMatrix};

/// The most destinations one interface can have.
pub const MAX_DESTINATIONS: usize = 9990;
/// Where apply scripts mark the interfaces they shaped.
pub const MARKER_DIR: &str = "/run/enos-tc";

/// Why a tc plan or script cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TcError {
    /// A source host has no interface.
    #[error("no interface is known for host {0}")]
    NoDevice(String),
    /// Too many destinations on one interface.
    #[error(
        "{host} has {count} destinations on {device}, at most {MAX_DESTINATIONS} are supported"
    )]
    TooManyDestinations {
        /// The host.
        host: String,
        /// The interface.
        device: String,
        /// How many destinations.
        count: usize,
    },
    /// A name that is not safe in a shell script.
    #[error(
        "'{0}' is not a valid interface or owner name ([A-Za-z0-9._@-], at most 15 characters for interfaces)"
    )]
    BadName(String),
}

/// One destination of one interface: EnOSlib's `HTBConstraint`.
#[derive(Debug, Clone, PartialEq)]
pub struct HtbConstraint {
    /// The source interface.
    pub device: String,
    /// The destination address.
    pub target: IpAddr,
    /// The shape towards it.
    pub shape: LinkShape,
}

impl HtbConstraint {
    /// Removes everything on the interface: `tc qdisc del dev D root || true`.
    pub fn remove_commands(&self) -> Vec<String> {
        vec![format!("tc qdisc del dev {} root || true", self.device)]
    }

    /// The classful root: `tc qdisc add dev D root handle 1: htb`.
    pub fn add_commands(&self) -> Vec<String> {
        vec![format!(
            "tc qdisc add dev {} root handle 1: htb",
            self.device
        )]
    }

    /// The class, netem leaf and filter of destination number `idx`.
    pub fn commands(&self, idx: usize) -> Vec<String> {
        let d = &self.device;
        let s = &self.shape;
        let mut cmds = vec![format!(
            "tc class add dev {d} parent 1: classid 1:{} htb rate {}",
            idx + 1,
            s.rate
        )];
        if s.needs_netem() {
            let mut netem = format!(
                "tc qdisc add dev {d} parent 1:{} handle {}: netem delay {}",
                idx + 1,
                idx + 10,
                s.delay
            );
            if !s.jitter.0.is_zero() {
                netem.push_str(&format!(" {}", s.jitter));
            }
            if s.loss.percent() > 0.0 {
                netem.push_str(&format!(" loss {}", s.loss));
            }
            cmds.push(netem);
        }
        cmds.push(match self.target {
            IpAddr::V4(ip) => format!(
                "tc filter add dev {d} parent 1: protocol ip u32 match ip dst {ip} flowid 1:{}",
                idx + 1
            ),
            IpAddr::V6(ip) => format!(
                "tc filter add dev {d} parent 1: protocol ipv6 u32 match ip6 dst {ip} flowid 1:{}",
                idx + 1
            ),
        });
        cmds
    }
}

/// Everything one interface of one host needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceTcPlan {
    /// The interface.
    pub device: String,
    /// Commands removing earlier shaping.
    pub remove: Vec<String>,
    /// The root qdisc.
    pub add: Vec<String>,
    /// Classes, leaves and filters.
    pub commands: Vec<String>,
}

/// Everything one host needs.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTcPlan {
    /// The host.
    pub host: String,
    /// Its interfaces.
    pub devices: Vec<DeviceTcPlan>,
}

/// The tc plan of `matrix`: one entry per source host, in the order of [`WanMatrix::pairs`];
/// `device_of` gives a host's interface.
pub fn plan(
    matrix: &WanMatrix,
    device_of: impl Fn(&str) -> Option<String>,
) -> Result<Vec<HostTcPlan>, TcError> {
    let mut plans: Vec<HostTcPlan> = Vec::new();
    // Destinations so far on each interface of the last host.
    let mut counts: Vec<usize> = Vec::new();
    for pair in matrix.pairs() {
        if plans.last().is_none_or(|p| p.host != pair.src) {
            plans.push(HostTcPlan {
                host: pair.src.to_owned(),
                devices: Vec::new(),
            });
            counts.clear();
        }
        let Some(host) = plans.last_mut() else {
            continue;
        };
        let device = device_of(pair.src).ok_or_else(|| TcError::NoDevice(pair.src.to_owned()))?;
        check_name(&device, 15)?;
        let position = match host.devices.iter().position(|d| d.device == device) {
            Some(position) => position,
            None => {
                host.devices.push(DeviceTcPlan {
                    device: device.clone(),
                    remove: Vec::new(),
                    add: Vec::new(),
                    commands: Vec::new(),
                });
                counts.push(0);
                host.devices.len() - 1
            }
        };
        let (Some(entry), Some(count)) = (host.devices.get_mut(position), counts.get_mut(position))
        else {
            continue;
        };
        let constraint = HtbConstraint {
            device: device.clone(),
            target: pair.dst_address,
            shape: *pair.shape,
        };
        let idx = *count;
        if idx >= MAX_DESTINATIONS {
            return Err(TcError::TooManyDestinations {
                host: host.host.clone(),
                device,
                count: idx + 1,
            });
        }
        if idx == 0 {
            entry.remove = constraint.remove_commands();
            entry.add = constraint.add_commands();
        }
        entry.commands.extend(constraint.commands(idx));
        *count += 1;
    }
    Ok(plans)
}

/// Interface and owner names go into shell scripts: only `[A-Za-z0-9._@-]`.
fn check_name(name: &str, max: usize) -> Result<(), TcError> {
    let ok = !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
    if ok {
        Ok(())
    } else {
        Err(TcError::BadName(name.to_owned()))
    }
}

/// The shell check that `$dev` has a default root qdisc or one of ours; exits 3 otherwise.
fn guard(device: &str) -> String {
    format!(
        "root=$(tc qdisc show dev {device} root) || exit 3\n\
         case \"$root\" in\n  \
         *' 0: '*|'') ;;\n  \
         *) [ -e {MARKER_DIR}/{device} ] || {{ echo \"{device} has a root qdisc enos did not install: $root\" >&2; exit 3; }} ;;\n\
         esac\n"
    )
}

/// A POSIX sh script applying `plan` on its host in one go; `owner` is written in the markers.
///
/// Every interface is checked before any is changed. Then, per interface: our old root is
/// removed, the marker is written, and the new tree goes through `tc -batch` (a tree that fails
/// halfway stays marked, so a reset removes it).
pub fn apply_script(plan: &HostTcPlan, owner: &str) -> Result<String, TcError> {
    check_name(owner, 64)?;
    let mut script = String::from("set -e\n");
    for d in &plan.devices {
        check_name(&d.device, 15)?;
        script.push_str(&guard(&d.device));
    }
    script.push_str(&format!("mkdir -p {MARKER_DIR}\n"));
    for d in &plan.devices {
        let dev = &d.device;
        // Marked before the new tree goes in: a tree that fails halfway (a qdisc the kernel
        // lacks) is still ours, and a reset removes it.
        script.push_str(&format!(
            "tc qdisc del dev {dev} root 2>/dev/null || true\necho {owner} > {MARKER_DIR}/{dev}\n\
             tc -batch - <<'ENOS_TC'\n"
        ));
        for command in d.add.iter().chain(&d.commands) {
            script.push_str(command.strip_prefix("tc ").unwrap_or(command));
            script.push('\n');
        }
        script.push_str("ENOS_TC\n");
    }
    Ok(script)
}

/// A POSIX sh script removing what enos installed on `devices`, and only that.
pub fn reset_script(devices: &[String]) -> Result<String, TcError> {
    let mut script = String::new();
    for dev in devices {
        check_name(dev, 15)?;
        script.push_str(&format!(
            "if [ -e {MARKER_DIR}/{dev} ]; then tc qdisc del dev {dev} root 2>/dev/null || true; rm -f {MARKER_DIR}/{dev}; fi\n"
        ));
    }
    script.push_str("true\n");
    Ok(script)
}

/// Ingress shaping through an IFB: what to run on `device` to shape incoming traffic as
/// `shape`, redirecting it to `ifb`.
pub fn ingress_commands(
    device: &str,
    ifb: &str,
    shape: &LinkShape,
) -> Result<Vec<String>, TcError> {
    check_name(device, 15)?;
    check_name(ifb, 15)?;
    let mut cmds = vec![
        format!("tc qdisc add dev {device} ingress"),
        format!("ip link add {ifb} type ifb"),
        format!("ip link set dev {ifb} up"),
        format!(
            "tc filter add dev {device} parent ffff: protocol ip u32 match u32 0 0 action mirred egress redirect dev {ifb}"
        ),
    ];
    if shape.needs_netem() {
        let mut netem = format!("tc qdisc add dev {ifb} root netem delay {}", shape.delay);
        if !shape.jitter.0.is_zero() {
            netem.push_str(&format!(" {}", shape.jitter));
        }
        if shape.loss.percent() > 0.0 {
            netem.push_str(&format!(" loss {}", shape.loss));
        }
        netem.push_str(&format!(" rate {}", shape.rate));
        cmds.push(netem);
    } else {
        cmds.push(format!(
            "tc qdisc add dev {ifb} root handle 1: htb default 1"
        ));
        cmds.push(format!(
            "tc class add dev {ifb} parent 1: classid 1:1 htb rate {}",
            shape.rate
        ));
    }
    Ok(cmds)
}
