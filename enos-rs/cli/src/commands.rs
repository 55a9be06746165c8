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
        Command::Import {
            file,
            output,
            force,
        } => {
            let imported = enos_experiment::scenario::import_reservation(&file)?;
            for warning in &imported.warnings {
                eprintln!("{warning}");
            }
            let Some(output) = output else {
                print!("{}", imported.scenario);
                return Ok(ExitCode::SUCCESS);
            };
            enos_experiment::scenario::write_scenario(&output, &imported.scenario, force)?;
            let validated = enos_experiment::validate(providers, &output).map_err(|e| {
                e.hint(format!(
                    "{} was written from {}: edit it where the error says",
                    output.display(),
                    file.display()
                ))
            })?;
            render::imported(&file, &output, imported.warnings.len(), &validated);
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
                source: None,
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
        Command::Extend { env, by } => {
            let name = enos_experiment::extend(providers, &env.location(), by.0, &reporter).await?;
            println!(
                "'{name}': the hosts are kept {} longer",
                enos_experiment::scenario::span_text(by.0)
            );
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
            let comparisons = compare_dirs(&a, &b, threshold)?;
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
            from,
            results,
            no_validate,
            keep,
        } => {
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    let _ = stop_tx.send(true);
                }
            });
            let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                let _ = rx.wait_for(|stop| *stop).await;
            };
            let analyze = |dir: &std::path::Path| {
                enos_analysis::analyze(dir)
                    .map(|a| {
                        render::analysis(&a);
                        a.dir.display().to_string()
                    })
                    .map_err(|e| e.message)
            };
            let deploy = |file: std::path::PathBuf| DeployRequest {
                file,
                results: results.clone(),
                validate: !no_validate,
                source: None,
            };
            if let Some(bundle) = from {
                let opened = enos_experiment::bundle::open(&bundle, &results)?;
                render::bundle_opened(&opened);
                let mut request = enos_experiment::RunRequest::new(
                    deploy(opened.scenario.clone()),
                    this_program(),
                    keep,
                );
                request.rerun_of = Some(opened.record.run.id.clone());
                request.params = opened.record.run.params.clone();
                let outcome = enos_experiment::run(
                    providers,
                    &request,
                    &reporter,
                    stopped(stop_rx),
                    &analyze,
                )
                .await;
                render::run(&outcome);
                if let Some(dir) = &outcome.results
                    && outcome.verdict() != enos_experiment::RunVerdict::Failure
                {
                    let comparisons = compare_dirs(
                        std::slice::from_ref(&opened.experiment),
                        std::slice::from_ref(dir),
                        5.0,
                    )?;
                    let junit = dir
                        .join(enos_analysis::ANALYSIS_DIR)
                        .join("rerun-comparison.xml");
                    std::fs::write(&junit, enos_analysis::compare::junit(&comparisons)).map_err(
                        |e| Error::new(format!("cannot write {}: {e}", junit.display())),
                    )?;
                    println!(
                        "compared with the bundled run {} (written to {}):",
                        opened.record.run.id,
                        junit.display()
                    );
                    render::comparisons(&comparisons);
                }
                return Ok(verdict_exit(outcome.verdict()));
            }
            let Some(file) = file else {
                return Err(Error::new("a scenario file or --from BUNDLE is needed"));
            };
            if let Some(plan) = enos_experiment::sweep::plan(providers, &file)? {
                if keep {
                    return Err(Error::new(
                        "--keep does not apply to a sweep: each point's testbed is destroyed \
                         before the next point",
                    ));
                }
                render::sweep_plan(&plan);
                let request = enos_experiment::SweepRequest {
                    file,
                    results: results.clone(),
                    validate: !no_validate,
                    program: this_program(),
                };
                let side_by_side = |points: &enos_experiment::sweep::SweepPoints,
                                    out: &std::path::Path| {
                    let inputs: Vec<enos_analysis::sweep::SweepInput> = points
                        .iter()
                        .map(|(params, dir)| {
                            let shown = params
                                .iter()
                                .map(|(k, v)| (k.clone(), enos_experiment::sweep::value_text(v)))
                                .collect();
                            (shown, dir.clone())
                        })
                        .collect();
                    enos_analysis::sweep::side_by_side(&inputs, out)
                        .map(|rows| {
                            render::sweep_rows(&rows);
                            out.join("points.csv").display().to_string()
                        })
                        .map_err(|e| e.message)
                };
                let outcome = enos_experiment::sweep(
                    providers,
                    &request,
                    &plan,
                    &reporter,
                    stop_rx,
                    &analyze,
                    &side_by_side,
                    &render::sweep_point,
                )
                .await?;
                render::sweep(&outcome);
                let all_success = outcome
                    .record
                    .points
                    .iter()
                    .all(|p| p.status == Some(enos_experiment::ledger::LedgerStatus::Success));
                return Ok(
                    if all_success && matches!(outcome.side_by_side, Some(Ok(_))) {
                        ExitCode::SUCCESS
                    } else if outcome.complete() {
                        ExitCode::from(2)
                    } else {
                        ExitCode::FAILURE
                    },
                );
            }
            let request = enos_experiment::RunRequest::new(deploy(file), this_program(), keep);
            let outcome =
                enos_experiment::run(providers, &request, &reporter, stopped(stop_rx), &analyze)
                    .await;
            render::run(&outcome);
            Ok(verdict_exit(outcome.verdict()))
        }
        Command::Runs {
            results,
            name,
            status,
            sweep,
            param,
            scenario_hash,
            json,
        } => {
            let params = param
                .iter()
                .map(|p| {
                    p.split_once('=')
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .ok_or_else(|| Error::new(format!("--param {p}: expected KEY=VALUE")))
                })
                .collect::<Result<Vec<_>, Error>>()?;
            let filter = enos_experiment::ledger::RunFilter {
                name,
                status: status.map(crate::args::RunStatusArg::status),
                sweep,
                params,
                scenario_hash,
            };
            let (runs, skipped) = enos_experiment::ledger::runs(&results, &filter)?;
            render::runs(&runs, &skipped, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bundle {
            run,
            results,
            output,
        } => {
            let bundled = enos_experiment::bundle::bundle(&results, &run, output.as_deref())?;
            render::bundled(&bundled);
            Ok(ExitCode::SUCCESS)
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

/// Compares the runs `a` with the runs `b` (experiment directories or results roots).
fn compare_dirs(
    a: &[std::path::PathBuf],
    b: &[std::path::PathBuf],
    threshold_percent: f64,
) -> Result<Vec<enos_analysis::compare::Comparison>, Error> {
    let read = |dirs: &[std::path::PathBuf]| {
        dirs.iter()
            .map(|d| {
                let dir = enos_experiment::results_dir(d)?;
                enos_analysis::compare::read_run(&dir).map_err(|e| Error::new(e.message))
            })
            .collect::<Result<Vec<_>, Error>>()
    };
    Ok(enos_analysis::compare::compare(
        &read(a)?,
        &read(b)?,
        threshold_percent / 100.0,
    ))
}

fn verdict_exit(verdict: enos_experiment::RunVerdict) -> ExitCode {
    match verdict {
        enos_experiment::RunVerdict::Success => ExitCode::SUCCESS,
        enos_experiment::RunVerdict::Partial => ExitCode::from(2),
        enos_experiment::RunVerdict::Failure => ExitCode::FAILURE,
    }
}
