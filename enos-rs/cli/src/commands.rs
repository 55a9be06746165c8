//! The commands: each turns its arguments into a request, calls the experiment library and
//! renders the outcome.

use std::process::ExitCode;
use std::time::Duration;

use clap::CommandFactory;
use enos_experiment::{
    ApplyRequest, DeployRequest, Destroyed, Error, ExecRequest, InventoryFormat, Providers,
};

use crate::args::{Cli, Command, InfoFormat, InventoryKind, MetricsCommand, TcCommand};
use crate::progress::TerminalReporter;
use crate::render;

/// Runs the command `cli` asks for.
pub async fn run(cli: Cli, providers: &Providers) -> Result<ExitCode, Error> {
    let reporter = TerminalReporter::new(cli.quiet);
    match cli.command {
        Command::Validate { file } => {
            let validated = enos_experiment::validate(providers, &file)?;
            render::validated(&file, &validated);
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            let schema = serde_json::to_string_pretty(&enos_experiment::schema(providers))
                .map_err(|e| Error::new(e.to_string()))?;
            println!("{schema}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Deploy {
            file,
            dry_run: true,
            ..
        } => {
            let plan = enos_experiment::dry_run(providers, &file)?;
            render::dry_run(&plan);
            Ok(ExitCode::SUCCESS)
        }
        Command::Deploy {
            file,
            results,
            no_validate,
            dry_run: false,
        } => {
            let request = DeployRequest {
                file,
                results,
                validate: !no_validate,
            };
            let run = enos_experiment::deploy(providers, &request, &reporter).await;
            render::deploy(&run);
            run.result.map(|()| ExitCode::SUCCESS)
        }
        Command::Exec {
            env,
            roles,
            sites,
            parallelism,
            timeout,
            command,
        } => {
            let request = ExecRequest {
                roles,
                sites,
                parallelism: parallelism.max(1),
                timeout: Duration::from_secs(timeout),
                command: command.join(" "),
            };
            let run = enos_experiment::exec(&env.location(), &request, &reporter).await?;
            render::exec(&run);
            Ok(if run.succeeded() == run.hosts.len() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Info { env, format } => {
            let info = enos_experiment::info(providers, &env.location())?;
            match format {
                InfoFormat::Json => {
                    let text = serde_json::to_string_pretty(&info.state)
                        .map_err(|e| Error::new(e.to_string()))?;
                    println!("{text}");
                }
                InfoFormat::Text => render::info(&info),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Inventory { env, format } => {
            let format = match format {
                InventoryKind::Ini => InventoryFormat::Ini,
                InventoryKind::Yaml => InventoryFormat::Yaml,
                InventoryKind::Json => InventoryFormat::Json,
            };
            print!("{}", enos_experiment::inventory(&env.location(), format)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Destroy { env } => {
            match enos_experiment::destroy(providers, &env.location(), &reporter).await? {
                Destroyed::Already { name } => println!("'{name}' is already destroyed"),
                Destroyed::Now { name, results } => {
                    println!("destroyed '{name}'; results kept in {}", results.display())
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Tc(TcCommand::Apply(args)) => {
            let request = ApplyRequest {
                constraints: args.constraints.clone(),
                set: args.set.clone(),
                validate: (!args.no_validate).then(|| (&args.validation).into()),
            };
            let applied =
                enos_experiment::tc_apply(providers, &args.env.location(), &request, &reporter)
                    .await?;
            render::tc_applied(&applied);
            match &applied.validation {
                Some(validation) => render::validation(validation),
                None => Ok(ExitCode::SUCCESS),
            }
        }
        Command::Tc(TcCommand::Validate { env, validation }) => {
            let validation =
                enos_experiment::tc_validate(&env.location(), &(&validation).into(), &reporter)
                    .await?;
            render::validation(&validation)
        }
        Command::Tc(TcCommand::Reset { env }) => {
            enos_experiment::tc_reset(providers, &env.location(), &reporter).await?;
            println!("reset: no traffic is shaped");
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { env, workload } => {
            let request = enos_experiment::BenchRequest {
                workload,
                program: this_program(),
            };
            let stop = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            let run = enos_experiment::bench(providers, &env.location(), &request, &reporter, stop)
                .await?;
            render::bench(&run);
            Ok(match run.record.status {
                enos_experiment::RunStatus::Complete => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            })
        }
        Command::Metrics(MetricsCommand::Start { env }) => {
            let run = enos_experiment::metrics_start(
                providers,
                &env.location(),
                &this_program(),
                &reporter,
            )
            .await?;
            render::metrics(&run, "started", "running");
            Ok(metrics_exit(&run))
        }
        Command::Metrics(MetricsCommand::Stop { env }) => {
            let run = enos_experiment::metrics_stop(providers, &env.location(), &reporter).await?;
            render::metrics(&run, "stopped", "stopped");
            Ok(metrics_exit(&run))
        }
        Command::Backup { env } => {
            let run = enos_experiment::backup(providers, &env.location(), &reporter).await?;
            render::backup(&run);
            Ok(
                if run
                    .manifest
                    .hosts
                    .iter()
                    .all(|h| h.status == enos_experiment::backup::HostStatus::Complete)
                {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                },
            )
        }
        Command::Analyze { env } => {
            let dir = enos_experiment::results_dir(&env.location())?;
            let analysis = enos_analysis::analyze(&dir).map_err(|e| Error::new(e.message))?;
            render::analysis(&analysis);
            Ok(ExitCode::SUCCESS)
        }
        Command::Compare {
            a,
            b,
            threshold,
            junit,
        } => {
            let read = |dirs: &[std::path::PathBuf]| {
                dirs.iter()
                    .map(|d| {
                        let dir = enos_experiment::results_dir(d)?;
                        enos_analysis::compare::read_run(&dir).map_err(|e| Error::new(e.message))
                    })
                    .collect::<Result<Vec<_>, Error>>()
            };
            let comparisons =
                enos_analysis::compare::compare(&read(&a)?, &read(&b)?, threshold / 100.0);
            if let Some(path) = junit {
                std::fs::write(&path, enos_analysis::compare::junit(&comparisons))
                    .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
            }
            render::comparisons(&comparisons);
            let regressed = comparisons
                .iter()
                .any(|c| c.verdict == enos_analysis::compare::Verdict::Regression);
            Ok(if regressed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Run {
            file,
            results,
            no_validate,
            keep,
        } => {
            let request = enos_experiment::RunRequest {
                deploy: DeployRequest {
                    file,
                    results,
                    validate: !no_validate,
                },
                program: this_program(),
                keep,
            };
            let stop = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            let analyze = |dir: &std::path::Path| {
                enos_analysis::analyze(dir)
                    .map(|a| {
                        render::analysis(&a);
                        a.dir.display().to_string()
                    })
                    .map_err(|e| e.message)
            };
            let outcome =
                enos_experiment::run(providers, &request, &reporter, stop, &analyze).await;
            render::run(&outcome);
            Ok(match outcome.verdict() {
                enos_experiment::RunVerdict::Success => ExitCode::SUCCESS,
                enos_experiment::RunVerdict::Partial => ExitCode::from(2),
                enos_experiment::RunVerdict::Failure => ExitCode::FAILURE,
            })
        }
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "enos", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// This very binary: the hosts run the load generator and the metrics agent with it
/// (`enos daemon`).
fn this_program() -> std::path::PathBuf {
    std::env::current_exe().unwrap_or_else(|_| "enos".into())
}

/// Failure when an agent could not be started or stopped.
fn metrics_exit(run: &enos_experiment::MetricsRun) -> ExitCode {
    if run.collection.hosts.iter().all(|h| h.error.is_none()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
