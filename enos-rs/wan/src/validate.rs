//! Validation: what was measured between hosts, against what the matrix asked.
//!
//! `enos tc validate` runs `fping -C N -q` on each host towards the hosts [`probe_plan`] gives it
//! (every other host on a small testbed, a sample per site pair beyond [`SAMPLE_THRESHOLD`]
//! ordered pairs) and, for the rate-limited directions, `iperf3 -J`. This module reads those
//! outputs (with the parsers of `enos_probes`), sums up the probes of a pair ([`rtt_stats`]),
//! works out what the matrix asked for a pair ([`asked`]) and judges each planned pair within a
//! [`Tolerance`] ([`validate_plan`], [`validate`]). The [`ValidationReport`] is written as JSON
//! (serde), as CSV ([`to_csv`]) or as a site-by-site table for the terminal ([`site_table`]),
//! each saying when it holds a sample. Nothing here does I/O.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use enos_scenario::DEFAULT_RATE;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use enos_probes::fping::FpingResults;

use crate::{LinkShape, MatrixIndex, WanHost, WanMatrix};

pub use crate::sample::{
    ProbePlan, SAMPLE_MAX_PER_SITE_PAIR, SAMPLE_PER_SITE_PAIR, SAMPLE_THRESHOLD, probe_plan,
};

/// The version of the report's format, written in its `version` field (2: the sample fields;
/// 3: `remeasured`, per report and per row).
pub const REPORT_VERSION: u32 = 3;

/// Slack added to every tolerance bound, so that a value exactly on a bound is not rejected
/// because of floating-point rounding (e.g. a 10% loss computed as 9.999999999999998%).
const EPSILON: f64 = 1e-9;

/// A target fping printed that is neither a host's name nor a host's address.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("fping on {src} measured '{target}', which is no host of the experiment")]
pub struct UnknownTarget {
    /// The host fping ran on.
    pub src: String,
    /// The target as fping printed it.
    pub target: String,
}

/// The probes fping sent from one host to another: round-trip times in ms, `None` when lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairProbes {
    /// The host the probes left from.
    pub src: String,
    /// The host they were sent to.
    pub dst: String,
    /// One entry per probe: the round-trip time in ms, or `None` for a lost probe.
    pub rtts: Vec<Option<f64>>,
}

/// The throughput iperf3 measured from one host to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairRate {
    /// The iperf3 client's host.
    pub src: String,
    /// The iperf3 server's host.
    pub dst: String,
    /// The throughput received, in bits per second.
    pub bits_per_second: f64,
}

/// Turns what fping printed on host `src` into probes between hosts.
///
/// A target is matched with a host by name or by address; a target matching no host is an error.
pub fn pair_probes(
    src: &str,
    hosts: &[WanHost],
    results: FpingResults,
) -> Result<Vec<PairProbes>, UnknownTarget> {
    results
        .into_iter()
        .map(|(target, rtts)| {
            let address = target.parse::<IpAddr>().ok();
            let host = hosts
                .iter()
                .find(|h| h.name == target || Some(h.address) == address)
                .ok_or_else(|| UnknownTarget {
                    src: src.to_owned(),
                    target: target.clone(),
                })?;
            Ok(PairProbes {
                src: src.to_owned(),
                dst: host.name.clone(),
                rtts,
            })
        })
        .collect()
}

/// The summary of the probes of one pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RttStats {
    /// The median round-trip time in ms (the mean of the two middle ones for an even count),
    /// `None` when no probe came back.
    pub median_ms: Option<f64>,
    /// The 99th percentile of the round-trip times in ms, by nearest rank, `None` when no probe
    /// came back.
    pub p99_ms: Option<f64>,
    /// The percentage of probes lost (lost / sent × 100); 0 when none was sent.
    pub loss_percent: f64,
    /// How many probes were sent.
    pub probes: usize,
}

/// Sums up the probes of a pair: median and p99 of what came back, loss over what was sent.
///
/// A value that is not a finite, non-negative number counts as lost.
pub fn rtt_stats(rtts: &[Option<f64>]) -> RttStats {
    let mut received: Vec<f64> = rtts
        .iter()
        .flatten()
        .copied()
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .collect();
    received.sort_by(f64::total_cmp);
    let probes = rtts.len();
    let loss_percent = if probes == 0 {
        0.0
    } else {
        (probes - received.len()) as f64 * 100.0 / probes as f64
    };
    RttStats {
        median_ms: median(&received),
        p99_ms: nearest_rank(&received, 99),
        loss_percent,
        probes,
    }
}

/// The median of sorted values; the mean of the two middle ones for an even count.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => sorted.get(n / 2).copied(),
        _ => Some((sorted.get(n / 2 - 1)? + sorted.get(n / 2)?) / 2.0),
    }
}

/// The `percentile`th percentile (1 to 100) of sorted values by nearest rank: the value of rank
/// ⌈percentile × n / 100⌉ (from 1), computed in integers.
fn nearest_rank(sorted: &[f64], percentile: usize) -> Option<f64> {
    let rank = (percentile * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// What the matrix asks for the ordered pair (src, dst), as the probes see it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Asked {
    /// The round-trip time in ms: the one-way delay src → dst plus the one-way delay dst → src.
    pub rtt_ms: f64,
    /// The percentage of probes lost: 1 − (1 − loss src → dst)(1 − loss dst → src), × 100.
    pub loss_percent: f64,
    /// The rate src → dst in bits per second, when that direction is rate-limited (shaped with a
    /// rate below the unlimited 10gbit).
    pub rate_bps: Option<u64>,
}

/// What the matrix asks for the ordered pair (src, dst).
///
/// A direction the matrix does not list is not shaped: no delay, no loss, unlimited rate.
/// O(hosts): [`asked_in`] looks pairs up in an index.
pub fn asked(matrix: &WanMatrix, src: &str, dst: &str) -> Asked {
    asked_of(matrix.shape(src, dst), matrix.shape(dst, src))
}

/// What the matrix of `index` asks for the ordered pair (src, dst), in O(1).
pub fn asked_in(index: &MatrixIndex<'_>, src: &str, dst: &str) -> Asked {
    asked_of(index.shape(src, dst), index.shape(dst, src))
}

fn asked_of(forward: Option<&LinkShape>, reverse: Option<&LinkShape>) -> Asked {
    let delay_ms = |shape: Option<&LinkShape>| shape.map_or(0.0, |s| s.delay.0.as_secs_f64() * 1e3);
    let kept = |shape: Option<&LinkShape>| shape.map_or(1.0, |s| 1.0 - s.loss.fraction());
    Asked {
        rtt_ms: delay_ms(forward) + delay_ms(reverse),
        loss_percent: (1.0 - kept(forward) * kept(reverse)) * 100.0,
        rate_bps: forward.filter(|s| s.rate < DEFAULT_RATE).map(|s| s.rate.0),
    }
}

/// How far a measurement may stray from what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    /// The RTT passes within this many ms of what was asked, or within `rtt_rel`, whichever is
    /// larger (default 0.5 ms).
    pub rtt_abs_ms: f64,
    /// The RTT passes within this fraction of what was asked, or within `rtt_abs_ms`, whichever
    /// is larger (default 0.05).
    pub rtt_rel: f64,
    /// The loss passes within this many percentage points of what was asked (default 2.0).
    pub loss_points: f64,
    /// The rate passes within this fraction of what was asked (default 0.10).
    pub rate_rel: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self {
            rtt_abs_ms: 0.5,
            rtt_rel: 0.05,
            loss_points: 2.0,
            rate_rel: 0.10,
        }
    }
}

impl Tolerance {
    /// The loss bound, in points, for `asked_percent` measured over `probes` probes: the
    /// larger of `loss_points` and five standard deviations of a binomial sample (20 probes
    /// at 2 % asked loss may well lose 2 of them; 1000 probes at 10 % stay within 2 points).
    pub fn loss_bound(&self, asked_percent: f64, probes: usize) -> f64 {
        let p = (asked_percent / 100.0).clamp(0.0, 1.0);
        let sampling = if probes == 0 {
            0.0
        } else {
            5.0 * 100.0 * (p * (1.0 - p) / probes as f64).sqrt()
        };
        self.loss_points.max(sampling)
    }

    /// How far, in ms, a median RTT may be from `asked_ms`: max(rtt_abs_ms, rtt_rel × asked).
    pub fn rtt_bound(&self, asked_ms: f64) -> f64 {
        self.rtt_abs_ms.max(self.rtt_rel * asked_ms)
    }

    /// How far, in bits per second, a throughput may be from `asked_bps`: rate_rel × asked.
    pub fn rate_bound(&self, asked_bps: f64) -> f64 {
        self.rate_rel * asked_bps
    }
}

/// Whether a pair is within tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Everything judged is within tolerance.
    Pass,
    /// Something judged is outside tolerance; the row's reasons say what.
    Fail,
}

/// One ordered pair of hosts: what was asked, what was measured, the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairReport {
    /// The source host.
    pub src: String,
    /// The destination host.
    pub dst: String,
    /// The source host's site.
    pub src_site: String,
    /// The destination host's site.
    pub dst_site: String,
    /// The RTT asked, in ms (delays of both directions).
    pub asked_rtt_ms: f64,
    /// The median RTT measured, in ms; `None` when no probe came back.
    pub median_ms: Option<f64>,
    /// The 99th percentile of the RTT measured (nearest rank), in ms; `None` when no probe came
    /// back.
    pub p99_ms: Option<f64>,
    /// The probe loss asked, in percent (losses of both directions).
    pub asked_loss_percent: f64,
    /// The probe loss measured, in percent.
    pub loss_percent: f64,
    /// How many probes were sent.
    pub probes: usize,
    /// The rate asked src → dst in bits per second, when that direction is rate-limited and its
    /// throughput was measured.
    pub asked_rate_bps: Option<u64>,
    /// The throughput measured src → dst, in bits per second, if it was.
    pub rate_bps: Option<f64>,
    /// Whether the pair is within tolerance.
    pub verdict: Verdict,
    /// Why the pair failed, one sentence per rule broken (empty when it passed).
    pub reasons: Vec<String>,
    /// Whether the pair was outside tolerance at the first measurement and measured again (the
    /// row then holds the second measurement; the first one's median is in `first_median_ms`).
    #[serde(default)]
    pub remeasured: bool,
    /// The median RTT of the first measurement, in ms, when the pair was measured again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_median_ms: Option<f64>,
}

/// The validation of the ordered pairs of hosts measured: all of them, or a sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// The format's version ([`REPORT_VERSION`]).
    pub version: u32,
    /// The tolerance the pairs were judged with.
    pub tolerance: Tolerance,
    /// How many pairs were judged (as many as were measured).
    pub pairs: usize,
    /// How many of them failed.
    pub failed: usize,
    /// Whether only a sample of the ordered pairs was measured ([`probe_plan`]).
    pub sampled: bool,
    /// How many ordered pairs of distinct hosts the testbed has.
    pub pairs_total: usize,
    /// How many of them were measured and judged.
    pub pairs_measured: usize,
    /// How many pairs were outside tolerance at the first measurement and measured again
    /// ([`ValidationReport::merge_remeasured`]); `failed` counts those still outside.
    #[serde(default)]
    pub remeasured: usize,
    /// One row per ordered pair measured, by source host then destination host, in host order.
    pub rows: Vec<PairReport>,
}

impl ValidationReport {
    /// Whether every pair passed.
    pub fn passed(&self) -> bool {
        self.failed == 0
    }

    /// The ordered pairs outside tolerance, as (source host, destination host).
    pub fn failed_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.rows
            .iter()
            .filter(|r| r.verdict == Verdict::Fail)
            .map(|r| (r.src.as_str(), r.dst.as_str()))
    }

    /// Takes in a second measurement of some pairs (those that failed the first one): each of
    /// its rows replaces this report's row of the same pair, marked `remeasured` with the first
    /// median kept; rows of pairs this report does not have are ignored. `failed` is counted
    /// again, `remeasured` counts the rows replaced. Cost: O(rows + rows of `again`).
    pub fn merge_remeasured(&mut self, again: ValidationReport) {
        let mut by_pair: HashMap<(String, String), PairReport> = again
            .rows
            .into_iter()
            .map(|r| ((r.src.clone(), r.dst.clone()), r))
            .collect();
        for row in &mut self.rows {
            if let Some(mut new) = by_pair.remove(&(row.src.clone(), row.dst.clone())) {
                new.remeasured = true;
                new.first_median_ms = row.median_ms;
                *row = new;
                self.remeasured += 1;
            }
        }
        self.failed = self
            .rows
            .iter()
            .filter(|r| r.verdict == Verdict::Fail)
            .count();
    }
}

/// Judges the ordered pairs of `hosts` that [`probe_plan`] gives with [`SAMPLE_THRESHOLD`]
/// (every pair up to 2,500 of them, a sample beyond) against what `matrix` asks: see
/// [`validate_plan`].
pub fn validate(
    hosts: &[WanHost],
    matrix: &WanMatrix,
    rtts: &[PairProbes],
    rates: &[PairRate],
    tol: &Tolerance,
) -> ValidationReport {
    let plan = probe_plan(hosts, matrix, SAMPLE_THRESHOLD);
    validate_plan(hosts, matrix, &plan, rtts, rates, tol)
}

/// Judges each ordered pair of `plan` (made for `hosts`) against what `matrix` asks.
///
/// Probes of the same pair given more than once are put together; the last throughput given for
/// a pair counts. Measurements naming a host not in `hosts`, or a pair the plan does not have,
/// are ignored; a non-finite or negative throughput is ignored. A pair is judged on:
/// - its median RTT: |median − asked| ≤ max(`rtt_abs_ms`, `rtt_rel` × asked);
/// - its loss: |measured − asked| ≤ max(`loss_points`, 5 standard deviations of the loss
///   measured over that many probes), so that a few probes cannot fail a lossy pair by chance;
/// - its rate, when the direction is rate-limited and its throughput was measured:
///   |measured − asked| ≤ `rate_rel` × asked.
///
/// A pair whose every probe was lost passes only if the asked loss is 100% (a partition), and then
/// its RTT is not judged; a pair with no probe at all fails. Cost: O(probes + rates + planned
/// pairs + hosts + shapes).
pub fn validate_plan(
    hosts: &[WanHost],
    matrix: &WanMatrix,
    plan: &ProbePlan,
    rtts: &[PairProbes],
    rates: &[PairRate],
    tol: &Tolerance,
) -> ValidationReport {
    let mut probes: HashMap<(&str, &str), Vec<Option<f64>>> = HashMap::new();
    for p in rtts {
        probes
            .entry((p.src.as_str(), p.dst.as_str()))
            .or_default()
            .extend(p.rtts.iter().copied());
    }
    let mut throughputs: HashMap<(&str, &str), f64> = HashMap::new();
    for r in rates {
        if r.bits_per_second.is_finite() && r.bits_per_second >= 0.0 {
            throughputs.insert((r.src.as_str(), r.dst.as_str()), r.bits_per_second);
        }
    }
    let index = matrix.index();
    let mut rows = Vec::with_capacity(plan.measured_pairs);
    for (src, dst) in plan.pairs() {
        let (Some(src), Some(dst)) = (hosts.get(src), hosts.get(dst)) else {
            continue;
        };
        if src.name == dst.name {
            continue;
        }
        let pair = (src.name.as_str(), dst.name.as_str());
        let measured = probes.get(&pair).map_or(&[][..], Vec::as_slice);
        rows.push(judge(
            src,
            dst,
            &asked_in(&index, &src.name, &dst.name),
            &rtt_stats(measured),
            throughputs.get(&pair).copied(),
            tol,
        ));
    }
    ValidationReport {
        version: REPORT_VERSION,
        tolerance: *tol,
        pairs: rows.len(),
        failed: rows.iter().filter(|r| r.verdict == Verdict::Fail).count(),
        sampled: plan.sampled,
        pairs_total: plan.total_pairs,
        pairs_measured: rows.len(),
        remeasured: 0,
        rows,
    }
}

/// Judges one pair.
fn judge(
    src: &WanHost,
    dst: &WanHost,
    asked: &Asked,
    stats: &RttStats,
    rate: Option<f64>,
    tol: &Tolerance,
) -> PairReport {
    let mut reasons = Vec::new();
    let asked_rate = asked.rate_bps.filter(|_| rate.is_some());
    if stats.probes == 0 {
        reasons.push("no probe sent".to_owned());
    } else if let Some(median) = stats.median_ms {
        let bound = tol.rtt_bound(asked.rtt_ms);
        if (median - asked.rtt_ms).abs() > bound + EPSILON {
            reasons.push(format!(
                "rtt {median:.2} ms, asked {:.2} ± {bound:.2}",
                asked.rtt_ms
            ));
        }
        let bound = tol.loss_bound(asked.loss_percent, stats.probes);
        if (stats.loss_percent - asked.loss_percent).abs() > bound + EPSILON {
            reasons.push(format!(
                "loss {:.2}%, asked {:.2} ± {bound:.2}",
                stats.loss_percent, asked.loss_percent
            ));
        }
    } else if asked.loss_percent < 100.0 - EPSILON {
        reasons.push(format!(
            "every probe lost ({} sent), asked loss {:.2}%",
            stats.probes, asked.loss_percent
        ));
    }
    if let (Some(asked_bps), Some(measured)) = (asked_rate, rate) {
        let asked_bps = asked_bps as f64;
        let bound = tol.rate_bound(asked_bps);
        if (measured - asked_bps).abs() > bound + EPSILON {
            reasons.push(format!(
                "rate {:.2} Mbit/s, asked {:.2} ± {:.2} Mbit/s",
                measured / 1e6,
                asked_bps / 1e6,
                bound / 1e6
            ));
        }
    }
    PairReport {
        src: src.name.clone(),
        dst: dst.name.clone(),
        src_site: src.site.clone(),
        dst_site: dst.site.clone(),
        asked_rtt_ms: asked.rtt_ms,
        median_ms: stats.median_ms,
        p99_ms: stats.p99_ms,
        asked_loss_percent: asked.loss_percent,
        loss_percent: stats.loss_percent,
        probes: stats.probes,
        asked_rate_bps: asked_rate,
        rate_bps: rate,
        verdict: if reasons.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail
        },
        reasons,
        remeasured: false,
        first_median_ms: None,
    }
}

/// The columns of [`to_csv`], in order.
pub const CSV_COLUMNS: [&str; 16] = [
    "src",
    "dst",
    "src_site",
    "dst_site",
    "asked_rtt_ms",
    "median_ms",
    "p99_ms",
    "asked_loss_percent",
    "loss_percent",
    "probes",
    "asked_rate_bps",
    "rate_bps",
    "verdict",
    "reasons",
    "sampled",
    "remeasured",
];

/// Writes the report's rows as CSV: a header row ([`CSV_COLUMNS`]), then one row per pair.
///
/// Floats have 3 decimals, a missing value is an empty field, the reasons are joined with `; `;
/// fields holding a comma, a quote or a line break are quoted. `sampled` is `true` on every row
/// of a report that measured a sample of the pairs, `false` otherwise. Lines end with `\n`.
pub fn to_csv(report: &ValidationReport) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    let float = |v: f64| format!("{v:.3}");
    let optional = |v: Option<f64>| v.map(float).unwrap_or_default();
    for row in &report.rows {
        let fields = [
            quote(&row.src),
            quote(&row.dst),
            quote(&row.src_site),
            quote(&row.dst_site),
            float(row.asked_rtt_ms),
            optional(row.median_ms),
            optional(row.p99_ms),
            float(row.asked_loss_percent),
            float(row.loss_percent),
            row.probes.to_string(),
            row.asked_rate_bps
                .map(|b| b.to_string())
                .unwrap_or_default(),
            optional(row.rate_bps),
            match row.verdict {
                Verdict::Pass => "pass".to_owned(),
                Verdict::Fail => "fail".to_owned(),
            },
            quote(&row.reasons.join("; ")),
            report.sampled.to_string(),
            row.remeasured.to_string(),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// A CSV field: quoted (with quotes doubled) when it holds a comma, a quote or a line break.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// Renders the report as a site-by-site table for the terminal, then a summary line.
///
/// Rows are source sites, columns destination sites, both in host order. A cell shows
/// `asked/measured` median RTT in ms of the worst pair between the two sites (the one furthest
/// outside, or closest to the edge of, its tolerance), with 1 decimal from 10 ms up and 2 below;
/// `lost` when every probe of that pair was lost, `?` when it had none, `-` when no pair joins the
/// two sites (a site of one host, to itself). A `!` follows a cell holding a failed pair. A
/// sample is said on a line of its own ([`sample_summary`]) before the summary line.
pub fn site_table(report: &ValidationReport) -> String {
    let mut sites: Vec<&str> = Vec::new();
    for row in &report.rows {
        for site in [row.src_site.as_str(), row.dst_site.as_str()] {
            if !sites.contains(&site) {
                sites.push(site);
            }
        }
    }
    let mut by_site_pair: HashMap<(&str, &str), Vec<&PairReport>> = HashMap::new();
    for row in &report.rows {
        by_site_pair
            .entry((row.src_site.as_str(), row.dst_site.as_str()))
            .or_default()
            .push(row);
    }
    let cells: Vec<Vec<(String, bool)>> = sites
        .iter()
        .map(|from| {
            sites
                .iter()
                .map(|to| {
                    let pairs = by_site_pair
                        .get(&(*from, *to))
                        .map_or(&[][..], Vec::as_slice);
                    cell(pairs, &report.tolerance)
                })
                .collect()
        })
        .collect();
    let corner = "from \\ to";
    let first_width = sites
        .iter()
        .map(|s| s.chars().count())
        .chain([corner.len()])
        .max()
        .unwrap_or(0);
    let widths: Vec<usize> = sites
        .iter()
        .enumerate()
        .map(|(j, site)| {
            cells
                .iter()
                .filter_map(|row| row.get(j))
                .map(|(text, _)| text.chars().count())
                .chain([site.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();

    let mut out = String::new();
    if !sites.is_empty() {
        out.push_str("median RTT in ms, asked/measured (worst pair); ! marks a failed pair\n");
        let mut line = format!("{corner:<first_width$}");
        for (site, width) in sites.iter().zip(&widths) {
            let _ = write!(line, "  {site:>width$} ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
        for (from, row) in sites.iter().zip(&cells) {
            let mut line = format!("{from:<first_width$}");
            for ((text, failed), width) in row.iter().zip(&widths) {
                let mark = if *failed { '!' } else { ' ' };
                let _ = write!(line, "  {text:>width$}{mark}");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    if let Some(sample) = sample_summary(report) {
        out.push_str(&sample);
        out.push('\n');
    }
    let _ = write!(
        out,
        "{} pair{}, {} outside tolerance",
        report.pairs,
        if report.pairs == 1 { "" } else { "s" },
        report.failed
    );
    if report.remeasured > 0 {
        let _ = write!(
            out,
            " ({} outside at first, measured again)",
            report.remeasured
        );
    }
    out.push('\n');
    out
}

/// When the report holds a sample, says so: e.g. `measured a sample: 400 of 999,000 ordered
/// pairs (up to 4 per site pair)`, the last figure being the most pairs measured between one
/// source site and one destination site.
pub fn sample_summary(report: &ValidationReport) -> Option<String> {
    if !report.sampled {
        return None;
    }
    let mut per_site_pair: HashMap<(&str, &str), usize> = HashMap::new();
    for row in &report.rows {
        *per_site_pair
            .entry((row.src_site.as_str(), row.dst_site.as_str()))
            .or_default() += 1;
    }
    let most = per_site_pair.values().copied().max().unwrap_or(0);
    Some(format!(
        "measured a sample: {} of {} ordered pairs (up to {most} per site pair)",
        thousands(report.pairs_measured),
        thousands(report.pairs_total)
    ))
}

/// `999000` as `999,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The text of the cell of the pairs from one site to another, and whether it holds a failed
/// pair.
fn cell(pairs: &[&PairReport], tolerance: &Tolerance) -> (String, bool) {
    let failed = pairs.iter().any(|r| r.verdict == Verdict::Fail);
    let worst = pairs.iter().copied().max_by(|a, b| {
        let key = |r: &PairReport| (r.verdict == Verdict::Fail, badness(r, tolerance));
        let (fa, ba) = key(a);
        let (fb, bb) = key(b);
        fa.cmp(&fb).then(ba.total_cmp(&bb))
    });
    let Some(worst) = worst else {
        return ("-".to_owned(), false);
    };
    let measured = match worst.median_ms {
        Some(ms) => short_ms(ms),
        None if worst.probes > 0 => "lost".to_owned(),
        None => "?".to_owned(),
    };
    (
        format!("{}/{measured}", short_ms(worst.asked_rtt_ms)),
        failed,
    )
}

/// How far a pair's median RTT is from what was asked, in units of its tolerance (above 1 is
/// outside); infinite for a failed pair without a median, 0 for a passed one.
fn badness(row: &PairReport, tol: &Tolerance) -> f64 {
    match row.median_ms {
        Some(median) => {
            let bound = tol.rtt_bound(row.asked_rtt_ms);
            let gap = (median - row.asked_rtt_ms).abs();
            if bound > 0.0 { gap / bound } else { gap }
        }
        None if row.verdict == Verdict::Fail => f64::INFINITY,
        None => 0.0,
    }
}

/// A time in ms for the table: 1 decimal from 10 ms up, 2 below.
fn short_ms(ms: f64) -> String {
    if ms >= 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    }
}
