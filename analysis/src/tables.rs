//! The rows as polars frames, written as Parquet (and CSV for the small tables), the
//! per-point statistics computed with polars, and the RTT between the sites of each pair.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AnalysisError;
use crate::energy::{RequestEnergy, SiteEnergy};
use crate::inputs::{Inputs, SampleRow, WanRow};

/// Statistics of one point of one workload of one run (warm-up left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointSummary {
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
    /// What the requests did, where the workload does several things (a Rally scenario);
    /// empty otherwise.
    #[serde(default)]
    pub operation: String,
    /// The source site (per site pair; empty per point).
    pub site: String,
    /// The destination site (per site pair; empty per point, or when unknown).
    pub destination_site: String,
    /// Requests (or probes, or iterations).
    pub count: u64,
    /// Those that failed.
    pub errors: u64,
    /// `errors / count`.
    pub error_rate: f64,
    /// `count` over the span of their start times, per second; none without start times.
    pub throughput_per_s: Option<f64>,
    /// Mean latency in ms, over those with a latency.
    #[serde(default)]
    pub mean_ms: Option<f64>,
    /// Latency percentiles and maximum, in ms, over those with a latency.
    pub p50_ms: Option<f64>,
    /// 90th percentile.
    pub p90_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
    /// 99.9th percentile.
    pub p99_9_ms: Option<f64>,
    /// Maximum.
    pub max_ms: Option<f64>,
}

impl PointSummary {
    /// The workload, or `workload/operation` ([`crate::workload_label`]).
    pub fn label(&self) -> String {
        crate::workload_label(&self.workload, &self.operation)
    }
}

/// The statistics of one site pair of one point, beside the round-trip time the WAN was asked
/// for between the two sites and the one its latest validation measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairSummary {
    /// The statistics (`site` and `destination_site` set).
    #[serde(flatten)]
    pub summary: PointSummary,
    /// The RTT asked between the sites, in ms: the median over the validation's host pairs from
    /// `site` to `destination_site`; none when the validation measured no such pair.
    pub asked_rtt_ms: Option<f64>,
    /// The RTT measured between the sites, in ms: the median of those host pairs' median RTTs;
    /// none when the validation measured no such pair (or all its probes were lost).
    pub measured_rtt_ms: Option<f64>,
    /// `p50_ms − measured_rtt_ms`: what the median request adds to the network's round trip;
    /// none without both.
    pub p50_minus_rtt_ms: Option<f64>,
}

/// The RTT asked and measured between two sites: medians over the validation's host pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SiteRtt {
    pub asked_ms: Option<f64>,
    pub measured_ms: Option<f64>,
}

/// The median of `values` (the mean of the two middle ones for an even count); none when empty.
pub(crate) fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some(0.5 * (values[n / 2 - 1] + values[n / 2])),
    }
}

/// Per (source site, destination site): the RTT asked and measured by the WAN validation.
pub(crate) fn site_rtts(wan: &[WanRow]) -> BTreeMap<(String, String), SiteRtt> {
    let mut by: BTreeMap<(String, String), Vec<&WanRow>> = BTreeMap::new();
    for w in wan {
        by.entry((w.src_site.clone(), w.dst_site.clone()))
            .or_default()
            .push(w);
    }
    by.into_iter()
        .map(|(pair, rows)| {
            let rtt = SiteRtt {
                asked_ms: median(rows.iter().map(|w| w.asked_rtt_ms).collect()),
                measured_ms: median(rows.iter().filter_map(|w| w.median_ms).collect()),
            };
            (pair, rtt)
        })
        .collect()
}

/// The per-pair statistics with the RTT between their sites.
pub(crate) fn with_rtt(pairs: Vec<PointSummary>, wan: &[WanRow]) -> Vec<PairSummary> {
    let rtts = site_rtts(wan);
    pairs
        .into_iter()
        .map(|summary| {
            let rtt = rtts.get(&(summary.site.clone(), summary.destination_site.clone()));
            let asked_rtt_ms = rtt.and_then(|r| r.asked_ms);
            let measured_rtt_ms = rtt.and_then(|r| r.measured_ms);
            PairSummary {
                p50_minus_rtt_ms: summary.p50_ms.zip(measured_rtt_ms).map(|(p, r)| p - r),
                summary,
                asked_rtt_ms,
                measured_rtt_ms,
            }
        })
        .collect()
}

/// Energy of one host from one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyRow {
    /// The host.
    pub host: String,
    /// Its site.
    pub site: String,
    /// Where the figure comes from (`model`, `rapl`, `kwollect`).
    pub source: String,
    /// Joules over the samples (RAPL zones added up).
    pub joules: f64,
    /// Mean power over the samples, in watts.
    pub mean_watts: f64,
    /// Seconds the samples span.
    pub seconds: f64,
}

fn utc_ns() -> DataType {
    DataType::Datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC))
}

/// A datetime column (UTC, nanoseconds) from Unix nanoseconds.
fn times(name: &str, values: Vec<Option<i64>>) -> Result<Column, AnalysisError> {
    Ok(Column::new(name.into(), values).cast(&utc_ns())?)
}

fn strings<'a>(name: &str, values: impl Iterator<Item = &'a str>) -> Column {
    Column::new(name.into(), values.collect::<Vec<&str>>())
}

pub(crate) fn requests_frame(inputs: &Inputs) -> Result<DataFrame, AnalysisError> {
    let r = &inputs.requests;
    Ok(DataFrame::new_infer_height(vec![
        strings("run", r.iter().map(|x| &*x.run)),
        strings("workload", r.iter().map(|x| &*x.workload)),
        strings("kind", r.iter().map(|x| &*x.kind)),
        Column::new(
            "point".into(),
            r.iter().map(|x| x.point).collect::<Vec<u32>>(),
        ),
        Column::new(
            "repeat".into(),
            r.iter().map(|x| x.repeat).collect::<Vec<u32>>(),
        ),
        strings("params", r.iter().map(|x| &*x.params)),
        strings("operation", r.iter().map(|x| &*x.operation)),
        strings("host", r.iter().map(|x| &*x.host)),
        strings("site", r.iter().map(|x| &*x.site)),
        strings("destination", r.iter().map(|x| &*x.destination)),
        strings("destination_site", r.iter().map(|x| &*x.destination_site)),
        times("intended_start", r.iter().map(|x| x.intended_ns).collect())?,
        times("start", r.iter().map(|x| x.start_ns).collect())?,
        Column::new(
            "latency_ms".into(),
            r.iter().map(|x| x.latency_ms).collect::<Vec<Option<f64>>>(),
        ),
        Column::new("ok".into(), r.iter().map(|x| x.ok).collect::<Vec<bool>>()),
        Column::new(
            "error".into(),
            r.iter()
                .map(|x| x.error.as_deref())
                .collect::<Vec<Option<&str>>>(),
        ),
        Column::new(
            "warmup".into(),
            r.iter().map(|x| x.warmup).collect::<Vec<bool>>(),
        ),
    ])?)
}

fn samples_frame(samples: &[SampleRow]) -> Result<DataFrame, AnalysisError> {
    Ok(DataFrame::new_infer_height(vec![
        times("time", samples.iter().map(|x| Some(x.time_ns)).collect())?,
        strings("host", samples.iter().map(|x| x.host.as_str())),
        strings("site", samples.iter().map(|x| x.site.as_str())),
        strings("role", samples.iter().map(|x| x.role.as_str())),
        strings("metric", samples.iter().map(|x| x.metric.as_str())),
        Column::new(
            "value".into(),
            samples.iter().map(|x| x.value).collect::<Vec<f64>>(),
        ),
        strings("unit", samples.iter().map(|x| x.unit)),
        strings("source", samples.iter().map(|x| x.source.as_str())),
    ])?)
}

fn events_frame(inputs: &Inputs) -> Result<DataFrame, AnalysisError> {
    let e = &inputs.events;
    Ok(DataFrame::new_infer_height(vec![
        strings("run", e.iter().map(|x| x.run.as_str())),
        strings("workload", e.iter().map(|x| x.workload.as_str())),
        Column::new(
            "point".into(),
            e.iter().map(|x| x.point).collect::<Vec<u32>>(),
        ),
        Column::new(
            "repeat".into(),
            e.iter().map(|x| x.repeat).collect::<Vec<u32>>(),
        ),
        times("time", e.iter().map(|x| x.time_ns).collect())?,
        strings("kind", e.iter().map(|x| x.kind.as_str())),
        strings("detail", e.iter().map(|x| x.detail.as_str())),
        Column::new(
            "at_ms".into(),
            e.iter().map(|x| x.at_ms).collect::<Vec<Option<f64>>>(),
        ),
        Column::new(
            "error".into(),
            e.iter()
                .map(|x| x.error.as_deref())
                .collect::<Vec<Option<&str>>>(),
        ),
    ])?)
}

fn wan_frame(inputs: &Inputs) -> Result<DataFrame, AnalysisError> {
    let w = &inputs.wan;
    Ok(DataFrame::new_infer_height(vec![
        strings("src", w.iter().map(|x| x.src.as_str())),
        strings("dst", w.iter().map(|x| x.dst.as_str())),
        strings("src_site", w.iter().map(|x| x.src_site.as_str())),
        strings("dst_site", w.iter().map(|x| x.dst_site.as_str())),
        Column::new(
            "asked_rtt_ms".into(),
            w.iter().map(|x| x.asked_rtt_ms).collect::<Vec<f64>>(),
        ),
        Column::new(
            "median_ms".into(),
            w.iter().map(|x| x.median_ms).collect::<Vec<Option<f64>>>(),
        ),
        Column::new(
            "p99_ms".into(),
            w.iter().map(|x| x.p99_ms).collect::<Vec<Option<f64>>>(),
        ),
        Column::new(
            "asked_loss_percent".into(),
            w.iter().map(|x| x.asked_loss_percent).collect::<Vec<f64>>(),
        ),
        Column::new(
            "loss_percent".into(),
            w.iter().map(|x| x.loss_percent).collect::<Vec<f64>>(),
        ),
        strings("verdict", w.iter().map(|x| x.verdict.as_str())),
    ])?)
}

/// Writes `df` to `path` through a temporary file renamed over it.
pub(crate) fn write_parquet(df: &mut DataFrame, path: &Path) -> Result<(), AnalysisError> {
    let tmp = path.with_extension("parquet.tmp");
    let file = std::fs::File::create(&tmp)
        .map_err(|e| AnalysisError::new(format!("cannot create {}: {e}", tmp.display())))?;
    ParquetWriter::new(file).finish(df)?;
    std::fs::rename(&tmp, path)
        .map_err(|e| AnalysisError::new(format!("cannot write {}: {e}", path.display())))
}

pub(crate) fn write_csv(df: &mut DataFrame, path: &Path) -> Result<(), AnalysisError> {
    let tmp = path.with_extension("csv.tmp");
    let file = std::fs::File::create(&tmp)
        .map_err(|e| AnalysisError::new(format!("cannot create {}: {e}", tmp.display())))?;
    CsvWriter::new(file).finish(df)?;
    std::fs::rename(&tmp, path)
        .map_err(|e| AnalysisError::new(format!("cannot write {}: {e}", path.display())))
}

/// A text column's values (null as empty).
pub(crate) fn text_column(df: &DataFrame, name: &str) -> Result<Vec<String>, AnalysisError> {
    let values = df.column(name)?.str()?.clone();
    Ok((0..values.len())
        .map(|i| values.get(i).unwrap_or_default().to_owned())
        .collect())
}

/// Each row's workload as statistics name it ([`crate::workload_label`]): tables before
/// version 3 have no `operation`, their rows are the workload's.
pub(crate) fn workload_labels(df: &DataFrame) -> Result<Vec<String>, AnalysisError> {
    let workloads = text_column(df, "workload")?;
    if df.column("operation").is_err() {
        return Ok(workloads);
    }
    let operations = text_column(df, "operation")?;
    Ok(workloads
        .iter()
        .zip(&operations)
        .map(|(w, o)| crate::workload_label(w, o))
        .collect())
}

/// A numeric column's values as floats.
pub(crate) fn float_column(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>, AnalysisError> {
    let values = df.column(name)?.cast(&DataType::Float64)?;
    let values = values.f64()?;
    Ok((0..values.len()).map(|i| values.get(i)).collect())
}

/// A numeric or datetime column's values as integers (Unix nanoseconds for datetimes).
pub(crate) fn int_column(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>, AnalysisError> {
    let values = df.column(name)?.cast(&DataType::Int64)?;
    let values = values.i64()?;
    Ok((0..values.len()).map(|i| values.get(i)).collect())
}

/// Per-point statistics, with polars' group-by; `by_pair` groups by source and destination
/// site too.
pub(crate) fn summarize(
    requests: &DataFrame,
    by_pair: bool,
) -> Result<Vec<PointSummary>, AnalysisError> {
    let quantile = |q: f64, name: &str| {
        col("latency_ms")
            .quantile(lit(q), QuantileMethod::Linear)
            .alias(name)
    };
    let mut keys = vec![
        col("run"),
        col("workload"),
        col("kind"),
        col("point"),
        col("params"),
        col("operation"),
    ];
    if by_pair {
        keys.extend([col("site"), col("destination_site")]);
    }
    let df = requests
        .clone()
        .lazy()
        .filter(col("warmup").not())
        .group_by(keys)
        .agg([
            len().cast(DataType::UInt64).alias("count"),
            col("ok").not().cast(DataType::UInt64).sum().alias("errors"),
            col("start").cast(DataType::Int64).min().alias("first_ns"),
            col("start").cast(DataType::Int64).max().alias("last_ns"),
            col("latency_ms").mean().alias("mean_ms"),
            quantile(0.5, "p50_ms"),
            quantile(0.9, "p90_ms"),
            quantile(0.99, "p99_ms"),
            quantile(0.999, "p99_9_ms"),
            col("latency_ms").max().alias("max_ms"),
        ])
        .collect()?;
    let text = |name: &str| text_column(&df, name);
    let float = |name: &str| float_column(&df, name);
    let whole = |name: &str| int_column(&df, name);
    let (runs, workloads, kinds, params, operations) = (
        text("run")?,
        text("workload")?,
        text("kind")?,
        text("params")?,
        text("operation")?,
    );
    let (sites, destinations) = if by_pair {
        (text("site")?, text("destination_site")?)
    } else {
        (
            vec![String::new(); df.height()],
            vec![String::new(); df.height()],
        )
    };
    let points = whole("point")?;
    let counts = whole("count")?;
    let errors = whole("errors")?;
    let (first, last) = (whole("first_ns")?, whole("last_ns")?);
    let mean = float("mean_ms")?;
    let (p50, p90, p99, p999, max) = (
        float("p50_ms")?,
        float("p90_ms")?,
        float("p99_ms")?,
        float("p99_9_ms")?,
        float("max_ms")?,
    );
    let mut rows: Vec<PointSummary> = (0..df.height())
        .map(|i| {
            let count = counts[i].unwrap_or(0).max(0) as u64;
            let errors = errors[i].unwrap_or(0).max(0) as u64;
            let span_s = match (first[i], last[i]) {
                (Some(a), Some(b)) if b > a => Some((b - a) as f64 / 1e9),
                _ => None,
            };
            PointSummary {
                run: runs[i].clone(),
                workload: workloads[i].clone(),
                kind: kinds[i].clone(),
                point: points[i].unwrap_or(0).max(0) as u32,
                params: params[i].clone(),
                operation: operations[i].clone(),
                site: sites[i].clone(),
                destination_site: destinations[i].clone(),
                count,
                errors,
                error_rate: if count == 0 {
                    0.0
                } else {
                    errors as f64 / count as f64
                },
                throughput_per_s: span_s.map(|s| count as f64 / s),
                mean_ms: mean[i],
                p50_ms: p50[i],
                p90_ms: p90[i],
                p99_ms: p99[i],
                p99_9_ms: p999[i],
                max_ms: max[i],
            }
        })
        .collect();
    fn key(s: &PointSummary) -> (&str, &str, u32, &str, &str, &str) {
        (
            &s.run,
            &s.workload,
            s.point,
            &s.operation,
            &s.site,
            &s.destination_site,
        )
    }
    rows.sort_by(|a, b| key(a).cmp(&key(b)));
    Ok(rows)
}

fn summary_frame(rows: &[PointSummary]) -> Result<DataFrame, AnalysisError> {
    Ok(DataFrame::new_infer_height(summary_columns(rows))?)
}

fn pairs_frame(rows: &[PairSummary]) -> Result<DataFrame, AnalysisError> {
    let summaries: Vec<PointSummary> = rows.iter().map(|r| r.summary.clone()).collect();
    let opt = |f: fn(&PairSummary) -> Option<f64>| rows.iter().map(f).collect::<Vec<Option<f64>>>();
    let mut columns = summary_columns(&summaries);
    columns.extend([
        Column::new("asked_rtt_ms".into(), opt(|x| x.asked_rtt_ms)),
        Column::new("measured_rtt_ms".into(), opt(|x| x.measured_rtt_ms)),
        Column::new("p50_minus_rtt_ms".into(), opt(|x| x.p50_minus_rtt_ms)),
    ]);
    Ok(DataFrame::new_infer_height(columns)?)
}

fn summary_columns(rows: &[PointSummary]) -> Vec<Column> {
    let opt =
        |f: fn(&PointSummary) -> Option<f64>| rows.iter().map(f).collect::<Vec<Option<f64>>>();
    vec![
        strings("run", rows.iter().map(|x| x.run.as_str())),
        strings("workload", rows.iter().map(|x| x.workload.as_str())),
        strings("kind", rows.iter().map(|x| x.kind.as_str())),
        Column::new(
            "point".into(),
            rows.iter().map(|x| x.point).collect::<Vec<u32>>(),
        ),
        strings("params", rows.iter().map(|x| x.params.as_str())),
        strings("operation", rows.iter().map(|x| x.operation.as_str())),
        strings("site", rows.iter().map(|x| x.site.as_str())),
        strings(
            "destination_site",
            rows.iter().map(|x| x.destination_site.as_str()),
        ),
        Column::new(
            "count".into(),
            rows.iter().map(|x| x.count).collect::<Vec<u64>>(),
        ),
        Column::new(
            "errors".into(),
            rows.iter().map(|x| x.errors).collect::<Vec<u64>>(),
        ),
        Column::new(
            "error_rate".into(),
            rows.iter().map(|x| x.error_rate).collect::<Vec<f64>>(),
        ),
        Column::new("throughput_per_s".into(), opt(|x| x.throughput_per_s)),
        Column::new("mean_ms".into(), opt(|x| x.mean_ms)),
        Column::new("p50_ms".into(), opt(|x| x.p50_ms)),
        Column::new("p90_ms".into(), opt(|x| x.p90_ms)),
        Column::new("p99_ms".into(), opt(|x| x.p99_ms)),
        Column::new("p99_9_ms".into(), opt(|x| x.p99_9_ms)),
        Column::new("max_ms".into(), opt(|x| x.max_ms)),
    ]
}

/// Energy per host and source: the joules of the agents' `energy.*` samples added up (RAPL's
/// zones together), or for power-only series (Kwollect) the trapezoid rule over the samples.
pub(crate) fn energy(samples: &[SampleRow]) -> Vec<EnergyRow> {
    #[derive(Default)]
    struct Acc {
        site: String,
        joules: f64,
        has_joules: bool,
        power: Vec<(i64, f64)>,
        first: i64,
        last: i64,
    }
    let mut by: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for s in samples {
        let (is_energy, is_power) = (
            s.metric.starts_with("energy."),
            s.metric.starts_with("power."),
        );
        if !is_energy && !is_power {
            continue;
        }
        let acc = by
            .entry((s.host.clone(), s.source.clone()))
            .or_insert_with(|| Acc {
                site: s.site.clone(),
                first: s.time_ns,
                last: s.time_ns,
                ..Acc::default()
            });
        acc.first = acc.first.min(s.time_ns);
        acc.last = acc.last.max(s.time_ns);
        if is_energy {
            acc.joules += s.value;
            acc.has_joules = true;
        } else {
            acc.power.push((s.time_ns, s.value));
        }
    }
    by.into_iter()
        .map(|((host, source), mut acc)| {
            let seconds = (acc.last - acc.first) as f64 / 1e9;
            if !acc.has_joules {
                acc.power.sort_by_key(|(t, _)| *t);
                acc.joules = acc
                    .power
                    .windows(2)
                    .map(|w| 0.5 * (w[0].1 + w[1].1) * (w[1].0 - w[0].0) as f64 / 1e9)
                    .sum();
            }
            EnergyRow {
                host,
                site: acc.site,
                source,
                mean_watts: if seconds > 0.0 {
                    acc.joules / seconds
                } else {
                    0.0
                },
                joules: acc.joules,
                seconds,
            }
        })
        .collect()
}

fn energy_frame(rows: &[EnergyRow]) -> Result<DataFrame, AnalysisError> {
    Ok(DataFrame::new_infer_height(vec![
        strings("host", rows.iter().map(|x| x.host.as_str())),
        strings("site", rows.iter().map(|x| x.site.as_str())),
        strings("source", rows.iter().map(|x| x.source.as_str())),
        Column::new(
            "joules".into(),
            rows.iter().map(|x| x.joules).collect::<Vec<f64>>(),
        ),
        Column::new(
            "mean_watts".into(),
            rows.iter().map(|x| x.mean_watts).collect::<Vec<f64>>(),
        ),
        Column::new(
            "seconds".into(),
            rows.iter().map(|x| x.seconds).collect::<Vec<f64>>(),
        ),
    ])?)
}

fn energy_per_request_frame(rows: &[RequestEnergy]) -> Result<DataFrame, AnalysisError> {
    let opt =
        |f: fn(&RequestEnergy) -> Option<f64>| rows.iter().map(f).collect::<Vec<Option<f64>>>();
    Ok(DataFrame::new_infer_height(vec![
        strings("run", rows.iter().map(|x| x.run.as_str())),
        strings("workload", rows.iter().map(|x| x.workload.as_str())),
        strings("kind", rows.iter().map(|x| x.kind.as_str())),
        Column::new(
            "point".into(),
            rows.iter().map(|x| x.point).collect::<Vec<u32>>(),
        ),
        strings("params", rows.iter().map(|x| x.params.as_str())),
        strings("source", rows.iter().map(|x| x.source.as_str())),
        Column::new(
            "hosts".into(),
            rows.iter().map(|x| x.hosts).collect::<Vec<u64>>(),
        ),
        Column::new(
            "count".into(),
            rows.iter().map(|x| x.count).collect::<Vec<u64>>(),
        ),
        Column::new("seconds".into(), opt(|x| x.seconds)),
        Column::new("coverage".into(), opt(|x| x.coverage)),
        Column::new("joules".into(), opt(|x| x.joules)),
        Column::new("joules_per_request".into(), opt(|x| x.joules_per_request)),
    ])?)
}

fn energy_sites_frame(rows: &[SiteEnergy]) -> Result<DataFrame, AnalysisError> {
    Ok(DataFrame::new_infer_height(vec![
        strings("site", rows.iter().map(|x| x.site.as_str())),
        strings("source", rows.iter().map(|x| x.source.as_str())),
        Column::new(
            "hosts".into(),
            rows.iter().map(|x| x.hosts).collect::<Vec<u64>>(),
        ),
        Column::new(
            "joules".into(),
            rows.iter().map(|x| x.joules).collect::<Vec<f64>>(),
        ),
        Column::new(
            "mean_watts".into(),
            rows.iter().map(|x| x.mean_watts).collect::<Vec<f64>>(),
        ),
        Column::new(
            "seconds".into(),
            rows.iter().map(|x| x.seconds).collect::<Vec<f64>>(),
        ),
    ])?)
}

/// What [`write_all`] wrote, and the frames the figures are drawn from.
pub(crate) struct Written {
    /// Each table's name and rows, `requests` first.
    pub tables: Vec<(&'static str, usize)>,
    pub summary: Vec<PointSummary>,
    pub pairs: Vec<PairSummary>,
    pub energy: Vec<EnergyRow>,
    pub energy_sites: Vec<SiteEnergy>,
    pub energy_per_request: Vec<RequestEnergy>,
    /// The `requests` table.
    pub requests: DataFrame,
    /// The `samples` table.
    pub samples: DataFrame,
}

/// Builds and writes every table into `out`.
pub(crate) fn write_all(inputs: &mut Inputs, out: &Path) -> Result<Written, AnalysisError> {
    let mut requests = requests_frame(inputs)?;
    inputs.release_requests();
    let summary = summarize(&requests, false)?;
    let pairs = with_rtt(summarize(&requests, true)?, &inputs.wan);
    let energy_rows = energy(&inputs.samples);
    let energy_sites = crate::energy::per_site(&energy_rows);
    let spans = crate::energy::point_spans(&requests)?;
    let energy_per_request = crate::energy::per_request(&summary, &spans, &inputs.samples);
    let mut frames: Vec<(&'static str, DataFrame)> = vec![
        ("summary", summary_frame(&summary)?),
        ("pairs", pairs_frame(&pairs)?),
        ("energy", energy_frame(&energy_rows)?),
        ("energy_sites", energy_sites_frame(&energy_sites)?),
        (
            "energy_per_request",
            energy_per_request_frame(&energy_per_request)?,
        ),
    ];
    for (name, df) in &mut frames {
        write_csv(df, &out.join(format!("{name}.csv")))?;
    }
    let mut samples = samples_frame(&inputs.samples)?;
    let mut tables = vec![("requests", requests.height())];
    write_parquet(&mut requests, &out.join("requests.parquet"))?;
    for (name, df) in &mut frames {
        write_parquet(df, &out.join(format!("{name}.parquet")))?;
        tables.push((*name, df.height()));
    }
    write_parquet(&mut samples, &out.join("samples.parquet"))?;
    tables.push(("samples", samples.height()));
    for (name, mut df) in [
        ("events", events_frame(inputs)?),
        ("wan", wan_frame(inputs)?),
    ] {
        write_parquet(&mut df, &out.join(format!("{name}.parquet")))?;
        tables.push((name, df.height()));
    }
    Ok(Written {
        tables,
        summary,
        pairs,
        energy: energy_rows,
        energy_sites,
        energy_per_request,
        requests,
        samples,
    })
}
