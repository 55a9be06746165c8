//! Package downloads for hosts that have no route out: the egress proxy.
//!
//! The testbed's hosts reach nothing beyond the testbed, but they reach the root namespace's end
//! of the management link. One proxy per experiment (`enos egress-proxy`, see `enos-egress`)
//! listens there, in the root namespace, and each host's apt is configured to use it
//! (`/etc/apt/apt.conf.d/00enos-proxy`). `.deb` files are cached under the experiment's data
//! directory, so a package several hosts install is downloaded once; the cache goes with the
//! testbed. Other tools can use the proxy too: `/etc/enos/proxy.env` sets `http_proxy`,
//! `https_proxy` and a `no_proxy` that keeps the testbed's own traffic direct.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use enos_core::ProviderError;

use crate::alloc::{data_dir, runtime_dir};
use crate::daemon::{Daemons, log_tail, running_pid};
use crate::plan::{TestbedPlan, block_cidr};

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

/// Starts the proxy of `plan` unless it runs already, and waits until it listens.
pub async fn ensure(
    daemons: &Daemons,
    plan: &TestbedPlan,
    log: &std::path::Path,
) -> Result<(), ProviderError> {
    if proxy_pid(&plan.prefix).is_some() {
        return Ok(());
    }
    let pid_file = pid_path(&plan.prefix);
    if let Some(dir) = pid_file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| ProviderError::new(format!("cannot create {}: {e}", dir.display())))?;
    }
    let _ = std::fs::remove_file(&pid_file);
    let address = listen_address(plan);
    let args: Vec<std::ffi::OsString> = vec![
        "egress-proxy".into(),
        "--listen".into(),
        address.to_string().into(),
        "--cache".into(),
        cache_dir(&plan.prefix).into(),
        "--pid-file".into(),
        pid_file.into(),
    ];
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
