//! The commands: each loads what it needs, calls the libraries, and prints the outcome.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::CommandFactory;
use enos_core::inventory::{self, InventoryFormat};
use enos_core::{Experiment, Phase, Provider, Reporter, Testbed};
use enos_remote::Fleet;
use enos_scenario::{ProviderKind, Scenario};

use crate::Failure;
use crate::args::{Cli, Command, EnvArgs, InfoFormat, InventoryKind, TcCommand};
use crate::experiment::{fleet_config, open_with_testbed, plural, provider_for, targets};
use crate::progress::TerminalReporter;

/// Runs the command `cli` asks for.
pub async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let reporter = TerminalReporter::new(cli.quiet);
    match cli.command {
        Command::Validate { file } => validate(&file),
        Command::Schema => {
            let schema =
                serde_json::to_string_pretty(&enos_scenario::json_schema(&provider_kinds()))
                    .map_err(|e| Failure::new(e.to_string()))?;
            println!("{schema}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Deploy {
            file,
            dry_run: true,
            ..
        } => dry_run(&file),
        Command::Deploy {
            file,
            results,
            no_validate,
            dry_run: false,
        } => deploy(&file, &results, !no_validate, &reporter).await,
        Command::Exec {
            env,
            roles,
            sites,
            parallelism,
            timeout,
            command,
        } => {
            exec(
                &env,
                &roles,
                &sites,
                parallelism,
                Duration::from_secs(timeout),
                &command.join(" "),
                &reporter,
            )
            .await
        }
        Command::Info { env, format } => info(&env, format),
        Command::Inventory { env, format } => print_inventory(&env, format),
        Command::Destroy { env } => destroy(&env, &reporter).await,
        Command::Tc(TcCommand::Apply(args)) => crate::wan::apply(&args, &reporter).await,
        Command::Tc(TcCommand::Validate { env, validation }) => {
            crate::wan::validate(&env, &validation, &reporter).await
        }
        Command::Tc(TcCommand::Reset { env }) => crate::wan::reset(&env, &reporter).await,
        // Dispatched by `main` before the runtime starts; never reached.
        Command::LocalHost { .. } => Err(Failure::new(
            "`local-host` runs before the async runtime starts",
        )),
        Command::WanEmulator {
            config,
            socket,
            pid_file,
        } => crate::wan::emulator(&config, &socket, pid_file.as_deref()),
        Command::EgressProxy {
            listen,
            clients,
            allow,
            cache,
            pid_file,
        } => {
            let mut config = enos_egress::ProxyConfig::new(listen);
            config.clients = clients;
            config.allow = allow;
            config.cache_dir = cache;
            egress_proxy(config, &pid_file).await
        }
        Command::Bench(_) => not_built("bench", "benchmarks"),
        Command::Backup(_) => not_built("backup", "backups of logs, configuration and metrics"),
        Command::Analyze(_) => not_built("analyze", "analysis of results"),
        Command::Run(_) => not_built(
            "run",
            "the all-in-one run (deploy, bench, backup, analyze, destroy)",
        ),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "enos", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The egress proxy daemon: serves until SIGTERM or SIGINT.
async fn egress_proxy(
    config: enos_egress::ProxyConfig,
    pid_file: &Path,
) -> Result<ExitCode, Failure> {
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "nothing".to_owned()
        } else {
            items.join(", ")
        }
    };
    // One line for the daemon's log: what this proxy lets through.
    eprintln!(
        "egress proxy on {}: serves {}; forwards to {}",
        config.listen,
        list(config.clients.iter().map(ToString::to_string).collect()),
        list(config.allow.iter().map(ToString::to_string).collect()),
    );
    let listener = enos_egress::bind(&config)
        .await
        .map_err(|e| Failure::new(e.to_string()))?;
    enos_core::fsutil::write_atomic(pid_file, format!("{}\n", std::process::id()).as_bytes())
        .map_err(|e| Failure::new(format!("cannot write {}: {e}", pid_file.display())))?;
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
    let stats = enos_egress::serve(listener, config, shutdown)
        .await
        .map_err(|e| Failure::new(e.to_string()))?;
    tracing::info!(?stats, "egress proxy stopped");
    Ok(ExitCode::SUCCESS)
}

fn not_built(command: &str, capability: &str) -> Result<ExitCode, Failure> {
    Err(
        Failure::new(format!("`enos {command}`: {capability} is not built yet"))
            .hint("this enos can validate, deploy, exec, tc, info, inventory and destroy"),
    )
}

/// The provider kinds this program reads scenarios with: their options, checks and schemas.
fn provider_kinds() -> [&'static dyn ProviderKind; 2] {
    [
        &enos_provider_local::options::LocalKind,
        &enos_provider_static::StaticKind,
    ]
}

/// Reads and checks a scenario (size cap, UTF-8 errors with their line and column, the
/// provider's options), including what its provider can hold once it is resolved (the local
/// provider's WAN), so that no scenario that validates fails later for its size; returns it with
/// its text.
fn load(file: &Path) -> Result<(Scenario, String), Failure> {
    let source = enos_scenario::read_file(file)?;
    let name = file.display().to_string();
    let scenario = enos_scenario::parse(&source, &name, &provider_kinds())?;
    if scenario.provider.name == "local" {
        enos_provider_local::wan::check_scenario(&scenario)
            .map_err(|why| enos_scenario::error_at_key(&source, &name, "network", why))?;
    }
    Ok((scenario, source))
}

fn validate(file: &Path) -> Result<ExitCode, Failure> {
    let (scenario, _) = load(file)?;
    let plan = crate::apply::example_plan(&scenario)?;
    let hosts = scenario.hosts().len();
    let steps = if plan.steps.is_empty() {
        String::new()
    } else {
        format!(
            ", {} deploy step{}",
            plan.steps.len(),
            plural(plan.steps.len())
        )
    };
    println!(
        "ok: {}: experiment '{}', {} site{}, {} host{}{steps}",
        file.display(),
        scenario.name,
        scenario.sites.len(),
        plural(scenario.sites.len()),
        hosts,
        plural(hosts)
    );
    Ok(ExitCode::SUCCESS)
}

fn dry_run(file: &Path) -> Result<ExitCode, Failure> {
    let (scenario, _) = load(file)?;
    let plan = crate::apply::example_plan(&scenario)?;
    print!("{}", plan.describe());
    println!(
        "dry run: {} step{} rendered on a made-up testbed (site i is 10.<i>.0.0/16, secrets are \
         placeholders); nothing was provisioned",
        plan.steps.len(),
        plural(plan.steps.len())
    );
    Ok(ExitCode::SUCCESS)
}

async fn deploy(
    file: &Path,
    results: &Path,
    validate: bool,
    reporter: &TerminalReporter,
) -> Result<ExitCode, Failure> {
    let (scenario, source) = load(file)?;
    crate::apply::example_plan(&scenario)?;
    let provider = provider_for(&scenario.provider)?;
    provider.check().await?;
    let (mut experiment, _) =
        Experiment::open_for_deploy(results, &scenario, &source, provider.name())?;
    let _phases = PhaseLog {
        path: experiment.subdir("logs")?.join(PHASES_FILE),
        reporter,
    };
    experiment.state_mut().begin_step("deploy");
    let before = experiment.state().testbed.clone();
    if experiment.state().phase != Phase::Deployed {
        experiment.set_phase(Phase::Provisioning)?;
    }
    let testbed = match deploy_steps(&mut experiment, provider.as_ref(), reporter).await {
        Ok(testbed) => testbed,
        Err(failure) => {
            let dir = experiment.dir().display().to_string();
            return Err(mark_failed(&mut experiment, failure).hint(format!(
                "the partial testbed is recorded in {dir}; `enos destroy --env {dir}` removes it, \
                 `enos deploy` again completes it"
            )));
        }
    };
    let unchanged = before.as_ref() == Some(&testbed);
    let state = experiment.state_mut();
    state.testbed = Some(testbed.clone());
    state.phase = Phase::Deployed;
    state.end_step(Ok(()));
    experiment.save()?;
    let state = experiment.state();
    let hosts = testbed.hosts.len();
    println!(
        "{} '{}': {} host{} in {} site{}, every host answers over SSH",
        if unchanged {
            "already deployed"
        } else {
            "deployed"
        },
        state.name,
        hosts,
        plural(hosts),
        state.scenario.sites.len(),
        plural(state.scenario.sites.len()),
    );
    println!("results: {}", experiment.dir().display());
    println!(
        "ssh:     ssh -F {} <host>",
        experiment.dir().join("ssh_config").display()
    );

    experiment.state_mut().begin_step("wan");
    experiment.save()?;
    let shaped = crate::wan::deploy_step(
        &mut experiment,
        provider.as_ref(),
        &testbed,
        validate,
        reporter,
    )
    .await
    .and_then(|report| match report {
        Some(report) => crate::wan::finish_validation(&experiment, &report),
        None => Ok(ExitCode::SUCCESS),
    });
    if let Err(failure) = shaped {
        return Err(mark_failed(&mut experiment, failure).hint(
            "the testbed is up; `enos tc validate` measures again, `enos deploy` again shapes \
             and measures again, `enos deploy --no-validate` skips the measurement",
        ));
    }
    experiment.state_mut().end_step(Ok(()));
    experiment.save()?;
    if experiment.state().scenario.deploy.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }

    experiment.state_mut().begin_step("deploy steps");
    experiment.save()?;
    match crate::apply::apply(&mut experiment, &testbed, reporter).await {
        Ok(code) => {
            experiment.state_mut().end_step(Ok(()));
            experiment.save()?;
            Ok(code)
        }
        Err(failure) => Err(mark_failed(&mut experiment, failure)),
    }
}

/// Where `enos deploy` records how long each of its phases took, under the experiment's `logs/`.
pub const PHASES_FILE: &str = "deploy-phases.json";

/// Writes the reporter's phases (what each task did and how long it took) to `path` when
/// dropped: whether the command succeeds, fails or returns early.
struct PhaseLog<'a> {
    path: PathBuf,
    reporter: &'a TerminalReporter,
}

impl Drop for PhaseLog<'_> {
    fn drop(&mut self) {
        let record = serde_json::json!({
            "version": 1,
            "phases": self.reporter.phases(),
        });
        let written = serde_json::to_vec_pretty(&record)
            .map_err(std::io::Error::other)
            .and_then(|mut text| {
                text.push(b'\n');
                enos_core::fsutil::write_atomic(&self.path, &text)
            });
        if let Err(e) = written {
            tracing::warn!("cannot write {}: {e}", self.path.display());
        }
    }
}

/// Records that the deploy failed: the phase becomes `failed` and the error ends the step in
/// the history, saved at once (atomically). Returns the failure to show.
fn mark_failed(experiment: &mut Experiment, failure: Failure) -> Failure {
    let state = experiment.state_mut();
    state.phase = Phase::Failed;
    state.end_step(Err(failure.message.clone()));
    match experiment.save() {
        Ok(()) => failure,
        Err(e) => Failure {
            message: format!(
                "{}\nmoreover the experiment could not be marked failed: {e}",
                failure.message.trim_end()
            ),
            ..failure
        },
    }
}

async fn deploy_steps(
    experiment: &mut Experiment,
    provider: &dyn Provider,
    reporter: &TerminalReporter,
) -> Result<Testbed, Failure> {
    let testbed = provider.deploy(experiment, reporter).await?;
    experiment.state_mut().testbed = Some(testbed.clone());
    experiment.save()?;
    let dir = experiment.dir().join("inventory");
    inventory::write_all(&dir, &experiment.state().name, &testbed)
        .map_err(|e| Failure::new(e.to_string()))?;
    // Prove every host answers over SSH, and keep the connections open for later commands.
    let (_fleet, failures) = Fleet::connect(
        fleet_config(&testbed, 64),
        targets(&testbed.hosts),
        reporter,
    )
    .await;
    if !failures.is_empty() {
        let lines: Vec<String> = failures
            .iter()
            .map(|f| format!("  {}: {}", f.host, f.outcome_error()))
            .collect();
        return Err(Failure::new(format!(
            "{} host{} did not answer over SSH:\n{}",
            failures.len(),
            plural(failures.len()),
            lines.join("\n")
        )));
    }
    Ok(testbed)
}

async fn exec(
    env: &EnvArgs,
    roles: &[String],
    sites: &[String],
    parallelism: usize,
    timeout: Duration,
    command: &str,
    reporter: &TerminalReporter,
) -> Result<ExitCode, Failure> {
    let (experiment, testbed) = open_with_testbed(env)?;
    let scenario = &experiment.state().scenario;
    for site in sites {
        if scenario.site(site).is_none() {
            return Err(Failure::new(format!(
                "no site '{site}' in experiment '{}'",
                scenario.name
            )));
        }
    }
    let selected = testbed.select(roles, sites);
    if selected.is_empty() {
        return Err(Failure::new(
            "no host matches the selection (--roles, --sites)",
        ));
    }
    let (fleet, mut failures) = Fleet::connect(
        fleet_config(&testbed, parallelism.max(1)),
        targets(selected.iter().copied()),
        reporter,
    )
    .await;
    let results = fleet.run(command, timeout, reporter).await;
    let mut out = std::io::stdout().lock();
    let mut ok = 0;
    let mut failed = 0;
    for host in &selected {
        if let Some(result) = results.iter().find(|r| r.host == host.name) {
            match &result.outcome {
                Ok(output) => {
                    let code = output.exit.code();
                    let good = code == Some(0);
                    if good {
                        ok += 1
                    } else {
                        failed += 1
                    }
                    let _ = writeln!(
                        out,
                        "── {} ({}, {} ms)",
                        host.name,
                        output.exit,
                        output.duration.as_millis()
                    );
                    let _ = out.write_all(&output.stdout);
                    if !output.stdout.is_empty() && !output.stdout.ends_with(b"\n") {
                        let _ = writeln!(out);
                    }
                    if !output.stderr.is_empty() {
                        for line in String::from_utf8_lossy(&output.stderr).lines() {
                            let _ = writeln!(out, "stderr: {line}");
                        }
                    }
                }
                Err(e) => {
                    failed += 1;
                    let _ = writeln!(out, "── {} (failed: {})", host.name, e.reason());
                }
            }
        } else if let Some(pos) = failures.iter().position(|f| f.host == host.name) {
            let failure = failures.remove(pos);
            failed += 1;
            let _ = writeln!(
                out,
                "── {} (unreachable: {})",
                host.name,
                failure.outcome_error()
            );
        }
    }
    let _ = writeln!(
        out,
        "{} host{}: {ok} ok, {failed} failed",
        selected.len(),
        plural(selected.len())
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn info(env: &EnvArgs, format: InfoFormat) -> Result<ExitCode, Failure> {
    let experiment = Experiment::open(&env.location())?;
    let state = experiment.state();
    if let InfoFormat::Json = format {
        let text = serde_json::to_string_pretty(state).map_err(|e| Failure::new(e.to_string()))?;
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let provider = provider_for(&state.scenario.provider)?;
    let mut rows: Vec<(String, String)> = vec![
        ("experiment".to_owned(), state.name.clone()),
        ("phase".to_owned(), state.phase.to_string()),
        ("results".to_owned(), experiment.dir().display().to_string()),
    ];
    if state.phase == Phase::Failed
        && let Some(step) = state.history.last()
    {
        let outcome = step.outcome.as_deref().unwrap_or("did not end");
        let first = outcome.lines().next().unwrap_or_default();
        rows.push(("failed step".to_owned(), format!("{}: {first}", step.step)));
    }
    rows.extend(provider.describe(&experiment));
    if let Some(report) = crate::apply::current_report(&experiment) {
        rows.push(("deploy steps".to_owned(), crate::apply::summary(&report)));
    }
    if let Some(testbed) = &state.testbed {
        rows.push((
            "ssh".to_owned(),
            format!("ssh -F {} <host>", testbed.ssh.config.display()),
        ));
    }
    let label_width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    for (label, value) in rows {
        let _ = writeln!(out, "{label:<label_width$}  {value}");
    }
    if let Some(testbed) = &state.testbed {
        let _ = writeln!(out);
        let width = testbed
            .hosts
            .iter()
            .map(|h| h.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            out,
            "{:<width$}  {:<16}  {:<16}  ADDRESS",
            "HOST", "SITE", "ROLE"
        );
        for h in &testbed.hosts {
            let _ = writeln!(
                out,
                "{:<width$}  {:<16}  {:<16}  {}",
                h.name, h.site, h.role, h.address
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_inventory(env: &EnvArgs, format: InventoryKind) -> Result<ExitCode, Failure> {
    let (experiment, testbed) = open_with_testbed(env)?;
    let format = match format {
        InventoryKind::Ini => InventoryFormat::Ini,
        InventoryKind::Yaml => InventoryFormat::Yaml,
        InventoryKind::Json => InventoryFormat::Json,
    };
    let text = inventory::render(format, &experiment.state().name, &testbed)
        .map_err(|e| Failure::new(e.to_string()))?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

async fn destroy(env: &EnvArgs, reporter: &TerminalReporter) -> Result<ExitCode, Failure> {
    let mut experiment = Experiment::open(&env.location())?;
    if experiment.state().phase == Phase::Destroyed {
        println!("'{}' is already destroyed", experiment.state().name);
        return Ok(ExitCode::SUCCESS);
    }
    let provider = provider_for(&experiment.state().scenario.provider)?;
    experiment.state_mut().begin_step("destroy");
    experiment.set_phase(Phase::Destroying)?;
    if let Some(testbed) = experiment.state().testbed.clone()
        && let Err(e) = enos_remote::close_all(&testbed.ssh.control_dir).await
    {
        reporter.note(&format!("warning: closing SSH connections: {e}"));
    }
    match provider.destroy(&mut experiment, reporter).await {
        Ok(()) => {
            let state = experiment.state_mut();
            state.phase = Phase::Destroyed;
            state.end_step(Ok(()));
            experiment.save()?;
            println!(
                "destroyed '{}'; results kept in {}",
                experiment.state().name,
                experiment.dir().display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let state = experiment.state_mut();
            state.end_step(Err(e.message.clone()));
            experiment.save()?;
            Err(e.into())
        }
    }
}
