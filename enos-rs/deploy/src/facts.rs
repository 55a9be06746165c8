//! Host facts: what each host says about itself (system, CPUs, memory, interfaces), gathered in
//! one command per host before anything is rendered.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// What a host said about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// Its hostname.
    pub hostname: String,
    /// `ID` of `/etc/os-release` (`debian`, `ubuntu`).
    pub os_id: String,
    /// `VERSION_ID` (`12`).
    pub os_version: String,
    /// `VERSION_CODENAME` (`bookworm`).
    pub os_codename: String,
    /// The machine architecture (`x86_64`).
    pub arch: String,
    /// Online CPUs.
    pub cpus: u32,
    /// Memory, in MiB.
    pub memory_mb: u64,
    /// Whether systemd runs the host (it manages services), or not (a container, a local host).
    pub systemd: bool,
    /// Its IPv4 interfaces.
    pub interfaces: Vec<Interface>,
}

/// An interface and one of its IPv4 addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// The interface's name (`eth0`).
    pub name: String,
    /// The address.
    pub address: String,
    /// The prefix length.
    pub prefix: u8,
}

impl Facts {
    /// The interface holding `address`, if any.
    pub fn interface_of(&self, address: IpAddr) -> Option<&str> {
        let address = address.to_string();
        self.interfaces
            .iter()
            .find(|i| i.address == address)
            .map(|i| i.name.as_str())
    }

    /// The facts of a typical Debian 12 host with one interface, `eth0`, holding `address`:
    /// what plans are rendered with before a testbed exists (`enos validate`, golden tests).
    pub fn example(hostname: &str, address: IpAddr) -> Facts {
        Facts {
            hostname: hostname.to_owned(),
            os_id: "debian".to_owned(),
            os_version: "12".to_owned(),
            os_codename: "bookworm".to_owned(),
            arch: "x86_64".to_owned(),
            cpus: 2,
            memory_mb: 4096,
            systemd: true,
            interfaces: vec![Interface {
                name: "eth0".to_owned(),
                address: address.to_string(),
                prefix: 24,
            }],
        }
    }
}

/// The command that prints a host's facts, one `key=value` per line (interfaces as
/// `inet=<name> <address>/<prefix>`). Needs only a POSIX shell; `ip` is used when present.
pub const GATHER: &str = r#"sh -c '
. /etc/os-release 2>/dev/null
echo "hostname=$(hostname 2>/dev/null || cat /etc/hostname)"
echo "os_id=${ID:-}"
echo "os_version=${VERSION_ID:-}"
echo "os_codename=${VERSION_CODENAME:-}"
echo "arch=$(uname -m)"
echo "cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)"
echo "memory_kb=$(sed -n "s/^MemTotal: *\([0-9]*\).*/\1/p" /proc/meminfo)"
if [ -d /run/systemd/system ]; then echo systemd=1; else echo systemd=0; fi
ip -o -4 addr show 2>/dev/null | while read -r _ name _ cidr _; do echo "inet=$name $cidr"; done
'"#;

/// The keys [`GATHER`] always prints; output without one of them is not the facts of a host.
const REQUIRED: [&str; 8] = [
    "hostname",
    "os_id",
    "os_version",
    "os_codename",
    "arch",
    "cpus",
    "memory_kb",
    "systemd",
];

/// Reads the output of [`GATHER`]; unknown lines are ignored. Output that lacks one of the keys
/// `GATHER` always prints, or whose CPU count or memory is not a number, is an error that says
/// what is wrong: the host's facts were not gathered (another shell, a login banner, a command
/// cut short).
pub fn parse(output: &str) -> Result<Facts, String> {
    let mut facts = Facts::default();
    let mut seen: Vec<&str> = Vec::new();
    for line in output.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        if let Some(key) = REQUIRED.iter().find(|k| **k == key) {
            seen.push(key);
        }
        match key {
            "hostname" => facts.hostname = value.to_owned(),
            "os_id" => facts.os_id = value.to_owned(),
            "os_version" => facts.os_version = value.to_owned(),
            "os_codename" => facts.os_codename = value.to_owned(),
            "arch" => facts.arch = value.to_owned(),
            "cpus" => {
                facts.cpus = value
                    .parse()
                    .map_err(|_| format!("cpus={value}: not a number of CPUs"))?
            }
            "memory_kb" => {
                facts.memory_mb = value
                    .parse::<u64>()
                    .map_err(|_| format!("memory_kb={value}: not a number of KiB"))?
                    / 1024
            }
            "systemd" => facts.systemd = value == "1",
            "inet" => {
                let Some((name, cidr)) = value.split_once(' ') else {
                    continue;
                };
                let (address, prefix) = cidr.split_once('/').unwrap_or((cidr, "32"));
                facts.interfaces.push(Interface {
                    // `ip -o` writes VLANs and veths as `eth0@if12`.
                    name: name.split('@').next().unwrap_or(name).to_owned(),
                    address: address.to_owned(),
                    prefix: prefix.parse().unwrap_or(32),
                });
            }
            _ => {}
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|k| !seen.contains(k))
        .collect();
    if missing.is_empty() {
        Ok(facts)
    } else {
        Err(format!(
            "the facts command printed no {} (its output: {})",
            missing.join(", "),
            excerpt(output)
        ))
    }
}

/// The start of `output` on one line, for a message.
fn excerpt(output: &str) -> String {
    let text = output.trim();
    if text.is_empty() {
        return "nothing".to_owned();
    }
    let mut shown: String = text.chars().take(120).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    format!("{shown:?}")
}

/// Hosts whose facts could not be gathered: nothing can be rendered for them, so the deploy
/// stops before its first step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(.hosts))]
pub struct FactsError {
    /// Each host, with why its facts are missing (the command's error, or what its output
    /// lacked).
    pub hosts: Vec<(String, String)>,
}

fn describe(hosts: &[(String, String)]) -> String {
    let mut text = format!(
        "cannot gather the facts of {} host{}:",
        hosts.len(),
        if hosts.len() == 1 { "" } else { "s" }
    );
    for (host, why) in hosts {
        let _ = write!(text, "\n  {host}: {why}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_read_from_the_gather_output() {
        let facts = parse(
            "hostname=paris-a-1\nos_id=debian\nos_version=12\nos_codename=bookworm\n\
             arch=x86_64\ncpus=2\nmemory_kb=24613112\nsystemd=0\n\
             inet=lo 127.0.0.1/8\ninet=eth0@if7 198.18.1.2/24\nnoise\n",
        )
        .unwrap();
        assert_eq!(facts.hostname, "paris-a-1");
        assert_eq!(
            (facts.cpus, facts.memory_mb, facts.systemd),
            (2, 24036, false)
        );
        assert_eq!(
            facts.interface_of("198.18.1.2".parse().unwrap()),
            Some("eth0")
        );
        assert_eq!(facts.interfaces[0].prefix, 8);
        assert_eq!(facts.interface_of("10.0.0.1".parse().unwrap()), None);
    }

    #[test]
    fn the_gather_command_runs_here() {
        let out = std::process::Command::new("sh")
            .args(["-c", GATHER])
            .output()
            .unwrap();
        assert!(out.status.success());
        let facts = parse(&String::from_utf8_lossy(&out.stdout)).unwrap();
        assert!(facts.cpus >= 1 && facts.memory_mb > 0, "{facts:?}");
        assert!(!facts.arch.is_empty() && !facts.hostname.is_empty());
    }
}
