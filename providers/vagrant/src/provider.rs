//! The Vagrant provider at run time: the Vagrantfile written in the experiment's `vagrant/`
//! directory, `vagrant up` run there, `vagrant ssh-config` read into the testbed, and
//! `vagrant destroy -f` on destroy.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use enos_core::{Experiment, Host, HostKeySource, Reporter, SiteNetwork, SshAccess, Testbed};
use enos_provider::{PlannedAction, Provider, ProviderError, ProvisionPlan, keys};
use enos_scenario::{ProviderKind, Scenario};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::command::{VagrantConfig, install_hint, run};
use crate::layout::{Layout, layout};
use crate::options::{Backend, VagrantKind, VagrantOptions, options};
use crate::output::{lists_libvirt_plugin, parse_ssh_config, parse_status};
use crate::vagrantfile::{VAGRANTFILE, render};

/// The experiment's directory holding the Vagrantfile (and Vagrant's own `.vagrant/`), and
/// where what Vagrant prints is kept.
pub use enos_core::layout::{VAGRANT_DIR, VAGRANT_LOG};
/// Vagrant's own directory of machine state, in [`VAGRANT_DIR`].
const MACHINES_DIR: &str = ".vagrant";
/// The line Vagrant prints when a VM is up and reachable.
const BOOTED: &str = ": Machine booted and ready!";
/// Stands for the experiment's public key in a plan, which is made by the deploy.
const PLANNED_KEY: &str = "<the public key of the experiment: ssh/id_ecdsa.pub, made by deploy>";

/// The Vagrant provider.
#[derive(Debug, Clone, Default)]
pub struct VagrantProvider {
    config: VagrantConfig,
}

impl VagrantProvider {
    /// A provider that runs Vagrant as `config` says.
    pub fn new(config: VagrantConfig) -> Self {
        VagrantProvider { config }
    }

    /// How it runs Vagrant.
    pub fn config(&self) -> &VagrantConfig {
        &self.config
    }

    /// The directory of the SSH control sockets of the experiment in `experiment_dir`: short
    /// (socket paths are), private, and the same for every command on the experiment.
    pub fn control_dir(&self, experiment_dir: &Path) -> PathBuf {
        let base = match &self.config.runtime_dir {
            Some(dir) => dir.clone(),
            None => enos_provider::runtime_dir(),
        };
        enos_provider::control_dir_in(&base, 'v', experiment_dir)
    }

    /// Checks that Vagrant can drive `backend` here: for libvirt, that `vagrant plugin list`
    /// lists the vagrant-libvirt plugin (VirtualBox needs none). `dir` is where Vagrant runs.
    pub async fn check_backend(&self, backend: Backend, dir: &Path) -> Result<(), ProviderError> {
        if backend != Backend::Libvirt {
            return Ok(());
        }
        let ran = run(
            &self.config,
            dir,
            &["plugin", "list"],
            self.config.command_timeout,
            None,
            |_| {},
        )
        .await?;
        if !ran.status.success() {
            return Err(ran.failure("plugin list"));
        }
        if lists_libvirt_plugin(&ran.stdout) {
            Ok(())
        } else {
            Err(ProviderError::new(
                "the libvirt backend needs the vagrant-libvirt plugin, which `vagrant plugin \
                 list` does not list",
            )
            .with_hint(
                "install it (Debian and Ubuntu: apt-get install vagrant-libvirt; otherwise \
                 vagrant plugin install vagrant-libvirt), or use VirtualBox: `provider: \
                 {vagrant: {backend: virtualbox}}`",
            ))
        }
    }

    /// Whether every machine of `names` is running, as `vagrant status` says.
    async fn all_running(
        &self,
        dir: &Path,
        names: &[String],
        log: &Path,
    ) -> Result<bool, ProviderError> {
        let ran = run(
            &self.config,
            dir,
            &["status", "--machine-readable"],
            self.config.command_timeout,
            Some(log),
            |_| {},
        )
        .await?;
        if !ran.status.success() {
            return Err(ran.failure("status --machine-readable"));
        }
        let states = parse_status(&ran.stdout);
        Ok(names
            .iter()
            .all(|name| states.get(name).is_some_and(|s| s == "running")))
    }

    /// `vagrant up --provider=<backend>`, its progress reported per VM.
    async fn up(
        &self,
        dir: &Path,
        backend: Backend,
        names: &[String],
        log: &Path,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError> {
        let provider = format!("--provider={backend}");
        let task = reporter.start(
            &format!("starting {} VMs (vagrant up)", names.len()),
            names.len() as u64,
        );
        let ran = run(
            &self.config,
            dir,
            &["up", &provider],
            self.config.up_timeout,
            Some(log),
            |line| {
                if let Some(name) = line
                    .strip_prefix("==> ")
                    .and_then(|rest| rest.strip_suffix(BOOTED))
                    && names.iter().any(|n| n == name)
                {
                    reporter.advance(task, name, true);
                }
            },
        )
        .await;
        reporter.finish(task);
        let ran = ran?;
        if ran.status.success() {
            Ok(())
        } else {
            Err(ran.failure(&format!("up {provider}")).with_hint(format!(
                "all it printed is in {}; `enos destroy` removes the VMs it made",
                log.display()
            )))
        }
    }

    /// The testbed of `layout`, reached as `vagrant ssh-config` says.
    async fn testbed(
        &self,
        experiment: &Experiment,
        dir: &Path,
        layout: &Layout,
        log: &Path,
    ) -> Result<Testbed, ProviderError> {
        let ran = run(
            &self.config,
            dir,
            &["ssh-config"],
            self.config.command_timeout,
            Some(log),
            |_| {},
        )
        .await?;
        if !ran.status.success() {
            return Err(ran.failure("ssh-config"));
        }
        let entries = parse_ssh_config(&ran.stdout);
        let mut hosts = Vec::with_capacity(layout.machines.len());
        for machine in &layout.machines {
            let entry = entries.get(&machine.name).ok_or_else(|| {
                ProviderError::new(format!(
                    "`vagrant ssh-config` says nothing of the VM {}",
                    machine.name
                ))
            })?;
            if entry.get("ProxyCommand").is_some() {
                return Err(ProviderError::new(format!(
                    "Vagrant reaches the VM {} through a ProxyCommand (libvirt on another \
                     machine?), which enos does not follow",
                    machine.name
                ))
                .with_hint("run enos on the machine that runs the VMs"));
            }
            let ssh_host = entry
                .get("HostName")
                .filter(|h| !h.is_empty())
                .ok_or_else(|| {
                    ProviderError::new(format!(
                        "`vagrant ssh-config` gives no HostName for the VM {}",
                        machine.name
                    ))
                })?;
            let port = match entry.get("Port") {
                None => 22,
                Some(text) => text.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                    ProviderError::new(format!(
                        "`vagrant ssh-config` gives the VM {} the port {text:?}, not a port",
                        machine.name
                    ))
                })?,
            };
            let mut host = Host::new(
                &machine.name,
                &machine.site,
                &machine.role,
                IpAddr::V4(machine.address),
            );
            host.ssh_host = Some(ssh_host.to_owned());
            host.port = port;
            // The box made its host keys at first boot: nobody knows them beforehand.
            host.host_key = HostKeySource::LearnOnFirstContact;
            hosts.push(host);
        }
        let control = self.control_dir(experiment.dir());
        create_private_dir(&control)?;
        Ok(Testbed {
            hosts,
            networks: layout
                .sites
                .iter()
                .map(|s| SiteNetwork {
                    site: s.site.clone(),
                    cidr: s.block.to_string(),
                    gateway: IpAddr::V4(layout.gateway()),
                })
                .collect(),
            ssh: SshAccess::in_experiment(
                experiment.dir(),
                experiment
                    .dir()
                    .join(enos_core::layout::SSH_DIR)
                    .join(keys::CLIENT_KEY),
                control,
            ),
        })
    }
}

/// What the provider records in the experiment's `provider_state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct VagrantState {
    /// The directory of the Vagrantfile.
    dir: PathBuf,
    /// The backend the VMs run on.
    backend: Backend,
    /// The VMs, by name.
    machines: Vec<String>,
    /// Whether `vagrant up` has succeeded once.
    #[serde(default)]
    up: bool,
}

fn options_of(experiment: &Experiment) -> Result<VagrantOptions, ProviderError> {
    options(&experiment.state().scenario.provider.options).map_err(ProviderError::new)
}

fn state_of(experiment: &Experiment) -> Result<Option<VagrantState>, ProviderError> {
    match &experiment.state().provider_state {
        Value::Null => Ok(None),
        value => serde_json::from_value(value.clone())
            .map(Some)
            .map_err(|e| {
                ProviderError::new(format!(
                    "the experiment's provider state is not the vagrant provider's: {e}"
                ))
            }),
    }
}

fn save_state(experiment: &mut Experiment, state: &VagrantState) -> Result<(), ProviderError> {
    experiment.state_mut().provider_state =
        serde_json::to_value(state).map_err(|e| ProviderError::new(e.to_string()))?;
    experiment.save()?;
    Ok(())
}

/// Makes the experiment's key unless it exists; gives its public half.
fn ensure_key(experiment: &Experiment) -> Result<String, ProviderError> {
    let ssh_dir = experiment.subdir(enos_core::layout::SSH_DIR)?;
    let key = ssh_dir.join(keys::CLIENT_KEY);
    if !key.exists() {
        keys::generate(&key, &format!("enos-{}", experiment.state().name))?;
    }
    let public = ssh_dir.join(format!("{}.pub", keys::CLIENT_KEY));
    std::fs::read_to_string(&public)
        .map(|text| text.trim().to_owned())
        .map_err(|e| ProviderError::new(format!("cannot read {}: {e}", public.display())))
}

fn create_private_dir(dir: &Path) -> Result<(), ProviderError> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| ProviderError::new(format!("cannot create {}: {e}", dir.display())))
}

fn remove_dir(dir: &Path) -> Result<(), ProviderError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ProviderError::new(format!(
            "cannot remove {}: {e}",
            dir.display()
        ))),
    }
}

/// `name` found as a program: a path as it is, a bare name in `PATH`.
fn find_program(name: &Path) -> Option<PathBuf> {
    if name.components().count() > 1 {
        return name.is_file().then(|| name.to_owned());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// `n thing`/`n things`.
fn count(n: usize, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

enos_provider::provider_kind_from!(VagrantProvider, VagrantKind);

#[async_trait::async_trait]
impl Provider for VagrantProvider {
    async fn check(&self) -> Result<(), ProviderError> {
        let program = &self.config.program;
        let Some(found) = find_program(program) else {
            return Err(ProviderError::new(format!(
                "the vagrant provider needs Vagrant, and {} is not found{}",
                program.display(),
                if program.components().count() > 1 {
                    ""
                } else {
                    " in PATH"
                }
            ))
            .with_hint(install_hint()));
        };
        let dir = std::env::temp_dir();
        let ran = run(
            &self.config,
            &dir,
            &["--version"],
            self.config.command_timeout,
            None,
            |_| {},
        )
        .await?;
        if ran.status.success() {
            tracing::debug!(program = %found.display(), version = %ran.stdout.trim(), "vagrant found");
            Ok(())
        } else {
            Err(ran.failure("--version"))
        }
    }

    fn plan(&self, scenario: &Scenario) -> Result<ProvisionPlan, ProviderError> {
        let options = options(&scenario.provider.options).map_err(ProviderError::new)?;
        let layout = layout(scenario, &options).map_err(ProviderError::new)?;
        let text =
            render(&scenario.name, &layout, &options, PLANNED_KEY).map_err(ProviderError::new)?;
        let vms = count(layout.machines.len(), "VM");
        let sites: Vec<String> = layout
            .sites
            .iter()
            .map(|s| {
                let n = layout.machines.iter().filter(|m| m.site == s.site).count();
                format!("{} {} ({n})", s.site, s.block)
            })
            .collect();
        let mut actions = vec![
            PlannedAction::new(
                format!(
                    "make {}/{} unless it exists",
                    enos_core::layout::SSH_DIR,
                    keys::CLIENT_KEY
                ),
                "the experiment's SSH key, which root's authorized_keys on every VM gets",
            ),
            PlannedAction::new(
                format!("write {VAGRANT_DIR}/{VAGRANTFILE}"),
                format!(
                    "{vms} on {} from {}: {}",
                    options.backend,
                    options.vagrant_box,
                    sites.join(", ")
                ),
            )
            .with_body(text),
        ];
        if options.backend == Backend::Libvirt {
            actions.push(PlannedAction::new(
                "run vagrant plugin list",
                "check that the vagrant-libvirt plugin is installed",
            ));
        }
        actions.push(PlannedAction::new(
            format!("run vagrant up --provider={}", options.backend),
            format!("create and boot the {vms}, in {VAGRANT_DIR}/ (VAGRANT_CWD)"),
        ));
        actions.push(PlannedAction::new(
            "run vagrant ssh-config",
            "read where ssh reaches each VM (root, with the experiment's key)",
        ));
        Ok(ProvisionPlan {
            provider: self.name().to_owned(),
            actions,
        })
    }

    async fn deploy(
        &self,
        experiment: &mut Experiment,
        reporter: &dyn Reporter,
    ) -> Result<Testbed, ProviderError> {
        let options = options_of(experiment)?;
        let scenario = experiment.state().scenario.clone();
        let layout = layout(&scenario, &options).map_err(ProviderError::new)?;
        let names: Vec<String> = layout.machines.iter().map(|m| m.name.clone()).collect();
        let previous = state_of(experiment)?;
        if let Some(previous) = previous.as_ref().filter(|p| p.backend != options.backend) {
            return Err(ProviderError::new(format!(
                "the experiment's VMs were made on {}, the scenario now asks for {}",
                previous.backend, options.backend
            ))
            .with_hint("`enos destroy` first, then deploy again"));
        }
        let public_key = ensure_key(experiment)?;
        let dir = experiment.subdir(VAGRANT_DIR)?;
        let log = experiment.path(VAGRANT_LOG)?;
        let text =
            render(&scenario.name, &layout, &options, &public_key).map_err(ProviderError::new)?;
        let vagrantfile = dir.join(VAGRANTFILE);
        enos_core::fsutil::write_atomic(&vagrantfile, text.as_bytes()).map_err(|e| {
            ProviderError::new(format!("cannot write {}: {e}", vagrantfile.display()))
        })?;
        let was_up = previous.is_some_and(|s| s.up && s.machines == names);
        let mut state = VagrantState {
            dir: dir.clone(),
            backend: options.backend,
            machines: names.clone(),
            up: was_up,
        };
        // Recorded before anything is created, so that destroy works after a failed `up`.
        save_state(experiment, &state)?;
        let reuse = was_up && self.all_running(&dir, &names, &log).await?;
        if reuse {
            reporter.note(&format!(
                "the {} are up already: reused",
                count(names.len(), "VM")
            ));
        } else {
            self.check_backend(options.backend, &dir).await?;
            self.up(&dir, options.backend, &names, &log, reporter)
                .await?;
            state.up = true;
            save_state(experiment, &state)?;
        }
        self.testbed(experiment, &dir, &layout, &log).await
    }

    async fn destroy(
        &self,
        experiment: &mut Experiment,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError> {
        let control = self.control_dir(experiment.dir());
        let Some(state) = state_of(experiment)? else {
            reporter.note("no VMs were made: nothing for vagrant to destroy");
            return remove_dir(&control);
        };
        if state.dir.join(VAGRANTFILE).is_file() {
            let log = experiment.path(VAGRANT_LOG)?;
            let task = reporter.start(
                &format!(
                    "destroying {} (vagrant destroy -f)",
                    count(state.machines.len(), "VM")
                ),
                state.machines.len() as u64,
            );
            let ran = run(
                &self.config,
                &state.dir,
                &["destroy", "-f"],
                self.config.destroy_timeout,
                Some(&log),
                |_| {},
            )
            .await;
            reporter.finish(task);
            let ran = ran?;
            if !ran.status.success() {
                return Err(ran.failure("destroy -f").with_hint(format!(
                    "all it printed is in {}; run `enos destroy` again once the cause is fixed",
                    log.display()
                )));
            }
        } else {
            reporter.note(&format!(
                "no {VAGRANTFILE} in {}: nothing for vagrant to destroy",
                state.dir.display()
            ));
        }
        remove_dir(&state.dir.join(MACHINES_DIR))?;
        experiment.state_mut().provider_state = Value::Null;
        experiment.save()?;
        remove_dir(&control)
    }

    fn describe(&self, experiment: &Experiment) -> Vec<(String, String)> {
        let mut rows = vec![("provider".to_owned(), "vagrant".to_owned())];
        if let Ok(options) = options_of(experiment) {
            rows.push(("backend".to_owned(), options.backend.name().to_owned()));
            rows.push(("box".to_owned(), options.vagrant_box.clone()));
            if let Ok(layout) = layout(&experiment.state().scenario, &options) {
                rows.push((
                    "VMs".to_owned(),
                    format!(
                        "{} on {}, subnet {}",
                        count(layout.machines.len(), "VM"),
                        count(layout.sites.len(), "site"),
                        layout.network
                    ),
                ));
            }
        }
        if let Ok(Some(state)) = state_of(experiment) {
            rows.push((
                "Vagrantfile".to_owned(),
                state.dir.join(VAGRANTFILE).display().to_string(),
            ));
        }
        rows
    }
}
