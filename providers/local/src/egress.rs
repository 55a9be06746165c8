//! Package downloads for hosts that have no route out: the egress proxy.
//!
//! The testbed's hosts reach nothing beyond the testbed, but they reach the root namespace's end
//! of the management link. One proxy per experiment (`enos daemon egress-proxy`, see `enos-egress`)
//! listens there, in the root namespace, and each host's apt is configured to use it
//! (`/etc/apt/apt.conf.d/00enos-proxy`). `.deb` files are cached under the experiment's data
//! directory, so a package several hosts install is downloaded once; the cache goes with the
//! testbed. Other tools can use the proxy too: `/etc/enos/proxy.env` sets `http_proxy`,
//! `https_proxy` and a `no_proxy` that keeps the testbed's own traffic direct.
//!
//! The proxy serves only the experiment's address block and forwards only to the package
//! repositories this machine's apt and pip name ([`crate::repositories`]) and to the scenario's
//! `provider.local.egress_allow`; it never connects to loopback, link-local, the testbed's
//! range or this machine's own addresses (see `enos_egress::access`). The fabric's firewall
//! ([`crate::firewall`]) keeps hosts from reaching anything else of the root namespace.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use enos_egress::AllowRule;
use enos_provider::ProviderError;
use enos_scenario::Scenario;

use crate::alloc::{data_dir, runtime_dir};
use crate::daemon::{Daemons, log_tail, running_pid};
use crate::plan::{TestbedPlan, block_cidr};
use crate::repositories::{PackageConfig, repository_hosts};
use crate::sys;

/// The proxy's port, on the root namespace's end of the management link (apt-cacher's).
pub const PORT: u16 = 3142;
/// How long the proxy gets to listen after it is started.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// The file holding the proxy's pid for experiment `prefix`.
pub fn pid_path(prefix: &str) -> PathBuf {
    runtime_dir(prefix).join("egress").join("proxy.pid")
}

/// Where the proxy keeps the packages it downloaded for experiment `prefix`.
pub fn cache_dir(prefix: &str) -> PathBuf {
    data_dir(prefix).join("egress-cache")
}

/// The proxy's pid, when it runs.
pub fn proxy_pid(prefix: &str) -> Option<u32> {
    running_pid(&pid_path(prefix))
}

/// Where the proxy of `plan` listens.
pub fn listen_address(plan: &TestbedPlan) -> SocketAddr {
    SocketAddr::from((plan.management_root, PORT))
}

/// The proxy's URL as hosts use it.
pub fn proxy_url(plan: &TestbedPlan) -> String {
    format!("http://{}/", listen_address(plan))
}

/// apt's configuration on every host: downloads go through the proxy.
pub fn apt_config(plan: &TestbedPlan) -> String {
    format!(
        "// Written by enos-rs: this testbed's hosts download packages through the egress proxy.\n\
         Acquire::http::Proxy \"{url}\";\nAcquire::https::Proxy \"{url}\";\n",
        url = proxy_url(plan)
    )
}

/// Environment variables for other tools (`. /etc/enos/proxy.env`): through the proxy, except
/// the testbed's own addresses.
pub fn proxy_env(plan: &TestbedPlan) -> String {
    let url = proxy_url(plan);
    let direct = format!("localhost,127.0.0.1,{}", block_cidr(plan.block));
    format!(
        "# Written by enos-rs: use the egress proxy for downloads from outside the testbed.\n\
         export http_proxy={url} https_proxy={url} HTTP_PROXY={url} HTTPS_PROXY={url}\n\
         export no_proxy={direct} NO_PROXY={direct}\n"
    )
}

/// The proxy's allow-list for `scenario`: the repositories that `packages` (this machine's apt
/// and pip configuration) names, then the scenario's `egress_allow`; each entry once, in its
/// canonical form. An entry the proxy could not read is skipped (from the machine's files,
/// with a warning) or refused (from the scenario, which was checked already).
pub fn allow_list(
    scenario: &Scenario,
    packages: &PackageConfig,
) -> Result<Vec<String>, ProviderError> {
    let mut allow: Vec<String> = Vec::new();
    for host in repository_hosts(packages) {
        match host.parse::<AllowRule>() {
            Ok(rule) => allow.push(rule.to_string()),
            Err(e) => tracing::warn!("not forwarding to a repository of this machine's: {e}"),
        }
    }
    let options =
        crate::options::options(&scenario.provider.options).map_err(ProviderError::new)?;
    for entry in &options.egress_allow {
        let rule: AllowRule = entry
            .parse()
            .map_err(|e| ProviderError::new(format!("provider.local.egress_allow: {e}")))?;
        allow.push(rule.to_string());
    }
    let mut seen = std::collections::HashSet::new();
    allow.retain(|entry| seen.insert(entry.clone()));
    Ok(allow)
}

/// The arguments of the proxy of `plan` (after the program): where it listens, the
/// experiment's block as its only clients, `allow` as its allow-list, its cache and pid file.
pub fn proxy_args(plan: &TestbedPlan, allow: &[String]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "daemon".into(),
        enos_egress::daemon::NAME.into(),
        "--listen".into(),
        listen_address(plan).to_string().into(),
        "--clients".into(),
        block_cidr(plan.block).into(),
    ];
    for entry in allow {
        args.push("--allow".into());
        args.push(entry.into());
    }
    args.extend([
        "--cache".into(),
        cache_dir(&plan.prefix).into(),
        "--pid-file".into(),
        pid_path(&plan.prefix).into(),
    ]);
    args
}

/// The arguments process `pid` was started with, after its program.
fn running_args(pid: u32) -> Vec<OsString> {
    use std::os::unix::ffi::OsStrExt;
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .skip(1)
        .map(|a| std::ffi::OsStr::from_bytes(a).to_owned())
        .collect()
}

/// Stops the proxy `pid` (SIGTERM, then SIGKILL after 5 s) and waits until it is gone.
async fn stop(pid: u32) {
    sys::kill(pid, rustix::process::Signal::TERM);
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        if Instant::now() > deadline {
            sys::kill(pid, rustix::process::Signal::KILL);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts the proxy of `plan`, forwarding to `allow`, unless it runs already with these
/// settings (one started with others, e.g. by an earlier version, is restarted), and waits
/// until it listens.
pub async fn ensure(
    daemons: &Daemons,
    plan: &TestbedPlan,
    allow: &[String],
    log: &std::path::Path,
) -> Result<(), ProviderError> {
    let args = proxy_args(plan, allow);
    if let Some(pid) = proxy_pid(&plan.prefix) {
        if running_args(pid) == args {
            return Ok(());
        }
        stop(pid).await;
    }
    let pid_file = pid_path(&plan.prefix);
    if let Some(dir) = pid_file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| ProviderError::new(format!("cannot create {}: {e}", dir.display())))?;
    }
    let _ = std::fs::remove_file(&pid_file);
    let address = listen_address(plan);
    daemons.spawn("egress proxy", &args, log).await?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if proxy_pid(&plan.prefix).is_some()
            && tokio::net::TcpStream::connect(address).await.is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(ProviderError::new(format!(
                "the egress proxy did not listen on {address} within {}s; last lines of {}:\n{}",
                START_TIMEOUT.as_secs(),
                log.display(),
                log_tail(log, 5)
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_list_is_the_machine_s_repositories_then_the_scenario_s() {
        let dir = tempfile::tempdir().unwrap();
        let apt = dir.path().join("apt");
        std::fs::create_dir_all(apt.join("sources.list.d")).unwrap();
        std::fs::write(
            apt.join("sources.list"),
            "deb http://deb.debian.org/debian bookworm main\n\
             deb http://bad_name.example.org/debian bookworm main\n",
        )
        .unwrap();
        let packages = PackageConfig {
            apt_dir: apt,
            ..PackageConfig::default()
        };
        let scenario = enos_scenario::parse(
            "name: q\nprovider: {local: {egress_allow: [GitHub.com, \"*.opendev.org\", deb.debian.org]}}\n\
             sites: {a: {roles: {x: 1}}}\n",
            "q.yaml",
            &[&crate::options::LocalKind],
        )
        .unwrap();
        assert_eq!(
            allow_list(&scenario, &packages).unwrap(),
            [
                "deb.debian.org",
                "files.pythonhosted.org",
                "pypi.org",
                "github.com",
                "*.opendev.org"
            ]
        );
        let plan = crate::plan::plan(&scenario, "eab12", 3).unwrap();
        let args: Vec<String> = proxy_args(&plan, &["deb.debian.org".to_owned()])
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args[..8],
            [
                "daemon",
                "egress-proxy",
                "--listen",
                "198.18.48.1:3142",
                "--clients",
                "198.18.48.0/20",
                "--allow",
                "deb.debian.org"
            ]
        );
    }
}
