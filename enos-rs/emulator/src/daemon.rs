//! The emulator as a daemon: `enos daemon wan-emulator --config FILE --socket PATH
//! [--pid-file PATH]`, started by a provider that shapes the WAN with it.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

use crate::EmulatorConfig;

/// The daemon's name on the command line.
pub const NAME: &str = "wan-emulator";

/// The daemon's arguments.
#[derive(Debug, Parser)]
#[command(name = "wan-emulator", no_binary_name = true)]
struct Args {
    /// Its configuration (JSON).
    #[arg(long)]
    config: PathBuf,
    /// Its control socket.
    #[arg(long)]
    socket: PathBuf,
    /// Where to write its pid once it serves.
    #[arg(long)]
    pid_file: Option<PathBuf>,
}

/// Serves until stopped; the arguments are those after the daemon's name.
pub fn main(args: Vec<OsString>) -> Result<(), String> {
    let args = Args::try_parse_from(args).map_err(|e| e.to_string())?;
    let text = std::fs::read(&args.config)
        .map_err(|e| format!("cannot read {}: {e}", args.config.display()))?;
    let config: EmulatorConfig =
        serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", args.config.display()))?;
    let pid_file = args.pid_file;
    let ready = move || {
        if let Some(path) = &pid_file {
            let temporary = path.with_extension("pid.new");
            let written = std::fs::write(&temporary, format!("{}\n", std::process::id()))
                .and_then(|()| std::fs::rename(&temporary, path));
            if let Err(e) = written {
                tracing::warn!("cannot write {}: {e}", path.display());
            }
        }
    };
    crate::serve(config, &args.socket, ready).map_err(|e| e.to_string())
}
