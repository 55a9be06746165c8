//! The static provider at run time: the testbed is the hosts the options list, reached as they
//! say; nothing is created on them, and `destroy` removes nothing of theirs (the experiment
//! undoes its own shaping and services first).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use enos_core::{Become, Experiment, Host, HostKeySource, Jump, Reporter, SshAccess, Testbed};
use enos_provider::{Provider, ProviderError};

use crate::{StaticKind, StaticOptions, options};

/// The static provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct StaticProvider;

enos_provider::provider_kind_from!(StaticProvider, StaticKind);

fn options_of(experiment: &Experiment) -> Result<StaticOptions, ProviderError> {
    options(&experiment.state().scenario.provider.options).map_err(ProviderError::new)
}

/// The directory of the experiment's SSH control sockets: short (socket paths are), private,
/// and the same for every command on the experiment.
pub fn control_dir(experiment_dir: &Path) -> PathBuf {
    enos_provider::control_dir_in(&enos_provider::runtime_dir(), 's', experiment_dir)
}

/// The key of the user running enos that hosts without `identity` are reached with: the
/// first of `~/.ssh/id_ed25519`, `id_ecdsa` and `id_rsa` that exists.
fn default_identity() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    let dir = home.join(".ssh");
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|path| path.exists())
        .unwrap_or_else(|| dir.join("id_ed25519"))
}

/// The address of `name`: itself when it is an IP address, else what it resolves to here
/// (IPv4 first).
async fn resolve(name: &str, port: u16) -> Result<(IpAddr, Option<String>), ProviderError> {
    if let Ok(address) = name.parse::<IpAddr>() {
        return Ok((address, None));
    }
    let found: Vec<IpAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|e| {
            ProviderError::new(format!("cannot resolve the host {name}: {e}"))
                .with_hint("give its IP address in `provider.static.hosts`")
        })?
        .map(|a| a.ip())
        .collect();
    let address = found
        .iter()
        .find(|a| a.is_ipv4())
        .or(found.first())
        .copied()
        .ok_or_else(|| ProviderError::new(format!("{name} resolves to no address")))?;
    Ok((address, Some(name.to_owned())))
}

/// The testbed the options describe, for the experiment in `dir`.
async fn testbed(options: &StaticOptions, dir: &Path) -> Result<Testbed, ProviderError> {
    let host_key = || match &options.known_hosts {
        Some(path) => HostKeySource::KnownHostsFile { path: path.clone() },
        None => HostKeySource::LearnOnFirstContact,
    };
    let mut hosts = Vec::with_capacity(options.hosts.len());
    for h in &options.hosts {
        let (address, ssh_host) = resolve(&h.address, h.port).await?;
        let role = h.roles.first().cloned().unwrap_or_default();
        let mut host = Host::new(&h.name, &h.site, role, address);
        host.user = h.user.clone();
        host.port = h.port;
        host.ssh_host = ssh_host;
        host.identity = h.identity.clone();
        host.interface = h.interface.clone();
        host.become_root = match h.r#become {
            Some(crate::Become::Sudo) => Some(Become::Sudo),
            None if h.user != "root" => Some(Become::Sudo),
            None => None,
        };
        host.jump = h.jump.as_ref().map(|j| Jump {
            address: j.address.clone(),
            port: j.port,
            user: j.user.clone(),
            identity: j.identity.clone(),
            host_key: host_key(),
        });
        host.host_key = host_key();
        hosts.push(host);
    }
    Ok(Testbed {
        hosts,
        networks: Vec::new(),
        ssh: SshAccess::in_experiment(dir, default_identity(), control_dir(dir)),
    })
}

#[async_trait::async_trait]
impl Provider for StaticProvider {
    async fn check(&self) -> Result<(), ProviderError> {
        let found = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("ssh").is_file()));
        if found {
            Ok(())
        } else {
            Err(
                ProviderError::new("the static provider needs OpenSSH's client (ssh)")
                    .with_hint("on Debian or Ubuntu: apt-get install openssh-client"),
            )
        }
    }

    async fn deploy(
        &self,
        experiment: &mut Experiment,
        reporter: &dyn Reporter,
    ) -> Result<Testbed, ProviderError> {
        let options = options_of(experiment)?;
        let task = reporter.start("listing hosts", options.hosts.len() as u64);
        let testbed = testbed(&options, experiment.dir()).await;
        reporter.finish(task);
        let testbed = testbed?;
        experiment.subdir(enos_core::layout::SSH_DIR)?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&testbed.ssh.control_dir)
            .map_err(|e| {
                ProviderError::new(format!(
                    "cannot create {}: {e}",
                    testbed.ssh.control_dir.display()
                ))
            })?;
        Ok(testbed)
    }

    async fn destroy(
        &self,
        experiment: &mut Experiment,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError> {
        // The hosts are the user's: only the experiment's control directory goes.
        let dir = control_dir(experiment.dir());
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| ProviderError::new(format!("cannot remove {}: {e}", dir.display())))?;
        }
        reporter.note("the hosts are kept: the static provider powers nothing off");
        Ok(())
    }

    fn hosts_outlive_destroy(&self) -> bool {
        true
    }

    fn describe(&self, experiment: &Experiment) -> Vec<(String, String)> {
        let mut rows = vec![("provider".to_owned(), "static".to_owned())];
        if let Ok(options) = options_of(experiment) {
            let jumps = options.hosts.iter().filter(|h| h.jump.is_some()).count();
            rows.push((
                "hosts".to_owned(),
                format!("{} listed, {jumps} behind a jump host", options.hosts.len()),
            ));
            rows.push((
                "host keys".to_owned(),
                match &options.known_hosts {
                    Some(path) => format!("pinned in {}", path.display()),
                    None => "learnt on first contact and pinned".to_owned(),
                },
            ));
        }
        rows
    }
}

use std::os::unix::fs::DirBuilderExt as _;
