//! The proxy as a daemon: `enos daemon egress-proxy --listen ADDR --clients CIDR… [--allow
//! HOST…] [--cache DIR] --pid-file PATH`, started by a provider whose hosts download through it.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::{AllowRule, IpCidr, ProxyConfig};

/// The daemon's name on the command line.
pub const NAME: &str = "egress-proxy";

/// The daemon's arguments.
#[derive(Debug, Parser)]
#[command(name = "egress-proxy", no_binary_name = true)]
struct Args {
    /// The address to listen on.
    #[arg(long)]
    listen: SocketAddr,
    /// An address block whose clients are served (repeatable); any other client gets 403.
    #[arg(long = "clients", value_name = "CIDR", required = true)]
    clients: Vec<IpCidr>,
    /// A host requests may go to (repeatable): `name` (ports 80 and 443), `*.domain`,
    /// `name:port`, or an IP literal; anything else gets 403.
    #[arg(long = "allow", value_name = "HOST")]
    allow: Vec<AllowRule>,
    /// Where to cache downloaded packages.
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Where to write its pid once it listens.
    #[arg(long)]
    pid_file: PathBuf,
}

/// Serves until SIGTERM or SIGINT; the arguments are those after the daemon's name.
pub fn main(args: Vec<OsString>) -> Result<(), String> {
    let args = Args::try_parse_from(args).map_err(|e| e.to_string())?;
    let mut config = ProxyConfig::new(args.listen);
    config.clients = args.clients;
    config.allow = args.allow;
    config.cache_dir = args.cache;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(serve(config, &args.pid_file))
}

async fn serve(config: ProxyConfig, pid_file: &Path) -> Result<(), String> {
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "nothing".to_owned()
        } else {
            items.join(", ")
        }
    };
    // One line for the daemon's log: what this proxy lets through.
    tracing::info!(
        "egress proxy on {}: serves {}; forwards to {}",
        config.listen,
        list(config.clients.iter().map(ToString::to_string).collect()),
        list(config.allow.iter().map(ToString::to_string).collect()),
    );
    let listener = crate::bind(&config).await.map_err(|e| e.to_string())?;
    let temporary = pid_file.with_extension("pid.new");
    std::fs::write(&temporary, format!("{}\n", std::process::id()))
        .and_then(|()| std::fs::rename(&temporary, pid_file))
        .map_err(|e| format!("cannot write {}: {e}", pid_file.display()))?;
    let shutdown = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    let stats = crate::serve(listener, config, shutdown)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(?stats, "egress proxy stopped");
    Ok(())
}
