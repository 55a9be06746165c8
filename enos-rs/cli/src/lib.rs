//! The `enos` command. Only this crate writes to the terminal; the libraries report through
//! [`enos_core::Reporter`] and return errors.
#![warn(missing_docs)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod apply;
pub mod args;
mod commands;
mod experiment;
pub mod progress;
mod wan;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;

/// A failure to show to the person running enos: `error: …`, optionally followed by `hint: …`.
#[derive(Debug)]
pub struct Failure {
    /// The message, already formatted (it may span several lines).
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Whether `message` is already a complete diagnostic (scenario errors carry their own
    /// `error:` prefix and snippet).
    pub preformatted: bool,
}

impl Failure {
    /// A failure with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            preformatted: false,
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<enos_core::StateError> for Failure {
    fn from(e: enos_core::StateError) -> Self {
        Failure::new(e.to_string())
    }
}

impl From<enos_core::ProviderError> for Failure {
    fn from(e: enos_core::ProviderError) -> Self {
        Failure {
            message: e.message,
            hint: e.hint,
            preformatted: false,
        }
    }
}

impl From<enos_scenario::ScenarioError> for Failure {
    fn from(e: enos_scenario::ScenarioError) -> Self {
        Failure {
            message: e.to_string(),
            hint: None,
            preformatted: true,
        }
    }
}

fn init_tracing(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        (false, _) => "trace",
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

/// Runs `enos` with the process's arguments; returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // A host of the local testbed starts before any thread does: entering namespaces needs it.
    if let args::Command::LocalHost {
        netns,
        dir,
        data_root,
        name,
    } = &cli.command
    {
        let init = enos_provider_local::host::HostInit {
            netns: netns.clone(),
            dir: dir.clone(),
            data_root: data_root.clone(),
            name: name.clone(),
        };
        return match enos_provider_local::host::init_main(&init) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: host {name}: {e}");
                ExitCode::FAILURE
            }
        };
    }
    init_tracing(&cli);
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
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(failure) => {
            if failure.preformatted {
                eprintln!("{}", failure.message.trim_end());
            } else {
                eprintln!("error: {}", failure.message.trim_end());
            }
            if let Some(hint) = failure.hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}
