//! The command line, defined once: help and shell completions are generated from it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Experiment orchestration: describe a distributed-systems experiment once, in a scenario file;
/// enos builds the testbed, runs the experiment and tears it all down.
#[derive(Debug, Parser)]
#[command(name = "enos", version, max_term_width = 100)]
pub struct Cli {
    /// More output (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less output: errors only, no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where to find an experiment that already exists.
#[derive(Debug, Clone, Args)]
pub struct EnvArgs {
    /// The experiment's results directory (default: the `current` link under --results).
    #[arg(long, value_name = "DIR")]
    pub env: Option<PathBuf>,
    /// The results root.
    #[arg(long, value_name = "DIR", default_value = "enos-results")]
    pub results: PathBuf,
}

impl EnvArgs {
    /// The directory to open: `--env`, or the results root (whose `current` link leads on).
    pub fn location(&self) -> PathBuf {
        self.env.clone().unwrap_or_else(|| self.results.clone())
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a scenario file and report every error with its file, line and column.
    Validate {
        /// The scenario file.
        file: PathBuf,
    },
    /// Print the JSON Schema of scenario files (for editors).
    Schema,
    /// Provision the testbed of a scenario and make every host reachable over SSH.
    Deploy {
        /// The scenario file.
        file: PathBuf,
        /// The results root; the experiment gets `<DIR>/<name>/<timestamp>/`.
        #[arg(long, value_name = "DIR", default_value = "enos-results")]
        results: PathBuf,
    },
    /// Run a shell command on the hosts of a deployed experiment.
    Exec {
        /// Which experiment.
        #[command(flatten)]
        env: EnvArgs,
        /// Only hosts with these roles (comma-separated or repeated).
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Only hosts in these sites (comma-separated or repeated).
        #[arg(long, value_delimiter = ',')]
        sites: Vec<String>,
        /// How many hosts at once.
        #[arg(long, default_value_t = 64)]
        parallelism: usize,
        /// Seconds a host gets to finish the command.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// The command, run by each host's shell.
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "CMD"
        )]
        command: Vec<String>,
    },
    /// Show an experiment: its phase, provider details and hosts.
    Info {
        /// Which experiment.
        #[command(flatten)]
        env: EnvArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = InfoFormat::Text)]
        format: InfoFormat,
    },
    /// Print the experiment's inventory.
    Inventory {
        /// Which experiment.
        #[command(flatten)]
        env: EnvArgs,
        /// Inventory format.
        #[arg(long, value_enum, default_value_t = InventoryKind::Ini)]
        format: InventoryKind,
    },
    /// Remove everything the experiment created (also after a crash or a half-finished deploy).
    Destroy {
        /// Which experiment.
        #[command(flatten)]
        env: EnvArgs,
    },
    /// Apply, validate or reset WAN emulation (not built yet).
    Tc(NotBuilt),
    /// Run the benchmarks of a scenario (not built yet).
    Bench(NotBuilt),
    /// Collect logs, configuration and metrics from the hosts (not built yet).
    Backup(NotBuilt),
    /// Turn collected results into an analysis (not built yet).
    Analyze(NotBuilt),
    /// Deploy, benchmark, back up, analyze and destroy in one command (not built yet).
    Run(NotBuilt),
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Arguments of a command that is not built yet (accepted, then refused with a clear message).
#[derive(Debug, Args)]
pub struct NotBuilt {
    /// Arguments (ignored).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<String>,
}

/// Formats of `enos info`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InfoFormat {
    /// For people.
    Text,
    /// The experiment state as JSON.
    Json,
}

/// Formats of `enos inventory`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InventoryKind {
    /// Ansible INI.
    Ini,
    /// Ansible YAML.
    Yaml,
    /// JSON.
    Json,
}
