//! `tc apply|validate|reset` and the WAN phase of a deploy: shape with the provider's emulator
//! or with tc over SSH on each host's experiment interface, record the matrix in force, measure
//! with the probes and judge.
//!
//! Validation measures what [`enos_wan::validate::probe_plan`] plans: every ordered pair, or a
//! sample per site pair beyond [`enos_wan::validate::SAMPLE_THRESHOLD`] pairs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use enos_core::{Experiment, Host, Reporter, Testbed, layout};
use enos_provider::{Provider, WanMethod};
use enos_remote::Fleet;
pub use enos_wan::validate::site_table;
use enos_wan::validate::{PairProbes, PairRate, ProbePlan, Tolerance, ValidationReport};
use enos_wan::{WanHost, WanMatrix};

use crate::error::plural;
use crate::records::{APPLIED_WAN_VERSION, AppliedWan, applied_wan, write_json, write_text};
use crate::registry::Providers;
use crate::session::Session;
use crate::{Error, provider_of};

/// How long tc commands get on one host.
const TC_TIMEOUT: Duration = Duration::from_secs(60);
/// The interface tc shapes on a host that names none.
pub const DEFAULT_INTERFACE: &str = "eth0";

/// How validation measures, and the tolerances it judges by.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationOptions {
    /// Probes per ordered host pair.
    pub probes: u64,
    /// Milliseconds between two probes to the same host.
    pub interval_ms: u64,
    /// Pairs `SRC->DST` whose throughput iperf3 measures.
    pub rate: Vec<String>,
    /// Seconds each iperf3 measurement lasts.
    pub rate_seconds: u64,
    /// RTT tolerance in milliseconds (the larger of this and `rtt_rel_percent` applies).
    pub rtt_abs_ms: f64,
    /// RTT tolerance in percent of the asked RTT.
    pub rtt_rel_percent: f64,
    /// Loss tolerance in percentage points.
    pub loss_points: f64,
    /// Rate tolerance in percent of the asked rate.
    pub rate_rel_percent: f64,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        Self {
            probes: 20,
            interval_ms: 20,
            rate: Vec::new(),
            rate_seconds: 5,
            rtt_abs_ms: 0.5,
            rtt_rel_percent: 5.0,
            loss_points: 2.0,
            rate_rel_percent: 10.0,
        }
    }
}

/// What `tc apply` asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplyRequest {
    /// A constraints file (the keys of a scenario's `network` section) instead of the scenario's.
    pub constraints: Option<PathBuf>,
    /// Live changes to the matrix in force, e.g. `paris->rennes delay=50ms`.
    pub set: Vec<String>,
    /// Measure afterwards, this way; `None` applies without measuring.
    pub validate: Option<ValidationOptions>,
}

/// A validation, written under `wan/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    /// What was measured and judged.
    pub report: ValidationReport,
    /// The CSV file of the latest validation.
    pub csv: PathBuf,
}

impl Validation {
    /// The failure to report when pairs are outside tolerance.
    pub fn failure(&self) -> Option<Error> {
        let failed = self.report.failed;
        (failed > 0).then(|| {
            Error::new(format!(
                "{failed} pair{} outside tolerance (see {})",
                plural(failed),
                self.csv.display()
            ))
            .hint(
                "`enos tc validate --probes 100` measures longer; tolerances are flags of `enos \
                 tc validate`",
            )
        })
    }
}

/// What `tc apply` did.
#[derive(Debug, Clone, PartialEq)]
pub struct TcApplied {
    /// The shaped directions (ordered host pairs).
    pub shaped: usize,
    /// How they were shaped.
    pub method: WanMethod,
    /// The validation that followed, if asked.
    pub validation: Option<Validation>,
}

/// The hosts of `testbed` as the WAN sees them (name, site, role, address), in testbed order.
pub fn wan_hosts(testbed: &Testbed) -> Vec<WanHost> {
    testbed
        .hosts
        .iter()
        .map(|h| WanHost {
            name: h.name.clone(),
            site: h.site.clone(),
            role: h.role.clone(),
            address: h.address,
        })
        .collect()
}

/// The interface tc shapes on `host`: its experiment interface.
pub fn interface_of(host: &Host) -> String {
    host.interface
        .clone()
        .unwrap_or_else(|| DEFAULT_INTERFACE.to_owned())
}

/// How `method` reads in one line.
pub fn describe_method(method: &WanMethod) -> String {
    match method {
        WanMethod::Tc { device } => format!("tc on {device}"),
        WanMethod::Emulator { description } => description.clone(),
    }
}

/// Applies `matrix` to the session's testbed, by the provider's emulator or by tc over SSH,
/// and records it in `wan/applied.json`.
pub(crate) async fn apply_matrix(
    session: &mut Session,
    provider: &dyn Provider,
    matrix: &WanMatrix,
    source: Vec<String>,
    reporter: &dyn Reporter,
) -> Result<WanMethod, Error> {
    let method = match provider.wan_emulator(&session.experiment) {
        Some(emulator) => {
            emulator
                .shape(&mut session.experiment, matrix, reporter)
                .await?;
            WanMethod::Emulator {
                description: emulator.description(),
            }
        }
        None => {
            let fleet = session.fleet(reporter).await?;
            apply_tc(
                &session.experiment,
                &session.testbed,
                &fleet,
                matrix,
                reporter,
            )
            .await?
        }
    };
    let record = AppliedWan {
        version: APPLIED_WAN_VERSION,
        method: method.clone(),
        source,
        matrix: matrix.clone(),
    };
    write_json(&session.experiment.dir().join(layout::APPLIED_WAN), &record)?;
    Ok(method)
}

/// Shapes with tc on each host's experiment interface; hosts with nothing to shape get their
/// earlier shaping removed.
async fn apply_tc(
    experiment: &Experiment,
    testbed: &Testbed,
    fleet: &Fleet,
    matrix: &WanMatrix,
    reporter: &dyn Reporter,
) -> Result<WanMethod, Error> {
    let interfaces: HashMap<&str, String> = testbed
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), interface_of(h)))
        .collect();
    let plans = enos_wan::tc::plan(matrix, |name| interfaces.get(name).cloned())
        .map_err(|e| Error::new(e.to_string()))?;
    let owner = experiment.state().name.clone();
    let mut scripts: HashMap<String, String> = HashMap::new();
    for plan in &plans {
        let script =
            enos_wan::tc::apply_script(plan, &owner).map_err(|e| Error::new(e.to_string()))?;
        scripts.insert(plan.host.clone(), script);
    }
    let mut per_host = Vec::with_capacity(testbed.hosts.len());
    for host in &testbed.hosts {
        let script = match scripts.remove(&host.name) {
            Some(script) => script,
            None => enos_wan::tc::reset_script(std::slice::from_ref(&interface_of(host)))
                .map_err(|e| Error::new(e.to_string()))?,
        };
        per_host.push((host.name.clone(), as_root(host, &script)));
    }
    run_each(fleet, &per_host, "applying tc", reporter).await?;
    let mut devices: Vec<&String> = interfaces.values().collect();
    devices.sort();
    devices.dedup();
    let device = match devices.as_slice() {
        [one] => (*one).clone(),
        _ => "each host's experiment interface".to_owned(),
    };
    Ok(WanMethod::Tc { device })
}

/// `script` as `host` must run it to act as root: through its privilege escalation, if any.
fn as_root(host: &Host, script: &str) -> String {
    host.as_root(script)
}

/// Runs each host's own script; fails naming every host whose script failed, and what its
/// kernel lacks when tc says so.
async fn run_each(
    fleet: &Fleet,
    scripts: &[(String, String)],
    what: &str,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let results = fleet.run_each(scripts, TC_TIMEOUT, reporter).await;
    let mut failed = Vec::new();
    for result in results {
        match result.outcome {
            Ok(output) if output.exit.code() == Some(0) => {}
            Ok(output) => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let lacks = missing_qdisc(&stderr)
                    .map(|q| format!(" (its kernel lacks {q})"))
                    .unwrap_or_default();
                failed.push(format!(
                    "  {}: {}{lacks} {}",
                    result.host,
                    output.exit,
                    stderr.trim()
                ));
            }
            Err(e) => failed.push(format!("  {}: {}", result.host, e.reason())),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "{what} failed on:\n{}",
            failed.join("\n")
        )))
    }
}

/// What a tc error says the kernel lacks, in words: the qdisc when tc names it (`Unknown qdisc
/// "netem"`), or the qdiscs shaping may need when it does not (`Specified qdisc kind is
/// unknown`); `None` for any other error.
pub fn missing_qdisc(stderr: &str) -> Option<String> {
    if let Some(at) = stderr.find("Unknown qdisc \"") {
        let rest = &stderr[at + "Unknown qdisc \"".len()..];
        let kind: String = rest.chars().take_while(|c| *c != '"').collect();
        return Some(format!("the `{kind}` qdisc"));
    }
    stderr.contains("qdisc kind is unknown").then(|| {
        "a qdisc this shaping needs (netem for delay, jitter and loss; htb for rates)".to_owned()
    })
}

/// `enos tc apply`: the scenario's network section again, another constraints file, or live
/// changes to the matrix in force; then, if asked, a validation.
pub async fn tc_apply(
    providers: &Providers,
    location: &Path,
    request: &ApplyRequest,
    reporter: &dyn Reporter,
) -> Result<TcApplied, Error> {
    let mut session = Session::open(location)?;
    let provider = provider_of(providers, &session.experiment)?;
    let scenario = session.experiment.state().scenario.clone();
    let hosts = wan_hosts(&session.testbed);
    let (mut matrix, mut source) = match (
        &request.constraints,
        applied_wan(session.experiment.dir(), &hosts),
    ) {
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
        (None, Some(current)) if !request.set.is_empty() => (current.matrix, current.source),
        _ => (
            enos_wan::resolve(&scenario.network, &hosts),
            vec!["scenario".to_owned()],
        ),
    };
    for text in &request.set {
        let change = enos_wan::parse_change(text, &scenario.sites)
            .map_err(|e| Error::new(format!("--set '{text}': {e}")))?;
        matrix = enos_wan::apply_change(&matrix, &change, &hosts)
            .map_err(|e| Error::new(format!("--set '{text}': {e}")))?;
        source.push(format!("set {text}"));
    }
    let method = apply_matrix(&mut session, provider.as_ref(), &matrix, source, reporter).await?;
    let validation = match &request.validate {
        Some(options) => Some(measure_and_record(&mut session, &matrix, options, reporter).await?),
        None => None,
    };
    Ok(TcApplied {
        shaped: matrix.pair_count(),
        method,
        validation,
    })
}

/// `enos tc validate`: measures the matrix in force.
pub async fn tc_validate(
    location: &Path,
    options: &ValidationOptions,
    reporter: &dyn Reporter,
) -> Result<Validation, Error> {
    let mut session = Session::open(location)?;
    let matrix = applied_wan(session.experiment.dir(), &wan_hosts(&session.testbed))
        .map(|a| a.matrix)
        .unwrap_or_default();
    measure_and_record(&mut session, &matrix, options, reporter).await
}

/// `enos tc reset`: nothing shaped any more.
pub async fn tc_reset(
    providers: &Providers,
    location: &Path,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let mut session = Session::open(location)?;
    let provider = provider_of(providers, &session.experiment)?;
    reset(&mut session, provider.as_ref(), reporter).await
}

/// Removes all shaping from the session's testbed.
pub(crate) async fn reset(
    session: &mut Session,
    provider: &dyn Provider,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    apply_matrix(
        session,
        provider,
        &WanMatrix::default(),
        vec!["reset".to_owned()],
        reporter,
    )
    .await
    .map(|_| ())
}

/// The WAN phase of a deploy: shape what the scenario asks for and, unless told not to,
/// measure it. `None` when there is nothing shaped nor to unshape, or nothing measured.
pub(crate) async fn deploy_phase(
    session: &mut Session,
    provider: &dyn Provider,
    validate: bool,
    reporter: &dyn Reporter,
) -> Result<Option<Validation>, Error> {
    let network = session.experiment.state().scenario.network.clone();
    let hosts = wan_hosts(&session.testbed);
    let matrix = enos_wan::resolve(&network, &hosts);
    let in_force = applied_wan(session.experiment.dir(), &hosts);
    if matrix.pair_count() == 0 && in_force.is_none() {
        return Ok(None);
    }
    apply_matrix(
        session,
        provider,
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
    let options = ValidationOptions::default();
    measure_and_record(session, &matrix, &options, reporter)
        .await
        .map(Some)
}

/// Measures, then writes the CSV and JSON (the latest and a timestamped copy).
async fn measure_and_record(
    session: &mut Session,
    matrix: &WanMatrix,
    options: &ValidationOptions,
    reporter: &dyn Reporter,
) -> Result<Validation, Error> {
    let report = measure(session, matrix, options, reporter).await?;
    let dir = session.experiment.dir();
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let csv = enos_wan::validate::to_csv(&report);
    write_text(
        &dir.join(layout::validation_copy(&stamp, "csv")),
        csv.as_bytes(),
    )?;
    write_text(&dir.join(layout::VALIDATION_CSV), csv.as_bytes())?;
    write_json(&dir.join(layout::validation_copy(&stamp, "json")), &report)?;
    write_json(&dir.join(layout::VALIDATION_JSON), &report)?;
    Ok(Validation {
        report,
        csv: dir.join(layout::VALIDATION_CSV),
    })
}

/// Measures the ordered pairs of the probe plan (fping from each host towards its targets:
/// every other host, or a sample per site pair on a large testbed) and the rates asked for
/// (iperf3); a pair whose rate is measured is also probed.
async fn measure(
    session: &mut Session,
    matrix: &WanMatrix,
    options: &ValidationOptions,
    reporter: &dyn Reporter,
) -> Result<ValidationReport, Error> {
    let testbed = session.testbed.clone();
    let hosts = wan_hosts(&testbed);
    let mut plan =
        enos_wan::validate::probe_plan(&hosts, matrix, enos_wan::validate::SAMPLE_THRESHOLD);
    let rate_pairs = options
        .rate
        .iter()
        .map(|pair| rate_pair(&testbed, pair))
        .collect::<Result<Vec<_>, _>>()?;
    let position = |name: &str| hosts.iter().position(|h| h.name == name);
    for (src, dst) in &rate_pairs {
        if let (Some(a), Some(b)) = (position(&src.name), position(&dst.name)) {
            plan.add_pair(a, b);
        }
    }
    let fleet = session.fleet(reporter).await?;
    let pairs = probe(&fleet, &testbed, &hosts, &plan, options, reporter).await?;
    let mut rates = Vec::new();
    for (src, dst) in rate_pairs {
        rates.push(measure_rate(&fleet, src, dst, options.rate_seconds, reporter).await?);
    }
    let tolerance = Tolerance {
        rtt_abs_ms: options.rtt_abs_ms,
        rtt_rel: options.rtt_rel_percent / 100.0,
        loss_points: options.loss_points,
        rate_rel: options.rate_rel_percent / 100.0,
    };
    let mut report =
        enos_wan::validate::validate_plan(&hosts, matrix, &plan, &pairs, &rates, &tolerance);
    // A pair outside tolerance is measured once more before it counts as failed: a moment's
    // load on the machine that runs the hosts (or the emulator) should not fail a WAN that is
    // shaped as asked, while a pair shaped wrong fails both times.
    if !report.passed() {
        let position: HashMap<&str, usize> = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.name.as_str(), i))
            .collect();
        let failed = plan.only(
            report
                .failed_pairs()
                .filter_map(|(src, dst)| Some((*position.get(src)?, *position.get(dst)?))),
        );
        reporter.note(&format!(
            "WAN: {} pair{} outside tolerance, measuring {} again",
            report.failed,
            plural(report.failed),
            if report.failed == 1 { "it" } else { "them" }
        ));
        let again = probe(&fleet, &testbed, &hosts, &failed, options, reporter).await?;
        report.merge_remeasured(enos_wan::validate::validate_plan(
            &hosts, matrix, &failed, &again, &rates, &tolerance,
        ));
    }
    Ok(report)
}

/// Runs fping on each host of `plan` towards its targets and reads what it printed.
async fn probe(
    fleet: &Fleet,
    testbed: &Testbed,
    hosts: &[WanHost],
    plan: &ProbePlan,
    options: &ValidationOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<PairProbes>, Error> {
    let probes = options.probes.max(1);
    let interval = options.interval_ms.max(1);
    let commands = fping_commands(hosts, plan, probes, interval);
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
                return Err(Error::new(format!(
                    "measuring from {} failed ({}): {}",
                    result.host,
                    output.exit,
                    String::from_utf8_lossy(&output.stderr).trim()
                ))
                .hint("the hosts need fping (apt-get install fping)"));
            }
            Err(e) => {
                return Err(Error::new(format!(
                    "measuring from {} failed: {}",
                    result.host,
                    e.reason()
                )));
            }
        };
        let text = String::from_utf8_lossy(&output.stdout);
        let parsed = enos_probes::fping::parse(&text)
            .map_err(|e| Error::new(format!("reading fping's output on {}: {e}", result.host)))?;
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
    Ok(pairs)
}

/// The fping command of each host that has targets in `plan` (made for `hosts`).
pub(crate) fn fping_commands(
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
            (
                host.name.clone(),
                enos_probes::fping::command(&addresses, probes, interval),
            )
        })
        .collect()
}

/// The two hosts of a `--rate SRC->DST` pair.
fn rate_pair<'t>(testbed: &'t Testbed, pair: &str) -> Result<(&'t Host, &'t Host), Error> {
    let (src, dst) = pair
        .split_once("->")
        .ok_or_else(|| Error::new(format!("--rate '{pair}': expected SRC->DST host names")))?;
    let host = |name: &str| {
        testbed
            .host(name)
            .ok_or_else(|| Error::new(format!("--rate '{pair}': no host '{name}'")))
    };
    Ok((host(src)?, host(dst)?))
}

/// Measures the throughput from one host to another with iperf3.
async fn measure_rate(
    fleet: &Fleet,
    src_host: &Host,
    dst_host: &Host,
    seconds: u64,
    reporter: &dyn Reporter,
) -> Result<PairRate, Error> {
    run_on(
        fleet,
        &dst_host.name,
        &enos_probes::iperf3::server_command(),
        reporter,
    )
    .await?;
    let client = enos_probes::iperf3::client_command(&dst_host.address.to_string(), seconds);
    let output = run_on(fleet, &src_host.name, &client, reporter).await?;
    let bits_per_second = enos_probes::iperf3::parse(&output).map_err(|e| {
        Error::new(format!(
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
    reporter: &dyn Reporter,
) -> Result<String, Error> {
    let scripts = [(host.to_owned(), command.to_owned())];
    let results = fleet.run_each(&scripts, TC_TIMEOUT, reporter).await;
    let result = results
        .into_iter()
        .next()
        .ok_or_else(|| Error::new(format!("no result from {host}")))?;
    match result.outcome {
        Ok(output) if output.exit.code() == Some(0) => {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        }
        Ok(output) => Err(Error::new(format!(
            "`{command}` on {host} failed ({}): {}{}",
            output.exit,
            String::from_utf8_lossy(&output.stderr).trim(),
            String::from_utf8_lossy(&output.stdout).trim()
        ))),
        Err(e) => Err(Error::new(format!("`{command}` on {host}: {}", e.reason()))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::testing::hosts;

    #[test]
    fn a_missing_qdisc_is_named_when_tc_names_it() {
        assert_eq!(
            missing_qdisc("Unknown qdisc \"netem\", hence option \"delay\" is unparsable\n"),
            Some("the `netem` qdisc".to_owned())
        );
        let unnamed = "Warning: sch_htb: quantum of class 10001 is big.\nError: Specified qdisc \
                       kind is unknown.\nCommand failed -:3\n";
        assert!(
            missing_qdisc(unnamed)
                .unwrap()
                .starts_with("a qdisc this shaping needs")
        );
        assert_eq!(
            missing_qdisc("RTNETLINK answers: Operation not permitted"),
            None
        );
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
