//! The `enos` command: it parses arguments, calls the experiment library and renders its
//! outcomes. Only this crate writes to the terminal; the libraries report through
//! [`enos_experiment::Reporter`] and return typed outcomes.
#![warn(missing_docs)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod args;
mod commands;
pub mod progress;
mod render;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;
use enos_experiment::Providers;

use crate::args::Cli;

/// The providers this `enos` knows: adding one is one line here.
pub fn providers() -> Providers {
    // The daemons of the local provider are this very binary, behind `enos daemon`.
    let program = std::env::current_exe().unwrap_or_else(|_| "enos".into());
    Providers::new()
        .register(enos_provider_local::LocalProvider::new(
            enos_provider_local::daemon::Daemons { program },
        ))
        .register(enos_provider_static::StaticProvider)
        .register(enos_provider_g5k::G5kProvider::default())
        .register(enos_provider_vagrant::VagrantProvider::default())
        .register(enos_provider_openstack::OpenStackProvider::default())
}

fn init_tracing(cli: Option<&Cli>) {
    let level = match cli.map(|c| (c.quiet, c.verbose)) {
        Some((true, _)) => "error",
        Some((false, 0)) => "warn",
        Some((false, 1)) => "debug",
        Some((false, _)) => "trace",
        // A daemon: its log file says what it does.
        None => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ENOS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Daemons log into files: colours only on a terminal.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// `enos daemon <name> <args…>`: a provider's daemon, run before any thread starts (entering
/// namespaces needs a single-threaded process).
fn daemon(providers: &Providers, mut args: std::vec::IntoIter<OsString>) -> ExitCode {
    let name = args.next().unwrap_or_default();
    let Some(daemon) = providers
        .daemons()
        .into_iter()
        .chain(enos_experiment::bench::daemons())
        .find(|d| name.as_os_str() == d.name)
    else {
        eprintln!("error: no daemon {}", name.to_string_lossy());
        return ExitCode::FAILURE;
    };
    init_tracing(None);
    match (daemon.main)(args.collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}: {}", daemon.name, e.trim_end());
            ExitCode::FAILURE
        }
    }
}

/// Runs `enos` with the process's arguments; returns the exit code.
pub fn main() -> ExitCode {
    let providers = providers();
    let mut args = std::env::args_os().collect::<Vec<_>>().into_iter();
    if args.as_slice().get(1).is_some_and(|a| a == "daemon") {
        args.nth(1);
        return daemon(&providers, args);
    }
    let cli = Cli::parse();
    init_tracing(Some(&cli));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli, &providers)) {
        Ok(code) => code,
        Err(error) => {
            render::error(&error);
            ExitCode::FAILURE
        }
    }
}
