//! `enos tc apply|validate|reset`, the WAN step of `enos deploy`, and the emulator daemon.
//!
//! The matrix in force is kept in `<results>/wan/applied.json` (version 2: the class form of
//! [`WanMatrix`]; version 1, one shape per pair, is still read); each validation writes
//! `validation.csv` and `validation.json` (the latest) beside a timestamped copy. Validation
//! measures what [`enos_wan::validate::probe_plan`] plans: every ordered pair, or a sample per
//! site pair beyond [`enos_wan::validate::SAMPLE_THRESHOLD`] pairs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use enos_core::{Experiment, Host, Provider, Reporter, Testbed, WanMethod};
use enos_remote::Fleet;
use enos_wan::validate::{PairProbes, PairRate, ProbePlan, Tolerance, ValidationReport};
use enos_wan::{PairShape, WanHost, WanMatrix};
use serde::{Deserialize, Serialize};

use crate::Failure;
use crate::args::{ApplyArgs, ValidateArgs};
use crate::experiment::{fleet_config, open_with_testbed, plural, provider_for, targets};
use crate::progress::TerminalReporter;

/// How long tc commands get on one host.
const TC_TIMEOUT: Duration = Duration::from_secs(60);
/// The iperf3 port used by validation.
const IPERF_PORT: u16 = 5201;
/// The version of `applied.json` written.
const APPLIED_VERSION: u32 = 2;

/// What `applied.json` holds: the matrix in force and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedWan {
    /// Format version.
    pub version: u32,
    /// How it was applied.
    pub method: WanMethod,
    /// What was asked, in words: the scenario, a file, changes.
    pub source: Vec<String>,
    /// The matrix in force.
    pub matrix: WanMatrix,
}

/// `applied.json` as version 1 wrote it: one shape per ordered pair.
#[derive(Deserialize)]
struct AppliedWanV1 {
    method: WanMethod,
    source: Vec<String>,
    matrix: MatrixV1,
}

#[derive(Deserialize)]
struct MatrixV1 {
    pairs: Vec<PairShape>,
}

#[derive(Deserialize)]
struct Version {
    version: u32,
}

fn applied_path(experiment: &Experiment) -> PathBuf {
    experiment.dir().join("wan").join("applied.json")
}

/// The matrix in force over `hosts`, if one was applied.
pub fn applied(experiment: &Experiment, hosts: &[WanHost]) -> Option<AppliedWan> {
    let text = std::fs::read(applied_path(experiment)).ok()?;
    read_applied(&text, hosts)
}

/// Reads `applied.json`; a version 1 file (one shape per pair) is turned into the class form
/// over `hosts`, one class per host, leaving out pairs naming a host `hosts` lacks.
fn read_applied(text: &[u8], hosts: &[WanHost]) -> Option<AppliedWan> {
    let version: Version = serde_json::from_slice(text).ok()?;
    if version.version != 1 {
        return serde_json::from_slice(text).ok();
    }
    let old: AppliedWanV1 = serde_json::from_slice(text).ok()?;
    let known: std::collections::HashSet<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let matrix = WanMatrix::from_pairs(
        hosts,
        old.matrix
            .pairs
            .iter()
            .filter(|p| known.contains(p.src.as_str()) && known.contains(p.dst.as_str()))
            .map(|p| (p.src.as_str(), p.dst.as_str(), p.shape)),
    )
    .ok()?;
    Some(AppliedWan {
        version: APPLIED_VERSION,
        method: old.method,
        source: old.source,
        matrix,
    })
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), Failure> {
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| Failure::new(e.to_string()))?;
    text.push(b'\n');
    write_text(path, &text)
}

fn write_text(path: &Path, text: &[u8]) -> Result<(), Failure> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::new(format!("cannot create {}: {e}", dir.display())))?;
    }
    enos_core::fsutil::write_atomic(path, text)
        .map_err(|e| Failure::new(format!("cannot write {}: {e}", path.display())))
}

/// Applies `matrix` to the testbed, by tc over SSH or through the provider's emulator, and
/// records it.
pub async fn apply_matrix(
    experiment: &mut Experiment,
    provider: &dyn Provider,
    testbed: &Testbed,
    matrix: &WanMatrix,
    source: Vec<String>,
    reporter: &TerminalReporter,
) -> Result<WanMethod, Failure> {
    let method = provider.wan_method(experiment).await?;
    match &method {
        WanMethod::Tc { device } => {
            let plans = enos_wan::tc::plan(matrix, |_| Some(device.clone()))
                .map_err(|e| Failure::new(e.to_string()))?;
            let owner = experiment.state().name.clone();
            let mut scripts: HashMap<String, String> = HashMap::new();
            for plan in &plans {
                let script = enos_wan::tc::apply_script(plan, &owner)
                    .map_err(|e| Failure::new(e.to_string()))?;
                scripts.insert(plan.host.clone(), script);
            }
            // Hosts with nothing to shape get their earlier shaping removed.
            let reset = enos_wan::tc::reset_script(std::slice::from_ref(device))
                .map_err(|e| Failure::new(e.to_string()))?;
            let fleet = connect(testbed, reporter).await?;
            let per_host: Vec<(String, String)> = testbed
                .hosts
                .iter()
                .map(|h| {
                    let script = scripts.get(&h.name).unwrap_or(&reset);
                    (h.name.clone(), script.clone())
                })
                .collect();
            run_each(&fleet, &per_host, "applying tc", reporter).await?;
        }
        WanMethod::Emulator { .. } => provider.shape_wan(experiment, matrix, reporter).await?,
    }
    let record = AppliedWan {
        version: APPLIED_VERSION,
        method: method.clone(),
        source,
        matrix: matrix.clone(),
    };
    write_json(&applied_path(experiment), &record)?;
    Ok(method)
}

async fn connect(testbed: &Testbed, reporter: &TerminalReporter) -> Result<Fleet, Failure> {
    let (fleet, failures) =
        Fleet::connect(fleet_config(testbed, 64), targets(&testbed.hosts), reporter).await;
    if let Some(first) = failures.first() {
        return Err(Failure::new(format!(
            "{} host{} did not answer over SSH (first: {}: {})",
            failures.len(),
            plural(failures.len()),
            first.host,
            first.outcome_error()
        )));
    }
    Ok(fleet)
}

/// Runs each host's own script; fails naming every host whose script failed.
async fn run_each(
    fleet: &Fleet,
    scripts: &[(String, String)],
    what: &str,
    reporter: &TerminalReporter,
) -> Result<(), Failure> {
    let results = fleet.run_each(scripts, TC_TIMEOUT, reporter).await;
    let mut failed = Vec::new();
    for result in results {
        match result.outcome {
            Ok(output) if output.exit.code() == Some(0) => {}
            Ok(output) => failed.push(format!(
                "  {}: {} {}",
                result.host,
                output.exit,
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(e) => failed.push(format!("  {}: {}", result.host, e.reason())),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "{what} failed on:\n{}",
            failed.join("\n")
        )))
    }
}

/// `enos tc apply`.
pub async fn apply(args: &ApplyArgs, reporter: &TerminalReporter) -> Result<ExitCode, Failure> {
    let (mut experiment, testbed) = open_with_testbed(&args.env)?;
    let provider = provider_for(&experiment.state().scenario.provider)?;
    let scenario = experiment.state().scenario.clone();
    let hosts = testbed.wan_hosts();
    let (mut matrix, mut source) = match (&args.constraints, applied(&experiment, &hosts)) {
        (Some(file), _) => {
            let text = enos_scenario::read_file(file)?;
            let spec =
                enos_scenario::parse_network(&text, &file.display().to_string(), &scenario.sites)?;
            (
                enos_wan::resolve(&spec, &hosts),
                vec![format!("file {}", file.display())],
            )
        }
        // Changes alone patch what is in force.
        (None, Some(current)) if !args.set.is_empty() => (current.matrix, current.source),
        _ => (
            enos_wan::resolve(&scenario.network, &hosts),
            vec!["scenario".to_owned()],
        ),
    };
    for text in &args.set {
        let change = enos_wan::parse_change(text, &scenario.sites)
            .map_err(|e| Failure::new(format!("--set '{text}': {e}")))?;
        matrix = enos_wan::apply_change(&matrix, &change, &hosts)
            .map_err(|e| Failure::new(format!("--set '{text}': {e}")))?;
        source.push(format!("set {text}"));
    }
    let method = apply_matrix(
        &mut experiment,
        provider.as_ref(),
        &testbed,
        &matrix,
        source,
        reporter,
    )
    .await?;
    let shaped = matrix.pair_count();
    println!(
        "applied: {shaped} shaped direction{} with {}",
        plural(shaped),
        describe_method(&method)
    );
    if args.no_validate {
        return Ok(ExitCode::SUCCESS);
    }
    let report = measure(&experiment, &testbed, &matrix, &args.validation, reporter).await?;
    finish_validation(&experiment, &report)
}

fn describe_method(method: &WanMethod) -> String {
    match method {
        WanMethod::Tc { device } => format!("tc on {device}"),
        WanMethod::Emulator { description } => description.clone(),
    }
}

/// `enos tc validate`.
pub async fn validate(
    args: &crate::args::EnvArgs,
    validation: &ValidateArgs,
    reporter: &TerminalReporter,
) -> Result<ExitCode, Failure> {
    let (experiment, testbed) = open_with_testbed(args)?;
    let matrix = applied(&experiment, &testbed.wan_hosts())
        .map(|a| a.matrix)
        .unwrap_or_default();
    let report = measure(&experiment, &testbed, &matrix, validation, reporter).await?;
    finish_validation(&experiment, &report)
}

/// `enos tc reset`: nothing shaped any more.
pub async fn reset(
    env: &crate::args::EnvArgs,
    reporter: &TerminalReporter,
) -> Result<ExitCode, Failure> {
    let (mut experiment, testbed) = open_with_testbed(env)?;
    let provider = provider_for(&experiment.state().scenario.provider)?;
    apply_matrix(
        &mut experiment,
        provider.as_ref(),
        &testbed,
        &WanMatrix::default(),
        vec!["reset".to_owned()],
        reporter,
    )
    .await?;
    println!("reset: no traffic is shaped");
    Ok(ExitCode::SUCCESS)
}

/// Prints the site table, writes the CSV and JSON, and says whether every pair passed.
pub fn finish_validation(
    experiment: &Experiment,
    report: &ValidationReport,
) -> Result<ExitCode, Failure> {
    let dir = experiment.dir().join("wan");
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let csv = enos_wan::validate::to_csv(report);
    write_text(&dir.join(format!("validation-{stamp}.csv")), csv.as_bytes())?;
    write_text(&dir.join("validation.csv"), csv.as_bytes())?;
    write_json(&dir.join(format!("validation-{stamp}.json")), report)?;
    write_json(&dir.join("validation.json"), report)?;
    print!("{}", enos_wan::validate::site_table(report));
    println!("measured: {}", dir.join("validation.csv").display());
    let failed = report.failed;
    if failed == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure::new(format!(
            "{failed} pair{} outside tolerance (see {})",
            plural(failed),
            dir.join("validation.csv").display()
        ))
        .hint("`enos tc validate --probes 100` measures longer; tolerances are flags of `enos tc validate`"))
    }
}

/// Measures the ordered pairs of the probe plan (fping from each host towards its targets:
/// every other host, or a sample per site pair on a large testbed) and the rates asked for
/// (iperf3); a pair whose rate is measured is also probed.
pub async fn measure(
    experiment: &Experiment,
    testbed: &Testbed,
    matrix: &WanMatrix,
    args: &ValidateArgs,
    reporter: &TerminalReporter,
) -> Result<ValidationReport, Failure> {
    let _ = experiment;
    let hosts = testbed.wan_hosts();
    let mut plan =
        enos_wan::validate::probe_plan(&hosts, matrix, enos_wan::validate::SAMPLE_THRESHOLD);
    let rate_pairs = args
        .rate
        .iter()
        .map(|pair| rate_pair(testbed, pair))
        .collect::<Result<Vec<_>, _>>()?;
    let position = |name: &str| hosts.iter().position(|h| h.name == name);
    for (src, dst) in &rate_pairs {
        if let (Some(a), Some(b)) = (position(&src.name), position(&dst.name)) {
            plan.add_pair(a, b);
        }
    }
    let fleet = connect(testbed, reporter).await?;
    let probes = args.probes.max(1);
    let interval = args.interval_ms.max(1);
    let commands = fping_commands(&hosts, &plan, probes, interval);
    let budget = Duration::from_millis(probes * interval + 30_000);
    let results = fleet.run_each(&commands, budget, reporter).await;
    let by_address: HashMap<String, &str> = testbed
        .hosts
        .iter()
        .map(|h| (h.address.to_string(), h.name.as_str()))
        .collect();
    let mut pairs = Vec::new();
    for result in results {
        let output = match result.outcome {
            Ok(output) if output.exit.code() == Some(0) => output,
            Ok(output) => {
                return Err(Failure::new(format!(
                    "measuring from {} failed ({}): {}",
                    result.host,
                    output.exit,
                    String::from_utf8_lossy(&output.stderr).trim()
                ))
                .hint("the hosts need fping (apt-get install fping)"));
            }
            Err(e) => {
                return Err(Failure::new(format!(
                    "measuring from {} failed: {}",
                    result.host,
                    e.reason()
                )));
            }
        };
        let text = String::from_utf8_lossy(&output.stdout);
        let parsed = enos_wan::validate::parse_fping(&text)
            .map_err(|e| Failure::new(format!("reading fping's output on {}: {e}", result.host)))?;
        for (target, rtts) in parsed {
            let Some(dst) = by_address.get(&target) else {
                continue;
            };
            if *dst != result.host {
                pairs.push(PairProbes {
                    src: result.host.clone(),
                    dst: (*dst).to_owned(),
                    rtts,
                });
            }
        }
    }
    let mut rates = Vec::new();
    for (src, dst) in rate_pairs {
        rates.push(measure_rate(&fleet, src, dst, args.rate_seconds, reporter).await?);
    }
    let tolerance = Tolerance {
        rtt_abs_ms: args.rtt_abs_ms,
        rtt_rel: args.rtt_rel_percent / 100.0,
        loss_points: args.loss_points,
        rate_rel: args.rate_rel_percent / 100.0,
    };
    Ok(enos_wan::validate::validate_plan(
        &hosts, matrix, &plan, &pairs, &rates, &tolerance,
    ))
}

/// The fping command of each host that has targets in `plan` (made for `hosts`).
fn fping_commands(
    hosts: &[WanHost],
    plan: &ProbePlan,
    probes: u64,
    interval: u64,
) -> Vec<(String, String)> {
    hosts
        .iter()
        .zip(&plan.targets)
        .filter(|(_, targets)| !targets.is_empty())
        .map(|(host, targets)| {
            let addresses: Vec<String> = targets
                .iter()
                .filter_map(|&t| hosts.get(t))
                .map(|h| h.address.to_string())
                .collect();
            let command = format!(
                "command -v fping >/dev/null || {{ echo 'fping is not installed' >&2; exit 127; }}; \
                 fping -C {probes} -q -p {interval} -i 1 -t {timeout} {} 2>&1; true",
                addresses.join(" "),
                timeout = 1000.max(interval * 2),
            );
            (host.name.clone(), command)
        })
        .collect()
}

/// The two hosts of a `--rate SRC->DST` pair.
fn rate_pair<'t>(testbed: &'t Testbed, pair: &str) -> Result<(&'t Host, &'t Host), Failure> {
    let (src, dst) = pair
        .split_once("->")
        .ok_or_else(|| Failure::new(format!("--rate '{pair}': expected SRC->DST host names")))?;
    let host = |name: &str| {
        testbed
            .host(name)
            .ok_or_else(|| Failure::new(format!("--rate '{pair}': no host '{name}'")))
    };
    Ok((host(src)?, host(dst)?))
}

/// Measures the throughput from one host to another with iperf3.
async fn measure_rate(
    fleet: &Fleet,
    src_host: &Host,
    dst_host: &Host,
    seconds: u64,
    reporter: &TerminalReporter,
) -> Result<PairRate, Failure> {
    let server = format!(
        "iperf3 -s -1 -D -p {IPERF_PORT} --pidfile /run/enos-iperf3.pid >/dev/null && sleep 0.2"
    );
    run_on(fleet, &dst_host.name, &server, reporter).await?;
    let client = format!(
        "iperf3 -c {} -p {IPERF_PORT} -t {seconds} -O 1 -J",
        dst_host.address
    );
    let output = run_on(fleet, &src_host.name, &client, reporter).await?;
    let bits_per_second = enos_wan::validate::parse_iperf3(&output).map_err(|e| {
        Failure::new(format!(
            "--rate '{}->{}': {e}",
            src_host.name, dst_host.name
        ))
    })?;
    Ok(PairRate {
        src: src_host.name.clone(),
        dst: dst_host.name.clone(),
        bits_per_second,
    })
}

async fn run_on(
    fleet: &Fleet,
    host: &str,
    command: &str,
    reporter: &TerminalReporter,
) -> Result<String, Failure> {
    let scripts = [(host.to_owned(), command.to_owned())];
    let results = fleet.run_each(&scripts, TC_TIMEOUT, reporter).await;
    let result = results
        .into_iter()
        .next()
        .ok_or_else(|| Failure::new(format!("no result from {host}")))?;
    match result.outcome {
        Ok(output) if output.exit.code() == Some(0) => {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        }
        Ok(output) => Err(Failure::new(format!(
            "`{command}` on {host} failed ({}): {}{}",
            output.exit,
            String::from_utf8_lossy(&output.stderr).trim(),
            String::from_utf8_lossy(&output.stdout).trim()
        ))),
        Err(e) => Err(Failure::new(format!(
            "`{command}` on {host}: {}",
            e.reason()
        ))),
    }
}

/// The hidden `enos wan-emulator` daemon: serves until stopped.
pub fn emulator(
    config: &Path,
    socket: &Path,
    pid_file: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let text = std::fs::read(config)
        .map_err(|e| Failure::new(format!("cannot read {}: {e}", config.display())))?;
    let config: enos_emulator::EmulatorConfig = serde_json::from_slice(&text)
        .map_err(|e| Failure::new(format!("{}: {e}", config.display())))?;
    let pid_file = pid_file.map(Path::to_path_buf);
    let ready = move || {
        if let Some(path) = &pid_file {
            let _ = enos_core::fsutil::write_atomic(
                path,
                format!("{}\n", std::process::id()).as_bytes(),
            );
        }
    };
    enos_emulator::serve(config, socket, ready).map_err(|e| Failure::new(e.to_string()))?;
    Ok(ExitCode::SUCCESS)
}

/// The step of `enos deploy` after the hosts answer: shape the WAN the scenario asks for and,
/// unless told not to, prove it.
pub async fn deploy_step(
    experiment: &mut Experiment,
    provider: &dyn Provider,
    testbed: &Testbed,
    validate: bool,
    reporter: &TerminalReporter,
) -> Result<Option<ValidationReport>, Failure> {
    let network = experiment.state().scenario.network.clone();
    let hosts = testbed.wan_hosts();
    let matrix = enos_wan::resolve(&network, &hosts);
    let in_force = applied(experiment, &hosts);
    if matrix.pair_count() == 0 && in_force.is_none() {
        return Ok(None);
    }
    apply_matrix(
        experiment,
        provider,
        testbed,
        &matrix,
        vec!["scenario".to_owned()],
        reporter,
    )
    .await?;
    let shaped = matrix.pair_count();
    reporter.note(&format!("WAN: {shaped} shaped direction{}", plural(shaped)));
    if !validate || shaped == 0 {
        return Ok(None);
    }
    let args = ValidateArgs::default();
    measure(experiment, testbed, &matrix, &args, reporter)
        .await
        .map(Some)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn hosts(names: &[&str]) -> Vec<WanHost> {
        names
            .iter()
            .zip(1u8..)
            .map(|(name, i)| WanHost {
                name: (*name).to_owned(),
                site: name.split('-').next().unwrap().to_owned(),
                role: "node".to_owned(),
                address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)),
            })
            .collect()
    }

    #[test]
    fn applied_version_1_is_read_into_the_class_form() {
        let hosts = hosts(&["a-1", "a-2", "b-1"]);
        let shape = r#"{"delay": "10ms", "jitter": "0ms", "rate": "1gbit", "loss": "0%"}"#;
        let pair = |src: &str, dst: &str, address: &str| {
            format!(
                r#"{{"src": "{src}", "dst": "{dst}", "dst_address": "{address}", "shape": {shape}}}"#
            )
        };
        let text = format!(
            r#"{{"version": 1, "method": {{"tc": {{"device": "eth0"}}}}, "source": ["scenario"],
                "matrix": {{"pairs": [{}, {}, {}]}}}}"#,
            pair("a-1", "b-1", "10.0.0.3"),
            pair("b-1", "a-2", "10.0.0.2"),
            pair("gone-1", "a-1", "10.0.0.1"),
        );
        let applied = read_applied(text.as_bytes(), &hosts).unwrap();
        assert_eq!(applied.version, 2);
        assert_eq!(applied.source, ["scenario"]);
        let m = &applied.matrix;
        assert_eq!(m.host_count(), 3);
        assert_eq!(m.pair_count(), 2);
        assert_eq!(m.shape("a-1", "b-1").unwrap().delay.to_string(), "10ms");
        assert_eq!(m.shape("b-1", "a-2").unwrap().rate.to_string(), "1gbit");
        assert_eq!(m.shape("a-2", "b-1"), None);
        // Version 2 reads back as written.
        let again = serde_json::to_vec(&applied).unwrap();
        assert_eq!(read_applied(&again, &hosts), Some(applied));
        assert_eq!(read_applied(b"{}", &hosts), None);
    }

    #[test]
    fn fping_runs_on_each_host_towards_its_planned_targets_only() {
        let hosts = hosts(&["a-1", "a-2", "b-1"]);
        let mut plan = enos_wan::validate::ProbePlan {
            targets: vec![vec![2], vec![], vec![0]],
            sampled: true,
            total_pairs: 6,
            measured_pairs: 2,
        };
        plan.add_pair(0, 1);
        let commands = fping_commands(&hosts, &plan, 20, 20);
        let hosts_with_commands: Vec<&str> = commands.iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(hosts_with_commands, ["a-1", "b-1"]);
        assert!(
            commands[0]
                .1
                .contains("fping -C 20 -q -p 20 -i 1 -t 1000 10.0.0.2 10.0.0.3 2>&1"),
            "{}",
            commands[0].1
        );
        assert!(commands[1].1.contains("-t 1000 10.0.0.1 2>&1"));
    }
}
