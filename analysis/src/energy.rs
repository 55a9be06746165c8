//! What the energy the hosts drew means for the workloads: joules per request of each point,
//! and joules per site over the run.
//!
//! Each power series (a host's RAPL zone, its model estimate, a Kwollect metric: the `power.*`
//! samples of one host, metric and source) is read as a line through its samples: between two
//! samples the power is interpolated linearly (the trapezoid rule), and outside the first and
//! the last sample nothing is counted — never extrapolated. A point's span is, per repetition,
//! from the first measured request's start to the last one's end (start plus latency), warm-up
//! left out; its energy from a source is the integral of all the source's series over those
//! spans, and its `coverage` the smallest share of the spans that any of those series covers.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AnalysisError;
use crate::inputs::SampleRow;
use crate::tables::{EnergyRow, PointSummary, int_column, text_column};

/// The energy one point of one workload cost, per request, from one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestEnergy {
    /// The bench run (its stamp).
    pub run: String,
    /// The workload.
    pub workload: String,
    /// Its kind (`http`, `rally`, `ping`).
    pub kind: String,
    /// The point's index.
    pub point: u32,
    /// The point's labels (JSON).
    pub params: String,
    /// Where the power figures come from (`model`, `rapl`, `kwollect`).
    pub source: String,
    /// The hosts that have power samples from this source: all of them are counted.
    pub hosts: u64,
    /// The point's requests (warm-up left out), as in the summary.
    pub count: u64,
    /// The point's span in seconds, its repetitions added up; none when its requests have no
    /// start time (ping probes).
    pub seconds: Option<f64>,
    /// The smallest share, over the source's series, of the span their samples cover, in
    /// [0, 1]; none without a span. Below 1 the joules are those of the covered part only.
    pub coverage: Option<f64>,
    /// The joules of the source's series over the span (the covered part of it); none without
    /// a span.
    pub joules: Option<f64>,
    /// `joules / count`; none without joules, without requests, or when nothing is covered.
    pub joules_per_request: Option<f64>,
}

/// Energy of one site from one source over the whole run: its hosts' rows of the `energy`
/// table added up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteEnergy {
    /// The site (empty for hosts the testbed does not place).
    pub site: String,
    /// Where the figures come from (`model`, `rapl`, `kwollect`).
    pub source: String,
    /// The site's hosts with figures from this source.
    pub hosts: u64,
    /// Their joules added up.
    pub joules: f64,
    /// Their mean powers added up, in watts: the site's mean power when its hosts were
    /// measured over the same window.
    pub mean_watts: f64,
    /// The longest span of their samples, in seconds.
    pub seconds: f64,
}

/// A point of a workload: run, workload, kind, point, params.
pub(crate) type PointKey = (String, String, String, u32, String);

/// Per point, the `[first start, last end]` of each repetition's measured requests, in Unix
/// nanoseconds, from the `requests` table.
pub(crate) fn point_spans(
    requests: &DataFrame,
) -> Result<BTreeMap<PointKey, Vec<(i64, i64)>>, AnalysisError> {
    let df = requests
        .clone()
        .lazy()
        .filter(col("warmup").not().and(col("start").is_not_null()))
        .with_column(col("start").cast(DataType::Int64).alias("start_ns"))
        .with_column(
            (col("start_ns")
                + (col("latency_ms").fill_null(lit(0.0)) * lit(1e6)).cast(DataType::Int64))
            .alias("end_ns"),
        )
        .group_by([
            col("run"),
            col("workload"),
            col("kind"),
            col("point"),
            col("params"),
            col("repeat"),
        ])
        .agg([
            col("start_ns").min().alias("first_ns"),
            col("end_ns").max().alias("last_ns"),
        ])
        .collect()?;
    let (runs, workloads, kinds, params) = (
        text_column(&df, "run")?,
        text_column(&df, "workload")?,
        text_column(&df, "kind")?,
        text_column(&df, "params")?,
    );
    let points = int_column(&df, "point")?;
    let (first, last) = (int_column(&df, "first_ns")?, int_column(&df, "last_ns")?);
    let mut spans: BTreeMap<PointKey, Vec<(i64, i64)>> = BTreeMap::new();
    for i in 0..df.height() {
        let (Some(a), Some(b)) = (first[i], last[i]) else {
            continue;
        };
        let key = (
            runs[i].clone(),
            workloads[i].clone(),
            kinds[i].clone(),
            points[i].unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32,
            params[i].clone(),
        );
        spans.entry(key).or_default().push((a, b.max(a)));
    }
    for list in spans.values_mut() {
        list.sort_unstable();
    }
    Ok(spans)
}

/// One power series: its host and its samples `(Unix ns, watts)`, sorted by time.
struct PowerSeries {
    host: String,
    points: Vec<(i64, f64)>,
}

/// The power series of each source: per host and `power.*` metric.
fn power_series(samples: &[SampleRow]) -> BTreeMap<String, Vec<PowerSeries>> {
    let mut by: BTreeMap<(String, String, String), Vec<(i64, f64)>> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.metric.starts_with("power.")) {
        by.entry((s.source.clone(), s.host.clone(), s.metric.clone()))
            .or_default()
            .push((s.time_ns, s.value));
    }
    let mut sources: BTreeMap<String, Vec<PowerSeries>> = BTreeMap::new();
    for ((source, host, _), mut points) in by {
        points.sort_by_key(|(t, _)| *t);
        sources
            .entry(source)
            .or_default()
            .push(PowerSeries { host, points });
    }
    sources
}

/// The joules of a series over `[from, to]` (Unix ns), and the nanoseconds of it the series
/// covers (between its first and last sample).
pub(crate) fn integrate(points: &[(i64, f64)], from: i64, to: i64) -> (f64, i64) {
    let (Some(&(first, _)), Some(&(last, _))) = (points.first(), points.last()) else {
        return (0.0, 0);
    };
    let (lo, hi) = (from.max(first), to.min(last));
    if hi <= lo {
        return (0.0, 0);
    }
    // The segment holding `lo` first: the last sample at or before it.
    let start = points.partition_point(|(t, _)| *t <= lo).saturating_sub(1);
    let mut joules = 0.0;
    for w in points[start..].windows(2) {
        let ((t0, p0), (t1, p1)) = (w[0], w[1]);
        if t0 >= hi {
            break;
        }
        let (a, b) = (t0.max(lo), t1.min(hi));
        if b <= a {
            continue;
        }
        let at = |t: i64| p0 + (p1 - p0) * (t - t0) as f64 / (t1 - t0) as f64;
        joules += 0.5 * (at(a) + at(b)) * (b - a) as f64 / 1e9;
    }
    (joules, hi - lo)
}

/// Joules per request of every point of `summary`, per energy source of `samples`.
pub(crate) fn per_request(
    summary: &[PointSummary],
    spans: &BTreeMap<PointKey, Vec<(i64, i64)>>,
    samples: &[SampleRow],
) -> Vec<RequestEnergy> {
    let sources = power_series(samples);
    let mut rows = Vec::new();
    for s in summary {
        let key = (
            s.run.clone(),
            s.workload.clone(),
            s.kind.clone(),
            s.point,
            s.params.clone(),
        );
        let point_spans = spans.get(&key).map(Vec::as_slice).unwrap_or_default();
        let span_ns: i64 = point_spans.iter().map(|(a, b)| b - a).sum();
        for (source, series) in &sources {
            let mut hosts: Vec<&str> = series.iter().map(|x| x.host.as_str()).collect();
            hosts.dedup();
            let (mut joules, mut coverage) = (0.0, 1.0_f64);
            for x in series {
                let mut covered = 0;
                for &(a, b) in point_spans {
                    let (j, c) = integrate(&x.points, a, b);
                    joules += j;
                    covered += c;
                }
                if span_ns > 0 {
                    coverage = coverage.min(covered as f64 / span_ns as f64);
                }
            }
            let has_span = span_ns > 0;
            let joules = has_span.then_some(joules);
            let coverage = has_span.then_some(coverage);
            rows.push(RequestEnergy {
                run: s.run.clone(),
                workload: s.workload.clone(),
                kind: s.kind.clone(),
                point: s.point,
                params: s.params.clone(),
                source: source.clone(),
                hosts: hosts.len() as u64,
                count: s.count,
                seconds: (!point_spans.is_empty()).then_some(span_ns as f64 / 1e9),
                coverage,
                joules_per_request: joules
                    .filter(|_| s.count > 0 && coverage.is_some_and(|c| c > 0.0))
                    .map(|j| j / s.count as f64),
                joules,
            });
        }
    }
    rows
}

/// Energy per site and source, from the per-host rows.
pub(crate) fn per_site(hosts: &[EnergyRow]) -> Vec<SiteEnergy> {
    let mut by: BTreeMap<(String, String), SiteEnergy> = BTreeMap::new();
    for h in hosts {
        let site = by
            .entry((h.site.clone(), h.source.clone()))
            .or_insert_with(|| SiteEnergy {
                site: h.site.clone(),
                source: h.source.clone(),
                hosts: 0,
                joules: 0.0,
                mean_watts: 0.0,
                seconds: 0.0,
            });
        site.hosts += 1;
        site.joules += h.joules;
        site.mean_watts += h.mean_watts;
        site.seconds = site.seconds.max(h.seconds);
    }
    by.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::integrate;

    #[test]
    fn a_series_is_integrated_over_the_part_of_the_span_it_covers() {
        // 100 W at 0 s rising to 200 W at 1 s, then flat to 2 s.
        let s = 1_000_000_000;
        let points = [(0, 100.0), (s, 200.0), (2 * s, 200.0)];
        let (joules, covered) = integrate(&points, 0, 2 * s);
        assert!((joules - 350.0).abs() < 1e-9, "{joules}");
        assert_eq!(covered, 2 * s);
        // Half a second inside the rising segment: 125 W to 175 W.
        let (joules, covered) = integrate(&points, s / 4, 3 * s / 4);
        assert!((joules - 75.0).abs() < 1e-9, "{joules}");
        assert_eq!(covered, s / 2);
        // Past the last sample nothing is counted.
        let (joules, covered) = integrate(&points, s, 5 * s);
        assert!((joules - 200.0).abs() < 1e-9, "{joules}");
        assert_eq!(covered, s);
        assert_eq!(integrate(&points, 3 * s, 4 * s), (0.0, 0));
        assert_eq!(integrate(&points[..1], 0, s), (0.0, 0));
    }
}
