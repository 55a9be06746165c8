//! The command line, defined once: help and shell completions are generated from it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use enos_experiment::ValidationOptions;

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
    /// Convert an EnOS reservation file into a scenario, with a warning for each setting that
    /// has no equivalent; the scenario written is then validated.
    Import {
        /// The EnOS reservation file (`reservation.yaml`).
        file: PathBuf,
        /// Write the scenario there (refused if the file exists, unless --force) rather than on
        /// standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace the --output file if it exists.
        #[arg(long, requires = "output")]
        force: bool,
    },
    /// Provision the testbed of a scenario, shape its WAN and apply its `deploy:` section.
    ///
    /// Deploying again completes a half-made testbed, applies a changed WAN or `deploy:` section
    /// in place, and skips every step whose work already holds.
    Deploy {
        /// The scenario file.
        file: PathBuf,
        /// The results root; the experiment gets `<DIR>/<name>/<timestamp>/`.
        #[arg(long, value_name = "DIR", default_value = "enos-results")]
        results: PathBuf,
        /// Shape the WAN without measuring it afterwards.
        #[arg(long)]
        no_validate: bool,
        /// Print what the `deploy:` section would do on each host (rendered on a made-up
        /// testbed, secrets as placeholders) and stop: nothing is provisioned.
        #[arg(long)]
        dry_run: bool,
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
    /// Keep the hosts longer where the provider lends them for a time (Grid'5000's walltime).
    Extend {
        /// Which experiment.
        #[command(flatten)]
        env: EnvArgs,
        /// How much longer, e.g. `1h`, `90m` (at most 24h at a time).
        #[arg(long, value_name = "DURATION")]
        by: enos_experiment::scenario::Timeout,
    },
    /// Apply, validate or reset WAN emulation.
    #[command(subcommand)]
    Tc(TcCommand),
    /// Run the scenario's workloads (its `bench:` section) on the deployed testbed, recording as
    /// they go; Ctrl-C stops cleanly, keeping the records.
    Bench {
        /// Which experiment.
        #[command(flatten)]
        env: EnvArgs,
        /// Only this workload.
        #[arg(long, value_name = "NAME")]
        workload: Option<String>,
    },
    /// Start or stop the metrics agents of the scenario's `metrics:` section (`enos bench`
    /// starts and stops them by itself).
    #[command(subcommand)]
    Metrics(MetricsCommand),
    /// Fetch the metrics, service logs and the files stacks declare from every host into
    /// `backup/<host>/`, with a manifest; a second backup fetches only what changed.
    Backup {
        /// Which experiment.
        #[command(flatten)]
        env: EnvArgs,
    },
    /// Turn an experiment's records into tidy tables (Parquet) and per-point statistics, in
    /// `analysis/`.
    Analyze {
        /// Which experiment.
        #[command(flatten)]
        env: EnvArgs,
    },
    /// Compare runs: per workload and point, the change of median latency and whether it is a
    /// regression, an improvement or noise (a rank test for two runs; for sets of runs, the
    /// baseline's own run-to-run variation). Exits with 1 on a regression.
    Compare {
        /// The baseline: an experiment's directory (or a results root), or several separated
        /// by commas.
        #[arg(value_delimiter = ',', required = true, num_args = 1)]
        a: Vec<PathBuf>,
        /// The runs to judge, likewise.
        #[arg(value_delimiter = ',', required = true, num_args = 1)]
        b: Vec<PathBuf>,
        /// The smallest change of the median, in percent, that may count as a regression.
        #[arg(long, default_value_t = 5.0)]
        threshold: f64,
        /// Also write the verdicts as JUnit XML to this file.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Deploy, benchmark, back up, analyze and destroy in one command (for CI). Destroy runs
    /// even when an earlier phase failed. Exit code: 0 complete results, 2 partial results
    /// (kept), 1 failure.
    ///
    /// A scenario with a `sweep:` section runs once per point, each registered in the ledger;
    /// run again, it resumes at the first point not done, and the points' statistics end side
    /// by side under `<DIR>/sweeps/<id>/`.
    Run {
        /// The scenario file.
        #[arg(required_unless_present = "from", conflicts_with = "from")]
        file: Option<PathBuf>,
        /// Run the scenario of a bundle (`enos bundle`) again and compare with the bundled run.
        #[arg(long, value_name = "BUNDLE")]
        from: Option<PathBuf>,
        /// The results root; the experiment gets `<DIR>/<name>/<timestamp>/`.
        #[arg(long, value_name = "DIR", default_value = "enos-results")]
        results: PathBuf,
        /// Shape the WAN without measuring it afterwards.
        #[arg(long)]
        no_validate: bool,
        /// Leave the testbed up at the end (not for sweeps).
        #[arg(long)]
        keep: bool,
    },
    /// List the runs registered in the ledger of a results root, oldest first.
    Runs {
        /// The results root.
        #[arg(long, value_name = "DIR", default_value = "enos-results")]
        results: PathBuf,
        /// Only runs of this experiment name.
        #[arg(long)]
        name: Option<String>,
        /// Only runs so ended.
        #[arg(long, value_enum)]
        status: Option<RunStatusArg>,
        /// Only the points of this sweep.
        #[arg(long, value_name = "ID")]
        sweep: Option<String>,
        /// Only runs with this swept value, as `key=value` (repeatable).
        #[arg(long, value_name = "KEY=VALUE")]
        param: Vec<String>,
        /// Only runs of a scenario whose SHA-256 starts with this.
        #[arg(long, value_name = "HEX")]
        scenario_hash: Option<String>,
        /// Print the ledger's entries as JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Pack a run — its scenario and the files it names, its resolved inventory, versions, raw
    /// data and analysis — into one archive with checksums (`enos run --from` runs it again).
    Bundle {
        /// The run's id (`enos runs` lists them).
        run: String,
        /// The results root.
        #[arg(long, value_name = "DIR", default_value = "enos-results")]
        results: PathBuf,
        /// The archive to write (default: `<run>.tar.gz` here).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// How a registered run ended, for `enos runs --status`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RunStatusArg {
    /// Still running.
    Running,
    /// Every phase succeeded.
    Success,
    /// Results kept, incomplete.
    Partial,
    /// Failed before any result.
    Failure,
    /// Its process ended without finishing it.
    Interrupted,
}

impl RunStatusArg {
    /// The ledger's status.
    pub fn status(self) -> enos_experiment::ledger::LedgerStatus {
        use enos_experiment::ledger::LedgerStatus;
        match self {
            RunStatusArg::Running => LedgerStatus::Running,
            RunStatusArg::Success => LedgerStatus::Success,
            RunStatusArg::Partial => LedgerStatus::Partial,
            RunStatusArg::Failure => LedgerStatus::Failure,
            RunStatusArg::Interrupted => LedgerStatus::Interrupted,
        }
    }
}

/// `enos metrics …`.
#[derive(Debug, Subcommand)]
pub enum MetricsCommand {
    /// Start the agents on every host; they sample until `enos metrics stop`.
    Start {
        /// Which experiment.
        #[command(flatten)]
        env: EnvArgs,
    },
    /// Stop the agents (and fetch Grid'5000 nodes' power from Kwollect).
    Stop {
        /// Which experiment.
        #[command(flatten)]
        env: EnvArgs,
    },
}

/// `enos tc …`.
#[derive(Debug, Subcommand)]
pub enum TcCommand {
    /// Shape the WAN: the scenario's network section, another constraints file, or live changes.
    ///
    /// With no option, applies the scenario's network section again. `--constraints` applies
    /// another file (a network section alone). `--set` alone changes the matrix in force,
    /// keeping what it does not name, without restarting anything.
    Apply(ApplyArgs),
    /// Measure every ordered host pair (a sample per site pair beyond 2,500 pairs) and compare
    /// with what was asked.
    Validate {
        /// Which experiment.
        #[command(flatten)]
        env: EnvArgs,
        /// How to measure.
        #[command(flatten)]
        validation: ValidateArgs,
    },
    /// Remove all shaping: every host pair back to the plain network.
    Reset {
        /// Which experiment.
        #[command(flatten)]
        env: EnvArgs,
    },
}

/// Arguments of `enos tc apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Which experiment.
    #[command(flatten)]
    pub env: EnvArgs,
    /// A constraints file (the keys of a scenario's `network` section).
    #[arg(long, value_name = "FILE")]
    pub constraints: Option<PathBuf>,
    /// A live change, e.g. 'paris->rennes delay=50ms' or 'paris<->rennes loss=100%' (repeatable).
    #[arg(long, value_name = "CHANGE")]
    pub set: Vec<String>,
    /// Apply without measuring afterwards.
    #[arg(long)]
    pub no_validate: bool,
    /// How to measure.
    #[command(flatten)]
    pub validation: ValidateArgs,
}

/// How `enos tc validate` measures, and the tolerances it judges by.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Probes per ordered host pair.
    #[arg(long, default_value_t = ValidationOptions::default().probes)]
    pub probes: u64,
    /// Milliseconds between two probes to the same host.
    #[arg(long = "interval", value_name = "MS", default_value_t = ValidationOptions::default().interval_ms)]
    pub interval_ms: u64,
    /// Measure the throughput from one host to another with iperf3 (repeatable).
    #[arg(long, value_name = "SRC->DST")]
    pub rate: Vec<String>,
    /// Seconds each iperf3 measurement lasts.
    #[arg(long, default_value_t = ValidationOptions::default().rate_seconds)]
    pub rate_seconds: u64,
    /// RTT tolerance in milliseconds (the larger of this and --rtt-percent applies).
    #[arg(long, default_value_t = ValidationOptions::default().rtt_abs_ms)]
    pub rtt_abs_ms: f64,
    /// RTT tolerance in percent of the asked RTT.
    #[arg(long = "rtt-percent", default_value_t = ValidationOptions::default().rtt_rel_percent)]
    pub rtt_rel_percent: f64,
    /// Loss tolerance in percentage points.
    #[arg(long, default_value_t = ValidationOptions::default().loss_points)]
    pub loss_points: f64,
    /// Rate tolerance in percent of the asked rate.
    #[arg(long = "rate-percent", default_value_t = ValidationOptions::default().rate_rel_percent)]
    pub rate_rel_percent: f64,
}

impl From<&ValidateArgs> for ValidationOptions {
    fn from(args: &ValidateArgs) -> Self {
        Self {
            probes: args.probes,
            interval_ms: args.interval_ms,
            rate: args.rate.clone(),
            rate_seconds: args.rate_seconds,
            rtt_abs_ms: args.rtt_abs_ms,
            rtt_rel_percent: args.rtt_rel_percent,
            loss_points: args.loss_points,
            rate_rel_percent: args.rate_rel_percent,
        }
    }
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
