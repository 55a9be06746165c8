//! How outcomes look on the terminal: results on stdout, errors on stderr in the one
//! `error:`/`hint:` style.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use enos_experiment::deploy_report::{DeployReport, Status, StepReport};
use enos_experiment::{
    DeployRun, Error, ExecRun, HostOutcome, Info, StepsRun, TcApplied, Validated, Validation,
};

/// `"s"` unless `n` is one: `host{}`.
fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// An error, then its hint.
pub fn error(error: &Error) {
    if error.preformatted {
        eprintln!("{}", error.message.trim_end());
    } else {
        eprintln!("error: {}", error.message.trim_end());
    }
    if let Some(hint) = &error.hint {
        eprintln!("hint: {hint}");
    }
}

/// `enos import … -o FILE`: where the scenario went, then what `enos validate` says of it.
pub fn imported(reservation: &Path, scenario: &Path, warnings: usize, v: &Validated) {
    println!(
        "imported {} into {}{}",
        reservation.display(),
        scenario.display(),
        match warnings {
            0 => String::new(),
            n => format!(" ({n} warning{} above)", plural(n)),
        }
    );
    validated(scenario, v);
}

/// `enos validate`.
pub fn validated(file: &Path, v: &Validated) {
    let steps = if v.steps == 0 {
        String::new()
    } else {
        format!(", {} deploy step{}", v.steps, plural(v.steps))
    };
    let bench = if v.workloads == 0 {
        String::new()
    } else {
        format!(
            ", {} workload{} ({} point{})",
            v.workloads,
            plural(v.workloads),
            v.points,
            plural(v.points)
        )
    };
    let metrics = v.metrics_period.map_or(String::new(), |p| {
        format!(
            ", metrics every {}",
            enos_experiment::scenario::span_text(p)
        )
    });
    let sweep = v.sweep_points.map_or(String::new(), |n| {
        format!(", a sweep of {n} point{} (`enos run` runs them)", plural(n))
    });
    println!(
        "ok: {}: experiment '{}', {} site{}, {} host{}{steps}{bench}{metrics}{sweep}",
        file.display(),
        v.name,
        v.sites,
        plural(v.sites),
        v.hosts,
        plural(v.hosts)
    );
}

/// `enos deploy --dry-run`: what the provider would reserve or create, then the steps.
pub fn dry_run(run: &enos_experiment::DryRun) {
    let provision = &run.provision;
    println!("the {} provider would:", provision.provider);
    for (i, action) in provision.actions.iter().enumerate() {
        println!("{:>3}. {} — {}", i + 1, action.what, action.why);
        if let Some(body) = &action.body {
            for line in body.lines() {
                println!("       {line}");
            }
        }
    }
    let plan = &run.steps;
    print!("{}", plan.describe());
    println!(
        "dry run: {} step{} rendered on a made-up testbed (site i is 10.<i>.0.0/16, secrets are \
         placeholders); nothing was provisioned",
        plan.steps.len(),
        plural(plan.steps.len())
    );
}

/// `enos deploy`: each phase that ran, in order.
pub fn deploy(run: &DeployRun) {
    if let Some(up) = &run.testbed {
        println!(
            "{} '{}': {} host{} in {} site{}, every host answers over SSH",
            if up.unchanged {
                "already deployed"
            } else {
                "deployed"
            },
            up.name,
            up.hosts,
            plural(up.hosts),
            up.sites,
            plural(up.sites),
        );
        println!("results: {}", up.results.display());
        println!("ssh:     ssh -F {} <host>", up.ssh_config.display());
    }
    if let Some(validation) = &run.validation {
        validation_table(validation);
    }
    if let Some(steps) = &run.steps {
        steps_report(steps);
    }
}

/// `enos exec`: each host's output, then the totals.
pub fn exec(run: &ExecRun) {
    let mut out = std::io::stdout().lock();
    for (host, outcome) in &run.hosts {
        match outcome {
            HostOutcome::Ran(output) => {
                let _ = writeln!(
                    out,
                    "── {host} ({}, {} ms)",
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
            HostOutcome::Failed(why) => {
                let _ = writeln!(out, "── {host} (failed: {why})");
            }
            HostOutcome::Unreachable(why) => {
                let _ = writeln!(out, "── {host} (unreachable: {why})");
            }
        }
    }
    let ok = run.succeeded();
    let _ = writeln!(
        out,
        "{} host{}: {ok} ok, {} failed",
        run.hosts.len(),
        plural(run.hosts.len()),
        run.hosts.len() - ok
    );
}

/// `enos info` as text: the facts, then the hosts.
pub fn info(info: &Info) {
    let width = info.rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    for (label, value) in &info.rows {
        let _ = writeln!(out, "{label:<width$}  {value}");
    }
    if info.state.testbed.is_none() {
        return;
    }
    let _ = writeln!(out);
    let width = info
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
    for h in &info.hosts {
        let _ = writeln!(
            out,
            "{:<width$}  {:<16}  {:<16}  {}",
            h.name, h.site, h.role, h.address
        );
    }
}

/// `enos bench`: each workload's points and records, and how the run ended.
pub fn bench(run: &enos_experiment::BenchRun) {
    let mut out = std::io::stdout().lock();
    for w in &run.record.workloads {
        let _ = writeln!(
            out,
            "{}: {} point{}, {} run{}, {} record{}",
            w.name,
            w.points,
            plural(w.points),
            w.done,
            plural(w.done),
            w.records,
            plural(w.records as usize)
        );
    }
    let status = format!("{:?}", run.record.status).to_lowercase();
    let lost = if run.record.lost.is_empty() {
        String::new()
    } else {
        format!(" (lost: {})", run.record.lost.join(", "))
    };
    let _ = writeln!(out, "bench {status}{lost}");
    let _ = writeln!(out, "records: {}", run.dir.display());
}

/// `enos metrics start|stop`: each host's agent, its energy source and why.
pub fn metrics(run: &enos_experiment::MetricsRun, done: &str, already: &str) {
    let mut out = std::io::stdout().lock();
    let c = &run.collection;
    // Hosts that say the same are one line: a testbed's hosts mostly do.
    let mut said: Vec<(String, Vec<&str>)> = Vec::new();
    for h in &c.hosts {
        let mut lines = vec![match (&h.agent, &h.error) {
            (_, Some(error)) => format!("error: {error}"),
            (Some(agent), None) => {
                let best = h
                    .best
                    .map_or("none".to_owned(), |s| format!("{s:?}").to_lowercase());
                if h.best == Some(enos_experiment::metrics::Source::Kwollect) {
                    format!(
                        "energy from kwollect (Grid'5000's meters; the agent: {})",
                        agent.energy.why
                    )
                } else {
                    format!("energy from {best} ({})", agent.energy.why)
                }
            }
            (None, None) => "no answer".to_owned(),
        }];
        if let Some(error) = &h.kwollect_error {
            lines.push(format!("kwollect: {error}"));
        }
        for line in lines {
            match said.iter_mut().find(|(l, _)| *l == line) {
                Some((_, hosts)) => hosts.push(&h.host),
                None => said.push((line, vec![&h.host])),
            }
        }
    }
    for (line, hosts) in &said {
        let who = match hosts.as_slice() {
            [one] => (*one).to_owned(),
            many if many.len() == c.hosts.len() => format!("all {} hosts", many.len()),
            many => many.join(", "),
        };
        let _ = writeln!(out, "{who}: {line}");
    }
    let failed = c.hosts.iter().filter(|h| h.error.is_some()).count();
    let state = if run.already { already } else { done };
    let _ = writeln!(
        out,
        "metrics {state} on {} host{} every {} ms{}",
        c.hosts.len() - failed,
        plural(c.hosts.len() - failed),
        c.period_ms,
        if failed > 0 {
            format!(" ({failed} failed)")
        } else {
            String::new()
        }
    );
}

/// `enos compare`: one line per point.
pub fn comparisons(comparisons: &[enos_analysis::compare::Comparison]) {
    use enos_analysis::compare::Verdict;
    let mut out = std::io::stdout().lock();
    for c in comparisons {
        let verdict = match c.verdict {
            Verdict::Regression => "regression",
            Verdict::Improvement => "improvement",
            Verdict::Noise => "noise",
        };
        let evidence = match (c.p_value, c.effect, c.noise_threshold) {
            (Some(p), Some(e), _) => format!("p={p:.2e}, effect {e:+.2}"),
            (_, _, Some(n)) => format!("noise ±{:.1} %", n * 100.0),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{} {}: median {:.3} → {:.3} ms ({:+.1} %), {verdict} ({evidence}); errors {:.1} % → {:.1} %",
            c.workload,
            c.params,
            c.a_median_ms,
            c.b_median_ms,
            c.change * 100.0,
            c.a_error_rate * 100.0,
            c.b_error_rate * 100.0
        );
    }
    if comparisons.is_empty() {
        let _ = writeln!(out, "nothing to compare: no point of A is in B");
    }
}

/// `enos run`: each phase as it ended, then the verdict.
pub fn run(outcome: &enos_experiment::RunOutcome) {
    deploy(&outcome.deploy);
    if let Err(e) = &outcome.deploy.result {
        error(e);
    }
    match &outcome.bench {
        Some(Ok(b)) => bench(b),
        Some(Err(e)) => error(e),
        None => {}
    }
    match &outcome.backup {
        Some(Ok(b)) => backup(b),
        Some(Err(e)) => error(e),
        None => {}
    }
    if let Some(Err(why)) = &outcome.analysis {
        eprintln!("error: analyze: {why}");
    }
    match &outcome.destroy {
        Some(Ok(enos_experiment::Destroyed::Now { name, .. })) => {
            println!("destroyed '{name}'");
        }
        Some(Ok(enos_experiment::Destroyed::Already { .. })) | None => {}
        Some(Err(e)) => error(e),
    }
    let verdict = match outcome.verdict() {
        enos_experiment::RunVerdict::Success => "complete",
        enos_experiment::RunVerdict::Partial => "partial (results kept)",
        enos_experiment::RunVerdict::Failure => "failed",
    };
    match &outcome.results {
        Some(dir) => println!("run {verdict}: {}", dir.display()),
        None => println!("run {verdict}"),
    }
    if let Some(entry) = &outcome.ledger {
        println!("registered as run {}", entry.id);
    }
    if let Some(why) = &outcome.ledger_error {
        eprintln!("error: the ledger: {why}");
    }
}

/// `enos run` of a sweep: what it will do.
pub fn sweep_plan(plan: &enos_experiment::SweepPlan) {
    println!(
        "sweep {}: {} point{} over {}",
        plan.id,
        plan.points.len(),
        plural(plan.points.len()),
        plan.parameters
            .iter()
            .map(|p| p.path.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn point_values(point: &enos_experiment::sweep::SweepPoint) -> String {
    point
        .params
        .iter()
        .map(|(k, v)| format!("{k}={}", enos_experiment::sweep::value_text(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A point of a sweep, once settled.
pub fn sweep_point(
    point: &enos_experiment::sweep::SweepPoint,
    run: &enos_experiment::sweep::PointRun,
) {
    use enos_experiment::sweep::PointRun;
    let values = point_values(point);
    match run {
        PointRun::Done { run, status } => println!(
            "point {} ({values}): done earlier, run {run} ({})",
            point.number,
            status.name()
        ),
        PointRun::Ran(outcome) => {
            self::run(outcome);
            println!("point {} ({values}): ran", point.number);
        }
        PointRun::NotRun => println!("point {} ({values}): not run (interrupted)", point.number),
    }
}

/// The end of a sweep.
pub fn sweep(outcome: &enos_experiment::SweepOutcome) {
    let with_results = outcome
        .record
        .points
        .iter()
        .filter(|p| p.status.is_some_and(|s| s.has_results()))
        .count();
    println!(
        "sweep {}: {with_results} of {} points have results ({})",
        outcome.record.id,
        outcome.record.points.len(),
        outcome.dir.join("sweep.json").display()
    );
    match &outcome.side_by_side {
        Some(Ok(file)) => println!("points side by side: {file}"),
        Some(Err(why)) => eprintln!("error: the points side by side: {why}"),
        None => println!("hint: run it again to resume at the first point without results"),
    }
}

/// A sweep's points side by side, one line per workload point.
pub fn sweep_rows(rows: &[enos_analysis::sweep::SweepRow]) {
    let mut out = std::io::stdout().lock();
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
    let _ = writeln!(
        out,
        "{:<6} {:<32} {:<16} {:>8} {:>7} {:>9} {:>9} {:>9}",
        "point", "values", "workload", "count", "errors", "req/s", "p50 ms", "p99 ms"
    );
    for r in rows {
        let values = r
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "{:<6} {:<32} {:<16} {:>8} {:>6.1}% {:>9} {:>9} {:>9}",
            r.sweep_point,
            values,
            format!("{}#{}", r.workload, r.point),
            r.count,
            r.error_rate * 100.0,
            r.throughput_per_s
                .map_or("-".to_owned(), |v| format!("{v:.1}")),
            ms(r.p50_ms),
            ms(r.p99_ms)
        );
    }
}

/// `enos runs`: one line per run (or the entries as JSON lines).
pub fn runs(
    runs: &[enos_experiment::ledger::LedgerEntry],
    skipped: &[String],
    json: bool,
) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    if json {
        for entry in runs {
            let line = serde_json::to_string(entry).map_err(|e| Error::new(e.to_string()))?;
            let _ = writeln!(out, "{line}");
        }
    } else {
        let _ = writeln!(
            out,
            "{:<44} {:<11} {:<20} {:>8} {:<12} values",
            "run", "status", "started", "seconds", "scenario"
        );
        for entry in runs {
            let seconds = entry
                .finished
                .map(|f| {
                    format!(
                        "{:.1}",
                        (f - entry.started).get_milliseconds() as f64 / 1000.0
                    )
                })
                .unwrap_or_else(|| "-".to_owned());
            let _ = writeln!(
                out,
                "{:<44} {:<11} {:<20} {:>8} {:<12} {}",
                entry.id,
                entry.shown_status().name(),
                entry.started.strftime("%Y-%m-%d %H:%M:%S"),
                seconds,
                entry.scenario.sha256.get(..12).unwrap_or_default(),
                entry.params_text()
            );
        }
        if runs.is_empty() {
            let _ = writeln!(out, "no run registered matches");
        }
    }
    for why in skipped {
        eprintln!("warning: a ledger entry was left out: {why}");
    }
    Ok(())
}

/// `enos bundle`.
pub fn bundled(bundled: &enos_experiment::bundle::Bundled) {
    let bytes: u64 = bundled.record.files.iter().map(|f| f.bytes).sum();
    println!(
        "bundled run {}: {} files, {} (uncompressed) in {}",
        bundled.record.run.id,
        bundled.record.files.len(),
        self::bytes(bytes),
        bundled.archive.display()
    );
}

/// `enos run --from`: the bundle, checked.
pub fn bundle_opened(opened: &enos_experiment::bundle::Opened) {
    println!(
        "bundle of run {} checked ({} files) and unpacked in {}",
        opened.record.run.id,
        opened.record.files.len(),
        opened.dir.display()
    );
}

/// `enos analyze`: a compact table per point, energy per host, where the tables are.
pub fn analysis(analysis: &enos_analysis::Analysis) {
    let mut out = std::io::stdout().lock();
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
    if !analysis.summary.is_empty() {
        let _ = writeln!(
            out,
            "{:<16} {:>5} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9}  params",
            "workload", "point", "count", "errors", "per s", "p50 ms", "p99 ms", "max ms"
        );
    }
    for s in &analysis.summary {
        let _ = writeln!(
            out,
            "{:<16} {:>5} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9}  {}",
            s.label(),
            s.point,
            s.count,
            s.errors,
            s.throughput_per_s
                .map_or("-".to_owned(), |v| format!("{v:.1}")),
            ms(s.p50_ms),
            ms(s.p99_ms),
            ms(s.max_ms),
            s.params
        );
    }
    for e in &analysis.energy {
        let _ = writeln!(
            out,
            "energy {}: {:.1} J over {:.0} s, {:.1} W mean ({})",
            e.host, e.joules, e.seconds, e.mean_watts, e.source
        );
    }
    let rows: Vec<String> = analysis
        .record
        .tables
        .iter()
        .map(|t| format!("{} {}", t.name, t.rows))
        .collect();
    let _ = writeln!(
        out,
        "tables ({}): {}",
        rows.join(", "),
        analysis.dir.display()
    );
    let _ = writeln!(out, "report: {}", analysis.report.display());
}

/// `enos backup`: per host what is held and what was fetched; where the manifest is.
pub fn backup(run: &enos_experiment::BackupRun) {
    use enos_experiment::backup::HostStatus;
    let mut out = std::io::stdout().lock();
    for h in &run.manifest.hosts {
        let status = match h.status {
            HostStatus::Complete => "complete",
            HostStatus::Incomplete => "incomplete",
            HostStatus::Unreachable => "unreachable",
        };
        let why = h.error.as_ref().map_or(String::new(), |e| format!(": {e}"));
        let _ = writeln!(
            out,
            "{}: {status}, {} file{} ({}), {} fetched{why}",
            h.host,
            h.files,
            plural(h.files),
            bytes(h.bytes),
            h.fetched
        );
    }
    let (files, fetched) = run.fetched();
    let _ = writeln!(
        out,
        "backup: {files} file{} fetched ({}), {} held in {}",
        plural(files),
        bytes(fetched),
        run.manifest.files.len(),
        run.dir.display()
    );
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// `enos tc apply`: what was shaped, and how.
pub fn tc_applied(applied: &TcApplied) {
    println!(
        "applied: {} shaped direction{} with {}",
        applied.shaped,
        plural(applied.shaped),
        enos_experiment::wan::describe_method(&applied.method)
    );
}

/// A validation: the site table and where the CSV is; a failure when pairs are outside
/// tolerance.
pub fn validation(validation: &Validation) -> Result<ExitCode, Error> {
    validation_table(validation);
    match validation.failure() {
        Some(error) => Err(error),
        None => Ok(ExitCode::SUCCESS),
    }
}

fn validation_table(validation: &Validation) {
    print!("{}", enos_experiment::wan::site_table(&validation.report));
    println!("measured: {}", validation.csv.display());
}

/// One line per step, then the totals.
fn steps_report(run: &StepsRun) {
    let report: &DeployReport = &run.report;
    let planned = run.planned;
    let mut out = std::io::stdout().lock();
    let width = report
        .steps
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    for step in &report.steps {
        let _ = writeln!(
            out,
            "{:>3}/{planned} {:<width$}  {}",
            step.number,
            step.name,
            step_counts(step)
        );
    }
    let counts = report.counts();
    let hosts: std::collections::BTreeSet<&str> = report
        .steps
        .iter()
        .flat_map(|s| s.hosts.iter().map(|h| h.host.as_str()))
        .collect();
    let ran = report.steps.len();
    let not_run = if ran < planned {
        format!(" ({} not run)", planned - ran)
    } else {
        String::new()
    };
    let mut line = String::new();
    let _ = write!(
        line,
        "deploy steps: {ran} step{}{not_run} on {} host{}: {} changed, {} unchanged, {} skipped, {} failed",
        plural(ran),
        hosts.len(),
        plural(hosts.len()),
        counts.changed,
        counts.unchanged,
        counts.skipped,
        counts.failed,
    );
    if counts.dropped > 0 {
        let _ = write!(line, ", {} left out", counts.dropped);
    }
    let _ = writeln!(out, "{line}");
    let _ = writeln!(out, "report: {}", run.report_file.display());
}

fn step_counts(step: &StepReport) -> String {
    let parts: Vec<String> = [
        (Status::Changed, "changed"),
        (Status::Unchanged, "unchanged"),
        (Status::Skipped, "skipped"),
        (Status::Failed, "failed"),
        (Status::Dropped, "left out"),
    ]
    .into_iter()
    .filter_map(|(status, word)| {
        let n = step.count(status);
        (n > 0).then(|| format!("{n} {word}"))
    })
    .collect();
    if parts.is_empty() {
        "no host".to_owned()
    } else {
        parts.join(", ")
    }
}
