//! The local provider: a multi-site testbed on one Linux machine.
//!
//! Each site is a bridge with its own subnet; each host is a network namespace with its own
//! address, hostname, PID namespace and file system (an overlay over `/`), running its own OpenSSH
//! `sshd` as PID 1. The bridges live in one *fabric* namespace that routes every packet between
//! two hosts (each host holds its address as a /32 and sends everything to its gateway): the
//! one point where WAN emulation shapes traffic, per class of hosts. Neighbours are written in
//! advance (permanent), so a thousand hosts never fill the kernel's shared neighbour table. A
//! management link joins the root namespace to the fabric, so that `ssh` from this machine
//! reaches every host.
//!
//! Every namespace and link carries a short per-experiment prefix, so experiments (and parallel
//! tests) coexist. Linux and root are required.
#![warn(missing_docs)]

pub mod alloc;
pub mod daemon;
pub mod egress;
pub mod firewall;
pub mod host;
pub mod options;
pub mod plan;
pub mod repositories;
pub mod sys;
pub mod teardown;
pub mod wan;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use enos_core::{Experiment, Host, HostKeySource, Reporter, SiteNetwork, SshAccess, Testbed};
use enos_provider::{
    Daemon, PlannedAction, Provider, ProviderError, ProvisionPlan, WanEmulator, keys,
};
use enos_wan::WanMatrix;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::plan::{TestbedPlan, block_cidr};

/// How long hosts get to answer over SSH after they are started.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How many system commands the provider runs at once.
const CONCURRENCY: usize = 16;

/// What the local provider records in the experiment state (`provider_state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalState {
    /// The experiment's short prefix.
    pub prefix: String,
    /// Its address block.
    pub block: u32,
    /// Whether the fabric (bridges, management link, routing) was completely built.
    pub fabric_ready: bool,
    /// The names and addresses of the testbed.
    pub plan: Option<TestbedPlan>,
    /// Whether the kernel has netem (tc shapes the WAN) or not (the userspace emulator does);
    /// found out on the first deploy.
    #[serde(default)]
    pub kernel_netem: Option<bool>,
}

/// The local provider.
#[derive(Debug, Clone)]
pub struct LocalProvider {
    daemons: daemon::Daemons,
}

impl LocalProvider {
    /// A local provider that starts its daemons (the WAN emulator, the egress proxy) with
    /// `daemons`.
    pub fn new(daemons: daemon::Daemons) -> Self {
        Self { daemons }
    }
}

fn local_state(experiment: &Experiment) -> Option<LocalState> {
    serde_json::from_value(experiment.state().provider_state.clone()).ok()
}

fn save_local_state(experiment: &mut Experiment, state: &LocalState) -> Result<(), ProviderError> {
    experiment.state_mut().provider_state =
        serde_json::to_value(state).map_err(|e| ProviderError::new(e.to_string()))?;
    experiment.save()?;
    Ok(())
}

async fn find_program(name: &str) -> bool {
    sys::SYSTEM_PATH
        .split(':')
        .any(|dir| Path::new(dir).join(name).is_file())
}

impl LocalProvider {
    async fn ensure_keys(
        &self,
        experiment: &Experiment,
        plan: &TestbedPlan,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError> {
        experiment.subdir("ssh/hostkeys")?;
        let ssh_dir = experiment.dir().join("ssh");
        let mut jobs: Vec<(PathBuf, String)> = vec![(
            ssh_dir.join(keys::CLIENT_KEY),
            format!("enos-{}", experiment.state().name),
        )];
        for host in &plan.hosts {
            jobs.push((ssh_dir.join("hostkeys").join(&host.name), host.name.clone()));
        }
        jobs.retain(|(path, _)| !path.exists());
        if jobs.is_empty() {
            return Ok(());
        }
        let task = reporter.start("making SSH keys", jobs.len() as u64);
        // In this process: a thousand keys take a fraction of a second, and no program start.
        let made = tokio::task::spawn_blocking(move || {
            jobs.iter()
                .try_for_each(|(path, comment)| keys::generate(path, comment))?;
            enos_core::fsutil::sync_file_system(&ssh_dir).map_err(|e| {
                ProviderError::new(format!("cannot flush {}: {e}", ssh_dir.display()))
            })?;
            Ok::<_, ProviderError>(jobs.len())
        })
        .await
        .map_err(|e| ProviderError::new(e.to_string()))??;
        for _ in 0..made {
            reporter.advance(task, "key", true);
        }
        reporter.finish(task);
        Ok(())
    }

    async fn build_fabric(&self, plan: &TestbedPlan) -> Result<(), ProviderError> {
        sys::run("ip", &["netns", "add", &plan.fabric], None).await?;
        // Before any link exists, so that every link inherits the defaults: routing, no ICMP
        // redirects (hosts of one site reach each other through their gateway, out of the
        // bridge they came in by), no reverse-path filter (the WAN emulator gives packets back
        // on its own device), no IPv6.
        sys::run(
            "ip",
            &[
                "netns",
                "exec",
                &plan.fabric,
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
                "net.ipv4.conf.all.send_redirects=0",
                "net.ipv4.conf.default.send_redirects=0",
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ],
            None,
        )
        .await?;
        let mut fabric = vec!["link set lo up".to_owned()];
        for site in &plan.sites {
            fabric.push(format!(
                "link add name {} address {} type bridge",
                site.bridge,
                plan::mac_of(site.gateway)
            ));
            fabric.push(format!("addr add {}/24 dev {}", site.gateway, site.bridge));
            fabric.push(format!("link set {} up", site.bridge));
        }
        sys::ip_batch(Some(&plan.fabric), &fabric).await?;
        let link = &plan.management_link;
        sys::ip_batch(
            None,
            &[
                format!(
                    "link add {link} type veth peer name mgmt netns {}",
                    plan.fabric
                ),
                format!("addr add {}/30 dev {link}", plan.management_root),
                format!("link set {link} up"),
            ],
        )
        .await?;
        sys::ip_batch(
            Some(&plan.fabric),
            &[
                format!("addr add {}/30 dev mgmt", plan.management_fabric),
                "link set mgmt up".to_owned(),
            ],
        )
        .await?;
        sys::run(
            "ip",
            &[
                "route",
                "add",
                &block_cidr(plan.block),
                "via",
                &plan.management_fabric.to_string(),
                "dev",
                link,
            ],
            None,
        )
        .await
        .map(drop)
    }

    async fn build_hosts(
        &self,
        experiment: &Experiment,
        plan: &TestbedPlan,
        down: &[usize],
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError> {
        let prefix = &plan.prefix;
        let existing = sys::namespaces();
        for &i in down {
            if existing.contains(&plan.hosts[i].namespace) {
                teardown::remove_host(prefix, &plan.hosts[i].namespace).await?;
            }
        }
        let task = reporter.start("namespaces and links", down.len() as u64);
        let add: Vec<String> = down
            .iter()
            .map(|&i| format!("netns add {}", plan.hosts[i].namespace))
            .collect();
        sys::ip_batch(None, &add).await?;
        // Each host's veth, its end named `eth0` in the host with an address derived from the
        // host's; and the host as a permanent neighbour of its site's bridge, so the fabric
        // never resolves (nor the kernel collects) a thousand neighbour entries.
        let mut links = Vec::new();
        for &i in down {
            let h = &plan.hosts[i];
            let bridge = &plan.sites[h.site_index].bridge;
            links.push(format!(
                "link add {} type veth peer name eth0 address {} netns {}",
                h.port,
                plan::mac_of(h.address),
                h.namespace
            ));
            links.push(format!("link set {} master {bridge} up", h.port));
            links.push(format!(
                "neigh replace {} lladdr {} dev {bridge} nud permanent",
                h.address,
                plan::mac_of(h.address)
            ));
        }
        sys::ip_batch(Some(&plan.fabric), &links).await?;
        for &i in down {
            reporter.advance(task, &plan.hosts[i].name, true);
        }
        reporter.finish(task);

        let ssh_dir = experiment.dir().join("ssh");
        let authorized_key = read_text(&ssh_dir.join(format!("{}.pub", keys::CLIENT_KEY)))?;
        let etc_hosts = host::etc_hosts(plan);
        let apt_config = egress::apt_config(plan);
        let proxy_env = egress::proxy_env(plan);
        let data = alloc::data_dir(prefix);
        let logs = experiment.subdir("logs/hosts")?;
        let task = reporter.start("host file systems", down.len() as u64);
        let mut dirs = Vec::with_capacity(down.len());
        for &i in down {
            let slot = &plan.hosts[i];
            let gateway = plan.sites[slot.site_index].gateway;
            let key_path = ssh_dir.join("hostkeys").join(&slot.name);
            let host_key = std::fs::read(&key_path).map_err(|e| {
                ProviderError::new(format!("cannot read {}: {e}", key_path.display()))
            })?;
            let host_key_pub = read_text(&key_path.with_extension("pub"))?;
            let dir = host::host_dir(&data, &slot.name);
            host::prepare(
                &dir,
                &host::HostFiles {
                    slot,
                    host_key: &host_key,
                    host_key_pub: &host_key_pub,
                    authorized_key: &authorized_key,
                    etc_hosts: &etc_hosts,
                    apt_config: &apt_config,
                    proxy_env: &proxy_env,
                    network: &host::network_batch(slot, gateway),
                },
            )?;
            dirs.push(dir);
            reporter.advance(task, &slot.name, true);
        }
        reporter.finish(task);

        let task = reporter.start("starting hosts", down.len() as u64);
        let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
        let mut set = JoinSet::new();
        for (&i, dir) in down.iter().zip(dirs) {
            let slot = plan.hosts[i].clone();
            let log = logs.join(format!("{}.log", slot.name));
            let semaphore = semaphore.clone();
            let program = self.daemons.program.clone();
            set.spawn(async move {
                let _permit = semaphore.acquire().await;
                host::start(&program, &slot, &dir, Path::new(alloc::DATA_ROOT), &log).await?;
                Ok::<_, ProviderError>(slot)
            });
        }
        let mut started = Vec::new();
        while let Some(result) = set.join_next().await {
            let slot = result.map_err(|e| ProviderError::new(e.to_string()))??;
            reporter.advance(task, &slot.name, true);
            started.push(slot);
        }
        reporter.finish(task);

        // Wait until every started host's sshd listens (the SSH masters opened next prove that
        // it answers).
        let task = reporter.start("waiting for sshd", started.len() as u64);
        let deadline = Instant::now() + START_TIMEOUT;
        let mut waiting = started;
        while !waiting.is_empty() {
            let mut set = JoinSet::new();
            for slot in waiting {
                let dir = host::host_dir(&data, &slot.name);
                set.spawn(async move {
                    let up = host::listening(&dir);
                    (slot, up)
                });
            }
            waiting = Vec::new();
            while let Some(result) = set.join_next().await {
                let (slot, up) = result.map_err(|e| ProviderError::new(e.to_string()))?;
                if up {
                    reporter.advance(task, &slot.name, true);
                } else {
                    waiting.push(slot);
                }
            }
            if waiting.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                let names: Vec<_> = waiting.iter().map(|s| s.name.as_str()).collect();
                let log = logs.join(format!("{}.log", waiting[0].name));
                return Err(ProviderError::new(format!(
                    "hosts did not answer over SSH within {}s: {}; last lines of {}:\n{}",
                    START_TIMEOUT.as_secs(),
                    names.join(", "),
                    log.display(),
                    daemon::log_tail(&log, 5)
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        reporter.finish(task);
        Ok(())
    }

    fn testbed_of(
        &self,
        experiment: &Experiment,
        plan: &TestbedPlan,
    ) -> Result<Testbed, ProviderError> {
        let ssh_dir = experiment.dir().join("ssh");
        let control_dir = alloc::runtime_dir(&plan.prefix).join("ssh");
        std::fs::create_dir_all(&control_dir).map_err(|e| {
            ProviderError::new(format!("cannot create {}: {e}", control_dir.display()))
        })?;
        let mut hosts = Vec::with_capacity(plan.hosts.len());
        for h in &plan.hosts {
            let public = read_text(&ssh_dir.join("hostkeys").join(format!("{}.pub", h.name)))?;
            hosts.push(Host {
                host_key: HostKeySource::Pinned {
                    key: public
                        .split_whitespace()
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" "),
                },
                ..Host::new(&h.name, &h.site, &h.role, h.address.into())
            });
        }
        let testbed = Testbed {
            hosts,
            networks: plan
                .sites
                .iter()
                .map(|s| SiteNetwork {
                    site: s.name.clone(),
                    cidr: s.cidr.clone(),
                    gateway: s.gateway.into(),
                })
                .collect(),
            ssh: SshAccess::in_experiment(
                experiment.dir(),
                ssh_dir.join(keys::CLIENT_KEY),
                control_dir,
            ),
        };
        Ok(testbed)
    }
}

fn read_text(path: &Path) -> Result<String, ProviderError> {
    std::fs::read_to_string(path)
        .map_err(|e| ProviderError::new(format!("cannot read {}: {e}", path.display())))
}

impl enos_scenario::ProviderKind for LocalProvider {
    fn name(&self) -> &'static str {
        options::LocalKind.name()
    }

    fn options_schema(&self) -> serde_json::Value {
        options::LocalKind.options_schema()
    }

    fn check_options(
        &self,
        options: &serde_json::Value,
        ctx: &mut enos_scenario::OptionsContext<'_>,
    ) -> enos_scenario::CheckedOptions {
        options::LocalKind.check_options(options, ctx)
    }

    fn check_sites(
        &self,
        options: &serde_json::Value,
        sites: &[enos_scenario::Site],
        ctx: &mut enos_scenario::OptionsContext<'_>,
    ) {
        options::LocalKind.check_sites(options, sites, ctx);
    }
}

#[async_trait::async_trait]
impl Provider for LocalProvider {
    async fn check(&self) -> Result<(), ProviderError> {
        if !cfg!(target_os = "linux") {
            return Err(ProviderError::new("the local provider needs Linux"));
        }
        if !rustix::process::geteuid().is_root() {
            return Err(ProviderError::new(
                "the local provider needs root (it creates network namespaces)",
            )
            .with_hint("run enos as root, e.g. with sudo"));
        }
        let mut missing = Vec::new();
        for program in [
            "ip",
            "unshare",
            "setsid",
            "mount",
            "chroot",
            "sshd",
            "ssh",
            "ssh-keygen",
            "nft",
        ] {
            if !find_program(program).await {
                missing.push(program);
            }
        }
        if !missing.is_empty() {
            return Err(ProviderError::new(format!("the local provider needs programs that are missing: {}", missing.join(", ")))
                .with_hint("on Debian or Ubuntu: apt-get install openssh-server openssh-client iproute2 util-linux nftables"));
        }
        let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
        if !filesystems
            .lines()
            .any(|l| l.trim_end().ends_with("overlay"))
        {
            return Err(ProviderError::new(
                "the local provider needs the kernel's overlay file system",
            )
            .with_hint("modprobe overlay"));
        }
        Ok(())
    }

    async fn deploy(
        &self,
        experiment: &mut Experiment,
        reporter: &dyn Reporter,
    ) -> Result<Testbed, ProviderError> {
        self.check().await?;
        let mut state = match local_state(experiment) {
            Some(state) => state,
            None => {
                let (prefix, block) = alloc::allocate().await?;
                let state = LocalState {
                    prefix,
                    block,
                    fabric_ready: false,
                    plan: None,
                    kernel_netem: None,
                };
                // Recorded before anything is created, so that destroy finds it after a crash.
                save_local_state(experiment, &state)?;
                state
            }
        };
        let plan = plan::plan(&experiment.state().scenario, &state.prefix, state.block)
            .map_err(|e| ProviderError::new(e.to_string()))?;
        if state.plan.as_ref() != Some(&plan) {
            state.plan = Some(plan.clone());
            save_local_state(experiment, &state)?;
        }
        self.ensure_keys(experiment, &plan, reporter).await?;

        let namespaces = sys::namespaces();
        let fabric_intact =
            namespaces.contains(&plan.fabric) && sys::root_link_exists(&plan.management_link);
        if !(state.fabric_ready && fabric_intact) {
            teardown::remove_network(&plan.prefix).await?;
            state.fabric_ready = false;
            save_local_state(experiment, &state)?;
            self.build_fabric(&plan).await?;
            state.fabric_ready = true;
            save_local_state(experiment, &state)?;
        }
        // Before any host exists, and again on every deploy (an older fabric may lack it).
        firewall::apply(&plan).await?;
        let packages =
            repositories::PackageConfig::of_this_machine(|name| std::env::var(name).ok());
        let allow = egress::allow_list(&experiment.state().scenario, &packages)?;
        let proxy_log = experiment.path(enos_core::layout::daemon_log("egress-proxy"))?;
        egress::ensure(&self.daemons, &plan, &allow, &proxy_log).await?;

        let namespaces = sys::namespaces();
        let mut checks = JoinSet::new();
        let data = alloc::data_dir(&plan.prefix);
        for (i, slot) in plan.hosts.iter().enumerate() {
            let exists = namespaces.contains(&slot.namespace);
            let dir = host::host_dir(&data, &slot.name);
            checks.spawn(async move { (i, exists && host::listening(&dir)) });
        }
        let mut down = Vec::new();
        while let Some(result) = checks.join_next().await {
            let (i, up) = result.map_err(|e| ProviderError::new(e.to_string()))?;
            if !up {
                down.push(i);
            }
        }
        down.sort_unstable();
        if down.is_empty() {
            reporter.note("every host is already up");
        } else {
            self.build_hosts(experiment, &plan, &down, reporter).await?;
        }
        if state.kernel_netem.is_none() {
            state.kernel_netem = Some(wan::kernel_has_netem(&state.prefix).await);
            save_local_state(experiment, &state)?;
        }
        self.testbed_of(experiment, &plan)
    }

    fn check_scenario(&self, scenario: &enos_scenario::Scenario) -> Result<(), (String, String)> {
        wan::check_scenario(scenario).map_err(|why| ("network".to_owned(), why))
    }

    fn plan(&self, scenario: &enos_scenario::Scenario) -> Result<ProvisionPlan, ProviderError> {
        // The prefix and the address block are chosen at deploy time; block 0 shows the layout.
        let layout =
            plan::plan(scenario, "<prefix>", 0).map_err(|e| ProviderError::new(e.to_string()))?;
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let mut actions = vec![PlannedAction::new(
            format!("create the network namespace {}", layout.fabric),
            "the fabric: one bridge per site, routed between sites",
        )];
        for site in &layout.sites {
            let hosts = layout.hosts.iter().filter(|h| h.site == site.name).count();
            actions.push(PlannedAction::new(
                format!(
                    "create the bridge {} for {}, and {hosts} host namespace{} on it",
                    site.bridge,
                    site.name,
                    plural(hosts)
                ),
                format!(
                    "site {}, a /24 of the address block chosen at deploy",
                    site.name
                ),
            ));
        }
        let hosts = layout.hosts.len();
        actions.push(PlannedAction::new(
            format!("start sshd in each of the {hosts} host{}", plural(hosts)),
            "the hosts are reached over SSH like remote ones",
        ));
        Ok(ProvisionPlan {
            provider: "local".to_owned(),
            actions,
        })
    }

    fn wan_emulator(&self, experiment: &Experiment) -> Option<&dyn WanEmulator> {
        match local_state(experiment).and_then(|s| s.kernel_netem) {
            // The kernel has netem: tc on each host's eth0.
            Some(true) => None,
            _ => Some(self),
        }
    }

    fn daemons(&self) -> Vec<Daemon> {
        vec![
            Daemon {
                name: host::DAEMON,
                main: host::daemon_main,
            },
            Daemon {
                name: enos_emulator::daemon::NAME,
                main: enos_emulator::daemon::main,
            },
            Daemon {
                name: enos_egress::daemon::NAME,
                main: enos_egress::daemon::main,
            },
        ]
    }

    async fn destroy(
        &self,
        experiment: &mut Experiment,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError> {
        let Some(state) = local_state(experiment) else {
            reporter.note("nothing was provisioned");
            return Ok(());
        };
        self.check().await?;
        let task = reporter.start("removing the testbed", 1);
        teardown::remove_all(&state.prefix).await?;
        reporter.advance(task, &state.prefix, true);
        reporter.finish(task);
        Ok(())
    }

    fn hosts_share_files(&self) -> bool {
        // A host's root is an overlay of the machine's own.
        true
    }

    fn hosts_share_cpu(&self) -> bool {
        // Hosts are namespaces of the machine's kernel, each with its own PID namespace.
        true
    }

    fn describe(&self, experiment: &Experiment) -> Vec<(String, String)> {
        let Some(state) = local_state(experiment) else {
            return vec![(
                "provider".to_owned(),
                "local (nothing provisioned)".to_owned(),
            )];
        };
        vec![
            ("provider".to_owned(), "local".to_owned()),
            ("prefix".to_owned(), state.prefix.clone()),
            ("address block".to_owned(), block_cidr(state.block)),
            (
                "fabric namespace".to_owned(),
                plan::fabric_namespace(&state.prefix),
            ),
            (
                "host file systems".to_owned(),
                alloc::data_dir(&state.prefix).display().to_string(),
            ),
            (
                "egress proxy".to_owned(),
                match (egress::proxy_pid(&state.prefix), &state.plan) {
                    (Some(pid), Some(plan)) => format!("{} (pid {pid})", egress::proxy_url(plan)),
                    _ => "not running".to_owned(),
                },
            ),
            (
                "WAN emulation".to_owned(),
                match (state.kernel_netem, wan::emulator_pid(&state.prefix)) {
                    (Some(true), _) => "tc netem on each host's eth0".to_owned(),
                    (_, Some(pid)) => format!(
                        "userspace emulator in the fabric (this kernel has no netem), pid {pid}"
                    ),
                    (_, None) => "userspace emulator in the fabric (this kernel has no netem), \
                                  not started"
                        .to_owned(),
                },
            ),
        ]
    }
}

#[async_trait::async_trait]
impl WanEmulator for LocalProvider {
    fn description(&self) -> String {
        "userspace emulator in the fabric (this kernel has no netem)".to_owned()
    }

    async fn shape(
        &self,
        experiment: &mut Experiment,
        matrix: &WanMatrix,
        reporter: &dyn Reporter,
    ) -> Result<(), ProviderError> {
        let plan = local_state(experiment)
            .and_then(|s| s.plan)
            .ok_or_else(|| ProviderError::new("the local testbed is not deployed"))?;
        let log = experiment.path(enos_core::layout::daemon_log("wan-emulator"))?;
        wan::shape(&self.daemons, &plan, matrix, &log, reporter).await
    }
}
