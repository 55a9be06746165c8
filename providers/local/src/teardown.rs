//! Removing a local testbed — by its prefix, not by a list of what was made, so that it also works
//! after a crash or a half-finished deploy.
//!
//! Order matters: processes first (their open sockets would otherwise keep deleted namespaces
//! alive for minutes), then the management link in the root namespace (its route goes with it),
//! then the namespaces, then mounts and files.

use std::path::Path;
use std::time::{Duration, Instant};

use enos_provider::ProviderError;
use rustix::process::Signal;

use crate::alloc::{data_dir, runtime_dir};
use crate::plan::{fabric_namespace, management_link, namespace_prefix};
use crate::sys;

/// What is left of experiment `prefix` on this machine.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Leftovers {
    /// Network namespaces named for the experiment.
    pub namespaces: Vec<String>,
    /// Links in the root namespace named for the experiment.
    pub links: Vec<String>,
    /// Live processes in the experiment's namespaces or naming its directories.
    pub processes: Vec<(u32, String)>,
    /// Mount points under the experiment's directories.
    pub mounts: Vec<String>,
    /// The experiment's directories that still exist.
    pub directories: Vec<String>,
}

impl Leftovers {
    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
            && self.links.is_empty()
            && self.processes.is_empty()
            && self.mounts.is_empty()
            && self.directories.is_empty()
    }
}

fn our_namespaces(prefix: &str) -> Vec<String> {
    let start = namespace_prefix(prefix);
    sys::namespaces()
        .into_iter()
        .filter(|n| n.starts_with(&start))
        .collect()
}

/// Live processes that belong to experiment `prefix`: in one of its network namespaces, or naming
/// one of its directories on their command line (ssh masters, host start-up).
fn our_processes(prefix: &str, namespaces: &[String]) -> Vec<sys::ProcessInfo> {
    let ids: Vec<_> = namespaces
        .iter()
        .filter_map(|n| sys::namespace_id(&Path::new("/run/netns").join(n)))
        .collect();
    let data = data_dir(prefix).display().to_string();
    let runtime = runtime_dir(prefix).display().to_string();
    let me = std::process::id();
    sys::processes()
        .into_iter()
        .filter(|p| p.state != 'Z' && p.pid != me)
        .filter(|p| {
            sys::namespace_id(&p.net_ns).is_some_and(|id| ids.contains(&id))
                || p.cmdline.contains(&data)
                || p.cmdline.contains(&runtime)
        })
        .collect()
}

fn our_mounts(prefix: &str) -> Vec<String> {
    let data = data_dir(prefix).display().to_string();
    let runtime = runtime_dir(prefix).display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_whitespace().nth(4))
        .filter(|point| point.starts_with(&data) || point.starts_with(&runtime))
        .map(str::to_owned)
        .collect()
}

/// Lists what is left of experiment `prefix`.
pub fn leftovers(prefix: &str) -> Leftovers {
    let namespaces = our_namespaces(prefix);
    let processes = our_processes(prefix, &namespaces)
        .into_iter()
        .map(|p| (p.pid, p.cmdline))
        .collect();
    let link = management_link(prefix);
    Leftovers {
        links: if sys::root_link_exists(&link) {
            vec![link]
        } else {
            Vec::new()
        },
        processes,
        mounts: our_mounts(prefix),
        directories: [data_dir(prefix), runtime_dir(prefix)]
            .into_iter()
            .filter(|d| d.exists())
            .map(|d| d.display().to_string())
            .collect(),
        namespaces,
    }
}

/// Kills every process of experiment `prefix`: first each host's PID 1 (its whole PID namespace
/// goes with it, and its parent then exits by itself), then whatever is still alive.
pub async fn kill_processes(prefix: &str, namespaces: &[String]) {
    let first = our_processes(prefix, namespaces);
    for p in first
        .iter()
        // A host's PID 1 is its `sshd`, which rewrites its command line to
        // "sshd: /usr/sbin/sshd -D … [listener] …".
        .filter(|p| p.cmdline.contains(&crate::host::SSHD_ARGV.join(" ")))
    {
        sys::kill(p.pid, Signal::KILL);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut grace = Instant::now() + Duration::from_millis(500);
    loop {
        let alive = our_processes(prefix, namespaces);
        if alive.is_empty() || Instant::now() > deadline {
            break;
        }
        if Instant::now() > grace {
            for p in &alive {
                sys::kill(p.pid, Signal::KILL);
            }
            grace = Instant::now() + Duration::from_millis(200);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Removes the network of experiment `prefix` (processes, link, namespaces), keeping its files.
pub async fn remove_network(prefix: &str) -> Result<(), ProviderError> {
    let namespaces = our_namespaces(prefix);
    kill_processes(prefix, &namespaces).await;
    let link = management_link(prefix);
    if sys::root_link_exists(&link) {
        sys::run("ip", &["link", "del", &link], None).await?;
    }
    let mut deleted = sys::ip_batch(None, &deletions(prefix, &namespaces)).await;
    // `ip netns del` unmounts a namespace's file, then unlinks it; under load the unlink can
    // meet EBUSY for a moment (the namespace's devices still being torn down by the kernel).
    // Those still there are deleted again, for up to two seconds, before the error stands.
    let deadline = Instant::now() + Duration::from_secs(2);
    while let Err(e) = &deleted {
        let left = our_namespaces(prefix);
        if left.is_empty() {
            return Ok(());
        }
        if !e.message.contains("busy") || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        deleted = sys::ip_batch(None, &deletions(prefix, &left)).await;
    }
    deleted
}

/// `ip -batch` lines deleting `namespaces` of experiment `prefix`: hosts first, the fabric
/// last (hosts' links have their other end in the fabric).
fn deletions(prefix: &str, namespaces: &[String]) -> Vec<String> {
    let fabric = fabric_namespace(prefix);
    let mut lines: Vec<String> = namespaces
        .iter()
        .filter(|n| **n != fabric)
        .map(|n| format!("netns del {n}"))
        .collect();
    if namespaces.contains(&fabric) {
        lines.push(format!("netns del {fabric}"));
    }
    lines
}

/// Removes one host's namespace and processes (to start it again).
pub async fn remove_host(prefix: &str, namespace: &str) -> Result<(), ProviderError> {
    if !sys::namespaces().iter().any(|n| n == namespace) {
        return Ok(());
    }
    let ns = [namespace.to_owned()];
    let id = sys::namespace_id(&Path::new("/run/netns").join(namespace));
    for p in sys::processes().into_iter().filter(|p| p.state != 'Z') {
        if id.is_some() && sys::namespace_id(&p.net_ns) == id {
            sys::kill(p.pid, Signal::KILL);
        }
    }
    kill_processes(prefix, &ns).await;
    sys::run("ip", &["netns", "del", namespace], None)
        .await
        .map(drop)
}

/// Removes everything experiment `prefix` created on this machine, and checks that nothing is left.
pub async fn remove_all(prefix: &str) -> Result<(), ProviderError> {
    remove_network(prefix).await?;
    for point in our_mounts(prefix).iter().rev() {
        let _ = sys::run("umount", &["--lazy", point], None).await;
    }
    for dir in [data_dir(prefix), runtime_dir(prefix)] {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ProviderError::new(format!(
                    "cannot remove {}: {e}",
                    dir.display()
                )));
            }
        }
    }
    let left = leftovers(prefix);
    if left.is_empty() {
        Ok(())
    } else {
        Err(ProviderError::new(format!(
            "experiment {prefix} is not fully removed: {left:?}"
        ))
        .with_hint("run `enos destroy` again; if it persists, report it"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_deleted_hosts_first_and_the_fabric_last() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
        let present = names(&["enos-e1-fabric", "enos-e1-a-s-1", "enos-e1-b-c-1"]);
        assert_eq!(
            deletions("e1", &present),
            [
                "netns del enos-e1-a-s-1",
                "netns del enos-e1-b-c-1",
                "netns del enos-e1-fabric"
            ]
        );
        // What is left to delete again, without a fabric already gone.
        assert_eq!(
            deletions("e1", &names(&["enos-e1-b-c-1"])),
            ["netns del enos-e1-b-c-1"]
        );
    }
}
